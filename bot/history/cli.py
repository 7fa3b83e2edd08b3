"""`opsbot history`: the /stats figures of the last hours in the terminal, read from the
database as it is (nothing created or migrated), and optionally the capacity chart as a PNG."""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rich.console import Console

from bot import providers
from bot.history import render
from bot.history.query import capacity_history, period_stats
from bot.history.table import print_summary
from bot.runtime import display_database_url
from bot.settings import Settings

EXIT_OK, EXIT_FAILED = 0, 1


def titles_of(names: list[str]) -> dict[str, str]:
    return {name: providers.load(name).title for name in names}


async def history(
    settings: Settings,
    *,
    hours: float,
    png: str | None,
    only: str | None,
    console: Console | None = None,
    now: datetime | None = None,
) -> int:
    """Print the summary; write the chart to `png` when given. Exit 1 when there is no
    database yet or it cannot be read, or the file cannot be written."""
    from bot.store import SchemaTooNew, Store  # (SQLAlchemy: only when used)

    console = console or Console()
    where = display_database_url(settings.database_url)
    try:
        store = await Store.open_readonly(settings.database_url)
    except SchemaTooNew as exc:
        print(f"opsbot: database {where}: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except Exception as exc:  # unreachable server, not a database…
        print(f"opsbot: database {where}: cannot open it ({type(exc).__name__})", file=sys.stderr)
        return EXIT_FAILED
    if store is None:
        print(f"opsbot: database {where}: no opsbot database there yet", file=sys.stderr)
        return EXIT_FAILED
    names = [only] if only else list(settings.providers)
    until = now or datetime.now(UTC)
    since = until - timedelta(hours=hours)
    try:
        figures = await period_stats(store, since=since, until=until, providers=names, now=until)
        chart = (
            None
            if png is None
            else await capacity_history(
                store, since=since, until=until, provider=only, providers=names, now=until
            )
        )
    finally:
        await store.close()
    titles = titles_of(names)
    print_summary(console, figures, titles=titles)
    if png is None or chart is None:
        return EXIT_OK
    scope = titles[only] if only else "All providers"
    data = await render.capacity_png(
        chart, title=f"Capacity used · {scope}", titles=titles, redact=settings.redact_accounts
    )
    try:
        await asyncio.to_thread(Path(png).write_bytes, data)
    except OSError as exc:
        print(f"opsbot: --png {png}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_FAILED
    console.print(f"chart written to {png} ({len(data) // 1024} KiB)", markup=False, soft_wrap=True)
    return EXIT_OK
