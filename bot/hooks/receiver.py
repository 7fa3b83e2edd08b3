"""`Receiver`: what happens after a callback was answered. The job it named is re-read from
useapi, and only that answer counts:

* final → the job's event, built and routed exactly as the watcher builds and routes it
  (`alerts.job_event`, `alerts.plan`), so it has the poller's key and the outbox refuses the
  second copy, whichever path (or replica, or restart) comes second;
* running → its progress is kept for `/queue` (`LiveState.progressed`), nothing is posted
  (a forged "completed" for a running job changes nothing else);
* anything else (useapi does not know the job, an error) → logged, nothing posted: the poller
  is still there.

Floods are bounded: at most one re-read in flight per job (a callback that comes meanwhile
asks for one more, after it), and at most `queue_cap` jobs waiting; past that a callback is
dropped and counted (`opsbot_callbacks_rejected_total{reason="overflow"}`), never queued
without bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final, Literal

from bot import alerts, metrics
from bot.errors import NotFound, UpstreamError
from bot.history import finished_of
from bot.hooks.shape import Named
from bot.live import LiveState
from bot.models import Job, JobResult, Outcome
from bot.providers.base import Provider
from bot.store import Store

log = logging.getLogger("bot.hooks")

#: What one re-read found (the `result` label of `opsbot_callback_rereads_total`).
Reread = Literal[
    "announced", "duplicate", "progress", "running", "unknown", "unseen", "error", "disabled"
]

#: Re-reads at a time, across jobs (each is one request to useapi).
WORKERS: Final = 4
#: Jobs waiting for their re-read, at most.
QUEUE_CAP: Final = 1000


@dataclass(frozen=True, slots=True)
class ReceiverConfig:
    default_channel: int | None = None
    workers: int = WORKERS
    queue_cap: int = QUEUE_CAP


class Receiver:
    """Re-reads the jobs callbacks name (`offer`), announces what useapi says of them."""

    def __init__(
        self,
        providers: Callable[[], Mapping[str, Provider]],
        store: Store,
        config: ReceiverConfig,
        *,
        state: Callable[[str], LiveState | None],
        wake: Callable[[], None],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.providers = providers
        self.store = store
        self.config = config
        self._state = state
        self._wake = wake
        self._clock = clock
        self._queue: asyncio.Queue[Named] = asyncio.Queue(maxsize=max(1, config.queue_cap))
        self._waiting: set[Named] = set()  # in the queue
        self._busy: set[Named] = set()  # being re-read
        self._again: set[Named] = set()  # busy, and named again meanwhile
        self._workers: list[asyncio.Task[None]] = []
        #: Each re-read's finding, in order (tests and the bench read it).
        self.found: deque[tuple[Named, Reread]] = deque(maxlen=1000)
        self._idle = asyncio.Event()
        self._idle.set()

    # -- the door ------------------------------------------------------------------------------
    def offer(self, named: Named) -> bool:
        """Ask for `named` to be re-read. False when the queue is full (dropped, counted)."""
        if named in self._waiting:
            return True  # one re-read is waiting already: it will see what this one would
        if named in self._busy:
            self._again.add(named)  # the re-read under way may predate this callback
            return True
        try:
            self._queue.put_nowait(named)
        except asyncio.QueueFull:
            metrics.CALLBACKS_REJECTED.labels("overflow").inc()
            log.warning(
                "%s: callback for %s dropped: %d re-reads waiting already (the poller "
                "will report the job)",
                named.provider,
                named.job_id,
                self._queue.qsize(),
            )
            return False
        self._waiting.add(named)
        self._idle.clear()
        return True

    @property
    def waiting(self) -> int:
        return self._queue.qsize()

    async def drained(self) -> None:
        """Wait until nothing waits or runs (tests and the bench)."""
        await self._idle.wait()

    # -- life ----------------------------------------------------------------------------------
    def start(self) -> None:
        if not self._workers:
            self._workers = [
                asyncio.create_task(self._work(), name=f"opsbot-hooks-{n}")
                for n in range(max(1, self.config.workers))
            ]

    async def stop(self) -> None:
        """Stop the workers; re-reads under way are cancelled (the poller covers them)."""
        workers, self._workers = self._workers, []
        for task in workers:
            task.cancel()
        for task in workers:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _work(self) -> None:
        while True:
            named = await self._queue.get()
            self._waiting.discard(named)
            self._busy.add(named)
            try:
                found = await self.reread(named)
            except Exception:  # a worker must outlive any one callback
                log.exception("%s: re-reading %s failed", named.provider, named.job_id)
                found = "error"
            finally:
                self._busy.discard(named)
                self._queue.task_done()
            metrics.CALLBACK_REREADS.labels(named.provider, found).inc()
            self.found.append((named, found))
            if named in self._again:
                self._again.discard(named)
                self.offer(named)
            if self._queue.empty() and not self._busy:
                self._idle.set()

    # -- one re-read ---------------------------------------------------------------------------
    async def reread(self, named: Named) -> Reread:
        """Ask useapi about the job `named` and act on its answer alone."""
        provider = self.providers().get(named.provider)
        if provider is None:  # unloaded since the callback came
            return "disabled"
        try:
            result = await provider.fetch_job(named.job_id)
        except NotFound:
            log.info("%s: callback for %s: useapi knows no such job", provider.name, named.job_id)
            return "unknown"
        except UpstreamError as exc:
            log.warning(
                "%s: callback for %s: could not re-read it (%s); the poller will",
                provider.name,
                named.job_id,
                exc,
            )
            return "error"
        now = self._clock()
        state = self._state(provider.name)
        if result.outcome is Outcome.RUNNING:
            if result.progress is not None and state is not None:
                state.progressed(named.job_id, result.progress)
                return "progress"
            return "running"
        if result.outcome is Outcome.UNKNOWN:
            log.info(
                "%s: callback for %s: useapi does not say what became of it (%s)",
                provider.name,
                named.job_id,
                result.error or result.raw_status or "no status",
            )
            return "unknown"
        job, left_at = await self._known(provider.name, named.job_id, state)
        if job is None:
            if not result.found:
                # A 404 read as an outcome (MiniMax: "moderated and removed") is no proof that
                # such a job ever ran: only for a job this bot saw running.
                log.info(
                    "%s: callback for %s: useapi has no record of it; not announced",
                    provider.name,
                    named.job_id,
                )
                return "unseen"
            job = _job_of(result)
        announced = await self._announce(provider.name, job, result, now, left_at or now)
        return "announced" if announced else "duplicate"

    async def _known(
        self, provider: str, job_id: str, state: LiveState | None
    ) -> tuple[Job | None, datetime | None]:
        """The job as the bot saw it running: in the latest snapshot (still in the queue as far
        as the bot knows), or left and pending (with when it left)."""
        snapshot = state.snapshot if state is not None else None
        if snapshot is not None:
            for job in snapshot.jobs:
                if job.id == job_id:
                    return job, None
        for pending in await self.store.pending_jobs(provider):
            if pending.job.id == job_id:
                return pending.job, pending.left_at
        return None, None

    async def _announce(
        self, provider: str, job: Job, result: JobResult, now: datetime, left_at: datetime
    ) -> bool:
        """Queue the job's event as the watcher would, and record it in the history (`left_at`:
        when it left the queue; a job still listed leaves it now); False when its key is there
        already."""
        if await self.store.announced(provider, [job.id]):
            return False  # the poller (or another callback) told its outcome already
        event = alerts.job_event(provider, job, result, result.outcome, now=now)
        config = await self.store.alert_config(now)
        items = alerts.plan([event], config, default_channel=self.config.default_channel, now=now)
        record = finished_of(
            provider, job, result, result.outcome, left_at=left_at, at=now, via="callback"
        )
        # One batch per event: posted as a message of its own. Hashed, since an id may be
        # longer than the column (`alert_outbox.batch`).
        digest = hashlib.sha256(event.key.encode()).hexdigest()[:24]
        queued = await self.store.enqueue(
            items, batch=f"{provider}:hook:{digest}", now=now, finished=[record]
        )
        if queued:
            log.info("%s: %s %s (from a callback)", provider, event.word, job.id)
            self._wake()
        return queued > 0


def _job_of(result: JobResult) -> Job:
    """A job the bot never saw running (it ended between two ticks), as its re-read tells it."""
    return Job(
        provider=result.provider,
        id=result.id,
        kind=result.kind,
        account=result.account,
        model=result.model,
    )
