"""`/board`: the live status message, per provider queue counts, capacity and health."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Final

import discord
from discord.utils import format_dt

from bot.embeds.capacity import Totals, full_list
from bot.embeds.layout import add_fields_bounded, plural, provider_title, shown
from bot.embeds.status import status_colour
from bot.embeds.style import kind_mark, worst
from bot.health import ProviderStatus
from bot.models import Snapshot
from bot.text import fmt_duration

__all__ = ["board_embed"]

#: Full accounts named per provider before "and N more".
FULL_SHOWN: Final = 3
ERROR_CHARS: Final = 200


def _queue_lines(snap: Snapshot, now: datetime, redact: bool) -> tuple[list[str], Totals]:
    """A provider's queue and capacity lines, and its totals (for the colour)."""
    kinds = Counter(j.kind for j in snap.jobs)
    mix = " · ".join(f"{kind_mark(k)} {n}" for k, n in kinds.most_common())
    lines = [f"Queue: {len(snap.jobs)} running" + (f" ({mix})" if snap.jobs else "")]
    timed = [(x, j.seen) for j in snap.jobs if (x := j.elapsed(now, snap.taken_at)) is not None]
    if timed:
        longest, seen = max(timed)
        lines.append(f"Longest: {'seen for ' if seen else ''}{fmt_duration(longest)}")
    t = Totals.of(snap)
    if snap.accounts:
        lines.append(f"Capacity: {t.text()}")
    if t.full:
        lines.append(f"Exhausted ({len(t.full)}): {full_list(t.full, redact, FULL_SHOWN)}")
    lines.append(f"Data from {format_dt(snap.taken_at, 'R')}")
    return lines, t


def board_embed(
    snapshots: Sequence[Snapshot],
    *,
    now: datetime,
    titles: Mapping[str, str],
    redact: bool,
    statuses: Sequence[ProviderStatus] = (),
) -> discord.Embed:
    """The live board: per provider queue counts, capacity and health; edited at most once a
    minute, and only when something changed."""
    by_provider = {s.provider: s for s in snapshots}
    status_by = {s.provider: s for s in statuses}
    providers = list(dict.fromkeys([*by_provider, *status_by]))
    colours: list[discord.Colour] = []
    fields: list[tuple[str, str]] = []
    for p in providers:
        snap, st = by_provider.get(p), status_by.get(p)
        lines = ["Queue: no data yet"]
        if snap is not None:
            lines, totals = _queue_lines(snap, now, redact)
            if snap.accounts:
                colours.append(totals.colour())
        if st is not None:
            colours.append(status_colour(st))
            if st.last_error:
                lines.append(f"⚠ {shown(st.last_error, redact, ERROR_CHARS)}")
            if st.watcher_ok is False:
                lines.append("Watcher: **stopped**")
        fields.append((provider_title(p, titles), "\n".join(lines)))
    description = f"Updated {format_dt(now, 'T')} ({format_dt(now, 'R')})"
    if not providers:
        description += "\nNo provider data yet."
    e = discord.Embed(
        title="opsbot board", description=description, timestamp=now, colour=worst(colours)
    )
    running = sum(len(s.jobs) for s in by_provider.values())
    e.set_footer(text=f"{running} running · updated when it changes, at most once a minute")
    add_fields_bounded(
        e,
        fields,
        lambda n: (
            f"… and {plural(n, 'more provider')}",
            "Use `/queue` and `/capacity` for the rest.",
        ),
    )
    return e
