"""The watcher: one tick per provider. Snapshot(t-1), Snapshot(t) ──diff──► observations.

The diff (`bot.diff`) is pure. `ProviderWatcher.tick` does the I/O around it: one
`provider.fetch()` call, one `provider.fetch_job(id)` call per job that left the executing list
(and is still awaiting its outcome) – never a call per running job – then the policy
(`bot.alerts`) and ONE store transaction with the new snapshot, pending jobs, alert states and
outbox rows. The loop that calls `tick` belongs to the provider's cog (`run` is a ready-made
one); a tick never raises. What the bot knows of the provider now (latest snapshot, health) is
the watcher's `state` (`bot.live.LiveState`), updated as each tick ends.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import random
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from bot import alerts
from bot.diff import diff
from bot.errors import PayloadError, UpstreamError
from bot.events import Event, EventKind
from bot.live import LiveState, describe
from bot.models import JobResult, Outcome, Snapshot
from bot.providers.base import Provider
from bot.settings import Settings
from bot.store import PendingJob, Store, WatchState, unstorable

log = logging.getLogger(__name__)


def utcnow() -> datetime:
    return datetime.now(UTC)


# --------------------------------------------------------------------------- the tick

@dataclass(frozen=True, slots=True)
class WatchConfig:
    """How one provider is watched. `from_settings` gives the bot's; tests and benchmarks
    build their own."""

    stuck_after: timedelta
    poll_interval: float
    #: Ticks in a row an `unreachable` must hold before it is announced (others: `flap_ticks`).
    unreachable_after: int = 3
    flap_ticks: int = 2
    #: How long a job that left the queue is asked about before it is reported `unknown`.
    resolve_give_up: timedelta = timedelta(minutes=30)
    #: Seconds a tick waits for the job endpoint in all; None: one poll interval.
    resolve_budget: float | None = None
    default_channel: int | None = None
    #: Job look-ups in flight at once.
    concurrency: int = 8
    #: Each delay is `poll_interval` ± this fraction, so replicas and providers spread out.
    jitter: float = 0.1
    #: With a lease only one replica ticks this provider; the others follow the store.
    lease_ttl: timedelta | None = None

    @property
    def budget(self) -> float:
        return self.poll_interval if self.resolve_budget is None else self.resolve_budget

    @classmethod
    def from_settings(cls, settings: Settings) -> WatchConfig:
        """The bot's: its settings, and a lease that outlives three missed ticks and a stall
        (with several replicas on one database only the lease holder polls)."""
        interval = settings.poll_interval_seconds
        return cls(stuck_after=timedelta(minutes=settings.stuck_after_minutes),
                   poll_interval=interval, default_channel=settings.alert_channel_id,
                   lease_ttl=timedelta(seconds=3 * interval + 30))


@dataclass(frozen=True, slots=True)
class TickReport:
    """Counts of one tick, for logs, metrics and benchmarks."""

    provider: str
    at: datetime
    ok: bool = False              # the snapshot call succeeded
    leader: bool = True           # False: another replica watches this provider
    jobs: int = 0                 # running jobs in the snapshot
    accounts: int = 0
    left: int = 0                 # jobs that left the executing list this tick
    pending: int = 0              # jobs still awaiting an outcome after the tick
    resolved: int = 0             # outcomes found (unknown after give-up included)
    events: int = 0               # events decided this tick
    queued: int = 0               # outbox rows this tick added (muted/unrouted included)
    muted: int = 0
    upstream_calls: int = 0       # provider.snapshot() + provider.job() calls
    duration_ms: float = 0.0
    error: str | None = None
    event_keys: tuple[str, ...] = field(default=(), repr=False)


#: Why a job whose id decoding had to change is reported `unknown` as soon as it leaves.
UNASKABLE = ("its id held a character that useapi's JSON could not carry (shown as \ufffd), "
             "so useapi cannot be asked what became of it")
#: A departed job, what its endpoint answered (None: no answer), and the error if any.
_Resolved = tuple[PendingJob, JobResult | None, str | None]


@dataclass(slots=True)
class _Plan:
    """What one tick decided, written in one transaction (`snapshot` None: a failed tick)."""

    snapshot: Snapshot | None = None
    failure: UpstreamError | None = None
    stuck_ids: frozenset[str] = frozenset()
    events: list[Event] = field(default_factory=list)
    states: list[alerts.AlertState] = field(default_factory=list)
    pending_add: list[PendingJob] = field(default_factory=list)
    pending_update: list[PendingJob] = field(default_factory=list)
    pending_remove: list[str] = field(default_factory=list)
    calls: int = 1                # provider.snapshot() + provider.job() calls
    left: int = 0
    resolved: int = 0
    pending_after: int = 0
    muted: int = 0


class ProviderWatcher:
    """Watches one provider. The cog calls `tick()` every `poll_interval` (see `next_delay`),
    or runs `run()`; commands read `state` without I/O."""

    def __init__(
        self,
        provider: Provider,
        store: Store,
        config: WatchConfig,
        *,
        holder: str | None = None,
        holder_gone: Callable[[str], bool] | None = None,
        clock: Callable[[], datetime] = utcnow,
        rng: random.Random | None = None,
    ) -> None:
        self.provider = provider
        self.store = store
        self.name: str = provider.name
        self.config = config
        self.holder = holder or f"watch-{uuid.uuid4().hex[:12]}"
        #: Whether a lease holder's name is known to belong to a process that is gone (then
        #: the lease is taken at once instead of after its expiry).
        self.holder_gone = holder_gone
        self._clock = clock
        self._rng = rng or random.Random()
        self._sem = asyncio.Semaphore(max(1, config.concurrency))
        self._lock = asyncio.Lock()
        self._committed: Snapshot | None = None  # what the store holds, to skip decoding it
        self._committed_stuck: frozenset[str] | None = None  # and the stuck ids with it
        #: The one owner of what the bot knows of this provider now.
        self.state = LiveState(config.poll_interval)
        self.last_report: TickReport | None = None

    def __repr__(self) -> str:
        return f"<ProviderWatcher {self.name}>"

    # Read-only views of `state`, for callers that only look at the watcher.
    @property
    def latest(self) -> Snapshot | None:
        return self.state.snapshot

    @property
    def last_ok(self) -> datetime | None:
        return self.state.last_ok

    @property
    def last_error(self) -> str | None:
        return self.state.last_error

    @property
    def ticks(self) -> int:
        return self.state.ticks

    @property
    def errors(self) -> int:
        return self.state.errors

    def next_delay(self) -> float:
        """Seconds until the next tick: `poll_interval` ± `jitter` (a fraction)."""
        spread = self.config.poll_interval * self.config.jitter
        return max(0.0, self.config.poll_interval + self._rng.uniform(-spread, spread))

    async def run(self, *, stop: asyncio.Event | None = None,
                  on_tick: Callable[[TickReport], Awaitable[None] | None] | None = None) -> None:
        """Tick forever (until `stop` is set). Errors are recorded; the loop never dies."""
        stop = stop or asyncio.Event()
        while not stop.is_set():
            report = await self.tick()
            if on_tick is not None:
                try:
                    res = on_tick(report)
                    if inspect.isawaitable(res):
                        await res
                except Exception:
                    log.exception("%s: on_tick callback failed", self.name)
            try:
                await asyncio.wait_for(stop.wait(), timeout=self.next_delay())
            except TimeoutError:
                pass

    async def tick(self) -> TickReport:
        """One poll. Never raises (except cancellation): failures land in the report and in
        `state.last_error`, and the next tick starts again from what the store holds."""
        async with self._lock:
            started = time.perf_counter()
            now = self._clock()
            try:
                report = await self._tick(now)
            except Exception as exc:
                log.exception("%s: watcher tick failed", self.name)
                report = TickReport(provider=self.name, at=now, error=describe(exc))
            report = _with_duration(report, (time.perf_counter() - started) * 1000)
            self.state.ended_tick(report.error, at=now)
            self.last_report = report
            return report

    async def _tick(self, now: datetime) -> TickReport:
        if self.config.lease_ttl is not None and not await self._lead(now, self.config.lease_ttl):
            return await self._follow(now)
        cur, failure = await self._fetch()
        state = await self.store.load_watch(self.name, now=now, cached=self._committed,
                                            cached_stuck=self._committed_stuck)
        if cur is not None:
            try:
                plan = await self._observe(cur, state, now)
            except Exception as exc:
                failure = self._unusable(exc, "could not process useapi's answer")
                cur = None
        if cur is None:
            assert failure is not None
            plan = self._outage(failure, state, now)
        try:
            queued = await self._commit(plan, state, now)
        except Exception as exc:
            cause = unstorable(exc)
            if plan.snapshot is None or cause is None:
                raise  # the store is failing, not this answer: nothing is written, try again
            plan, queued = await self._store_what_can_be(plan, cause, state, now)
        return self._done(plan, now, queued)

    async def _store_what_can_be(self, plan: _Plan, exc: BaseException, state: WatchState,
                                 now: datetime) -> tuple[_Plan, int]:
        """This answer holds a value the store cannot take (decoding and the adapters should
        have made that impossible). Failing every tick would silence the provider for good,
        so: commit the tick without exactly the items whose text the store refuses, and
        announce the outage at once, naming how many alerts that dropped. Should that fail too
        (a cause the store cannot name), commit the outage alone: the stored snapshot stays,
        so the next tick redoes this one and nothing is lost. A good answer clears it."""
        what = "could not store useapi's answer"
        refuses = self.store.refuses
        keep = [not any(refuses(t) for t in (e.key, e.job_id, e.account)) for e in plan.events]
        dropped = [e.key for e, k in zip(plan.events, keep, strict=True)
                   if not k and e.kind is not EventKind.UPSTREAM]
        for key in dropped:
            log.error("%s: alert %r dropped: the store cannot hold its text", self.name, key)
        note = f"; {_plural(len(dropped), 'alert')} of this tick dropped" if dropped else ""
        failure = self._unusable(exc, what, note)
        outage = self._outage(failure, state, now, calls=plan.calls, at_once=True)
        trimmed = replace(
            plan, failure=failure,
            events=[e for e, k in zip(plan.events, keep, strict=True)
                    if k and e.kind is not EventKind.UPSTREAM] + outage.events,
            states=[st for st in plan.states
                    if st.scope != alerts.UPSTREAM and not refuses(st.scope)] + outage.states,
            pending_add=[p for p in plan.pending_add
                         if not refuses(p.job.id) and not refuses(p.last_error)],
            pending_update=[p for p in plan.pending_update
                            if not refuses(p.job.id) and not refuses(p.last_error)],
            pending_remove=[j for j in plan.pending_remove if not refuses(j)])
        try:
            return trimmed, await self._commit(trimmed, state, now)
        except Exception as again:
            cause = unstorable(again)
            if cause is None:
                raise
            bare = self._outage(self._unusable(cause, what), state, now, calls=plan.calls,
                                at_once=True)
        return bare, await self._commit(bare, state, now)

    async def _fetch(self) -> tuple[Snapshot | None, UpstreamError | None]:
        """The provider's snapshot, or the typed error it failed with."""
        try:
            return await self.provider.fetch(), None
        except UpstreamError as exc:
            return None, exc

    def _unusable(self, exc: BaseException, what: str, note: str = "") -> UpstreamError:
        """A fetched answer that broke the tick: an adapter let a value through that the diff,
        the policy or the store cannot take. The provider's fault, reported as one."""
        log.error("%s: %s", self.name, what, exc_info=exc)
        return PayloadError(f"{what} ({type(exc).__name__}: {_short(str(exc))}){note}",
                            provider=self.name)

    async def _observe(self, cur: Snapshot, state: WatchState, now: datetime) -> _Plan:
        """Diff `cur` against the stored snapshot, resolve the jobs that left, decide events."""
        plan = _Plan(snapshot=cur)
        d = diff(state.snapshot, cur, now=now, stuck_after=self.config.stuck_after,
                 stuck_ids=state.stuck_ids)
        plan.stuck_ids = d.stuck_ids
        plan.left = len(d.left)
        stored = {p.job.id: p for p in state.pending}
        running = {j.id for j in cur.jobs} if stored else frozenset()  # (10,000s of ids)
        # A job back in the executing list is not finished after all.
        plan.pending_remove += [jid for jid in stored if jid in running]
        todo = [p for jid, p in stored.items() if jid not in running]
        todo += [PendingJob(job=j, left_at=now) for j in d.left if j.id not in stored]
        ask = [p for p in todo if p.job.askable]
        results = await self._resolve_all(ask)
        plan.calls += len(ask)
        for p in todo:
            if not p.job.askable:  # asking about another id would give another job's answer
                plan.events.append(alerts.job_event(
                    self.name, p.job, None, Outcome.UNKNOWN, now=now, detail=UNASKABLE))
                plan.resolved += 1
                if p.job.id in stored:
                    plan.pending_remove.append(p.job.id)
        for p, result, error in results:
            outcome = result.outcome if result is not None else None
            # UNKNOWN (a status the adapter cannot read) is not an answer: keep asking until
            # the give-up below, so a real outcome that follows is not lost.
            if outcome is not None and outcome.final and outcome is not Outcome.UNKNOWN:
                plan.events.append(alerts.job_event(self.name, p.job, result, outcome, now=now))
            elif now - p.left_at >= self.config.resolve_give_up:
                why = f"no outcome {_minutes(now - p.left_at)} after it left the queue"
                if error:
                    why += f" (last error: {error})"
                plan.events.append(alerts.job_event(self.name, p.job, result, Outcome.UNKNOWN,
                                                    now=now, detail=why))
            else:
                kept = PendingJob(job=p.job, left_at=p.left_at, attempts=p.attempts + 1,
                                  last_error=error)
                (plan.pending_update if p.job.id in stored else plan.pending_add).append(kept)
                continue
            plan.resolved += 1
            if p.job.id in stored:
                plan.pending_remove.append(p.job.id)
        plan.pending_after = len(plan.pending_add) + len(plan.pending_update)
        for job in d.new_stuck:
            plan.events.append(alerts.stuck_event(self.name, job, job.elapsed(now) or 0.0,
                                                  now=now))
        changed, evs = alerts.capacity_events(self.name, d.capacity, state.states, now=now,
                                              flap_ticks=self.config.flap_ticks)
        plan.states += changed
        plan.events += evs
        changed, evs = alerts.upstream_events(
            self.name, alerts.OK, state.states, now=now, flap_ticks=self.config.flap_ticks,
            unreachable_after=self.config.unreachable_after)
        plan.states += changed
        plan.events += evs
        return plan

    def _outage(self, failure: UpstreamError, state: WatchState, now: datetime, *,
                calls: int = 1, at_once: bool = False, snapshot: Snapshot | None = None,
                stuck_ids: frozenset[str] = frozenset()) -> _Plan:
        """No usable answer this tick: advance the upstream state only; the jobs awaiting an
        outcome stay as they are for the next good tick, and so does the stored snapshot
        unless `snapshot` replaces it. `at_once`: announce without waiting for a streak."""
        word = alerts.classify_error(failure)
        changed, events = alerts.upstream_events(
            self.name, word, state.states, now=now, flap_ticks=self.config.flap_ticks,
            unreachable_after=1 if at_once else self.config.unreachable_after, detail=str(failure))
        log.warning("%s: snapshot failed (%s): %s", self.name, word, failure)
        return _Plan(snapshot=snapshot, stuck_ids=stuck_ids, failure=failure, calls=calls,
                     states=changed, events=events, pending_after=len(state.pending))

    async def _commit(self, plan: _Plan, state: WatchState, now: datetime) -> int:
        """Write the tick in one transaction; remember what was committed."""
        items = alerts.plan(plan.events, state.config, default_channel=self.config.default_channel,
                            now=now)
        plan.muted = sum(1 for i in items if i.state == "muted")
        queued = await self.store.commit_tick(
            self.name, now=now, batch=f"{self.name}:{now.isoformat()}", snapshot=plan.snapshot,
            stuck_ids=plan.stuck_ids, pending_add=plan.pending_add,
            pending_update=plan.pending_update, pending_remove=plan.pending_remove,
            states=plan.states, outbox=items)
        if plan.snapshot is not None:
            self._committed, self._committed_stuck = plan.snapshot, plan.stuck_ids
            # Only a tick committed whole is a good poll: one that could not be stored
            # would otherwise show as fresh in /status while nothing is announced.
            self.state.saw(plan.snapshot, ok_at=now if plan.failure is None else None)
        return queued

    def _done(self, plan: _Plan, now: datetime, queued: int) -> TickReport:
        for e in plan.events:
            log.info("%s: %s %s %s", self.name, e.kind.value, e.word,
                     e.job_id or e.account or e.detail or "")
        cur = plan.snapshot
        return TickReport(
            provider=self.name, at=now, ok=cur is not None and plan.failure is None,
            jobs=len(cur.jobs) if cur else 0, accounts=len(cur.accounts) if cur else 0,
            left=plan.left, pending=plan.pending_after, resolved=plan.resolved,
            events=len(plan.events), queued=queued, muted=plan.muted,
            upstream_calls=plan.calls, error=str(plan.failure) if plan.failure else None,
            event_keys=tuple(e.key for e in plan.events))

    async def _lead(self, now: datetime, ttl: timedelta) -> bool:
        """Take or renew the lease; False when another live replica holds it."""
        name = f"watch:{self.name}"
        if await self.store.acquire_lease(name, self.holder, now=now, ttl=ttl):
            return True
        if self.holder_gone is None:
            return False
        current = await self.store.lease_holder(name)
        if current is None or not self.holder_gone(current):
            return False
        log.info("%s: taking over the poll from %s, which is gone", self.name, current)
        return await self.store.acquire_lease(name, self.holder, now=now, ttl=ttl,
                                              replacing=current)

    async def _follow(self, now: datetime) -> TickReport:
        """Another replica leads: keep `state` as fresh as the store."""
        taken = await self.store.snapshot_taken_at(self.name)
        held = self.state.snapshot
        if taken is not None and (held is None or held.taken_at < taken):
            stored = await self.store.load_snapshot(self.name)
            if stored is not None:
                self.state.saw(stored, ok_at=taken)
        latest = self.state.snapshot
        return TickReport(provider=self.name, at=now, ok=True, leader=False,
                          jobs=len(latest.jobs) if latest else 0)

    async def _resolve_all(self, todo: list[PendingJob]) -> list[_Resolved]:
        """Each job's answer, within `resolve_budget` seconds in all. One call may take up to
        the client's deadline, `concurrency` at a time, so a slow job endpoint could otherwise
        hold the tick, and every alert of this provider with it, for minutes. A job that got
        no answer in time is asked again next tick."""
        if not todo:
            return []
        tasks = [asyncio.ensure_future(self._resolve(p)) for p in todo]
        try:
            done, _ = await asyncio.wait(tasks, timeout=self.config.budget)
        finally:  # a stop cancels the tick here: no look-up may go on without it
            for task in tasks:
                if not task.done():
                    task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        why = f"no answer within {self.config.budget:g} s (asked again next tick)"
        return [task.result() if task in done else (p, None, why)
                for p, task in zip(todo, tasks, strict=True)]

    async def _resolve(self, p: PendingJob) -> _Resolved:
        async with self._sem:
            try:
                return p, await self.provider.fetch_job(p.job.id), None
            except UpstreamError as exc:
                return p, None, str(exc)


def _short(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _minutes(d: timedelta) -> str:
    return f"{int(d.total_seconds() // 60)} min"


def _with_duration(r: TickReport, ms: float) -> TickReport:
    return replace(r, duration_ms=ms)
