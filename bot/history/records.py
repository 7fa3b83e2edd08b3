"""The two kinds of history record. Pure data, no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

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
