"""The history-based alerts through the watcher and the real store (both backends): failure
rates from what the ticks (and callbacks) recorded, and stuck limits learned per model."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from bot.history import Finished
from bot.models import Job, JobResult, Outcome
from bot.store import Store
from bot.stucklimit import LEARN_EVERY, StuckLimit
from bot.watch import ProviderWatcher
from bot.watch.recent import RecentFinished
from rig.watch import T0, Clock, FakeProvider, P, snap, watcher


def job(jid: str, account: str = "bad@x", **kw: object) -> Job:
    fields: dict[str, object] = {"kind": "video", "account": account, "elapsed_seconds": 60}
    fields.update(kw)
    return Job(P, jid, **fields)  # type: ignore[arg-type]


async def finish(
    w: ProviderWatcher,
    fake: FakeProvider,
    clock: Clock,
    outcomes: list[Outcome],
    *,
    account: str = "bad@x",
    reason: str = "GPU fell over",
    start: int = 0,
) -> list[tuple[str, ...]]:
    """Run one job per outcome through the queue (they all leave in one tick), then two more
    ticks; the keys each of the three ticks decided."""
    jobs = [job(f"{account}-{start + i}", account) for i in range(len(outcomes))]
    for j, outcome in zip(jobs, outcomes, strict=True):
        error = reason if outcome is not Outcome.COMPLETED else None
        fake.results[j.id] = [JobResult(P, j.id, outcome, account=account, error=error)]
    fake.snapshots = [snap(*jobs)]
    clock.advance()
    await w.tick()
    fake.snapshots = [snap()]
    keys: list[tuple[str, ...]] = []
    for _ in range(3):
        clock.advance()
        keys.append((await w.tick()).event_keys)
    return keys


def rate_keys(keys: list[tuple[str, ...]]) -> list[str]:
    return [k for tick in keys for k in tick if k.startswith("failure:")]


async def test_failure_rate_high_then_normal_for_one_account(store: Store) -> None:
    clock = Clock()
    fake = FakeProvider([snap()])
    w = watcher(fake, store, clock)
    await w.tick()
    F, C = Outcome.FAILED, Outcome.COMPLETED
    # 9 finished, all failed: too few to tell
    assert rate_keys(await finish(w, fake, clock, [F] * 9)) == []
    # the 10th: 10 of 10; recorded this tick, read the next, held two ticks: announced (the
    # provider as a whole too: every job it finished was this account's)
    assert rate_keys(await finish(w, fake, clock, [F], start=9)) == [
        "failure:pixverse:*:1:failure rate high",
        "failure:pixverse:bad@x:1:failure rate high",
    ]
    [row] = [
        r
        for r in await store.claim_outbox(limit=100, now=clock.now, worker_id="t")
        if r.key == "failure:pixverse:bad@x:1:failure rate high"
    ]
    assert row.event.detail == (
        "10 of 10 recent jobs failed or were moderated (100 %): 10 failed. "
        "Top reasons: 10× GPU fell over"
    )
    # 20 completed jobs later the window holds none of the failures: normal
    assert rate_keys(await finish(w, fake, clock, [C] * 20, start=10)) == [
        "failure:pixverse:*:1:failure rate normal",
        "failure:pixverse:bad@x:1:failure rate normal",
    ]


async def test_a_restart_reads_the_windows_from_the_store_and_says_nothing_twice(
    store: Store,
) -> None:
    clock = Clock()
    fake = FakeProvider([snap()])
    first = watcher(fake, store, clock)
    await first.tick()
    keys = await finish(first, fake, clock, [Outcome.FAILED] * 4 + [Outcome.COMPLETED] * 6)
    assert rate_keys(keys) == [
        "failure:pixverse:*:1:failure rate high",
        "failure:pixverse:bad@x:1:failure rate high",
    ]
    again = watcher(fake, store, clock)
    for _ in range(3):
        clock.advance()
        assert (await again.tick()).event_keys == ()
    # the restarted watcher's windows came from the store: one more failure of another account
    # is the provider's 11th job, and the account's first (too few)
    keys = await finish(again, fake, clock, [Outcome.FAILED], account="new@x", start=0)
    assert rate_keys(keys) == []
    assert {f: len(w) for f, w in again._recent.windows.items()} == {  # type: ignore[union-attr]
        None: 11,
        "bad@x": 10,
        "new@x": 1,
    }


async def test_callbacks_recorded_count_too(store: Store) -> None:
    """A job the replyUrl receiver announced is recorded by it (via callback), not by a tick:
    the failure rate reads it all the same."""
    clock = Clock()
    fake = FakeProvider([snap()])
    w = watcher(fake, store, clock)
    await w.tick()
    callbacks = [
        Finished(P, f"cb{i}", "cb@x", "video", "v5", "moderated", 30.0, "callback", clock.now)
        for i in range(10)
    ]
    await store.enqueue([], batch="cb", now=clock.now, finished=callbacks)
    keys: list[str] = []
    for _ in range(3):
        clock.advance()
        keys += (await w.tick()).event_keys
    assert keys == [
        "failure:pixverse:*:1:failure rate high",
        "failure:pixverse:cb@x:1:failure rate high",
    ]


async def test_stuck_limit_learned_from_twenty_jobs_and_named_in_the_alert(store: Store) -> None:
    clock = Clock()
    done = [
        Finished(P, f"old{i}", "a@x", "video", "Seedance 2.0", "completed", 180.0, "poll", T0)
        for i in range(19)
    ]
    await store.enqueue([], batch="seed", now=T0, finished=done)
    slow = job("slow", "a@x", model="Seedance 2.0", elapsed_seconds=7 * 60)
    fake = FakeProvider([snap(slow)])
    w = watcher(fake, store, clock)
    # 19 jobs: the ceiling (20 min) applies; 7 minutes is not stuck
    assert (await w.tick()).events == 0
    assert w.stuck_limits.of("Seedance 2.0").source == "ceiling"
    twentieth = Finished(P, "old19", "a@x", "video", "Seedance 2.0", "completed", 180.0, "poll", T0)
    await store.enqueue([], batch="seed2", now=T0, finished=[twentieth])
    clock.advance(LEARN_EVERY.total_seconds() - 30)
    assert (await w.tick()).events == 0  # not learned again yet
    clock.advance(30)  # learned again: 2 × 3 min = 6 min, and 7 min is past it
    fake.snapshots = [snap(job("slow", "a@x", model="Seedance 2.0", elapsed_seconds=14 * 60))]
    report = await w.tick()
    assert report.event_keys == (f"job:{P}:slow:stuck",)
    rows = await store.claim_outbox(limit=10, now=clock.now, worker_id="t")
    [stuck] = [r.event for r in rows if r.key == f"job:{P}:slow:stuck"]
    assert stuck.detail == "running for 14m 00s; Seedance 2.0 usually finishes within 3m 00s"
    # a model with no history keeps the ceiling
    assert w.stuck_limits.seconds() == {"Seedance 2.0": 360.0}
    assert clock.now - T0 == timedelta(minutes=10)


def recorded(account: str, outcome: str, n: int, at: datetime, start: int = 0) -> list[Finished]:
    """`n` finished jobs of `account`, as the replyUrl receiver records them."""
    return [
        Finished(P, f"{account}-{start + i}", account, "video", "v5", outcome, 30.0, "callback", at)
        for i in range(n)
    ]


async def test_a_rate_high_for_one_tick_only_is_damped(store: Store) -> None:
    """Flap-damped like capacity: one tick over the threshold, then under again before it held
    a second tick, says nothing; over for two ticks says `failure rate high`."""
    clock = Clock()
    w = watcher(FakeProvider([snap()]), store, clock)
    await w.tick()
    await store.enqueue(
        [], batch="a", now=clock.now, finished=recorded("a@x", "failed", 10, clock.now)
    )
    clock.advance()
    assert (await w.tick()).event_keys == ()  # 10 of 10: high, one tick
    good = recorded("a@x", "completed", 20, clock.now, start=10)
    await store.enqueue([], batch="b", now=clock.now, finished=good)
    keys: list[str] = []
    for _ in range(3):
        clock.advance()
        keys += (await w.tick()).event_keys
    assert keys == []  # 0 of the last 20: under again, never announced, no `normal` either
    bad = recorded("a@x", "moderated", 6, clock.now, start=30)
    await store.enqueue([], batch="c", now=clock.now, finished=bad)
    clock.advance()
    assert (await w.tick()).event_keys == ()  # 6 of 20, exactly 30 %: high, one tick
    clock.advance()
    assert (await w.tick()).event_keys == (
        "failure:pixverse:*:1:failure rate high",
        "failure:pixverse:a@x:1:failure rate high",
    )


async def test_a_second_replica_decides_the_same_failure_alert_and_the_outbox_refuses_it(
    store: Store,
) -> None:
    """A replica acting on a state that missed the announcement's write (a lost lease, a
    stale read) decides `failure rate high` again: the same keys, so nothing is queued twice."""
    clock = Clock()
    fake = FakeProvider([snap()])
    first = watcher(fake, store, clock)
    await first.tick()
    assert len(rate_keys(await finish(first, fake, clock, [Outcome.FAILED] * 10))) == 2
    stored = (await store.load_watch(P, now=clock.now)).states.values()
    stale = [
        replace(s, announced=None, episode=0, streak=1, announced_at=None)
        for s in stored
        if s.scope.startswith("failure")
    ]
    assert len(stale) == 2
    await store.commit_tick(P, now=clock.now, batch="stale", states=stale)
    replica = watcher(fake, store, clock)
    decided: list[str] = []
    queued = 0
    for _ in range(2):
        clock.advance()
        report = await replica.tick()
        decided += report.event_keys
        queued += report.queued
    assert (decided, queued) == (
        ["failure:pixverse:*:1:failure rate high", "failure:pixverse:bad@x:1:failure rate high"],
        0,
    )
    rows = await store.claim_outbox(limit=100, now=clock.now, worker_id="t")
    assert sorted(r.key for r in rows if r.key.startswith("failure:")) == decided


async def test_a_model_first_running_between_two_learnings_gets_its_limit_at_once(
    store: Store,
) -> None:
    """The limits are learned every 10 minutes for the models running; a model that starts
    running in between is learned when it is first seen, not up to 10 minutes later (its jobs
    would meanwhile be judged by the 20-minute ceiling)."""
    clock = Clock()
    done = [
        Finished(P, f"old{i}", "a@x", "video", "fast", "completed", 150.0, "poll", T0)
        for i in range(20)
    ]
    await store.enqueue([], batch="seed", now=T0, finished=done)
    other = job("other", "a@x", model="slow", elapsed_seconds=60)
    fake = FakeProvider([snap(other)])
    w = watcher(fake, store, clock)
    await w.tick()  # learned now: "slow" (no history); "fast" is not running
    assert set(w.stuck_limits.by_model) == {"slow"}
    # each model from its own jobs: "fast"'s 20 are not "slow"'s
    assert w.stuck_limits.of("slow") == StuckLimit(20 * 60.0, "ceiling", "slow", None)
    clock.advance(60)
    fast = job("fast-1", "a@x", model="fast", elapsed_seconds=5 * 60)
    fake.snapshots = [snap(other, fast)]
    report = await w.tick()  # one minute later: 5 minutes is the floor of 2 × 2m 30s
    assert report.event_keys == (f"job:{P}:fast-1:stuck",)
    assert w.stuck_limits.of("fast").source == "floor"
    # a model seen and learned stays learned until the next round: no query a tick
    calls = 0
    real = store.finished

    async def counted(**kw: object) -> list[Finished]:
        nonlocal calls
        calls += "model" in kw
        return await real(**kw)  # type: ignore[arg-type]

    store.finished = counted  # type: ignore[method-assign]
    for _ in range(3):
        clock.advance()
        await w.tick()
    assert calls == 0


async def test_with_too_little_history_the_ceiling_applies_and_the_alert_says_so(
    store: Store,
) -> None:
    """19 completed jobs of a model are not enough: its job is stuck at STUCK_AFTER_MINUTES
    (20), not before, and the alert names that setting, as for a job with no model at all."""
    done = [
        Finished(P, f"old{i}", "a@x", "video", "m", "completed", 60.0, "poll", T0)
        for i in range(19)
    ]
    await store.enqueue([], batch="seed", now=T0, finished=done)
    clock = Clock()
    under = [
        job("m-job", "a@x", model="m", elapsed_seconds=20 * 60 - 1),
        job("bare", "a@x", elapsed_seconds=20 * 60 - 1),
    ]
    fake = FakeProvider([snap(*under)])
    w = watcher(fake, store, clock)
    assert (await w.tick()).event_keys == ()  # 19m 59s: under the ceiling (2 × 1 m learned: no)
    clock.advance(1)
    fake.snapshots = [
        snap(
            job("m-job", "a@x", model="m", elapsed_seconds=20 * 60),
            job("bare", "a@x", elapsed_seconds=20 * 60),
        )
    ]
    report = await w.tick()
    assert sorted(report.event_keys) == [f"job:{P}:bare:stuck", f"job:{P}:m-job:stuck"]
    rows = await store.claim_outbox(limit=10, now=clock.now, worker_id="t")
    details = {r.event.job_id: r.event.detail for r in rows}
    fallback = "running for 20m 00s; stuck after 20m 00s (STUCK_AFTER_MINUTES)"
    assert details == {"m-job": fallback, "bare": fallback}


class LateCommit:
    """The real store, with a callback's row committed at the worst moment: between the read
    of what was recorded since the last tick and the read of a new account's window."""

    def __init__(self, store: Store, late: Finished) -> None:
        self.store = store
        self.late: Finished | None = late

    async def finished(self, **kw: Any) -> list[Finished]:
        if kw.get("account") is not None and self.late is not None:
            late, self.late = self.late, None
            await self.store.enqueue([], batch="late", now=late.at, finished=[late])
        return await self.store.finished(**kw)


