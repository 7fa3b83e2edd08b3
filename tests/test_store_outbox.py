"""The outbox: a key queued once, a row's way from pending to sent, held or failed, and pruning
(`bot.store.outbox`). Claiming rows is tests/test_claim.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import get_args

from bot.alerts import DecidedState, OutboxState
from bot.store import Store
from rig.store import T0, item


async def test_duplicate_keys_ignored(store):
    assert await store.enqueue([item("k1"), item("k2"), item("k1")], batch="b", now=T0) == 2
    assert await store.commit_tick("p", now=T0, batch="b2", outbox=[item("k2"), item("k3")]) == 1
    rows = await store.claim_outbox(limit=10, now=T0, worker_id="w")
    assert [r.key for r in rows] == ["k1", "k2", "k3"]
    await store.mark_sent(["k1", "k2", "k3"], 555)
    # old news after a restart: sent keys are never queued again
    assert await store.enqueue([item("k1")], batch="b3", now=T0) == 0
    assert await store.claim_outbox(limit=10, now=T0 + timedelta(hours=1), worker_id="w") == []
    assert (await store.outbox_row("k1"))["sent_message_id"] == 555


async def test_failed_hold_release(store):
    await store.enqueue([item("k1", 100), item("k2", 200)], batch="b", now=T0)
    await store.claim_outbox(limit=5, now=T0, worker_id="w")
    await store.mark_failed(["k1"], "503", T0 + timedelta(seconds=10))
    await store.hold(["k2"], "403 Missing Access")
    assert await store.claim_outbox(limit=5, now=T0 + timedelta(seconds=5), worker_id="w") == []
    rows = await store.claim_outbox(limit=5, now=T0 + timedelta(seconds=10), worker_id="w")
    assert [(r.key, r.attempts) for r in rows] == [("k1", 1)]
    await store.mark_failed(["k1"], "400 bad embed", None)
    assert await store.outbox_counts() == {"failed": 1, "held": 1}
    held = await store.held()
    assert [(h.key, h.channel_id, h.last_error) for h in held] == [
        ("k2", 200, "403 Missing Access")
    ]
    assert await store.release_held(200, moves={"k2": 300}) == 1
    rows = await store.claim_outbox(limit=5, now=datetime.now(UTC), worker_id="w")
    assert [(r.key, r.channel_id) for r in rows] == [("k2", 300)]


async def test_prune_outbox(store):
    await store.enqueue([item("old"), item("m", state="muted")], batch="b", now=T0)
    await store.mark_sent(["old"], 1)
    assert await store.prune_outbox(datetime.now(UTC) + timedelta(days=1)) == 2


async def test_pending_without_channel_is_recorded_unrouted(store):
    assert await store.enqueue([item("k", channel=None)], batch="b", now=T0) == 1
    assert await store.outbox_counts() == {"unrouted": 1}


async def test_a_row_is_only_ever_in_an_outbox_state(store):
    """The policy's three starting states and delivery's three: each reached, nothing else."""
    await store.enqueue(
        [
            item("sent"),
            item("failed"),
            item("held"),
            item("muted", state="muted"),
            item("unrouted", channel=None),
            item("pending"),
        ],
        batch="b",
        now=T0,
    )
    await store.mark_sent(["sent"], 1, now=T0)
    await store.mark_failed(["failed"], "400 bad embed", None)
    await store.hold(["held"], "403 Missing Access")
    counts = await store.outbox_counts()
    assert counts == dict.fromkeys(get_args(OutboxState), 1)
    assert get_args(DecidedState) == ("pending", "muted", "unrouted")


async def waiting_on_a_lock(store: Store) -> None:
    """Until a session of this database waits on a lock (PostgreSQL's own view of it)."""
    import asyncio

    from sqlalchemy import text

    async with asyncio.timeout(10):
        while True:
            async with store.engine.connect() as conn:
                waiting = await conn.scalar(
                    text(
                        "SELECT count(*) FROM pg_stat_activity"
                        " WHERE datname = current_database() AND wait_event_type = 'Lock'"
                    )
                )
            if waiting:
                return
            await asyncio.sleep(0.01)


async def test_two_replicas_queuing_one_key_at_once_count_it_once(pg_url):
    """PostgreSQL, where replicas really write at once: A inserts the key and has not
    committed; B does not see it, so it inserts too and waits on A's row; A commits, B's row
    is dropped by ON CONFLICT. Each says how many rows it added: A 1, B 0 (B said 1 before,
    so a digest queued by two replicas was logged and counted twice)."""
    import asyncio

    from bot.store import outbox

    a, b = await Store.open(pg_url), await Store.open(pg_url)
    try:
        async with a.engine.connect() as conn_a:
            txn = await conn_a.begin()
            assert await outbox.queue(conn_a, [item("digest:1")], batch="a", now=T0) == 1
            async with b.engine.begin() as conn_b:
                second = asyncio.create_task(
                    outbox.queue(conn_b, [item("digest:1")], batch="b", now=T0)
                )
                await waiting_on_a_lock(a)  # B's insert reached the server, behind A's row
                await txn.commit()
                assert await second == 0
        assert [r.key for r in await a.claim_outbox(limit=5, now=T0, worker_id="w")] == ["digest:1"]
    finally:
        await a.close()
        await b.close()
