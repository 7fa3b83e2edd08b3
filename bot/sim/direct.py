"""Direct control of the simulated world: make something happen now instead of waiting for the
churn — start or finish a job, fill or free an account, change its maxJobs.

`DirectControl` is a base of `Simulator` (`bot.sim.state`), which holds what these methods use:
the population, the clock (`step`, `now_ts`), the control RNG and the views (`account`, `job`).
Tests, the demo and the `/_sim` control API call them on the simulator.
"""

from __future__ import annotations

import math
import random
from typing import TYPE_CHECKING

from bot.sim import draws
from bot.sim.model import OUTCOMES, CapacityError, SimAccount, SimJob
from bot.sim.population import LEGACY_PROVIDER, Population, ms
from bot.sim.providers import SPECS

__all__ = ["DirectControl"]


class DirectControl:
    """`start_job`, `finish_job`, `untrack`, `fill_account`, `free_account`, `set_max_jobs`, and
    for the account checks `set_account_error`, `set_account_expiry`, `set_subscription`."""

    if TYPE_CHECKING:  # what `Simulator` provides
        _world: Population
        subscription_active: bool
        _ctl_rng: random.Random

        def _provider(self, provider: str) -> str: ...
        def step(self) -> int: ...
        def now_ts(self) -> float: ...
        def account(self, provider: str, account: str) -> SimAccount: ...
        def job(self, job_id: str) -> SimJob | None: ...

    def start_job(
        self,
        provider: str,
        account: str | None = None,
        kind: str | None = None,
        duration: float | None = None,
        outcome: str | None = "completed",
        legacy: bool = False,
        *,
        reply_url: str | None = None,
        reply_ref: str | None = None,
        elapsed: float = 0.0,
    ) -> str:
        """Start a job now (or `elapsed` seconds ago); returns its id.

        `account=None` picks a random account with a free slot; `kind=None` is the
        provider's first kind (`video`; Mureka's `music`). `duration=None` draws one;
        `float("inf")` never ends by itself. `outcome=None` draws one. `legacy=True` (PixVerse
        only) makes a v1 job, reachable only through `/v1/pixverse/jobs/?jobid=`, that takes
        no account slot. Raises `CapacityError` when there is no free slot, KeyError for an
        unknown account, ValueError for a bad provider, kind or outcome.
        """
        p = self._provider(provider)
        self.step()
        rng = self._ctl_rng
        spec = SPECS[p]
        kind = spec.allowed_kinds[0] if kind is None else kind
        if kind not in spec.allowed_kinds:
            raise ValueError(f"{p} jobs are {', '.join(spec.allowed_kinds)}, not {kind!r}")
        if outcome is not None and outcome not in OUTCOMES:
            raise ValueError(f"outcome must be one of {OUTCOMES}, got {outcome!r}")
        _, drawn_duration, drawn_outcome = draws.draw(p, rng, kind)
        duration = drawn_duration if duration is None else float(duration)
        outcome = outcome or drawn_outcome
        if duration < 0 or elapsed < 0:
            raise ValueError("duration and elapsed must not be negative")
        started = ms(self.now_ts() - elapsed)
        if legacy:
            if p != LEGACY_PROVIDER:
                raise ValueError("only PixVerse has legacy (v1) jobs")
            job = self._world.start_legacy(started, duration, outcome, rng)
        else:
            job = self._world.start(
                p,
                self._slot(p, account, rng),
                started,
                kind,
                started + duration,
                outcome,
                rng,
                reply_url=reply_url,
                reply_ref=reply_ref,
                members=False,
            )
        self.step()
        return job.id

    def _slot(self, p: str, account: str | None, rng: random.Random) -> SimAccount:
        """`account` (any account of `p` when None), if it has a free slot; else CapacityError."""
        if account is None:
            acct = self._world.pick_free(p, rng)
            if acct is None:
                raise CapacityError(f"every {p} account is busy")
            return acct
        acct = self.account(p, account)
        if acct.available == 0:
            raise CapacityError(
                f"{p} account {account} has no free slot ({acct.executing}/{acct.max_jobs})"
            )
        return acct

    def finish_job(self, job_id: str, outcome: str = "completed") -> SimJob:
        """End a running job now with `outcome`. KeyError if unknown, ValueError if ended."""
        if outcome not in OUTCOMES:
            raise ValueError(f"outcome must be one of {OUTCOMES}, got {outcome!r}")
        self.step()
        job = self.job(job_id)
        if job is None:
            raise KeyError(f"no job {job_id!r}")
        if not job.running:
            raise ValueError(f"job {job_id} already ended ({job.outcome})")
        self._world.finish(job, max(self.now_ts(), job.started_ts), outcome)
        return job

    def untrack(self, provider: str, job_id: str) -> SimJob | None:
        """What `DELETE …/scheduler/{id}` does: stop tracking a running job of `provider` now.
        It leaves the scheduler and frees its slot (the `/scheduler/available` counts), and
        ends `cancelled`, which its job endpoint answers from then on (useapi stops tracking;
        the simulated generation stops with it). None, and nothing changes, when `provider`
        runs no such job (an unknown id, another provider's, a legacy one, one that ended)."""
        self.step()  # a job the churn ends by now is not running any more
        job = self.job(job_id)
        if job is None or job.provider != provider or job.legacy or not job.running:
            return None
        return self.finish_job(job_id, "cancelled")

    def fill_account(
        self,
        provider: str,
        account: str,
        *,
        kind: str | None = None,
        duration: float | None = None,
        outcome: str | None = "completed",
    ) -> list[str]:
        """Start jobs on `account` until it has no free slot; returns their ids."""
        acct = self.account(self._provider(provider), account)
        return [
            self.start_job(provider, account, kind, duration, outcome)
            for _ in range(acct.available)
        ]

    def free_account(
        self,
        provider: str,
        account: str,
        outcome: str = "completed",
    ) -> list[str]:
        """End every job running on `account` with `outcome`; returns their ids."""
        acct = self.account(self._provider(provider), account)
        ids = list(acct.running)
        for job_id in ids:
            self.finish_job(job_id, outcome)
        return ids

    def set_max_jobs(self, provider: str, account: str, max_jobs: int) -> None:
        """Change an account's maxJobs (like POST /accounts). Running jobs are not stopped."""
        if max_jobs < 0:
            raise ValueError("maxJobs must not be negative")
        acct = self.account(self._provider(provider), account)
        self.step()
        self._world.set_max_jobs(acct, max_jobs, self.now_ts())

    def set_account_error(self, provider: str, account: str, error: str | None) -> None:
        """Put an account in error with useapi's message `error` (None: clear it): its accounts
        endpoint shows `error`, `/v2/account` counts it."""
        if error is not None and not error.strip():
            raise ValueError("error must be a message, or null to clear it")
        self.account(self._provider(provider), account).error = error

    def set_account_expiry(self, provider: str, account: str, expires_ts: float) -> None:
        """Set when an account's session or token ends (epoch seconds)."""
        if not math.isfinite(expires_ts) or expires_ts < 0:
            raise ValueError("expires must be a finite, non-negative epoch time")
        self.account(self._provider(provider), account).expires_ts = expires_ts

    def set_subscription(self, active: bool) -> None:
        """`subscriptionIsActive` of `GET /v2/account`."""
        self.subscription_active = active
