"""Named leases: one holder at a time, taken over once expired or from a holder known gone
(`bot.store.leases`)."""

from __future__ import annotations

from datetime import timedelta

from rig.store import T0


async def test_lease(store):
    ttl = timedelta(seconds=60)
    assert await store.acquire_lease("watch:p", "a", now=T0, ttl=ttl)
    assert not await store.acquire_lease("watch:p", "b", now=T0, ttl=ttl)
    assert await store.acquire_lease("watch:p", "a", now=T0 + timedelta(seconds=50), ttl=ttl)
    assert not await store.acquire_lease("watch:p", "b", now=T0 + timedelta(seconds=100), ttl=ttl)
    assert await store.acquire_lease("watch:p", "b", now=T0 + timedelta(seconds=111), ttl=ttl)
    await store.release_lease("watch:p", "b")
    assert await store.acquire_lease("watch:p", "c", now=T0, ttl=ttl)
    assert await store.lease_holder("watch:p") == "c"
    # taken from a holder known to be gone, and only from that one
    assert not await store.acquire_lease("watch:p", "d", now=T0, ttl=ttl, replacing="x")
    assert await store.acquire_lease("watch:p", "d", now=T0, ttl=ttl, replacing="c")
    assert await store.lease_holder("watch:p") == "d"
    assert await store.lease_holder("watch:q") is None
