"""The normalised model every provider adapter produces. No I/O, no Discord."""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from datetime import datetime
from types import MemberDescriptorType
from typing import Any, Final, Literal

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


_JOB_FIELDS: Final = ("provider", "id", "kind", "account", "started", "elapsed_seconds", "model")
JobMaker = Callable[[str, str, "Kind | None", "str | None", "datetime | None", "int | None",
                     "str | None"], Job]


def _job_maker() -> JobMaker:
    """`make_job`: the hot paths (a scheduler list, a stored snapshot: 10,000s of jobs a tick)
    build jobs with every field given. The frozen dataclass's `__init__` sets each slot through
    `object.__setattr__` (about 1.6 µs a job); writing the slots through their descriptors gives
    the very same object in less than half that. Should `Job` ever gain a field or stop being a
    plain slotted class, this is `Job` itself."""
    slots: list[Any] = [Job.__dict__.get(name) for name in _JOB_FIELDS]
    if tuple(f.name for f in fields(Job)) != _JOB_FIELDS or hasattr(Job, "__post_init__") \
            or not all(isinstance(s, MemberDescriptorType) for s in slots):
        return Job  # pragma: no cover
    new = object.__new__
    provider_, id_, kind_, account_, started_, elapsed_, model_ = (s.__set__ for s in slots)

    def make_job(provider: str, id: str, kind: Kind | None, account: str | None,
                 started: datetime | None, elapsed_seconds: int | None,
                 model: str | None) -> Job:
        job: Job = new(Job)
        provider_(job, provider)
        id_(job, id)
        kind_(job, kind)
        account_(job, account)
        started_(job, started)
        elapsed_(job, elapsed_seconds)
        model_(job, model)
        return job

    return make_job


#: `Job(provider, id, kind, account, started, elapsed_seconds, model)`, every field given; the
#: same object, built faster (see `_job_maker`).
make_job: JobMaker = _job_maker()


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
