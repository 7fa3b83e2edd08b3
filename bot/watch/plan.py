"""What one tick decided (`TickPlan`, written in one transaction) and what it reports
(`TickReport`). Pure data and pure trimming: no I/O."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime

from bot import alerts
from bot.errors import UpstreamError
from bot.events import Event, EventKind
from bot.history import Finished
from bot.models import Snapshot
from bot.store import PendingJob


@dataclass(frozen=True, slots=True)
class TickReport:
    """Counts of one tick, for logs, metrics and benchmarks."""

    provider: str
    at: datetime
    ok: bool = False  # the snapshot call succeeded
    leader: bool = True  # False: another replica watches this provider
    jobs: int = 0  # running jobs in the snapshot
    accounts: int = 0
    left: int = 0  # jobs that left the executing list this tick
    pending: int = 0  # jobs still awaiting an outcome after the tick
    resolved: int = 0  # outcomes found (unknown after give-up included)
    events: int = 0  # events decided this tick
    queued: int = 0  # outbox rows this tick added (muted/unrouted included)
    muted: int = 0
    upstream_calls: int = 0  # provider.snapshot() + provider.job() calls
    duration_ms: float = 0.0
    error: str | None = None
    event_keys: tuple[str, ...] = field(default=(), repr=False)


@dataclass(slots=True)
class TickPlan:
    """What one tick decided, written in one transaction (`snapshot` None: a failed tick)."""

    snapshot: Snapshot | None = None
    failure: UpstreamError | None = None
    stuck_ids: frozenset[str] = frozenset()
    events: list[Event] = field(default_factory=list)
    states: list[alerts.AlertState] = field(default_factory=list)
    pending_add: list[PendingJob] = field(default_factory=list)
    pending_update: list[PendingJob] = field(default_factory=list)
    pending_remove: list[str] = field(default_factory=list)
    #: The jobs this tick found an outcome for, for the history (`Store.commit_tick`).
    finished: list[Finished] = field(default_factory=list)
    calls: int = 1  # provider.snapshot() + provider.job() calls
    left: int = 0
    resolved: int = 0
    pending_after: int = 0
    muted: int = 0

    def report(self, provider: str, now: datetime, queued: int) -> TickReport:
        cur = self.snapshot
        return TickReport(
            provider=provider,
            at=now,
            ok=cur is not None and self.failure is None,
            jobs=len(cur.jobs) if cur else 0,
            accounts=len(cur.accounts) if cur else 0,
            left=self.left,
            pending=self.pending_after,
            resolved=self.resolved,
            events=len(self.events),
            queued=queued,
            muted=self.muted,
            upstream_calls=self.calls,
            error=str(self.failure) if self.failure else None,
            event_keys=tuple(e.key for e in self.events),
        )


def refused_items(plan: TickPlan, refuses: Callable[[str | None], bool]) -> list[str]:
    """The keys of the alerts (not upstream ones) whose text the store refuses."""
    return [
        e.key
        for e in plan.events
        if e.kind is not EventKind.UPSTREAM
        and any(refuses(t) for t in (e.key, e.job_id, e.account))
    ]


def without_refused(
    plan: TickPlan, refuses: Callable[[str | None], bool], outage: TickPlan
) -> TickPlan:
    """`plan` without exactly the items whose text the store refuses, its upstream state and
    alerts replaced by those of `outage`."""

    def kept(p: PendingJob) -> bool:
        return not refuses(p.job.id) and not refuses(p.last_error)

    return replace(
        plan,
        failure=outage.failure,
        events=[
            e
            for e in plan.events
            if e.kind is not EventKind.UPSTREAM
            and not any(refuses(t) for t in (e.key, e.job_id, e.account))
        ]
        + outage.events,
        states=[st for st in plan.states if st.scope != alerts.UPSTREAM and not refuses(st.scope)]
        + outage.states,
        pending_add=[p for p in plan.pending_add if kept(p)],
        pending_update=[p for p in plan.pending_update if kept(p)],
        pending_remove=[j for j in plan.pending_remove if not refuses(j)],
    )


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def short(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
