"""`/capacity`: per account `executing/maxJobs` with a bar, fullest first; totals per provider
and the full accounts called out. Full means `Account.full`, as for the alerts."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

import discord

from bot.embeds.layout import (
    Block,
    chunk_lines,
    data_age,
    join_bounded,
    pages,
    plural,
    provider_title,
    shown,
    span_name,
)
from bot.embeds.style import BAD, NEUTRAL, OK, WARN, worst
from bot.models import Account, Snapshot
from bot.text import bar, display_account, no_limit

__all__ = ["Totals", "capacity_pages", "full_list"]

#: Share of the known slots in use from which a provider shows as busy (WARN).
BUSY_RATIO: Final = 0.7
#: An account in a line or a call-out.
ACCOUNT_CHARS: Final = 80
CALLOUT_ACCOUNT_CHARS: Final = 60
#: Full accounts named in a provider's call-out before "and N more".
CALLOUT_SHOWN: Final = 5
#: The per-provider summary at the top of the first page.
SUMMARY_CHARS: Final = 1500


@dataclass(frozen=True, slots=True)
class Totals:
    """One provider's capacity at a glance, read from its snapshot."""

    used: int
    capacity: int | None  # the known slots (`Snapshot.capacity`); None when no account says
    unknown: int  # accounts whose max_jobs is unknown
    full: tuple[Account, ...]  # `Snapshot.full_accounts`
    all_full: bool  # every account is full: the provider can take no job at all
    no_limit: bool = False  # `Snapshot.no_limit`: accounts, none publishing a limit (Mureka)

    @classmethod
    def of(cls, snap: Snapshot) -> Totals:
        full = snap.full_accounts
        return cls(
            used=snap.used,
            capacity=snap.capacity,
            unknown=sum(1 for a in snap.accounts if a.max_jobs is None),
            full=full,
            all_full=snap.full is True,
            no_limit=snap.no_limit,
        )

    @property
    def ratio(self) -> float | None:
        if not self.capacity:
            return None
        return self.used / self.capacity

    def text(self) -> str:
        """``▰▰▰▰▱▱▱▱▱▱ 8/10+? · 80%``, or ``3 running · no limit published``."""
        if self.no_limit:
            return no_limit(self.used)
        cap = "?" if self.capacity is None else str(self.capacity)
        more = "+?" if self.unknown and self.capacity is not None else ""
        pct = f" · {round(self.ratio * 100)}%" if self.ratio is not None else ""
        return f"{bar(self.used, self.capacity)} {self.used}/{cap}{more}{pct}"

    def colour(self) -> discord.Colour:
        """BAD when the provider can take no job (every account full, as the provider-wide
        `exhausted` alert says), WARN when most known slots are in use, else OK; NEUTRAL
        when nothing is known."""
        if self.all_full:
            return BAD
        if self.ratio is None:
            return NEUTRAL
        return WARN if self.ratio >= BUSY_RATIO else OK


def fullness_colour(totals: Iterable[Totals]) -> discord.Colour:
    """The colour of the fullest provider."""
    return worst(t.colour() for t in totals)


def full_list(accounts: Sequence[Account], redact: bool, shown_max: int = CALLOUT_SHOWN) -> str:
    """``a@x.io, b@x.io and 3 more``."""
    names = [
        shown(display_account(a.account, redact), False, CALLOUT_ACCOUNT_CHARS)
        for a in accounts[:shown_max]
    ]
    more = f" and {len(accounts) - shown_max} more" if len(accounts) > shown_max else ""
    return ", ".join(names) + more


def _fullest_first(a: Account) -> tuple[bool, float, int, str]:
    """Full accounts first, then by the share of their slots in use (unknown last)."""
    if a.max_jobs is None:
        share = -1.0
    elif a.max_jobs <= 0:
        share = float("inf")
    else:
        share = a.executing / a.max_jobs
    return (not a.full, -share, -a.executing, a.account)


def _account_line(a: Account, redact: bool, mark: str | None = None) -> str:
    """``▰▰▰▰▰▰▰▰▰▰ 5/5 a@x.io · **exhausted**``; ``3 running · no limit published · 123``
    for an account whose fullness nobody publishes (`Account.full` None); then what the
    account checks say of it (`mark`)."""
    name = shown(display_account(a.account, redact), False, ACCOUNT_CHARS)
    health = f" · {mark}" if mark else ""
    if a.full is None:
        return f"{no_limit(a.executing)} · {name}{health}"
    cap = "?" if a.max_jobs is None else str(a.max_jobs)
    full = " · **exhausted**" if a.full else ""
    return f"{bar(a.executing, a.max_jobs)} {a.executing}/{cap} {name}{full}{health}"


def _in_use(totals: Sequence[Totals]) -> str:
    """``12/40 in use``; the providers that publish no limit apart (``… · 3 running · no
    limit published``), so their jobs count against no one's slots."""
    limited = [t for t in totals if not t.no_limit]
    unlimited = [t for t in totals if t.no_limit]
    parts = []
    if limited or not unlimited:
        caps = [t.capacity for t in limited if t.capacity is not None]
        cap_txt = str(sum(caps)) if caps else "?"
        parts.append(f"{sum(t.used for t in limited)}/{cap_txt} in use")
    if unlimited:
        parts.append(no_limit(sum(t.used for t in unlimited)))
    return " · ".join(parts)


def capacity_pages(
    snapshots: Sequence[Snapshot],
    *,
    now: datetime,
    redact: bool,
    titles: Mapping[str, str],
    marks: Mapping[tuple[str, str], str] | None = None,
) -> list[discord.Embed]:
    """Per account `executing/maxJobs` with a bar (fullest first), totals per provider and the
    full (`Account.full`) accounts called out; colour by how full the fullest provider is.
    `marks`: per (provider, account), what the account checks say of it (`account_marks`)."""
    marks = marks or {}
    age = data_age(snapshots, now, None)
    summary: list[str] = []
    blocks: list[Block] = []
    all_totals: list[Totals] = []
    for snap in snapshots:
        ptitle = provider_title(snap.provider, titles)
        t = Totals.of(snap)
        all_totals.append(t)
        if not snap.accounts:
            summary.append(f"**{ptitle}** — no accounts reported")
            continue
        line = f"**{ptitle}** {t.text()} · {plural(len(snap.accounts), 'account')}"
        if t.full:
            line += f"\nExhausted: {full_list(t.full, redact)}"
        summary.append(line)
        lines = [
            _account_line(a, redact, marks.get((snap.provider, a.account)))
            for a in sorted(snap.accounts, key=_fullest_first)
        ]
        blocks.extend(chunk_lines(lines, span_name(f"{ptitle} accounts", len(lines))))

    description = join_bounded(summary, SUMMARY_CHARS, lambda n: f"… and {n} more providers")
    return pages(
        blocks,
        title=f"Capacity — {_in_use(all_totals)}",
        description=description or "No provider data.",
        colour=fullness_colour(all_totals),
        footer=lambda i, n: f"Data from {age} ago · page {i}/{n} · fullest first",
    )
