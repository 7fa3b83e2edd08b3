"""How the store writes values and reads them back (`bot.store.codecs`)."""

from __future__ import annotations

from bot.models import Account, Job, Snapshot
from bot.store import decode_snapshot, encode_snapshot
from rig.store import T0, big_snapshot


def test_snapshot_codec_roundtrip():
    snap = big_snapshot(20)
    assert decode_snapshot("pixverse", encode_snapshot(snap)) == snap
    empty = Snapshot("x", T0, (Job("x", "j"),), (Account("a", None, 0, None),))
    assert decode_snapshot("x", encode_snapshot(empty)) == empty
