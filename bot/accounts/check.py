"""`AccountChecker`: every ACCOUNT_CHECK_MINUTES, read the subscription and each provider's
accounts, decide (`bot.accounts.policy`), and commit the states and the alerts in one
transaction. With several replicas only the holder of the `accounts` lease checks."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot import alerts
from bot.accounts.policy import Health, applied, plan_check
from bot.accounts.read import read_accounts
from bot.providers.base import Provider
from bot.settings import Settings
from bot.store import Store
from bot.useapi import UseapiClient
from bot.watch.config import utcnow

log = logging.getLogger("bot.accounts")

#: The lease only one replica checks under.
LEASE: str = "accounts"


@dataclass(frozen=True, slots=True)
class CheckConfig:
    """How the accounts are checked. `from_settings` gives the bot's."""

    interval: timedelta
    warn: timedelta
    flap_ticks: int = 2
    default_channel: int | None = None
    #: With a lease only one replica checks; None: this one always does.
    lease_ttl: timedelta | None = None
    #: An error still on is posted again once per this period (`REMIND_AFTER_HOURS`).
    remind_after: timedelta | None = timedelta(hours=4)

    @classmethod
    def from_settings(cls, settings: Settings) -> CheckConfig:
        interval = timedelta(minutes=settings.account_check_minutes)
        return cls(
            interval=interval,
            warn=timedelta(days=settings.expiry_warn_days),
            default_channel=settings.alert_channel_id,
            lease_ttl=3 * interval + timedelta(seconds=30),
            remind_after=(
                timedelta(hours=settings.remind_after_hours)
                if settings.remind_after_hours > 0
                else None
            ),
        )


@dataclass(frozen=True, slots=True)
class CheckReport:
    """What one check did."""

    at: datetime
    leader: bool = True
    events: int = 0
    queued: int = 0
    #: What could not be read this time: (`useapi` or a provider, the error).
    failures: tuple[tuple[str, str], ...] = ()
    error: str | None = None


class AccountChecker:
    """Checks every enabled provider's accounts and the subscription; `health` is what the
    store holds after the last check (or the last look at it), for the views."""

    def __init__(
        self,
        client: UseapiClient,
        providers: Callable[[], Mapping[str, Provider]],
        store: Store,
        config: CheckConfig,
        *,
        holder: str | None = None,
        holder_gone: Callable[[str], bool] | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.client = client
        self.providers = providers
        self.store = store
        self.config = config
        self.holder = holder or f"accounts-{uuid.uuid4().hex[:12]}"
        self.holder_gone = holder_gone
        self._clock = clock
        self._lock = asyncio.Lock()
        self.health: Health | None = None
        self.last_report: CheckReport | None = None

    async def check(self) -> CheckReport:
        """One check. Never raises (except cancellation): a failure lands in the report, and
        the next check starts again from what the store holds."""
        async with self._lock:
            now = self._clock()
            try:
                report = await self._check(now)
            except Exception as exc:
                log.exception("account check failed")
                report = CheckReport(at=now, error=f"{type(exc).__name__}: {exc}")
            self.last_report = report
            return report

    async def _check(self, now: datetime) -> CheckReport:
        if self.config.lease_ttl is not None and not await self._lead(now, self.config.lease_ttl):
            self.health = await self.store.load_health()
            return CheckReport(at=now, leader=False)
        providers = dict(self.providers())
        subscription, accounts, failures = await read_accounts(self.client, providers)
        before = await self.store.load_health()
        plan = plan_check(
            before,
            subscription,
            accounts,
            now=now,
            flap_ticks=self.config.flap_ticks,
            warn=self.config.warn,
            remind_after=self.config.remind_after,
        )
        config = await self.store.alert_config(now)
        items = alerts.plan(
            plan.events, config, default_channel=self.config.default_channel, now=now
        )
        queued = await self.store.commit_health(
            now=now,
            batch=f"accounts:{now.isoformat()}",
            subscription=plan.subscription,
            write=plan.write,
            remove=plan.remove,
            outbox=items,
        )
        self.health = applied(before, plan)
        for e in plan.events:
            log.info("account: %s %s %s", e.provider, e.word, e.account or "")
        return CheckReport(at=now, events=len(plan.events), queued=queued, failures=failures)

    async def _lead(self, now: datetime, ttl: timedelta) -> bool:
        """Take or renew the `accounts` lease; False when another live replica holds it."""
        if await self.store.acquire_lease(LEASE, self.holder, now=now, ttl=ttl):
            return True
        if self.holder_gone is None:
            return False
        current = await self.store.lease_holder(LEASE)
        if current is None or not self.holder_gone(current):
            return False
        log.info("accounts: taking over the checks from %s, which is gone", current)
        return await self.store.acquire_lease(
            LEASE, self.holder, now=now, ttl=ttl, replacing=current
        )
