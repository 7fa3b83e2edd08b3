"""History records from what the watcher and the receiver hold: a snapshot's capacity samples,
a resolved job's `Finished`. Pure functions, no I/O."""

from __future__ import annotations

from datetime import datetime

from bot.history.records import Finished, Sample, Via
from bot.models import Account, Job, JobResult, Outcome, Snapshot

#: Outcomes whose upstream error text is kept as the reason.
_REASONED = frozenset({Outcome.FAILED, Outcome.MODERATED})


def free_slots(a: Account) -> int | None:
    """Slots an account has free: `available` where the provider says, else `max_jobs` minus
    the running jobs (never below 0); None when neither is known. The same count `Account.full`
    decides by."""
    if a.available is not None:
        return max(a.available, 0)
    if a.max_jobs is not None:
        return max(a.max_jobs - a.executing, 0)
    return None


def account_sample(provider: str, a: Account, at: datetime) -> Sample:
    """One account's capacity at `at`; `exhausted` is `Account.full` (unknown: False)."""
    return Sample(
        provider=provider,
        account=a.account,
        at=at,
        running=float(a.executing),
        max_jobs=None if a.max_jobs is None else float(a.max_jobs),
        free=_f(free_slots(a)),
        exhausted=a.full is True,
    )


def total_sample(snapshot: Snapshot, at: datetime) -> Sample:
    """The provider's total at `at`: running and limits summed over its accounts (`max_jobs`,
    `free`: over those that say; None when none does), `exhausted` when every account is full
    (`all_full`, the one definition)."""
    free = [f for f in map(free_slots, snapshot.accounts) if f is not None]
    return Sample(
        provider=snapshot.provider,
        account=None,
        at=at,
        running=float(snapshot.used),
        max_jobs=_f(snapshot.capacity),
        free=float(sum(free)) if free else None,
        exhausted=snapshot.full is True,
    )


def samples_of(snapshot: Snapshot, at: datetime | None = None) -> list[Sample]:
    """The provider's total, then each account (in the snapshot's order), at `at` (default:
    when the snapshot was taken)."""
    when = snapshot.taken_at if at is None else at
    return [
        total_sample(snapshot, when),
        *(account_sample(snapshot.provider, a, when) for a in snapshot.accounts),
    ]


def finished_of(
    provider: str,
    job: Job,
    result: JobResult | None,
    outcome: Outcome,
    *,
    left_at: datetime,
    at: datetime,
    via: Via,
) -> Finished:
    """The record of `job` ending with `outcome` (its final word). Account, kind and model as
    its alert names them (`alerts.job_event`: upstream's answer first, then the listing); the
    run time is `Job.run_seconds` up to `left_at`; the reason is
    upstream's error text for a failed or moderated job."""
    return Finished(
        provider=provider,
        job_id=job.id,
        account=(result.account if result else None) or job.account,
        kind=(result.kind if result else None) or job.kind,
        model=(result.model if result else None) or job.model,
        outcome=outcome.value,
        run_seconds=job.run_seconds(left_at),
        via=via,
        at=at,
        reason=result.error if result is not None and outcome in _REASONED else None,
    )


def _f(n: int | None) -> float | None:
    return None if n is None else float(n)
