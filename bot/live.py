"""What the bot knows now of one provider, in memory: the one owner of its runtime state.

The provider's watcher updates it at the end of every tick; a command that had to ask useapi
itself (the snapshot was stale) records what it got here too. `/queue`, `/capacity`, `/status`,
`/board` and `/healthz` all read it, so they never disagree. No I/O here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.errors import UpstreamError
from bot.models import Snapshot, with_first_sightings

#: A loop that has ended no tick for this many poll intervals (plus `STALL_GRACE`) is taken
#: for hung or dead.
STALL_INTERVALS = 3
STALL_GRACE = timedelta(seconds=60)


def describe(exc: BaseException) -> str:
    """An error as `last_error` shows it: an upstream error says what it is already; anything
    else (a bug) is named by its type."""
    return str(exc) if isinstance(exc, UpstreamError) else f"{type(exc).__name__}: {exc}"


@dataclass(slots=True)
class LiveState:
    """One provider's latest snapshot and health. `poll_interval` (seconds) decides what is
    fresh and when a silent loop counts as stopped."""

    poll_interval: float
    #: The freshest snapshot seen: fetched by a tick or a command, or read from the store.
    snapshot: Snapshot | None = None
    #: When that snapshot was fetched (its own time: seeing it again does not make it younger).
    fetched_at: datetime | None = None
    #: When a poll last went through whole.
    last_ok: datetime | None = None
    #: The last error (None once a tick went through), and when it happened.
    last_error: str | None = None
    last_error_at: datetime | None = None
    #: Ticks that ended, and how many of them failed.
    ticks: int = 0
    errors: int = 0
    #: Whole percent done of running jobs, by id, as the last re-read after a callback read
    #: it (MiniMax posts progress until the end); only for jobs in `snapshot`.
    progress: dict[str, int] = field(default_factory=dict)

    def saw(self, snapshot: Snapshot, *, ok_at: datetime | None) -> None:
        """Keep `snapshot` unless an younger one is held already (a command's fetch may land
        while a tick is under way). `ok_at`: when the poll that gave it went through, None
        when it did not (a tick committed in part). A job the provider gives no start
        (`Job.seen`) keeps the first sighting held (a command's fetch, between ticks)."""
        snapshot = with_first_sightings(snapshot, self.snapshot)
        if self.snapshot is None or snapshot.taken_at >= self.snapshot.taken_at:
            self.snapshot = snapshot
            self.fetched_at = snapshot.taken_at
            if self.progress:  # a job that left has no progress any more
                running = {j.id for j in snapshot.jobs}
                self.progress = {k: v for k, v in self.progress.items() if k in running}
        if ok_at is not None:
            self.last_ok = ok_at

    def progressed(self, job_id: str, percent: int) -> None:
        """A re-read found running job `job_id` `percent` done (clamped to 0–100)."""
        self.progress[job_id] = min(max(percent, 0), 100)

    def failed(self, error: BaseException | str, *, at: datetime) -> None:
        self.last_error = error if isinstance(error, str) else describe(error)
        self.last_error_at = at

    def ended_tick(self, error: str | None, *, at: datetime) -> None:
        """A tick ended: it clears the last error, or records its own."""
        self.ticks += 1
        if error is None:
            self.last_error = None
        else:
            self.errors += 1
            self.failed(error, at=at)

    def fresh(self, now: datetime) -> Snapshot | None:
        """The snapshot if it is younger than one poll interval."""
        if self.snapshot is None or self.fetched_at is None:
            return None
        if now - self.fetched_at <= timedelta(seconds=self.poll_interval):
            return self.snapshot
        return None

    def last_tick_at(self) -> datetime | None:
        """When its last tick ended (went through or failed); None before the first."""
        if self.ticks == 0:
            return None
        seen = [t for t in (self.last_ok, self.last_error_at) if t is not None]
        return max(seen) if seen else None

    def loop_running(self, now: datetime) -> bool | None:
        """Whether the watcher's loop runs: None before its first tick ended; False when no
        tick has ended for `STALL_INTERVALS` intervals (a hung or dead loop). An upstream
        error alone does not mean the loop stopped."""
        if self.ticks == 0:
            return None
        ended = self.last_tick_at()
        limit = timedelta(seconds=STALL_INTERVALS * self.poll_interval) + STALL_GRACE
        return ended is not None and now - ended <= limit
