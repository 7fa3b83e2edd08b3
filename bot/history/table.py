"""`opsbot history` and the end of `opsbot demo`: the /stats figures as a rich table."""

from __future__ import annotations

from collections.abc import Mapping

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from bot.embeds.stats import hours, percent
from bot.history.stats import NO_MODEL, ProviderStats, Stats
from bot.text import fmt_duration, printable


def stats_table(stats: Stats, *, titles: Mapping[str, str] | None = None) -> Table:
    """One row per provider and model; the provider's hours at full capacity on its first row.
    Upstream text (model names) is shown as is, never read as rich markup."""
    titles = titles or {}
    table = Table(
        title=f"{stats.since:%Y-%m-%d %H:%M} to {stats.until:%Y-%m-%d %H:%M} UTC",
        caption="run time: of the completed jobs · full: hours the provider had no free slot",
        box=box.SIMPLE_HEAD,
        # One space between columns (the box's own), no margin: nine columns of figures fit
        # 80 characters; with padding besides, the last ("full") was cut to "f" or "12.".
        padding=0,
        show_edge=False,
    )
    table.add_column("provider", no_wrap=True)
    table.add_column("model", overflow="fold", min_width=6, max_width=24)
    for name in ("completed", "failed", "moderated", "failure", "p50", "p95", "full"):
        table.add_column(name, justify="right", no_wrap=True, min_width=len(name))
    for p in stats.providers:
        title = titles.get(p.provider, p.provider)
        rows = p.models or ()
        if not rows:
            table.add_row(title, Text("no jobs", style="dim"), "", "", "", "", "", "", _full(p))
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
                _full(p) if i == 0 else "",
            )
    return table


def _full(p: ProviderStats) -> str:
    return hours(round(p.full_hours, 1)) if p.sampled else "no data"


def print_summary(
    console: Console, stats: Stats, *, titles: Mapping[str, str] | None = None
) -> None:
    console.print(stats_table(stats, titles=titles))
