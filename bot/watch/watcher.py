"""The watcher of one provider: `ProviderWatcher`. Its tick is named steps: lead (or follow
another replica), fetch, observe (diff, resolve the jobs that left, decide), commit in one
transaction, report."""

from __future__ import annotations

import asyncio
import inspect
import logging
import random
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime, timedelta

from bot import alerts, failrate, remind
from bot.diff import Diff, diff
from bot.errors import PayloadError, UpstreamError
from bot.live import LiveState, describe
from bot.models import Snapshot, with_first_sightings
from bot.providers.base import Provider
from bot.store import LeaseLost, PendingJob, Store, WatchState, unstorable
from bot.watch.config import WatchConfig, utcnow
from bot.watch.jobs import announced, decide, resolve_all, unaskable, untracked
from bot.watch.plan import (
    TickPlan,
    TickReport,
    plural,
    refused_items,
    short,
    without_refused,
)
from bot.watch.recent import RecentFinished, StuckLimits

log = logging.getLogger("bot.watch")


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
        self._gate = asyncio.Semaphore(max(1, config.concurrency))
        self._lock = asyncio.Lock()
        self._committed: Snapshot | None = None  # what the store holds, to skip decoding it
        self._committed_stuck: frozenset[str] | None = None  # and the stuck ids with it
        #: The one owner of what the bot knows of this provider now.
        self.state = LiveState(config.poll_interval)
        #: What the history-based alerts read (`bot.watch.recent`): the failure rates'
        #: windows (None: read afresh, as after following another replica) and the learned
        #: stuck limits.
        self._recent: RecentFinished | None = None
        self.stuck_limits = StuckLimits(self.name, config.stuck_after)
        self.last_report: TickReport | None = None
        self._compacted: datetime | None = None  # when the history was last compacted

    def __repr__(self) -> str:
        return f"<ProviderWatcher {self.name}>"

    @property
    def lease_name(self) -> str:
        """The lease whose holder polls this provider (one replica at a time)."""
        return f"watch:{self.name}"

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

    async def run(
        self,
        *,
        stop: asyncio.Event | None = None,
        on_tick: Callable[[TickReport], Awaitable[None] | None] | None = None,
    ) -> None:
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
            report = replace(report, duration_ms=(time.perf_counter() - started) * 1000)
            self.state.ended_tick(report.error, at=now)
            self.last_report = report
            return report

    async def _tick(self, now: datetime) -> TickReport:
        if self.config.lease_ttl is not None and not await self._lead(now, self.config.lease_ttl):
            return await self._follow(now)
        cur, failure = await self._fetch()
        state = await self.store.load_watch(
            self.name, now=now, cached=self._committed, cached_stuck=self._committed_stuck
        )
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
        except LeaseLost:
            # Paused (or cut off) past the lease mid-tick, and another replica leads now:
            # this tick's view is stale, and its writes would undo the new leader's.
            log.warning("%s: another replica took over the poll during this tick", self.name)
            return await self._follow(now)
        except Exception as exc:
            cause = unstorable(exc)
            if plan.snapshot is None or cause is None:
                raise  # the store is failing, not this answer: nothing is written, try again
            plan, queued = await self._store_what_can_be(plan, cause, state, now)
        await self._compact(now)
        return self._done(plan, now, queued)

    async def _compact(self, now: datetime) -> None:
        """Every `compact_every`, as the leader: roll the history up into 15-minute buckets and
        drop what is past its keep (bounded chunks: `Store.compact_history`). A failure is
        logged and tried again at the next turn; the tick is done already."""
        if self._compacted is not None and now - self._compacted < self.config.compact_every:
            return
        self._compacted = now
        try:
            buckets, deleted = await self.store.compact_history(
                self.name, now=now, keep=self.config.history_keep
            )
        except Exception:
            log.exception("%s: compacting the history failed", self.name)
            return
        if buckets or deleted:
            log.debug(
                "%s: history: %d buckets rolled up, %d rows dropped", self.name, buckets, deleted
            )

    async def _store_what_can_be(
        self, plan: TickPlan, exc: BaseException, state: WatchState, now: datetime
    ) -> tuple[TickPlan, int]:
        """This answer holds a value the store cannot take (decoding and the adapters should
        have made that impossible). Failing every tick would silence the provider for good,
        so: commit the tick without exactly the items whose text the store refuses, and
        announce the outage at once, naming how many alerts that dropped. Should that fail too
        (a cause the store cannot name), commit the outage alone: the stored snapshot stays,
        so the next tick redoes this one and nothing is lost. A good answer clears it."""
        what = "could not store useapi's answer"
        dropped = refused_items(plan, self.store.refuses)
        for key in dropped:
            log.error("%s: alert %r dropped: the store cannot hold its text", self.name, key)
        note = f"; {plural(len(dropped), 'alert')} of this tick dropped" if dropped else ""
        outage = self._outage(
            self._unusable(exc, what, note), state, now, calls=plan.calls, at_once=True
        )
        trimmed = without_refused(plan, self.store.refuses, outage)
        try:
            return trimmed, await self._commit(trimmed, state, now)
        except Exception as again:
            cause = unstorable(again)
            if cause is None:
                raise
            bare = self._outage(
                self._unusable(cause, what), state, now, calls=plan.calls, at_once=True
            )
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
        return PayloadError(
            f"{what} ({type(exc).__name__}: {short(str(exc))}){note}", provider=self.name
        )

    async def _observe(self, cur: Snapshot, state: WatchState, now: datetime) -> TickPlan:
        """Diff `cur` against the stored snapshot, resolve the jobs that left, decide."""
        cur = with_first_sightings(cur, state.snapshot)
        plan = TickPlan(snapshot=cur)
        if self.stuck_limits.due(now):
            await self._learn(cur, now)
        else:
            await self._learn_new(cur)
        d = diff(
            state.snapshot,
            cur,
            now=now,
            stuck_after=self.config.stuck_after,
            stuck_ids=state.stuck_ids,
            stuck_limits=self.stuck_limits.seconds(),
        )
        plan.stuck_ids, plan.left = d.stuck_ids, len(d.left)
        stored = {p.job.id: p for p in state.pending}
        running = {j.id for j in cur.jobs} if stored else frozenset()  # (10,000s of ids)
        # A job back in the executing list is not finished after all.
        plan.pending_remove += [jid for jid in stored if jid in running]
        todo = [p for jid, p in stored.items() if jid not in running]
        todo += [PendingJob(job=j, left_at=now) for j in d.left if j.id not in stored]
        if todo:
            marks = await self.store.untracked(self.name, (p.job.id for p in todo))
            todo = untracked(plan, self.name, todo, marks, stored, now)
            told = await self.store.announced(self.name, (p.job.id for p in todo))
            todo = announced(plan, todo, told, stored)
        ask = [p for p in todo if p.job.askable]
        results = await resolve_all(self.provider, ask, gate=self._gate, budget=self.config.budget)
        plan.calls += len(ask)
        unaskable(plan, self.name, todo, stored, now)
        decide(plan, self.name, results, stored, now, self.config.resolve_give_up)
        self._decide_states(plan, d, state, now)
        await self._failure_rates(plan, state, now)
        return plan

    async def _learn(self, cur: Snapshot, now: datetime) -> None:
        """Learn the running models' stuck limits again (every `LEARN_EVERY`). A store that
        fails here keeps the limits learned before: a history read never fails the tick."""
        try:
            await self.stuck_limits.learn(self.store, (j.model for j in cur.jobs), now)
        except Exception:
            log.warning("%s: could not learn the stuck limits", self.name, exc_info=True)

    async def _learn_new(self, cur: Snapshot) -> None:
        """Learn the limits of the models running for the first time since the last round
        (none, most ticks: no query). A store that fails leaves them at the ceiling."""
        new = self.stuck_limits.new(j.model for j in cur.jobs)
        if not new:
            return
        try:
            await self.stuck_limits.learn_new(self.store, new)
        except Exception:
            log.warning("%s: could not learn the stuck limits", self.name, exc_info=True)

    async def _failure_rates(self, plan: TickPlan, state: WatchState, now: datetime) -> None:
        """The failure rates of the provider and of each account, from the finished jobs the
        store holds (one read a tick of what was recorded since the last)."""
        if self._recent is None:
            overlap = timedelta(seconds=2 * self.config.poll_interval + self.config.budget + 60)
            self._recent = RecentFinished(self.name, self.config.failure_window, overlap)
        prefix = failrate.failure_scope(None) + ":"
        accounts = [s.removeprefix(prefix) for s in state.states if s.startswith(prefix)]
        try:
            await self._recent.refresh(self.store, now=now, accounts=accounts)
        except Exception:
            log.warning("%s: could not read the finished jobs", self.name, exc_info=True)
            self._recent = None  # read afresh next tick
            return
        changed, evs = failrate.failure_events(
            self.name,
            self._recent.windows,
            state.states,
            now=now,
            flap_ticks=self.config.flap_ticks,
            window=self.config.failure_window,
            threshold=self.config.failure_alert,
        )
        plan.states += changed
        plan.events += evs

    def _decide_states(self, plan: TickPlan, d: Diff, state: WatchState, now: datetime) -> None:
        """Stuck jobs, capacity and the provider's own health (answering: OK)."""
        for job in d.new_stuck:
            limit = self.stuck_limits.of(job.model)
            elapsed = job.elapsed(now) or 0.0
            plan.events.append(alerts.stuck_event(self.name, job, elapsed, now=now, limit=limit))
        changed, evs = alerts.capacity_events(
            self.name, d.capacity, state.states, now=now, flap_ticks=self.config.flap_ticks
        )
        plan.states += changed
        plan.events += evs
        changed, evs = alerts.upstream_events(
            self.name,
            alerts.OK,
            state.states,
            now=now,
            flap_ticks=self.config.flap_ticks,
            unreachable_after=self.config.unreachable_after,
        )
        plan.states += changed
        plan.events += evs
        self._remind(plan, state, now)

    def _remind(self, plan: TickPlan, state: WatchState, now: datetime, *, only: str = "") -> None:
        """The reminders due this tick, of the conditions as this tick left them (`only`: of
        that scope alone, as in an outage, where capacity is not observed)."""
        after = dict(state.states)
        after.update((s.scope, s) for s in plan.states)
        on = [s for s in after.values() if s.announced is not None and s.scope.startswith(only)]
        changed, evs = remind.reminder_events(
            self.name, on, now=now, every=self.config.remind_after
        )
        if changed:
            after.update((s.scope, s) for s in changed)
            # One row per scope in the tick's write: the reminder's state replaces the other.
            plan.states = [
                after[scope] for scope in dict.fromkeys(s.scope for s in plan.states + changed)
            ]
            plan.events += evs

    def _outage(
        self,
        failure: UpstreamError,
        state: WatchState,
        now: datetime,
        *,
        calls: int = 1,
        at_once: bool = False,
        snapshot: Snapshot | None = None,
        stuck_ids: frozenset[str] = frozenset(),
    ) -> TickPlan:
        """No usable answer this tick: advance the upstream state only; the jobs awaiting an
        outcome stay as they are for the next good tick, and so does the stored snapshot
        unless `snapshot` replaces it. `at_once`: announce without waiting for a streak."""
        word = alerts.classify_error(failure)
        changed, events = alerts.upstream_events(
            self.name,
            word,
            state.states,
            now=now,
            flap_ticks=self.config.flap_ticks,
            unreachable_after=1 if at_once else self.config.unreachable_after,
            detail=str(failure),
        )
        log.warning("%s: snapshot failed (%s): %s", self.name, word, failure)
        plan = TickPlan(
            snapshot=snapshot,
            stuck_ids=stuck_ids,
            failure=failure,
            calls=calls,
            states=changed,
            events=events,
            pending_after=len(state.pending),
        )
        self._remind(plan, state, now, only=alerts.UPSTREAM)
        return plan

    async def _commit(self, plan: TickPlan, state: WatchState, now: datetime) -> int:
        """Write the tick in one transaction; remember what was committed."""
        items = alerts.plan(
            plan.events, state.config, default_channel=self.config.default_channel, now=now
        )
        plan.muted = sum(1 for i in items if i.state == "muted")
        queued = await self.store.commit_tick(
            self.name,
            now=now,
            batch=f"{self.name}:{now.isoformat()}",
            snapshot=plan.snapshot,
            stuck_ids=plan.stuck_ids,
            pending_add=plan.pending_add,
            pending_update=plan.pending_update,
            pending_remove=plan.pending_remove,
            states=plan.states,
            outbox=items,
            finished=plan.finished,
            lease=None if self.config.lease_ttl is None else (self.lease_name, self.holder),
        )
        if plan.snapshot is not None:
            self._committed, self._committed_stuck = plan.snapshot, plan.stuck_ids
            # Only a tick committed whole is a good poll: one that could not be stored
            # would otherwise show as fresh in /status while nothing is announced.
            self.state.saw(plan.snapshot, ok_at=now if plan.failure is None else None)
        return queued

    def _done(self, plan: TickPlan, now: datetime, queued: int) -> TickReport:
        for e in plan.events:
            log.info(
                "%s: %s %s %s",
                self.name,
                e.kind.value,
                e.word,
                e.job_id or e.account or e.detail or "",
            )
        return plan.report(self.name, now, queued)

    async def _lead(self, now: datetime, ttl: timedelta) -> bool:
        """Take or renew the lease; False when another live replica holds it."""
        name = self.lease_name
        if await self.store.acquire_lease(name, self.holder, now=now, ttl=ttl):
            return True
        if self.holder_gone is None:
            return False
        current = await self.store.lease_holder(name)
        if current is None or not self.holder_gone(current):
            return False
        log.info("%s: taking over the poll from %s, which is gone", self.name, current)
        return await self.store.acquire_lease(
            name, self.holder, now=now, ttl=ttl, replacing=current
        )

    async def _follow(self, now: datetime) -> TickReport:
        """Another replica leads: keep `state` as fresh as the store."""
        self._recent = None  # what the leader records meanwhile: read afresh on taking over
        taken = await self.store.snapshot_taken_at(self.name)
        held = self.state.snapshot
        if taken is not None and (held is None or held.taken_at < taken):
            stored = await self.store.load_snapshot(self.name)
            if stored is not None:
                self.state.saw(stored, ok_at=taken)
        latest = self.state.snapshot
        return TickReport(
            provider=self.name,
            at=now,
            ok=True,
            leader=False,
            jobs=len(latest.jobs) if latest else 0,
        )
