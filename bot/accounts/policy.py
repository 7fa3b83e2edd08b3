"""Account health → events: the pure half of the account checks. No I/O.

What one check read (the subscription, each provider's accounts) is compared with the stored
`Health` of the check before: the subscription and each account's error go through the same
flap damping as every other condition (`bot.alerts.advance`: announced once it has held
`flap_ticks` checks, the all-clear only after an announcement, and only once it too has
held); an expiry within the warning window is told once per expiry instant. An error (or an
inactive subscription) still on `REMIND_AFTER_HOURS` after its announcement is posted again,
once per period, as `still unreachable` (the contract's reminder word for a condition that
keeps a provider's jobs from running; the capacity one is `still exhausted`), its text naming
the condition ("still in error after 4h 00m: …"). Keys are stable
(`account:{provider}:{account}:{episode}:{word}`, `account:useapi:subscription:{episode}:{word}`,
the same plus `:{period}` for a reminder,
`account:{provider}:{account}:expires:{instant}:expires soon`), so a re-run of the same check,
or the same check after a restart, queues nothing twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Final

from bot.accounts.subscription import USEAPI, Subscription
from bot.alerts import OK, AlertState, advance
from bot.events import AlertWord, Event, EventKind
from bot.models import AccountHealth
from bot.remind import due
from bot.text import fmt_duration

#: Raw conditions the state machines observe (besides `OK`).
IN_ERROR: Final = "error"
INACTIVE: Final = "inactive"
#: The state scope of an account's error, and of the subscription.
ERROR_SCOPE: Final = "account"
SUBSCRIPTION_SCOPE: Final = "subscription"


@dataclass(frozen=True, slots=True)
class AccountState:
    """What is stored of one account: the flap-damping state of its error, what the last check
    read (`error`, `expires`), and the expiry already warned about (`warned`)."""

    provider: str
    account: str
    alert: AlertState = field(default_factory=lambda: AlertState(ERROR_SCOPE))
    error: str | None = None
    expires: datetime | None = None
    warned: datetime | None = None
    checked_at: datetime | None = None

    @property
    def key(self) -> tuple[str, str]:
        return self.provider, self.account

    @property
    def in_error(self) -> bool:
        """Whether its error is announced (has held): what views mark."""
        return self.alert.announced is not None

    def expires_within(self, now: datetime, warn: timedelta) -> bool:
        return self.expires is not None and self.expires - now <= warn


@dataclass(frozen=True, slots=True)
class SubscriptionState:
    """What is stored of the subscription: its flap-damping state and the last reading."""

    alert: AlertState = field(default_factory=lambda: AlertState(SUBSCRIPTION_SCOPE))
    subscription: Subscription | None = None
    checked_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Health:
    """Everything the account checks store: the subscription and every account seen."""

    subscription: SubscriptionState = field(default_factory=SubscriptionState)
    accounts: Mapping[tuple[str, str], AccountState] = field(default_factory=dict)

    def of(self, provider: str) -> list[AccountState]:
        """`provider`'s accounts, by name."""
        return sorted(
            (a for a in self.accounts.values() if a.provider == provider), key=lambda a: a.account
        )


@dataclass(slots=True)
class HealthPlan:
    """What one check decided: states to write, accounts to forget, events."""

    subscription: SubscriptionState | None = None
    write: list[AccountState] = field(default_factory=list)
    remove: list[tuple[str, str]] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)


def _event(
    provider: str,
    account: str | None,
    key: str,
    word: str,
    now: datetime,
    detail: str | None = None,
    extra: dict[str, str] | None = None,
) -> Event:
    return Event(
        key=key,
        kind=EventKind.ACCOUNT,
        provider=provider,
        word=word,
        at=now,
        account=account,
        detail=detail,
        extra=extra or {},
    )


def _reminded(
    alert: AlertState, now: datetime, remind_after: timedelta | None
) -> tuple[AlertState, int | None]:
    """`alert` with the reminder due now recorded, and its period (None: none due)."""
    period = due(alert, now=now, every=remind_after) if remind_after is not None else None
    return (alert, None) if period is None else (replace(alert, reminded=period), period)


def _lasted(alert: AlertState, now: datetime) -> str:
    anchor = alert.announced_at or alert.since
    return fmt_duration((now - anchor).total_seconds()) if anchor is not None else "—"


