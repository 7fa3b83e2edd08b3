"""What the account checks add to the views: the subscription line of `/status`, and the marks
`/capacity` puts on accounts in error or whose session or token ends soon."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final

from discord.utils import format_dt

from bot.accounts.policy import Health
from bot.accounts.subscription import Subscription
from bot.embeds.layout import shown

__all__ = ["account_marks", "subscription_line"]

#: useapi's display names in the subscription line, and how many are named.
NAME_CHARS: Final = 40
NAMES_SHOWN: Final = 12


def subscription_line(sub: Subscription | None) -> str:
    """``Subscription: **active** · accounts in error: MiniMax API 1/3, PixVerse API 0/2``."""
    if sub is None:
        return "Subscription: not checked yet"
    state = "active" if sub.active else "**inactive**"
    counts = [
        f"{shown(p.name, False, NAME_CHARS)} {p.error}/{p.total}"
        for p in sub.providers[:NAMES_SHOWN]
    ]
    if len(sub.providers) > NAMES_SHOWN:
        counts.append(f"… {len(sub.providers) - NAMES_SHOWN} more")
    tail = f" · accounts in error: {', '.join(counts)}" if counts else ""
    return f"Subscription: {state}{tail}"


def account_marks(
    health: Health | None, now: datetime, warn: timedelta
) -> dict[tuple[str, str], str]:
    """Per (provider, account) what `/capacity` says after its line: ``**account error**``
    (announced, as the alert said), ``expires <in 2 days>`` (within `warn`, or ended)."""
    marks: dict[tuple[str, str], str] = {}
    if health is None:
        return marks
    for key, state in health.accounts.items():
        parts: list[str] = []
        if state.in_error:
            parts.append("**account error**")
        if state.expires is not None and state.expires_within(now, warn):
            verb = "expires" if state.expires > now else "expired"
            parts.append(f"{verb} {format_dt(state.expires, 'R')}")
        if parts:
            marks[key] = " · ".join(parts)
    return marks
