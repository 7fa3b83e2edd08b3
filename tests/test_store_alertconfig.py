"""The `/alerts` configuration as stored: routes, mutes, mentions (`bot.store.alertconfig`)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.events import EventKind
from rig.store import T0


async def test_routes(store):
    await store.set_route(EventKind.JOB, None, 1)
    await store.set_route(EventKind.JOB, "minimax", 2)
    await store.set_route(EventKind.JOB, "minimax", 3)
    assert sorted((r.provider or "", r.channel_id) for r in await store.routes()) == [
        ("", 1),
        ("minimax", 3),
    ]
    assert await store.remove_route(EventKind.JOB, None)
    assert not await store.remove_route(EventKind.JOB, None)


async def test_mutes(store):
    await store.mute("pixverse", None, T0 + timedelta(hours=1), reason="maintenance")
    await store.mute(None, EventKind.CAPACITY, T0 - timedelta(hours=1))
    await store.mute("minimax", EventKind.JOB, None)
    assert len(await store.mutes()) == 3
    active = await store.mutes(T0)
    assert {(m.provider, m.kind) for m in active} == {
        ("pixverse", None),
        ("minimax", EventKind.JOB),
    }
    assert len((await store.alert_config(T0)).mutes) == 2
    assert await store.prune_mutes(T0) == 1
    assert await store.unmute("pixverse") == 1
    assert await store.unmute("pixverse") == 0
    await store.mute("dreamina", EventKind.JOB, None)
    await store.mute("dreamina", EventKind.CAPACITY, None)
    assert await store.unmute("dreamina") == 2  # a provider's narrower mutes go too
    assert await store.unmute(kind=EventKind.JOB) == 1  # minimax/job
    with pytest.raises(ValueError):
        await store.mute(None, None, None)


async def test_mentions(store):
    await store.set_mention(EventKind.UPSTREAM, 77)
    await store.set_mention(EventKind.UPSTREAM, 78, provider="dreamina")
    assert {(m.provider, m.role_id) for m in await store.mentions()} == {
        (None, 77),
        ("dreamina", 78),
    }
    await store.set_mention(EventKind.UPSTREAM, None)
    assert [m.role_id for m in await store.mentions()] == [78]
