"""The store under an alert flood: 10,000 rows of one tick go in, out and away whole, and no
operation's work grows with one statement per row (the figures are in bench/flood.py)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from sqlalchemy import event as sa_event

from bot.store import Store
from tests.test_store import T0, item

FLOOD = 10_000


@contextmanager
def statements(store: Store) -> Iterator[list[str]]:
    """The SQL statements the store sends while the block runs."""
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    sa_event.listen(store.engine.sync_engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        sa_event.remove(store.engine.sync_engine, "before_cursor_execute", record)


async def test_a_flood_is_queued_claimed_and_sent_whole(store: Store) -> None:
    flood = [item(f"capacity:p:a{i}:1:exhausted") for i in range(FLOOD)]
    assert await store.commit_tick("p", now=T0, batch="flood", outbox=flood) == FLOOD
    await store.enqueue([item("job:q:1:completed", channel=200)], batch="other", now=T0)
    with statements(store) as sql:
        rows = await store.claim_outbox(limit=200, now=T0, worker_id="w")
    # a whole batch: the flood's 10,000 rows although the limit is 200; the other tick's row
    # is not among the first 200, and comes with the next claim
    assert len(rows) == FLOOD
    assert [r.id for r in rows] == sorted(r.id for r in rows)
    assert {r.batch for r in rows} == {"flood"}
    # a fixed number of statements, whatever the number of rows: (PostgreSQL: take the claim
    # lock,) choose the batches, claim their rows, read them back
    assert len(sql) == (4 if store.dialect == "postgresql" else 3)
    rest = await store.claim_outbox(limit=200, now=T0, worker_id="w")
    assert [r.batch for r in rest] == ["other"]
    await store.mark_sent([r.key for r in rows + rest], 42, now=T0)
    assert await store.outbox_counts() == {"sent": FLOOD + 1}


async def test_while_a_flood_is_out_its_channel_waits_and_the_others_go(store: Store) -> None:
    await store.enqueue([item(f"f{i}") for i in range(2000)], batch="flood", now=T0)
    out = await store.claim_outbox(limit=200, now=T0, worker_id="w1")
    assert len(out) == 2000
    await store.enqueue([item("same-channel"), item("elsewhere", channel=200)],
                        batch="later", now=T0)
    rows = await store.claim_outbox(limit=200, now=T0, worker_id="w2")
    assert [r.key for r in rows] == ["elsewhere"]
    await store.mark_sent([r.key for r in out], 1, now=T0)
    rows = await store.claim_outbox(limit=200, now=T0, worker_id="w2")
    assert [r.key for r in rows] == ["same-channel"]


async def test_held_flood_moves_in_a_statement_per_channel_not_per_row(store: Store) -> None:
    keys = [f"k{i}" for i in range(1200)]
    await store.enqueue([item(k) for k in keys], batch="b", now=T0)
    await store.hold(keys, "403 Missing Access")
    moves = {k: 300 + i % 2 for i, k in enumerate(keys)}
    with statements(store) as sql:
        assert await store.release_held(100, moves=moves, now=T0) == 1200
    # the held keys once; 600 keys to each of two channels (2 × 2 chunks); 1,200 released
    # (3 chunks)
    assert len(sql) == 1 + 4 + 3
    rows = await store.claim_outbox(limit=5000, now=T0, worker_id="w")
    assert {k: r.channel_id for r in rows for k in [r.key]} == moves


async def test_prune_deletes_in_bounded_chunks(store: Store) -> None:
    old = [f"old{i}" for i in range(7)]
    await store.enqueue([item(k) for k in old], batch="b", now=T0)
    await store.enqueue([item("old-pending"), item("old-muted", state="muted")],
                        batch="c", now=T0)
    await store.enqueue([item("new")], batch="d", now=T0 + timedelta(days=10))
    await store.mark_sent([*old, "new"], 1, now=T0)
    with statements(store) as sql:
        assert await store.prune_outbox(T0 + timedelta(days=1), chunk=3) == 8
    deletes = [s for s in sql if s.lstrip().upper().startswith("DELETE")]
    assert len(deletes) == 3  # 3 + 3 + 2: the short one ends it
    assert await store.outbox_counts() == {"pending": 1, "sent": 1}
    assert await store.prune_outbox(T0 + timedelta(days=1), chunk=3) == 0
