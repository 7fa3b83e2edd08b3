"""Charts from the event loop: drawn in a worker thread, given a bounded time.

A chart is CPU work of a few hundred milliseconds; on the event loop it would stall the
gateway heartbeat and every other command. `bot.history.chart` (and matplotlib) is imported
inside the thread, on first use, so importing the bot stays as fast as before.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping

from bot.history.records import CapacityHistory
from bot.history.stats import Stats

log = logging.getLogger(__name__)

#: How long a command waits for a chart before it answers without one. Discord's interaction
#: token lives 15 minutes; the answer should come long before.
RENDER_TIMEOUT = 20.0
#: File names the embeds point at (`attachment://…`).
CAPACITY_PNG = "capacity.png"
STATS_PNG = "stats.png"


class ChartTimeout(Exception):
    """The chart took longer than its bound (the thread finishes on its own and is dropped)."""


async def capacity_png(
    history: CapacityHistory,
    *,
    title: str,
    titles: Mapping[str, str] | None = None,
    redact: bool = False,
    bound: float = RENDER_TIMEOUT,
) -> bytes:
    """`chart.capacity_png`, in a thread, within `bound` seconds."""

    def draw() -> bytes:
        from bot.history import chart

        return chart.capacity_png(history, title=title, titles=titles, redact=redact)

    return await _bounded(draw, bound)


async def stats_png(
    stats: Stats, *, titles: Mapping[str, str] | None = None, bound: float = RENDER_TIMEOUT
) -> bytes:
    def draw() -> bytes:
        from bot.history import chart

        return chart.stats_png(stats, titles=titles)

    return await _bounded(draw, bound)


async def stats_png_or_none(
    stats: Stats, *, titles: Mapping[str, str] | None = None, what: str
) -> bytes | None:
    """`stats_png`, or None (logged, naming `what`) when it took too long: /stats and the
    digest then go out with their figures and without the chart."""
    try:
        return await stats_png(stats, titles=titles)
    except ChartTimeout:
        log.warning("%s: the chart took too long; sent without", what)
        return None


async def _bounded(draw: Callable[[], bytes], bound: float) -> bytes:
    try:
        return await asyncio.wait_for(asyncio.to_thread(draw), bound)
    except TimeoutError:
        raise ChartTimeout(f"the chart took longer than {bound:g} s") from None
