"""The simulated useapi.net backend: `Simulator`, the one object tests, bench and server use.

Nothing here does I/O; `bot.sim.server` puts it behind HTTP, and each provider's part of it
(accounts, ids, API and bodies) is a module in `bot.sim.providers`.

`sim.now()` is the clock (`clock=None` means real time) plus an offset that
`sim.advance(seconds)` moves forward; `sim.step()` (called on every HTTP request) plays the
churn up to now (`bot.sim.population`: churn and capacity; the ground truth in `sim.history`,
`bot.sim.history`). Read-only views, canned answers (`pin`) and the request log are here too;
direct control (`start_job`, `finish_job`, `fill_account`, `free_account`, `set_max_jobs`) is
`bot.sim.direct`, a base of `Simulator`.
"""

from __future__ import annotations

import random
import re
from collections import deque
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from bot.sim.clock import Clock, iso_ms, utc_now
from bot.sim.direct import DirectControl
from bot.sim.faults import Faults
from bot.sim.model import (
    LEGACY_EXPIRY,
    OUTCOMES,
    CapacityError,
    Pin,
    SimAccount,
    SimEvent,
    SimJob,
    SimRequest,
)
from bot.sim.population import Population
from bot.sim.providers import PROVIDERS, SPECS

__all__ = [
    "LEGACY_EXPIRY",
    "OUTCOMES",
    "PROVIDERS",
    "REQUEST_LOG_MAX",
    "SPECS",
    "CapacityError",
    "Pin",
    "SimAccount",
    "SimEvent",
    "SimJob",
    "SimRequest",
    "Simulator",
]

#: How many requests `sim.requests` keeps (oldest dropped first).
REQUEST_LOG_MAX = 100_000


