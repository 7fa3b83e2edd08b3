"""The `Store` facade: opening a database (a directory, replicas at once, in memory, a newer
schema) and a cancelled caller. Each concern has its own module (tests/test_store_*.py,
tests/test_claim.py); all run against real SQLite files and against a PostgreSQL database of
their own (`rig.store`: the server `OPSBOT_TEST_PG` names)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from bot.store import SchemaTooNew, Store
from rig.store import T0, item, stamp


async def test_open_creates_dir_schema_and_second_replica(url, tmp_path):
    s1 = await Store.open(url)
    if url.startswith("sqlite"):
        assert (tmp_path / "data" / "opsbot.db").exists()
    s2, s3 = await asyncio.gather(Store.open(url), Store.open(url))
    assert (await s2.schema()).current
    for s in (s1, s2, s3):
        await s.close()


async def test_memory_database():
    s = await Store.open("sqlite+aiosqlite://")
    await s.enqueue([item("k")], batch="b", now=T0)
    assert await s.outbox_counts() == {"pending": 1}
    await s.close()


async def test_refuses_a_newer_schema(url):
    s = await Store.open(url)
    await stamp(s, "9999_future")
    await s.close()
    with pytest.raises(SchemaTooNew, match="newer"):
        await Store.open(url)


async def test_a_cancelled_caller_does_not_cut_a_transaction(store):
    """Cancelling the task that waits on a store operation stops the wait, not the SQL: the
    transaction ends whole (here: committed), and the next writer is not kept waiting on a
    half-closed connection's lock."""
    for step in range(1, 7):
        keys = [f"s{step}-{i}" for i in range(200)]
        task = asyncio.create_task(store.enqueue([item(k) for k in keys], batch=f"b{step}", now=T0))
        for _ in range(step):  # cancel at a different point once the operation has begun
            await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await asyncio.wait_for(store.settle(), 5)
        await asyncio.wait_for(
            store.acquire_lease("after", "me", now=T0, ttl=timedelta(seconds=5)), 5
        )
        assert await store.outbox_row(keys[-1]) is not None
    assert (await store.outbox_counts())["pending"] == 6 * 200


async def test_stores_opened_at_once_on_a_new_database_all_work(url):
    """Alembic's context is one global: three opens at once in one process must not run
    inside each other (they deadlocked on PostgreSQL before they took turns)."""
    stores = await asyncio.wait_for(asyncio.gather(*(Store.open(url) for _ in range(3))), 30)
    try:
        assert [(await s.schema()).current for s in stores] == [True, True, True]
        await stores[0].enqueue([item("k")], batch="b", now=T0)
        assert await stores[2].outbox_counts() == {"pending": 1}
    finally:
        for s in stores:
            await s.close()
