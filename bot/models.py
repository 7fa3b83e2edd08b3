"""The normalised model every provider adapter produces. No I/O, no Discord."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

Kind = Literal["video", "image", "music"]


class Outcome(enum.StrEnum):
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    MODERATED = "moderated"
    CANCELLED = "cancelled"
    UNKNOWN = "unknown"

    @property
    def final(self) -> bool:
        return self is not Outcome.RUNNING


@dataclass(frozen=True, slots=True)
class Job:
    """One job useapi is executing right now."""

    provider: str
    id: str
    kind: Kind | None = None
    account: str | None = None
    started: datetime | None = None
    elapsed_seconds: int | None = None
    model: str | None = None


@dataclass(frozen=True, slots=True)
class Account:
    """Capacity of one provider account. `max_jobs`/`available` are None when unknown."""

    account: str
    max_jobs: int | None
    executing: int
    available: int | None


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What one provider was doing at `taken_at` (UTC)."""

    provider: str
    taken_at: datetime
    jobs: tuple[Job, ...] = ()
    accounts: tuple[Account, ...] = ()

    def jobs_by_id(self) -> dict[str, Job]:
        return {j.id: j for j in self.jobs}


@dataclass(frozen=True, slots=True)
class JobResult:
    """What became of one job, read from the provider's job endpoint."""

    provider: str
    id: str
    outcome: Outcome
    account: str | None = None
    kind: Kind | None = None
    created: datetime | None = None
    updated: datetime | None = None
    prompt: str | None = None
    model: str | None = None
    urls: tuple[str, ...] = ()
    error: str | None = None
    raw_status: str | None = None
    extra: dict[str, str] = field(default_factory=dict)