class Simulator(DirectControl):
    """A seeded, churning imitation of useapi.net's PixVerse, MiniMax, Dreamina and Mureka APIs.

    `accounts` and `jobs` are totals across the enabled providers, split evenly (every enabled
    provider gets at least one account). `jobs` is the running population: the seeded start
    state and, with churn, the level it hovers around.

    `token`: the bearer token the server accepts. `clock`: returns aware UTC now (default real
    time; tests pass a `ManualClock`). `churn=False`: a static population (benchmarks, big
    payloads). `legacy_jobs`: how many v1 PixVerse jobs to seed (default max(6, PixVerse
    jobs // 10); one of each state first, then random, about a third expired). `quirks`: list
    some MiniMax image jobs under `videoId` as the documented examples do (odd job numbers).

    Ids are each provider's own (see its module in `bot.sim.providers`); `uid` is fixed per
    simulator (`sim.uid`).
    """

    def __init__(
        self,
        seed: int = 1,
        accounts: int = 30,
        jobs: int = 60,
        token: str = "sim-token",
        clock: Clock | None = None,
        providers: Iterable[str] = PROVIDERS,
        churn: bool = True,
        *,
        legacy_jobs: int | None = None,
        quirks: bool = True,
    ) -> None:
        self.providers: tuple[str, ...] = tuple(providers)
        unknown = [p for p in self.providers if p not in SPECS]
        if unknown or not self.providers or len(set(self.providers)) != len(self.providers):
            raise ValueError(
                f"providers must be distinct names from {PROVIDERS}, got {self.providers!r}"
            )
        if accounts < 0 or jobs < 0:
            raise ValueError("accounts and jobs must not be negative")
        self.seed = seed
        self.token = token
        #: MiniMax lists some image jobs under `videoId`, as its documented examples do.
        self.quirks = quirks
        #: `subscriptionIsActive` of `GET /v2/account` (`set_subscription`).
        self.subscription_active = True
        self._clock: Clock = clock or utc_now
        self._offset = 0.0
        self._ctl_rng = random.Random(f"{seed}:control")
        self.faults = Faults(seed)
        self.requests: deque[SimRequest] = deque(maxlen=REQUEST_LOG_MAX)
        self.pins: dict[str, Pin] = {}
        self.t0 = self.now()
        self._world = Population(
            self.providers,
            seed,
            self.t0.timestamp(),
            accounts=accounts,
            jobs=jobs,
            churn=churn,
            legacy_jobs=legacy_jobs,
        )
        #: Ground truth: what happened, in time order (see `bot.sim.population`).
        self.history: list[SimEvent] = self._world.history
        #: Called with each happening as it is recorded (`bot.sim.callbacks`).
        self.history_listeners = self._world.truth.listeners

    @property
    def uid(self) -> int:
        """The upstream user id in the job ids (drawn from the seed; a test may set another)."""
        return self._world.uid

    @uid.setter
    def uid(self, value: int) -> None:
        self._world.uid = value

    @property
    def churn(self) -> bool:
        """Whether jobs arrive and the seeded ones end (False: a static population)."""
        return self._world.churn

    @churn.setter
    def churn(self, value: bool) -> None:
        self._world.churn = value

    # ------------------------------------------------------------------ time

    def now(self) -> datetime:
        """The simulator's current time (clock + advanced offset), aware UTC."""
        return self._clock() + timedelta(seconds=self._offset)

    def now_ts(self) -> float:
        return self.now().timestamp()

    def advance(self, seconds: float) -> datetime:
        """Move simulated time forward and play the churn up to the new now."""
        if seconds < 0:
            raise ValueError("time only moves forward")
        self._offset += seconds
        self.step()
        return self.now()

    def step(self) -> int:
        """Bring the state up to now (finish due jobs, start arrivals). Returns events played."""
        return self._world.play(self.now_ts())

    # ------------------------------------------------------------------ direct control

    # `start_job`, `finish_job`, `fill_account`, `free_account`, `set_max_jobs`: see
    # `bot.sim.direct` (DirectControl, a base of this class).

    def _provider(self, provider: str) -> str:
        if provider not in self._world.accounts:
            raise ValueError(
                f"provider {provider!r} is not simulated (enabled: {', '.join(self.providers)})"
            )
        return provider

    # ------------------------------------------------------------------ views

    def account(self, provider: str, account: str) -> SimAccount:
        try:
            return self._world.accounts[self._provider(provider)][account]
        except KeyError:
            raise KeyError(f"no {provider} account {account!r}") from None

    def accounts(self, provider: str) -> list[SimAccount]:
        """The provider's accounts in creation order (live objects: treat as read-only)."""
        self.step()
        return list(self._world.accounts[self._provider(provider)].values())

    def running(self, provider: str | None = None) -> list[SimJob]:
        """Jobs running now, oldest start first (all providers when `provider` is None)."""
        self.step()
        if provider is not None:
            return list(self._world.running[self._provider(provider)].values())
        return [j for p in self.providers for j in self._world.running[p].values()]

    def job(self, job_id: str) -> SimJob | None:
        """Any job by id, running or ended, legacy included."""
        return self._world.job(job_id)

    def legacy_jobs(self) -> list[SimJob]:
        return list(self._world.legacy.values())

    def legacy_expired(self, job: SimJob, now_ts: float | None = None) -> bool:
        now_ts = self.now_ts() if now_ts is None else now_ts
        return now_ts - job.started_ts > LEGACY_EXPIRY.total_seconds()

    def target(self, provider: str) -> int:
        """The running population churn keeps `provider` near."""
        return self._world.targets[self._provider(provider)]

    def events(self, kind: str | None = None, provider: str | None = None) -> list[SimEvent]:
        """`history` filtered by event kind and/or provider."""
        return [
            e
            for e in self.history
            if (kind is None or e.kind == kind) and (provider is None or e.provider == provider)
        ]

    # Internal-but-stable accessors for the renderers (no copies, no step()).
    def iter_running(self, provider: str) -> Iterable[SimJob]:
        return self._world.running[provider].values()

    def iter_accounts(self, provider: str) -> Iterable[SimAccount]:
        return self._world.accounts[provider].values()

    def find_account(self, provider: str, account: str) -> SimAccount | None:
        return self._world.accounts.get(provider, {}).get(account)

    # ------------------------------------------------------------------ pins, requests

    def pin(
        self, path: str, body: Any, status: int = 200, *, content_type: str = "application/json"
    ) -> None:
        """Answer requests for exactly `path` with `body` (JSON value; bytes/str sent as-is).

        `path` is compared with the raw and the percent-decoded request path; a `path` with a
        `?` is compared with path plus query string. Faults still win over pins.
        """
        if not path.startswith("/"):
            raise ValueError("pin paths start with '/'")
        self.pins[path] = Pin(path, body, status, content_type)

    def unpin(self, path: str | None = None) -> int:
        """Remove the pin for `path`, or all pins. Returns how many were removed."""
        if path is None:
            count = len(self.pins)
            self.pins.clear()
            return count
        return 1 if self.pins.pop(path, None) is not None else 0

    def pinned(self, *candidates: str) -> Pin | None:
        for candidate in candidates:
            found = self.pins.get(candidate)
            if found is not None:
                return found
        return None

    def log_request(self, method: str, path: str, query: str) -> SimRequest:
        entry = SimRequest(self.now(), method, path, query)
        self.requests.append(entry)
        return entry

    def request_count(self, pattern: str | None = None, *, method: str | None = None) -> int:
        """Logged requests whose raw path matches `pattern` (regex search), all if None."""
        regex = re.compile(pattern) if pattern is not None else None
        return sum(
            1
            for r in self.requests
            if (regex is None or regex.search(r.path)) and (method is None or r.method == method)
        )

    # ------------------------------------------------------------------ state dump

    def state(self) -> dict[str, Any]:
        """Everything a test in another process needs, as JSON-able data."""
        self.step()
        now = self.now_ts()
        return {
            "now": iso_ms(now),
            "seed": self.seed,
            "churn": self.churn,
            "uid": self.uid,
            "providers": {
                p: {
                    "target": self._world.targets[p],
                    "accounts": [a.to_dict() for a in self._world.accounts[p].values()],
                    "running": [j.to_dict(now) for j in self._world.running[p].values()],
                }
                for p in self.providers
            },
            "legacy": [
                dict(j.to_dict(now), expired=self.legacy_expired(j, now))
                for j in self._world.legacy.values()
            ],
            "history": len(self.history),
            "requests": len(self.requests),
            "faults": [f.to_dict() for f in self.faults.active()],
            "pins": sorted(self.pins),
            "subscriptionIsActive": self.subscription_active,
        }

    def __repr__(self) -> str:
        counts = ", ".join(f"{p}={len(self._world.running[p])}" for p in self.providers)
        return f"<Simulator seed={self.seed} churn={self.churn} running({counts})>"
