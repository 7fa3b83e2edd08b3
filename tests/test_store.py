"""The store against real SQLite files, and against PostgreSQL when
OPSBOT_TEST_POSTGRES_URL names a database (e.g. postgresql+asyncpg://postgres@127.0.0.1/test;
its opsbot tables are dropped first)."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import pytest

from bot.alerts import AlertState
from bot.events import EventKind
from bot.models import Account, Job, Snapshot
from bot.store import (
    SCHEMA_VERSION,
    PendingJob,
    SchemaTooNew,
    Store,
    decode_snapshot,
    encode_snapshot,
)
from rig.store import T0, item


def big_snapshot(n: int) -> Snapshot:
    jobs = tuple(Job("pixverse", f"user:1-pixverse:acct{i % 500}@example.com-video:{i}",
                     kind="video", account=f"acct{i % 500}@example.com",
                     started=T0 - timedelta(seconds=i), elapsed_seconds=i, model="v4.5")
                 for i in range(n))
    accounts = tuple(Account(f"acct{i}@example.com", 5, 4, 1) for i in range(500))
    return Snapshot("pixverse", T0, jobs, accounts)


async def test_open_creates_dir_schema_and_second_replica(url, tmp_path):
    s1 = await Store.open(url)
    if url.startswith("sqlite"):
        assert (tmp_path / "data" / "opsbot.db").exists()
    s2, s3 = await asyncio.gather(Store.open(url), Store.open(url))
    assert await s2.schema_version() == SCHEMA_VERSION
    for s in (s1, s2, s3):
        await s.close()


async def test_memory_database():
    s = await Store.open("sqlite+aiosqlite://")
    await s.enqueue([item("k")], batch="b", now=T0)
    assert await s.outbox_counts() == {"pending": 1}
    await s.close()


def test_snapshot_codec_roundtrip():
    snap = big_snapshot(20)
    assert decode_snapshot("pixverse", encode_snapshot(snap)) == snap
    empty = Snapshot("x", T0, (Job("x", "j"),), (Account("a", None, 0, None),))
    assert decode_snapshot("x", encode_snapshot(empty)) == empty


async def test_commit_tick_roundtrip(store):
    snap = big_snapshot(3)
    pend = PendingJob(Job("pixverse", "gone", account="a"), left_at=T0, attempts=2,
                      last_error="502")
    st = AlertState("capacity:a", raw="full", streak=1, since=T0, announced=None, episode=3)
    n = await store.commit_tick("pixverse", now=T0, batch="b1", snapshot=snap,
                                stuck_ids=["x"], pending_add=[pend], states=[st],
                                outbox=[item("k1"), item("k2")])
    assert n == 2
    w = await store.load_watch("pixverse", now=T0)
    assert w.snapshot == snap and w.stuck_ids == {"x"}
    assert w.pending == (pend,) and w.states == {"capacity:a": st}
    # the cached snapshot is reused when it is the stored one
    w2 = await store.load_watch("pixverse", now=T0, cached=snap)
    assert w2.snapshot is snap
    assert (await store.load_watch("minimax", now=T0)).snapshot is None
    # update + remove; outage tick keeps the snapshot
    await store.commit_tick("pixverse", now=T0, batch="b2", pending_remove=["gone"],
                            states=[AlertState("capacity:a", episode=4)])
    w = await store.load_watch("pixverse", now=T0)
    assert w.snapshot == snap and w.pending == () and w.states["capacity:a"].episode == 4


async def test_duplicate_keys_ignored(store):
    assert await store.enqueue([item("k1"), item("k2"), item("k1")], batch="b", now=T0) == 2
    assert await store.commit_tick("p", now=T0, batch="b2",
                                   outbox=[item("k2"), item("k3")]) == 1
    rows = await store.claim_outbox(limit=10, now=T0, worker_id="w")
    assert [r.key for r in rows] == ["k1", "k2", "k3"]
    await store.mark_sent(["k1", "k2", "k3"], 555)
    # old news after a restart: sent keys are never queued again
    assert await store.enqueue([item("k1")], batch="b3", now=T0) == 0
    assert await store.claim_outbox(limit=10, now=T0 + timedelta(hours=1), worker_id="w") == []
    assert (await store.outbox_row("k1"))["sent_message_id"] == 555


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
    assert len(await store.claim_outbox(limit=5, now=T0, worker_id="crashed",
                                        lease=timedelta(seconds=60))) == 1
    assert await store.claim_outbox(limit=5, now=T0 + timedelta(seconds=30), worker_id="w") == []
    rows = await store.claim_outbox(limit=5, now=T0 + timedelta(seconds=61), worker_id="w")
    assert [r.key for r in rows] == ["k"]


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
        ("k2", 200, "403 Missing Access")]
    assert await store.release_held(200, moves={"k2": 300}) == 1
    rows = await store.claim_outbox(limit=5, now=datetime.now(UTC), worker_id="w")
    assert [(r.key, r.channel_id) for r in rows] == [("k2", 300)]


async def test_routes_mutes_mentions_boards(store):
    await store.set_route(EventKind.JOB, None, 1)
    await store.set_route(EventKind.JOB, "minimax", 2)
    await store.set_route(EventKind.JOB, "minimax", 3)
    assert sorted((r.provider or "", r.channel_id) for r in await store.routes()) == [
        ("", 1), ("minimax", 3)]
    assert await store.remove_route(EventKind.JOB, None)
    assert not await store.remove_route(EventKind.JOB, None)

    await store.mute("pixverse", None, T0 + timedelta(hours=1), reason="maintenance")
    await store.mute(None, EventKind.CAPACITY, T0 - timedelta(hours=1))
    await store.mute("minimax", EventKind.JOB, None)
    assert len(await store.mutes()) == 3
    active = await store.mutes(T0)
    assert {(m.provider, m.kind) for m in active} == {("pixverse", None),
                                                      ("minimax", EventKind.JOB)}
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

    await store.set_mention(EventKind.UPSTREAM, 77)
    await store.set_mention(EventKind.UPSTREAM, 78, provider="dreamina")
    assert {(m.provider, m.role_id) for m in await store.mentions()} == {(None, 77),
                                                                         ("dreamina", 78)}
    await store.set_mention(EventKind.UPSTREAM, None)
    assert [m.role_id for m in await store.mentions()] == [78]

    assert await store.set_board(10, None, 1000, guild_id=5) is None
    assert await store.set_board(10, None, 1001) == 1000
    assert await store.set_board(10, "pixverse", 1002) is None
    assert [(b.message_id, b.provider) for b in await store.boards()] == [
        (1001, None), (1002, "pixverse")]
    assert await store.remove_board(1001)
    assert [b.message_id for b in await store.boards()] == [1002]


async def test_lease(store):
    ttl = timedelta(seconds=60)
    assert await store.acquire_lease("watch:p", "a", now=T0, ttl=ttl)
    assert not await store.acquire_lease("watch:p", "b", now=T0, ttl=ttl)
    assert await store.acquire_lease("watch:p", "a", now=T0 + timedelta(seconds=50), ttl=ttl)
    assert not await store.acquire_lease("watch:p", "b", now=T0 + timedelta(seconds=100),
                                         ttl=ttl)
    assert await store.acquire_lease("watch:p", "b", now=T0 + timedelta(seconds=111), ttl=ttl)
    await store.release_lease("watch:p", "b")
    assert await store.acquire_lease("watch:p", "c", now=T0, ttl=ttl)
    assert await store.lease_holder("watch:p") == "c"
    # taken from a holder known to be gone, and only from that one
    assert not await store.acquire_lease("watch:p", "d", now=T0, ttl=ttl, replacing="x")
    assert await store.acquire_lease("watch:p", "d", now=T0, ttl=ttl, replacing="c")
    assert await store.lease_holder("watch:p") == "d"
    assert await store.lease_holder("watch:q") is None


async def test_prune_outbox(store):
    await store.enqueue([item("old"), item("m", state="muted")], batch="b", now=T0)
    await store.mark_sent(["old"], 1)
    assert await store.prune_outbox(datetime.now(UTC) + timedelta(days=1)) == 2


async def test_commit_10000_jobs_timing(store, capsys):
    snap = big_snapshot(10_000)
    await store.commit_tick("pixverse", now=T0, batch="warm", snapshot=snap)
    times = []
    for i in range(5):
        t = time.perf_counter()
        await store.commit_tick("pixverse", now=T0, batch=f"b{i}", snapshot=snap,
                                stuck_ids=[j.id for j in snap.jobs[:50]],
                                outbox=[item(f"k{i}-{n}") for n in range(20)])
        times.append((time.perf_counter() - t) * 1000)
    t = time.perf_counter()
    w = await store.load_watch("pixverse", now=T0)
    load_ms = (time.perf_counter() - t) * 1000
    assert w.snapshot == snap
    with capsys.disabled():
        print(f"\ncommit of 10,000 jobs + 500 accounts: best {min(times):.1f} ms, "
              f"median {sorted(times)[2]:.1f} ms; load (decode) {load_ms:.1f} ms")


async def test_pending_without_channel_is_recorded_unrouted(store):
    assert await store.enqueue([item("k", channel=None)], batch="b", now=T0) == 1
    assert await store.outbox_counts() == {"unrouted": 1}


async def test_refuses_a_newer_schema(url):
    from sqlalchemy import update

    from bot.store import schema_table

    s = await Store.open(url)
    async with s.engine.begin() as conn:
        await conn.execute(update(schema_table).values(version=SCHEMA_VERSION + 1))
    await s.close()
    with pytest.raises(SchemaTooNew, match="newer"):
        await Store.open(url)


async def test_a_cancelled_caller_does_not_cut_a_transaction(store):
    """Cancelling the task that waits on a store operation stops the wait, not the SQL: the
    transaction ends whole (here: committed), and the next writer is not kept waiting on a
    half-closed connection's lock."""
    for step in range(1, 7):
        keys = [f"s{step}-{i}" for i in range(200)]
        task = asyncio.create_task(store.enqueue([item(k) for k in keys], batch=f"b{step}",
                                                 now=T0))
        for _ in range(step):  # cancel at a different point once the operation has begun
            await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await asyncio.wait_for(store.settle(), 5)
        await asyncio.wait_for(
            store.acquire_lease("after", "me", now=T0, ttl=timedelta(seconds=5)), 5)
        assert await store.outbox_row(keys[-1]) is not None
    assert (await store.outbox_counts())["pending"] == 6 * 200