def subscription_events(
    before: SubscriptionState,
    sub: Subscription,
    *,
    now: datetime,
    flap_ticks: int,
    remind_after: timedelta | None = None,
) -> tuple[SubscriptionState, list[Event]]:
    """Advance the subscription's state with this reading."""
    alert, what = advance(before.alert, OK if sub.active else INACTIVE, now=now, need=flap_ticks)
    if what is None:
        alert, period = _reminded(alert, now, remind_after)
        after = SubscriptionState(alert=alert, subscription=sub, checked_at=now)
        if period is None:
            return after, []
        word = AlertWord.STILL_UNREACHABLE
        detail = f"useapi's subscription is still not active, after {_lasted(alert, now)}"
        key = f"account:{USEAPI}:subscription:{alert.episode}:{word}:{period}"
        return after, [_event(USEAPI, None, key, word, now, detail)]
    after = SubscriptionState(alert=alert, subscription=sub, checked_at=now)
    word = AlertWord.SUBSCRIPTION_INACTIVE if what == "announce" else AlertWord.SUBSCRIPTION_ACTIVE
    detail = (
        "useapi's subscription is not active: its API calls will be refused"
        if what == "announce"
        else "useapi's subscription is active again"
    )
    key = f"account:{USEAPI}:subscription:{alert.episode}:{word}"
    return after, [_event(USEAPI, None, key, word, now, detail)]


def account_events(
    before: AccountState,
    seen: AccountHealth,
    *,
    now: datetime,
    flap_ticks: int,
    warn: timedelta,
    remind_after: timedelta | None = None,
) -> tuple[AccountState, list[Event]]:
    """Advance one account's state with what its accounts endpoint says now."""
    p, a = before.provider, before.account
    observed = IN_ERROR if seen.error else OK
    alert, what = advance(before.alert, observed, now=now, need=flap_ticks)
    period = None
    if what is None:
        alert, period = _reminded(alert, now, remind_after)
    after = replace(before, alert=alert, error=seen.error, expires=seen.expires, checked_at=now)
    events: list[Event] = []
    if period is not None:
        word = AlertWord.STILL_UNREACHABLE
        key = f"account:{p}:{a}:{alert.episode}:{word}:{period}"
        detail = f"still in error after {_lasted(alert, now)}: {seen.error}"
        events.append(_event(p, a, key, word, now, detail))
    if what == "announce":
        word = AlertWord.ACCOUNT_ERROR
        key = f"account:{p}:{a}:{alert.episode}:{word}"
        events.append(_event(p, a, key, word, now, seen.error))
    elif what == "clear":
        word = AlertWord.ACCOUNT_OK
        key = f"account:{p}:{a}:{alert.episode}:{word}"
        events.append(_event(p, a, key, word, now, "the account works again"))
    soon = seen.expires is not None and after.expires_within(now, warn)
    if soon and seen.expires is not None and before.warned != seen.expires:
        after = replace(after, warned=seen.expires)
        events.append(expiry_event(p, a, seen.expires, now))
    return after, events


def expiry_event(provider: str, account: str, expires: datetime, now: datetime) -> Event:
    """`expires soon` for the expiry at `expires` (its own key: a new expiry is a new warning)."""
    word = AlertWord.EXPIRES_SOON
    left = (expires - now).total_seconds()
    detail = (
        f"its session or token ends in {fmt_duration(left)}"
        if left > 0
        else "its session or token has ended"
    )
    instant = expires.isoformat().replace("+00:00", "Z")
    return _event(
        provider,
        account,
        f"account:{provider}:{account}:expires:{instant}:{word}",
        word,
        now,
        detail,
        {"expires": instant},
    )


def plan_check(
    before: Health,
    subscription: Subscription | None,
    accounts: Mapping[str, tuple[AccountHealth, ...]],
    *,
    now: datetime,
    flap_ticks: int,
    warn: timedelta,
    remind_after: timedelta | None = None,
) -> HealthPlan:
    """Compare one check with the stored `before`. `subscription` None: not read this time
    (its state stays); `accounts` holds only the providers read this time (the others' states
    stay). A read provider's stored accounts it no longer lists are forgotten. `remind_after`:
    the reminder period (None: no reminders)."""
    plan = HealthPlan()
    if subscription is not None:
        plan.subscription, evs = subscription_events(
            before.subscription,
            subscription,
            now=now,
            flap_ticks=flap_ticks,
            remind_after=remind_after,
        )
        plan.events += evs
    for provider, seen in accounts.items():
        listed: set[tuple[str, str]] = set()
        for health in seen:
            key = (provider, health.account)
            if key in listed:
                continue  # one account listed twice: its first entry
            listed.add(key)
            old = before.accounts.get(key) or AccountState(provider, health.account)
            new, evs = account_events(
                old, health, now=now, flap_ticks=flap_ticks, warn=warn, remind_after=remind_after
            )
            plan.write.append(new)
            plan.events += evs
        plan.remove += [k for k in before.accounts if k[0] == provider and k not in listed]
    return plan


def applied(before: Health, plan: HealthPlan) -> Health:
    """`before` with `plan` written: what the store holds after the check commits."""
    accounts = {k: v for k, v in before.accounts.items() if k not in set(plan.remove)}
    accounts.update((s.key, s) for s in plan.write)
    return Health(subscription=plan.subscription or before.subscription, accounts=accounts)
