"""What the watcher's tick puts in the history: its capacity points and the jobs it resolved,
in the tick's own transaction, with the run time and reason of each (`bot.history.capture`)."""

from __future__ import annotations

from datetime import timedelta

from bot import errors
from bot.history import Finished, Sample
from bot.models import Account, Job, JobResult, Outcome
from rig.watch import T0, Clock, FakeProvider, P, snap, watcher

STARTED = T0 - timedelta(minutes=3)
MIN = timedelta(minutes=1)


def job(jid: str, **kw: object) -> Job:
    fields: dict[str, object] = {"kind": "video", "account": "a@x", "model": "v4"}
    fields.update(kw)
    return Job(P, jid, **fields)  # type: ignore[arg-type]


async def test_the_tick_records_each_outcome_once_with_its_run_time_and_reason(store):
    clock = Clock()
    running = [
        job("ok", started=STARTED, elapsed_seconds=180),
        job("bad", started=STARTED),
        job("late", elapsed_seconds=100),  # no start: upstream's elapsed figure, as last read
        job("lost", account=None, model=None),  # nothing known of its run
    ]
    fake = FakeProvider([snap(*running), snap()])
    fake.results["bad"] = [JobResult(P, "bad", Outcome.FAILED, error="GPU fell over", model="v5")]
    fake.result("late", Outcome.RUNNING, Outcome.COMPLETED)
    fake.result("lost", errors.ServerError("down", status=502))
    w = watcher(fake, store, clock, resolve_give_up=timedelta(seconds=60))
    await w.tick()
    clock.advance()  # 30 s: all four have left the queue
    left = clock.now
    await w.tick()
    clock.advance()
    await w.tick()
    clock.advance()  # 60 s after they left: "lost" is given up, unknown
    await w.tick()
    clock.advance()
    await w.tick()  # nothing new: nothing recorded twice
    got = {f.job_id: f for f in await store.finished()}
    assert got == {
        "ok": Finished(P, "ok", "a@x", "video", "v4", "completed", 210.0, "poll", left),
        "bad": Finished(
            P, "bad", "a@x", "video", "v5", "failed", 210.0, "poll", left, "GPU fell over"
        ),
        "late": Finished(
            P,
            "late",
            "a@x",
            "video",
            "v4",
            "completed",
            100.0,
            "poll",
            left + timedelta(seconds=30),
        ),
        "lost": Finished(
            P, "lost", None, "video", None, "unknown", None, "poll", left + timedelta(seconds=60)
        ),
    }


async def test_the_tick_writes_its_capacity_points(store):
    clock = Clock()
    full = Account("a@x", max_jobs=2, executing=2, available=0)
    later = T0 + timedelta(minutes=1)
    fake = FakeProvider([snap(accounts=[full]), snap(accounts=[full], at=later)])
    w = watcher(fake, store, clock)
    await w.tick()
    clock.advance(60)
    await w.tick()
    got = await store.samples(since=T0, until=clock.now, per_account=True, now=clock.now)
    total = Sample(P, None, T0, 2.0, 2.0, 0.0, True)
    one = Sample(P, "a@x", T0, 2.0, 2.0, 0.0, True)
    assert got == [
        total,
        one,
        Sample(P, None, later, 2.0, 2.0, 0.0, True),
        Sample(P, "a@x", later, 2.0, 2.0, 0.0, True),
    ]
    assert store.history_rows == 2 + 1  # the second tick: the total alone


async def test_the_leader_compacts_the_history_every_few_minutes(store):
    clock = Clock()
    keep = timedelta(days=3)
    ancient = Finished(P, "ancient", None, None, None, "completed", None, "poll", T0 - keep - MIN)
    await store.commit_tick(P, now=T0, batch="old", finished=[ancient])
    acc = Account("a@x", max_jobs=2, executing=1, available=1)
    minutes = [T0 + timedelta(minutes=m) for m in range(17)]
    fake = FakeProvider([snap(accounts=[acc], at=t) for t in minutes])
    w = watcher(fake, store, clock, history_keep=keep, compact_every=timedelta(minutes=5))
    await w.tick()  # the first tick compacts: the finished job past the keep is dropped
    assert await store.finished() == []
    later = T0 + timedelta(days=5)
    for t in minutes[1:]:
        clock.now = t
        await w.tick()
        buckets = await store.samples(since=T0, until=t, per_account=True, now=later)
        # the 12:00 bucket is rolled up at the first turn after 12:15 (12:15 itself), not before
        assert len(buckets) == (2 if t >= T0 + timedelta(minutes=15) else 0), t
    assert buckets == [
        Sample(P, None, T0, 1.0, 2.0, 1.0, False),
        Sample(P, "a@x", T0, 1.0, 2.0, 1.0, False),
    ]


async def test_history_days_is_what_the_bots_watchers_keep(start_bot):
    """HISTORY_DAYS reaches each running watcher's config, which its compaction is given
    (above, and at exactly its boundary: tests/test_history_store.py). (Not through the
    start-up tick: the harness may cancel it mid-compaction.)"""
    h = await start_bot(providers=["pixverse", "minimax"], history_days=2)
    assert {n: w.config.history_keep for n, w in h.bot.watchers.items()} == {
        "pixverse": timedelta(days=2),
        "minimax": timedelta(days=2),
    }
    h = await start_bot(providers=["pixverse"])
    assert h.bot.watchers["pixverse"].config.history_keep == timedelta(days=60)  # the default