async def test_a_row_committed_between_two_reads_counts_once_in_every_window(store: Store) -> None:
    """A job that lands while a new account's window is read is in that account's window and,
    from the next read on, in the provider's: each job once in each window it belongs to."""
    recent = RecentFinished(P, 20, timedelta(minutes=2))
    await recent.refresh(store, now=T0)  # nothing yet
    at = T0 + timedelta(seconds=10)
    await store.enqueue([], batch="a", now=at, finished=recorded("x@x", "failed", 1, at))
    late = recorded("x@x", "failed", 1, at + timedelta(seconds=1), start=1)[0]
    await recent.refresh(LateCommit(store, late), now=T0 + timedelta(seconds=30))
    await recent.refresh(store, now=T0 + timedelta(seconds=60))
    ids = {k: sorted(f.job_id for f in w) for k, w in recent.windows.items()}
    assert ids == {None: ["x@x-0", "x@x-1"], "x@x": ["x@x-0", "x@x-1"]}
    await recent.refresh(store, now=T0 + timedelta(seconds=90))  # and stays so
    assert {k: sorted(f.job_id for f in w) for k, w in recent.windows.items()} == ids


async def test_a_row_committed_between_the_first_reads_counts_once_in_every_window(
    store: Store,
) -> None:
    """The same at the first read (a restart), of an account with a failure state: the
    provider's window first, then the account's, and a callback's row landing in between."""
    at = T0 + timedelta(seconds=10)
    await store.enqueue([], batch="a", now=at, finished=recorded("x@x", "failed", 1, at))
    late = recorded("x@x", "failed", 1, at + timedelta(seconds=1), start=1)[0]
    recent = RecentFinished(P, 20, timedelta(minutes=2))
    await recent.refresh(LateCommit(store, late), now=T0 + timedelta(seconds=30), accounts=["x@x"])
    await recent.refresh(store, now=T0 + timedelta(seconds=60))
    ids = {k: sorted(f.job_id for f in w) for k, w in recent.windows.items()}
    assert ids == {None: ["x@x-0", "x@x-1"], "x@x": ["x@x-0", "x@x-1"]}


async def test_an_accounts_older_jobs_than_the_providers_window_count_once(store: Store) -> None:
    """A busy provider: its window (here 10) holds only its newest jobs; an account's older
    ones, read for that account's window at a restart, are counted there once, not again by
    the next read (they are within its look-back) and not in the provider's window at all."""
    base = T0 + timedelta(seconds=10)
    await store.enqueue([], batch="a", now=base, finished=recorded("old@x", "failed", 3, base))
    newer = base + timedelta(seconds=5)
    await store.enqueue(
        [], batch="b", now=newer, finished=recorded("busy@x", "completed", 10, newer)
    )
    recent = RecentFinished(P, 10, timedelta(minutes=2))
    await recent.refresh(store, now=T0 + timedelta(seconds=30), accounts=["old@x"])
    await recent.refresh(store, now=T0 + timedelta(seconds=60))
    sizes = {k: (len(w), len({f.job_id for f in w})) for k, w in recent.windows.items()}
    assert sizes == {None: (10, 10), "old@x": (3, 3)}
    assert {f.account for f in recent.windows[None]} == {"busy@x"}
