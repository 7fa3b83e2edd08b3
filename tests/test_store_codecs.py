"""How the store writes a snapshot and reads it back (`bot.store.snaprows`, its pure halves)."""

from __future__ import annotations

from bot.models import Account, Job, Snapshot
from rig.store import T0, big_snapshot, through_rows


def test_snapshot_codec_roundtrip():
    snap = big_snapshot(20)
    assert through_rows(snap) == snap
    empty = Snapshot("x", T0, (Job("x", "j"),), (Account("a", None, 0, None),))
    assert through_rows(empty) == empty
