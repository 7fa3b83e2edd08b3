"""The jobs that left the executing list: ask useapi what became of each, within one budget
per tick, and decide what to announce and what to ask again next tick."""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Iterable, Mapping
from datetime import datetime, timedelta

from bot import alerts
from bot.errors import UpstreamError
from bot.history import finished_of
from bot.models import JobResult, Outcome
from bot.providers.base import Provider
from bot.store import PendingJob, Untrack
from bot.watch.plan import TickPlan

#: Why a job whose id decoding had to change is reported `unknown` as soon as it leaves.
UNASKABLE = (
    "its id held a character that useapi's JSON could not carry (shown as \ufffd), "
    "so useapi cannot be asked what became of it"
)
#: What a job untracked from Discord (`/cancel`) is reported with as it leaves the queue.
UNTRACKED = (
    "untracked from Discord: useapi stopped tracking it and its callbacks "
    "(the generation may still have run upstream)"
)
#: A departed job, what its endpoint answered (None: no answer), and the error if any.
Resolved = tuple[PendingJob, JobResult | None, str | None]


async def resolve_all(
    provider: Provider, todo: list[PendingJob], *, gate: asyncio.Semaphore, budget: float
) -> list[Resolved]:
    """Each job's answer, within `budget` seconds in all. One call may take up to the
    client's deadline, as many at a time as `gate` lets through, so a slow job endpoint
    could otherwise hold the tick, and every alert of this provider with it, for minutes. A
    job that got no answer in time is asked again next tick."""
    if not todo:
        return []
    tasks = [asyncio.ensure_future(_resolve(provider, p, gate)) for p in todo]
    try:
        done, _ = await asyncio.wait(tasks, timeout=budget)
    finally:  # a stop cancels the tick here: no look-up may go on without it
        for task in tasks:
            if not task.done():
                task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    why = f"no answer within {budget:g} s (asked again next tick)"
    return [
        task.result() if task in done else (p, None, why)
        for p, task in zip(todo, tasks, strict=True)
    ]


async def _resolve(provider: Provider, p: PendingJob, gate: asyncio.Semaphore) -> Resolved:
    async with gate:
        try:
            return p, await provider.fetch_job(p.job.id), None
        except UpstreamError as exc:
            return p, None, str(exc)


def untracked(
    plan: TickPlan,
    provider: str,
    todo: Iterable[PendingJob],
    marks: Mapping[str, Untrack],
    stored: Mapping[str, PendingJob],
    now: datetime,
) -> list[PendingJob]:
    """Jobs untracked from Discord are `cancelled` as they leave, without asking useapi: its
    job endpoint may still say running or completed, the generation going on upstream. The
    rest is returned, to be asked as usual."""
    rest: list[PendingJob] = []
    for p in todo:
        mark = marks.get(p.job.id)
        if mark is None:
            rest.append(p)
            continue
        plan.events.append(
            alerts.job_event(provider, p.job, None, Outcome.CANCELLED, now=now, detail=UNTRACKED)
        )
        _resolved(plan, p, stored, provider, None, Outcome.CANCELLED, now)
    return rest


def announced(
    plan: TickPlan,
    todo: Iterable[PendingJob],
    told: Collection[str],
    stored: Mapping[str, PendingJob],
) -> list[PendingJob]:
    """Jobs whose outcome a replyUrl callback announced already (`bot.hooks`) are done: not
    asked again, not announced again (useapi might say otherwise by now, e.g. a MiniMax
    video removed after it completed). The rest is returned."""
    rest: list[PendingJob] = []
    for p in todo:
        if p.job.id in told:
            _resolved(plan, p, stored)
        else:
            rest.append(p)
    return rest


def unaskable(
    plan: TickPlan,
    provider: str,
    todo: Iterable[PendingJob],
    stored: Mapping[str, PendingJob],
    now: datetime,
) -> None:
    """Jobs whose id decoding had to change are `unknown` at once: asking about another id
    would give another job's answer."""
    for p in todo:
        if not p.job.askable:
            plan.events.append(
                alerts.job_event(provider, p.job, None, Outcome.UNKNOWN, now=now, detail=UNASKABLE)
            )
            _resolved(plan, p, stored, provider, None, Outcome.UNKNOWN, now)


def decide(
    plan: TickPlan,
    provider: str,
    results: Iterable[Resolved],
    stored: Mapping[str, PendingJob],
    now: datetime,
    give_up: timedelta,
) -> None:
    """Each answer's event, or the job kept pending (asked again next tick) until `give_up`
    after it left, when it is reported `unknown` with the last error."""
    for p, result, error in results:
        outcome = result.outcome if result is not None else None
        # UNKNOWN (a status the adapter cannot read) is not an answer: keep asking until the
        # give-up below, so a real outcome that follows is not lost.
        if outcome is not None and outcome.final and outcome is not Outcome.UNKNOWN:
            plan.events.append(alerts.job_event(provider, p.job, result, outcome, now=now))
        elif now - p.left_at >= give_up:
            why = f"no outcome {_minutes(now - p.left_at)} after it left the queue"
            if error:
                why += f" (last error: {error})"
            plan.events.append(
                alerts.job_event(provider, p.job, result, Outcome.UNKNOWN, now=now, detail=why)
            )
            outcome = Outcome.UNKNOWN
        else:
            kept = PendingJob(
                job=p.job, left_at=p.left_at, attempts=p.attempts + 1, last_error=error
            )
            (plan.pending_update if p.job.id in stored else plan.pending_add).append(kept)
            continue
        _resolved(plan, p, stored, provider, result, outcome, now)
    plan.pending_after = len(plan.pending_add) + len(plan.pending_update)


def _resolved(
    plan: TickPlan,
    p: PendingJob,
    stored: Mapping[str, PendingJob],
    provider: str | None = None,
    result: JobResult | None = None,
    outcome: Outcome | None = None,
    now: datetime | None = None,
) -> None:
    """`p` is done; with an `outcome` this tick told (not a callback before it), it goes into
    the history too."""
    plan.resolved += 1
    if p.job.id in stored:
        plan.pending_remove.append(p.job.id)
    if provider is not None and outcome is not None and now is not None:
        plan.finished.append(
            finished_of(provider, p.job, result, outcome, left_at=p.left_at, at=now, via="poll")
        )


def _minutes(d: timedelta) -> str:
    return f"{int(d.total_seconds() // 60)} min"
