"""/stats, the daily digest and /capacity history: the figures of a period, each next to its
word ("2 completed", "failure 40 %") so they read the same on a phone, to a screen reader and
when copied; the chart is an attachment the embed's image points at."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

import discord
from discord.utils import format_dt

from bot.embeds.layout import add_fields_bounded, join_bounded, plural, provider_title, shown
from bot.embeds.limits import FIELD_VALUE_MAX
from bot.embeds.style import NEUTRAL
from bot.history.stats import NO_MODEL, ModelStats, ProviderStats, Stats
from bot.text import fmt_duration

__all__ = ["capacity_history_embed", "model_line", "provider_lines", "stats_embed"]

#: A model's name in a line (upstream text).
MODEL_CHARS: Final = 60


def percent(value: float) -> str:
    """``40 %``; one decimal below 10 so a small share does not read as none."""
    return f"{value:.1f} %" if 0 < value < 10 else f"{value:.0f} %"


def hours(value: float) -> str:
    """``2.5 h``; whole hours without a decimal."""
    return f"{value:.0f} h" if value == int(value) else f"{value:.1f} h"


def model_line(m: ModelStats) -> str:
    """``2 completed · 1 failed · 0 moderated · failure 33 % · run time p50 4m 10s, p95 6m 00s``
    (the other outcomes and the share only where there are some)."""
    parts = [f"{m.completed} completed", f"{m.failed} failed", f"{m.moderated} moderated"]
    if m.other:
        parts.append(f"{m.other} cancelled or unknown")
    share = m.failure_percent
    if share is not None:
        parts.append(f"failure {percent(share)}")
    if m.p50_seconds is not None and m.p95_seconds is not None:
        parts.append(
            f"run time p50 {fmt_duration(m.p50_seconds)}, p95 {fmt_duration(m.p95_seconds)}"
        )
    return " · ".join(parts)


def full_line(p: ProviderStats) -> str:
    if not p.sampled:
        return "no capacity history in this period"
    return f"{hours(round(p.full_hours, 1))} at full capacity"


def provider_lines(p: ProviderStats) -> list[str]:
    """A provider's lines: capacity, then one per model (busiest first)."""
    lines = [full_line(p)]
    if not p.models:
        lines.append("no finished jobs")
    for m in p.models:
        # On one line: a line break in upstream's name would start a line of its own figures.
        flat = " ".join((m.model or "").split())
        name = shown(flat, False, MODEL_CHARS) if flat else NO_MODEL
        lines.append(f"**{name}**: {model_line(m)}")
    return lines


def stats_embed(
    stats: Stats,
    *,
    title: str,
    titles: Mapping[str, str] | None = None,
    image: str | None = None,
) -> discord.Embed:
    """The figures of `stats` (one field per provider), the chart at `attachment://image`."""
    embed = discord.Embed(
        title=title,
        description=(
            f"{format_dt(stats.since, 'f')} to {format_dt(stats.until, 'f')}\n" + _summary(stats)
        ),
        colour=NEUTRAL,
    )
    fields = [
        (
            provider_title(p.provider, titles),
            join_bounded(
                provider_lines(p), FIELD_VALUE_MAX, lambda n: f"… and {plural(n, 'more model')}"
            ),
        )
        for p in stats.providers
    ]
    add_fields_bounded(embed, fields, lambda n: ("…", f"{plural(n, 'more provider')} not shown"))
    if image is not None:
        embed.set_image(url=f"attachment://{image}")
    return embed


def _summary(stats: Stats) -> str:
    totals = [p.totals for p in stats.providers]
    completed = sum(t.completed for t in totals)
    failed = sum(t.failed for t in totals)
    moderated = sum(t.moderated for t in totals)
    decided = completed + failed + moderated
    line = f"{completed} completed · {failed} failed · {moderated} moderated"
    if decided:
        line += f" · failure {percent(100 * (failed + moderated) / decided)}"
    return line


def capacity_history_embed(
    stats: Stats,
    *,
    period: str,
    provider: str | None,
    drawn: int = 0,
    others: int = 0,
    titles: Mapping[str, str] | None = None,
    image: str,
) -> discord.Embed:
    """/capacity history: the chart, and per provider the hours it spent at full capacity.
    `drawn`: the accounts the chart draws a line each (busiest first), `others` the rest,
    drawn as one line."""
    scope = provider_title(provider, titles) if provider else "All providers"
    if drawn and others:
        what = f"per account (the {drawn} busiest; the {others} others as one line)"
    elif drawn:
        what = "per account"
    elif provider:
        what = "by all its accounts together"
    else:
        what = "per provider"
    embed = discord.Embed(
        title=f"Capacity · {scope} · last {period}",
        description=(
            f"{format_dt(stats.since, 'f')} to {format_dt(stats.until, 'f')}\n"
            f"Capacity used {what} (times in UTC); exhausted periods shaded."
        ),
        colour=NEUTRAL,
    )
    lines = [f"{provider_title(p.provider, titles)}: {full_line(p)}" for p in stats.providers]
    if lines:
        embed.add_field(
            name="At full capacity",
            value=join_bounded(lines, FIELD_VALUE_MAX, lambda n: f"… and {n} more"),
            inline=False,
        )
    embed.set_image(url=f"attachment://{image}")
    return embed
