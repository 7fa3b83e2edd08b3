"""One reading of the account checks: `GET /v2/account` and each provider's accounts endpoint
side by side (what `AccountChecker` and `opsbot check` both do), and `opsbot check`'s lines."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from datetime import datetime, timedelta

from bot.accounts.subscription import ACCOUNT_PATH, USEAPI, Subscription, parse_subscription
from bot.errors import PayloadError, UpstreamError
from bot.models import AccountHealth
from bot.providers.base import Provider
from bot.text import display_account, printable, redact_email
from bot.useapi import UseapiClient

log = logging.getLogger("bot.accounts")


async def fetch_subscription(client: UseapiClient) -> Subscription:
    """`GET /v2/account`, read. Raises `UpstreamError` subclasses only."""
    body = await client.get_json(ACCOUNT_PATH, provider=USEAPI)
    try:
        return parse_subscription(body)
    except UpstreamError:
        raise
    except Exception as exc:  # a bug here reads as what it is to users: an unreadable answer
        log.error("could not read useapi's %s", ACCOUNT_PATH, exc_info=exc)
        raise PayloadError(
            f"could not read useapi's answer ({type(exc).__name__})", provider=USEAPI
        ) from None


#: One reading: the subscription (None: unread), each provider's accounts that could be read,
#: and what could not, as (`useapi` or the provider, the error).
Readings = tuple[
    Subscription | None, dict[str, tuple[AccountHealth, ...]], tuple[tuple[str, str], ...]
]


def _failed(name: str, exc: BaseException) -> str:
    if not isinstance(exc, Exception):
        raise exc  # cancellation and friends go on up
    if not isinstance(exc, UpstreamError):
        log.error("%s: account check failed", name, exc_info=exc)
    else:
        log.warning("%s: account check failed: %s", name, exc)
    return str(exc)


async def read_accounts(client: UseapiClient, providers: Mapping[str, Provider]) -> Readings:
    """The subscription and each provider's accounts, side by side: 1 + len(providers)
    requests. What failed is left out and named in the failures."""
    names = list(providers)
    subscription = asyncio.ensure_future(fetch_subscription(client))
    try:
        results = await asyncio.gather(
            *(providers[n].fetch_accounts() for n in names), return_exceptions=True
        )
    except BaseException:
        subscription.cancel()
        raise
    failures: list[tuple[str, str]] = []
    sub: Subscription | None = None
    try:
        sub = await subscription
    except UpstreamError as exc:
        failures.append((USEAPI, _failed(USEAPI, exc)))
    accounts: dict[str, tuple[AccountHealth, ...]] = {}
    for name, got in zip(names, results, strict=True):
        if isinstance(got, BaseException):
            failures.append((name, _failed(name, got)))
        else:
            accounts[name] = got
    return sub, accounts, tuple(failures)


def problem_lines(readings: Readings, *, now: datetime, warn: timedelta, redact: bool) -> list[str]:
    """`opsbot check`'s lines about the accounts: one per problem (an inactive subscription,
    an account in error, a session or token that ends within `warn`, a reading that failed),
    or one that says all is well. Plain text, safe for a terminal."""
    sub, accounts, failures = readings
    lines: list[str] = []
    if sub is not None and not sub.active:
        lines.append("✗ useapi: subscription inactive")
    for provider, seen in accounts.items():
        for h in seen:
            who = f"{provider} account {display_account(h.account, redact)}"
            if h.error:
                shown = redact_email(h.error) if redact else h.error
                lines.append(f"⚠ {who}: account error: {shown}")
            if h.expires is not None and h.expires - now <= warn:
                verb = "expires" if h.expires > now else "expired"
                lines.append(f"⚠ {who}: {verb} {h.expires:%Y-%m-%d %H:%M} UTC")
    for name, error in failures:
        lines.append(f"⚠ {name}: accounts not checked: {redact_email(error) if redact else error}")
    if not lines:
        total = sum(len(seen) for seen in accounts.values())
        lines.append(f"✓ accounts: subscription active, {total} accounts, no problem")
    return [printable(line) for line in lines]
