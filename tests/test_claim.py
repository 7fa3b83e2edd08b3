"""The outbox claim (`bot.store.claims`): two workers never share a row, a crashed worker's
claim comes back when its lease ends, and the GROUP BY form claims exactly what the
correlated NOT EXISTS claimed.

The old query is kept here as the reference. Both run over the same random outbox states (on
every configured backend) and must claim the same rows, return them with the same fields and
leave the same table behind.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, insert, select

from bot.events import Event, EventKind
from bot.store import Store, _to_db, encode_event, outbox_table
from rig.store import BACKENDS, LEASE, T0, database, item, reference_claim


@dataclass(frozen=True)
class Row:
    channel: int | None
    batch: str
    state: str
    due_in: int  # seconds from T0 to next_attempt_at
    claimed_for: int | None  # seconds from T0 to claimed_until (None: never claimed)
    claimed_by: str | None
    mention: int | None
    attempts: int


#: Offsets around the claim's instant, its exact value included (`<=` against `<`).
OFFSETS = st.sampled_from([-30, -1, 0, 1, 30])
#: Channel ids, the largest one included (stored negative: two's complement). A pending row
#: always has a channel (one without is queued as `unrouted`; see test_snowflakes.py for a
#: pending row whose channel is unusable).
CHANNELS = [1, 2, 3, (1 << 64) - 1]
ROWS = st.builds(
    Row,
    channel=st.sampled_from(CHANNELS),
    batch=st.sampled_from(["a", "b", "c", "d", "e"]),
    state=st.sampled_from(
        ["pending", "pending", "pending", "sent", "held", "failed", "muted", "unrouted"]
    ),
    due_in=OFFSETS,
    claimed_for=st.none() | OFFSETS,
    claimed_by=st.sampled_from([None, "other#1", "other#2"]),
    mention=st.sampled_from([None, 7]),
    attempts=st.integers(0, 3),
).map(lambda r: r if r.state == "pending" or r.channel != 3 else replace(r, channel=None))
#: One claim: (limit, seconds after T0).
CLAIMS = st.lists(
    st.tuples(st.integers(1, 12), st.sampled_from([0, 1, 31])), min_size=1, max_size=3
)


def _values(rows: list[Row]) -> Iterator[dict[str, Any]]:
    for i, r in enumerate(rows, start=1):
        ev = Event(
            key=f"k{i}", kind=EventKind.JOB, provider="p", word="completed", at=T0, job_id=f"j{i}"
        )
        yield {
            "id": i,
            "key": ev.key,
            "provider": "p",
            "kind": "job",
            "batch": r.batch,
            "channel_id": r.channel,
            "mention_role_id": r.mention,
            "event": encode_event(ev),
            "state": r.state,
            "attempts": r.attempts,
            "created_at": _to_db(T0),
            "next_attempt_at": _to_db(T0 + timedelta(seconds=r.due_in)),
            "claimed_by": r.claimed_by,
            "claimed_until": None
            if r.claimed_for is None
            else _to_db(T0 + timedelta(seconds=r.claimed_for)),
        }


async def _run(
    store: Store, rows: list[Row], claims: list[tuple[int, int]], new: bool
) -> tuple[list[list[tuple[Any, ...]]], list[tuple[Any, ...]]]:
    """Load `rows`, make the claims one after the other; returns what each claim returned
    (every field but the claim token) and the table after them (tokens by claim number)."""
    async with store.engine.begin() as conn:
        await conn.execute(delete(outbox_table))
        if rows:
            await conn.execute(insert(outbox_table), list(_values(rows)))
    got: list[list[tuple[Any, ...]]] = []
    tokens: dict[str, str] = {}
    for n, (limit, after) in enumerate(claims):
        kwargs: dict[str, Any] = {
            "limit": limit,
            "now": T0 + timedelta(seconds=after),
            "worker_id": f"w{n}",
            "lease": LEASE,
        }
        claimed = await (store.claim_outbox(**kwargs) if new else reference_claim(store, **kwargs))
        if claimed:
            tokens[claimed[0].claim] = f"claim {n}"
        assert len({r.claim for r in claimed}) <= 1
        got.append(
            [
                (
                    r.id,
                    r.key,
                    r.batch,
                    r.channel_id,
                    r.mention_role_id,
                    r.event,
                    r.attempts,
                    r.created_at,
                )
                for r in claimed
            ]
        )
    async with store.engine.connect() as conn:
        table = [
            (
                r.id,
                r.state,
                r.next_attempt_at,
                r.claimed_until,
                tokens.get(r.claimed_by, r.claimed_by),
            )
            for r in await conn.execute(select(outbox_table).order_by(outbox_table.c.id))
        ]
    return got, table


@pytest.mark.parametrize("backend", BACKENDS)
def test_claim_equals_the_reference_query(backend: str, tmp_path: Path) -> None:
    with contextlib.ExitStack() as stack, asyncio.Runner() as runner:
        # SQLite in memory: the same SQL, without a file sync per example.
        url = (
            "sqlite+aiosqlite://"
            if backend == "sqlite"
            else stack.enter_context(database(backend, tmp_path))
        )
        store = runner.run(Store.open(url))
        try:

            @settings(
                max_examples=200 if backend == "sqlite" else 100,
                deadline=None,
                suppress_health_check=[HealthCheck.too_slow],
            )
            @given(st.lists(ROWS, max_size=24), CLAIMS)
            def same(rows: list[Row], claims: list[tuple[int, int]]) -> None:
                old = runner.run(_run(store, rows, claims, new=False))
                new = runner.run(_run(store, rows, claims, new=True))
                assert new == old

            same()
        finally:
            runner.run(store.close())


def test_claim_reference_sees_the_cases_that_matter(url: str) -> None:
    """The comparison above is only worth what its states reach: a hand-made state where a
    retry, another worker's claim and this claim's own rows each decide something."""
    rows = [
        Row(1, "a", "pending", 30, None, None, None, 1),  # 1: channel 1 waits for a retry
        Row(1, "b", "pending", -30, None, None, None, 0),  # 2: behind it: not claimed
        Row(2, "b", "pending", -30, 30, "other#1", None, 0),  # 3: out with another worker
        Row(2, "c", "pending", -30, None, None, None, 0),  # 4: behind it: not claimed
        Row(3, "c", "pending", -30, None, None, 7, 0),  # 5: claimed (batch c)
        Row(3, "c", "pending", -30, None, None, None, 0),  # 6: claimed: same claim's row 5
        Row(3, "d", "pending", -30, -1, "other#2", None, 0),  # 7: expired claim: claimed
        Row(3, "e", "sent", -30, None, None, None, 0),  # 8: not pending
    ]
    with asyncio.Runner() as runner:
        store = runner.run(Store.open(url))
        try:
            for new in (False, True):
                got, _ = runner.run(_run(store, rows, [(10, 0)], new=new))
                assert [r[0] for r in got[0]] == [5, 6, 7]
                # whole batches only: limit 1 takes row 5's batch c, and all of it
                got, _ = runner.run(_run(store, rows, [(1, 0)], new=new))
                assert [r[0] for r in got[0]] == [5, 6]
        finally:
            runner.run(store.close())


async def test_postgresql_claims_take_turns(pg_url: str) -> None:
    """Two replicas' claims take turns: the second waits until the first's transaction has
    ended, so it sees the first one's rows as out (and keeps their channel's order)."""
    from sqlalchemy import text

    from bot.store import _CLAIM_LOCK

    store = await Store.open(pg_url)
    try:
        await store.enqueue([item("early")], batch="b1", now=T0)
        await store.enqueue([item("later")], batch="b2", now=T0)
        async with store.engine.connect() as other:
            # another replica's claim, still in its transaction
            await other.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _CLAIM_LOCK})
            pid = (await other.execute(text("SELECT pg_backend_pid()"))).scalar_one()
            claim = asyncio.create_task(store.claim_outbox(limit=10, now=T0, worker_id="w"))

            async def claim_waits() -> bool:
                return bool(
                    (
                        await other.execute(
                            text(
                                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                                "AND NOT granted AND pid <> :pid"
                            ),
                            {"pid": pid},
                        )
                    ).scalar_one()
                )

            for _ in range(1000):  # up to ~10 s
                if claim.done() or await claim_waits():
                    break
                await asyncio.sleep(0.01)
            assert not claim.done()
            assert await claim_waits()
            await other.rollback()  # that claim ends
        rows = await asyncio.wait_for(claim, 10)
        assert [r.key for r in rows] == ["early", "later"]
    finally:
        await store.close()


async def test_claim_two_concurrent_workers_never_share(url):
    s1, s2 = await Store.open(url), await Store.open(url)
    for b in range(40):
        await s1.enqueue([item(f"b{b}-{i}") for i in range(3)], batch=f"b{b}", now=T0)
    got: dict[str, list[str]] = {"w1": [], "w2": []}

    async def worker(s: Store, name: str) -> None:
        while True:
            rows = await s.claim_outbox(limit=4, now=T0, worker_id=name)
            if not rows:
                return
            got[name] += [r.key for r in rows]
            await asyncio.sleep(0)
            # (A channel's later rows wait while its earlier ones are out with a worker.)
            await s.mark_sent([r.key for r in rows], 1, now=T0)

    await asyncio.gather(worker(s1, "w1"), worker(s2, "w2"))
    assert not set(got["w1"]) & set(got["w2"])
    assert len(got["w1"]) + len(got["w2"]) == 120
    # whole batches only
    for keys in got.values():
        batches = {k.split("-")[0] for k in keys}
        assert sum(1 for k in keys if k.split("-")[0] in batches) == 3 * len(batches)
    await s1.close()
    await s2.close()


async def test_claim_lease_expires(store):
    await store.enqueue([item("k")], batch="b", now=T0)
    assert (
        len(
            await store.claim_outbox(
                limit=5, now=T0, worker_id="crashed", lease=timedelta(seconds=60)
            )
        )
        == 1
    )
    assert await store.claim_outbox(limit=5, now=T0 + timedelta(seconds=30), worker_id="w") == []
    rows = await store.claim_outbox(limit=5, now=T0 + timedelta(seconds=61), worker_id="w")
    assert [r.key for r in rows] == ["k"]
