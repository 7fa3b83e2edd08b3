"""`/status`: one embed, every provider: running, capacity used, last good poll, last error."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Final

import discord
from discord.utils import format_dt

from bot.accounts.subscription import Subscription
from bot.embeds.accounts import subscription_line
from bot.embeds.layout import add_fields_bounded, plural, provider_title, shown
from bot.embeds.style import BAD, OK, WARN, worst
from bot.health import ProviderStatus
from bot.text import bar, no_limit

__all__ = ["status_colour", "status_embed"]

_ICON: Final = {OK.value: "✅", WARN.value: "⚠️", BAD.value: "❌"}

#: The last error's share of the embed: `ERROR_BUDGET` over the providers, less what the
#: rest of a provider's field takes (`FIELD_OVERHEAD`), within these bounds.
ERROR_BUDGET: Final = 4500
FIELD_OVERHEAD: Final = 150
ERROR_CHARS_MIN: Final = 40
ERROR_CHARS_MAX: Final = 300


def status_colour(s: ProviderStatus) -> discord.Colour:
    """BAD when the watcher stopped or never polled well, WARN after an error, else OK."""
    if s.watcher_ok is False or s.last_ok is None:
        return BAD
    return WARN if s.last_error else OK


def _capacity(s: ProviderStatus) -> str:
    if s.no_limit and s.used is not None:
        return no_limit(s.used)
    if s.capacity is not None and s.used is not None:
        pct = f" · {round(s.used / s.capacity * 100)}%" if s.capacity else ""
        return f"{bar(s.used, s.capacity)} {s.used}/{s.capacity}{pct}"
    if s.used is not None:
        return f"{s.used}/?"
    return "?"


def _status_lines(s: ProviderStatus, err_len: int, redact: bool) -> list[str]:
    running = "?" if s.running is None else str(s.running)
    lines = [
        f"Running: {running}",
        f"Capacity: {_capacity(s)}",
        "Last good poll: " + (format_dt(s.last_ok, "R") if s.last_ok else "never"),
    ]
    if s.watcher_ok is not None:
        lines.append("Watcher: " + ("running" if s.watcher_ok else "**stopped**"))
    if s.last_error:
        lines.append(f"Last error: {shown(s.last_error, redact, err_len)}")
    return lines


def status_embed(
    entries: Sequence[ProviderStatus],
    *,
    now: datetime,
    titles: Mapping[str, str],
    redact: bool = False,
    account_checks: bool = False,
    subscription: Subscription | None = None,
) -> discord.Embed:
    """One embed, every provider: running, capacity used, last good poll, last error
    (e-mails in the error text masked when `redact`). With `account_checks`, the useapi
    subscription as the last check read it (an inactive one colours the embed BAD)."""
    healthy = sum(1 for s in entries if s.healthy)
    if not entries:
        headline = "No providers enabled."
    elif healthy == len(entries):
        headline = "All providers answering."
    else:
        headline = f"{healthy} of {plural(len(entries), 'provider')} healthy."
    share = ERROR_BUDGET // max(len(entries), 1) - FIELD_OVERHEAD
    err_len = max(ERROR_CHARS_MIN, min(ERROR_CHARS_MAX, share))
    colours = [status_colour(s) for s in entries]
    if account_checks:
        headline += "\n" + subscription_line(subscription)
        if subscription is not None:
            colours.append(BAD if not subscription.active else WARN if subscription.errors else OK)
    e = discord.Embed(
        title="opsbot status",
        description=headline,
        colour=worst(colours),
        timestamp=now,
    )
    e.set_footer(text=f"Checked {now:%H:%M:%S} UTC")
    fields = [
        (
            f"{_ICON[status_colour(s).value]} {provider_title(s.provider, titles)}",
            "\n".join(_status_lines(s, err_len, redact)),
        )
        for s in entries
    ]

    def more(n: int) -> tuple[str, str]:
        rest = entries[len(entries) - n :]
        return (
            f"… and {plural(n, 'more provider')}",
            f"{sum(1 for s in rest if s.healthy)} of {n} healthy",
        )

    add_fields_bounded(e, fields, more)
    return e
