"""`opsbot history` and the end of `opsbot demo`: the /stats figures as a rich table."""

from __future__ import annotations

from collections.abc import Mapping

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from bot.embeds.stats import full_line, percent
from bot.history.stats import NO_MODEL, Stats
from bot.text import fmt_duration, printable


def stats_table(stats: Stats, *, titles: Mapping[str, str] | None = None) -> Table:
    """One row per provider and model; the provider's hours at full capacity on its first row.
    Upstream text (model names) is shown as is, never read as rich markup."""
    titles = titles or {}
    table = Table(
        title=f"{stats.since:%Y-%m-%d %H:%M} to {stats.until:%Y-%m-%d %H:%M} UTC",
        box=box.SIMPLE_HEAD,
    )
    for name, justify in (
        ("provider", "left"),
        ("model", "left"),
        ("completed", "right"),
        ("failed", "right"),
        ("moderated", "right"),
        ("failure", "right"),
        ("run time p50", "right"),
        ("p95", "right"),
        ("capacity", "left"),
    ):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for p in stats.providers:
        title = titles.get(p.provider, p.provider)
        rows = p.models or ()
        if not rows:
            table.add_row(
                title, Text("no finished jobs", style="dim"), "", "", "", "", "", "", full_line(p)
            )
        for i, m in enumerate(rows):
            share = m.failure_percent
            table.add_row(
                title if i == 0 else "",
                Text(printable(m.model) if m.model else NO_MODEL),
                str(m.completed),
                str(m.failed),
                str(m.moderated),
                "—" if share is None else percent(share),
                fmt_duration(m.p50_seconds),
                fmt_duration(m.p95_seconds),
                full_line(p) if i == 0 else "",
            )
    return table


def print_summary(
    console: Console, stats: Stats, *, titles: Mapping[str, str] | None = None
) -> None:
    console.print(stats_table(stats, titles=titles))
