"""What a watcher keeps between ticks: one tick written in one transaction, read back whole
(`bot.store.watchstate`)."""

from __future__ import annotations

import time

from bot.alerts import AlertState
from bot.models import Job
from bot.store import PendingJob
from rig.store import T0, big_snapshot, by_id, item


async def test_commit_tick_roundtrip(store):
    snap = big_snapshot(3)
    pend = PendingJob(
        Job("pixverse", "gone", account="a"), left_at=T0, attempts=2, last_error="502"
    )
    st = AlertState("capacity:a", raw="full", streak=1, since=T0, announced=None, episode=3)
    n = await store.commit_tick(
        "pixverse",
        now=T0,
        batch="b1",
        snapshot=snap,
        stuck_ids=[snap.jobs[1].id],
        pending_add=[pend],
        states=[st],
        outbox=[item("k1"), item("k2")],
    )
    assert n == 2
    w = await store.load_watch("pixverse", now=T0)
    assert by_id(w.snapshot) == by_id(snap) and w.stuck_ids == {snap.jobs[1].id}
    assert w.pending == (pend,) and w.states == {"capacity:a": st}
    # the cached snapshot is reused when it is the stored one
    w2 = await store.load_watch("pixverse", now=T0, cached=snap)
    assert w2.snapshot is snap
    assert (await store.load_watch("minimax", now=T0)).snapshot is None
    # update + remove; outage tick keeps the snapshot
    await store.commit_tick(
        "pixverse",
        now=T0,
        batch="b2",
        pending_remove=["gone"],
        states=[AlertState("capacity:a", episode=4)],
    )
    w = await store.load_watch("pixverse", now=T0)
    assert (
        by_id(w.snapshot) == by_id(snap) and w.pending == () and w.states["capacity:a"].episode == 4
    )


async def test_commit_10000_jobs_timing(store, capsys):
    snap = big_snapshot(10_000)
    await store.commit_tick("pixverse", now=T0, batch="warm", snapshot=snap)
    times = []
    for i in range(5):
        t = time.perf_counter()
        await store.commit_tick(
            "pixverse",
            now=T0,
            batch=f"b{i}",
            snapshot=snap,
            stuck_ids=[j.id for j in snap.jobs[:50]],
            outbox=[item(f"k{i}-{n}") for n in range(20)],
        )
        times.append((time.perf_counter() - t) * 1000)
    t = time.perf_counter()
    w = await store.load_watch("pixverse", now=T0)
    load_ms = (time.perf_counter() - t) * 1000
    assert by_id(w.snapshot) == by_id(snap)
    with capsys.disabled():
        print(
            f"\ncommit of 10,000 jobs + 500 accounts: best {min(times):.1f} ms, "
            f"median {sorted(times)[2]:.1f} ms; load (rows) {load_ms:.1f} ms"
        )
