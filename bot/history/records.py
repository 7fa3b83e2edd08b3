"""The two kinds of history record. Pure data, no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, Literal

#: A capacity point holds until the next one, at most this long: a longer gap is time nothing
#: was recorded (the bot, or useapi, was down), counted and drawn as unknown, not as the last
#: value. A 15-minute bucket holds exactly its quarter hour.
HOLDS_AT_MOST: Final = timedelta(minutes=15)

#: How the bot learned a job's outcome: its own poll of the job, or a replyUrl callback.
Via = Literal["poll", "callback"]


@dataclass(frozen=True, slots=True)
class Sample:
    """Capacity at one instant (or the mean over one downsampled bucket starting at `at`).
    `account` None: the provider's total. `max_jobs`/`free` None where the provider does not
    say. `exhausted`: whether the account (or, for the total, every account) was full; for a
    bucket, whether it was at any sample in it. `full_seconds`: for a bucket, how long of it
    was spent exhausted (a raw sample: 0)."""

    provider: str
    account: str | None
    at: datetime
    running: float
    max_jobs: float | None
    free: float | None
    exhausted: bool
    full_seconds: float = 0.0


@dataclass(frozen=True, slots=True)
class Finished:
    """One job that reached a final outcome (`bot.models.Outcome` value: completed, failed,
    moderated, cancelled, unknown). `run_seconds`: from its start to when it left the queue,
    None where nobody knows. `reason`: upstream's error text for a failed or moderated job."""

    provider: str
    job_id: str
    account: str | None
    kind: str | None
    model: str | None
    outcome: str
    run_seconds: float | None
    via: Via
    at: datetime
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class CapacityHistory:
    """What one capacity chart draws, as read for it (`bot.history.query.capacity_history`):
    the period [since, until); `samples`, the providers' totals (and the accounts named in
    `accounts`). With `accounts` (one provider): a line per account, busiest first, and one
    line for the `others` more accounts it had, drawn as the total less the accounts drawn.
    Without: a line per provider."""

    since: datetime
    until: datetime
    samples: tuple[Sample, ...]
    accounts: tuple[str, ...] = ()
    others: int = 0
