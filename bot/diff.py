"""The diff: two snapshots of one provider → what happened. Pure: no I/O, no clock, no store.

The watcher (`bot.watch`) fetches the current snapshot, reads the stored one, and hands both
here; what comes back (jobs that left, jobs newly stuck, one capacity reading per account) is
what its alert policy (`bot.alerts`) decides on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.alerts import CapacityObs
from bot.models import Account, Job, Snapshot, all_full, is_stuck
from bot.stucklimit import limit_for

__all__ = ["Diff", "capacity_observations", "diff"]


@dataclass(frozen=True, slots=True)
class Diff:
    """What changed between two snapshots of one provider.

    `left`: jobs of the previous snapshot missing from the current one (finished, somehow).
    `new_stuck`: running jobs past the threshold not reported before; `stuck_ids` the ids to
    remember as reported (still running). `capacity`: one reading per account whose capacity
    is known, plus a provider-wide one (account None) when it can be told.
    """

    left: tuple[Job, ...] = ()
    new_stuck: tuple[Job, ...] = ()
    stuck_ids: frozenset[str] = frozenset()
    capacity: tuple[CapacityObs, ...] = ()


def capacity_observations(accounts: tuple[Account, ...]) -> tuple[CapacityObs, ...]:
    """One reading per account whose fullness is known (`Account.full`), then the provider as
    a whole: not full when any account has room, full when every account is known full."""
    obs = [
        CapacityObs(a.account, full, a.executing, a.max_jobs)
        for a in accounts
        if (full := a.full) is not None
    ]
    whole = all_full(accounts)
    if whole is not None:
        obs.append(CapacityObs(None, whole))
    return tuple(obs)


def diff(
    prev: Snapshot | None,
    cur: Snapshot,
    *,
    now: datetime,
    stuck_after: timedelta,
    stuck_ids: frozenset[str] = frozenset(),
    stuck_limits: Mapping[str, float] | None = None,
) -> Diff:
    """Compare two snapshots. `prev` None (the very first run) reports nothing as left. A job
    is stuck once it has run its model's limit (`stuck_limits`, seconds by model: learned,
    `bot.stucklimit`) or, for any other model, `stuck_after` or longer (`Job.elapsed`),
    reported once."""
    left: tuple[Job, ...] = ()
    if prev is not None:
        current = {j.id for j in cur.jobs}
        left = tuple(j for j in prev.jobs if j.id not in current)
    limit = stuck_after.total_seconds()
    new_stuck: list[Job] = []
    still: set[str] = set()
    for job in cur.jobs:  # 10,000s of jobs a tick: Job.elapsed inlined for the common case
        if job.id in stuck_ids:
            still.add(job.id)
            continue
        seconds = job.elapsed_seconds
        elapsed = float(seconds) if seconds is not None else job.elapsed(now)
        if is_stuck(elapsed, limit_for(job.model, stuck_limits, limit)):
            new_stuck.append(job)
            still.add(job.id)
    return Diff(
        left=left,
        new_stuck=tuple(new_stuck),
        stuck_ids=frozenset(still),
        capacity=capacity_observations(cur.accounts),
    )
