"""What the simulator is made of: jobs, accounts, what happened, what was asked, pins."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal, get_args

from bot.sim.clock import from_ts, iso_ms

Outcome = Literal["completed", "failed", "moderated", "cancelled"]
OUTCOMES: tuple[str, ...] = get_args(Outcome)
EventKind = Literal["job_started", "job_finished", "account_exhausted", "account_restored"]

#: Legacy (v1) PixVerse jobs older than this answer 410 Gone.
LEGACY_EXPIRY = timedelta(days=31)


class CapacityError(ValueError):
    """No free slot on the account (or on any account) for a new job."""


@dataclass(frozen=True, slots=True)
class SimEvent:
    """One thing that happened, for comparing what a bot reported with the truth."""

    t: datetime
    kind: EventKind
    provider: str
    job_id: str | None = None
    account: str | None = None
    outcome: str | None = None
    legacy: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "t": iso_ms(self.t),
            "kind": self.kind,
            "provider": self.provider,
            "job_id": self.job_id,
            "account": self.account,
            "outcome": self.outcome,
            "legacy": self.legacy,
        }


@dataclass(slots=True, eq=False)
class SimRequest:
    """One request the server received (control API calls are not logged)."""

    t: datetime
    method: str
    path: str  #: raw, percent-encoded as received
    query: str  #: raw query string
    status: int | None = None  #: None while in flight, or when no answer was sent
    fault: str | None = None  #: kind of the fault that answered it, if any
    seconds: float | None = None  #: time to answer

    def to_dict(self) -> dict[str, Any]:
        return {
            "t": iso_ms(self.t),
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "status": self.status,
            "fault": self.fault,
            "seconds": self.seconds,
        }


@dataclass(slots=True)
class Pin:
    """A canned answer for one exact path (`sim.pin`)."""

    path: str
    body: Any
    status: int = 200
    content_type: str = "application/json"


@dataclass(slots=True, eq=False)
class SimJob:
    """One job. `outcome` is the planned outcome while running, the actual one afterwards."""

    id: str
    provider: str
    account: str | None
    kind: str
    n: int
    started_ts: float
    end_ts: float
    outcome: str
    prompt: str
    model: str
    started_iso: str
    legacy: bool = False
    reply_url: str | None = None
    reply_ref: str | None = None
    submit_id: str | None = None
    finished_ts: float | None = None
    verb: str | None = None

    @property
    def running(self) -> bool:
        return self.finished_ts is None

    @property
    def started(self) -> datetime:
        return from_ts(self.started_ts)

    @property
    def removed(self) -> bool:
        """MiniMax: a finished moderated job that answers 404 (three in four of them)."""
        return (
            self.provider == "minimax"
            and not self.running
            and self.outcome == "moderated"
            and self.n % 4 != 0
        )

    def elapsed(self, now_ts: float) -> float:
        end = now_ts if self.finished_ts is None else self.finished_ts
        return max(0.0, end - self.started_ts)

    def to_dict(self, now_ts: float | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "provider": self.provider,
            "account": self.account,
            "kind": self.kind,
            "started": self.started_iso,
            "running": self.running,
            "outcome": self.outcome,
            "legacy": self.legacy,
            "model": self.model,
            "plannedEnd": None if math.isinf(self.end_ts) else iso_ms(self.end_ts),
            "finished": None if self.finished_ts is None else iso_ms(self.finished_ts),
        }
        if now_ts is not None:
            out["elapsedSeconds"] = int(self.elapsed(now_ts))
        return out


@dataclass(slots=True, eq=False)
class SimAccount:
    """One provider account and the jobs it is running (treat as read-only)."""

    provider: str
    account: str  #: the key useapi uses: email, numeric id, or `REGION:email`
    max_jobs: int
    email: str | None
    region: str | None
    ext_id: int  #: upstream user id (PixVerse AccountId, MiniMax user id)
    created_ts: float
    expires_ts: float  #: jwt / session expiry
    running: dict[str, SimJob] = field(default_factory=dict)
    videos: int = 0  #: running video jobs (MiniMax's capacity counts only these)
    #: useapi's message while the account is in error (its accounts endpoint shows `error`).
    error: str | None = None

    def with_error(self, body: dict[str, Any]) -> dict[str, Any]:
        """An accounts-endpoint entry `body` with this account's `error`, when it has one."""
        if self.error is not None:
            body["error"] = self.error
        return body

    @property
    def executing(self) -> int:
        return len(self.running)

    @property
    def available(self) -> int:
        return max(0, self.max_jobs - len(self.running))

    def to_dict(self) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "account": self.account,
            "maxJobs": self.max_jobs,
            "executing": self.executing,
            "available": self.available,
            "videos": self.videos,
            "error": self.error,
            "expires": iso_ms(self.expires_ts),
        }
