"""The charts, as PNG bytes: capacity utilisation over time (/capacity history, `opsbot
history --png`; its lines from `bot.history.lines`) and the small /stats bar chart (/stats,
the digest).

matplotlib on its Agg backend through `Figure` objects (never pyplot: no global figure state,
nothing to close), text in the DejaVu Sans that matplotlib ships (no font is looked up on the
network or downloaded). Rendering is CPU work: callers on the event loop use `bot.history.render`,
which runs these in a thread with a time bound. matplotlib is imported here only, and this
module only when a chart is drawn, so the bot starts as fast as before.
"""

from __future__ import annotations

import io
import math
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_hex
from matplotlib.figure import Figure

from bot.history.lines import Series, capacity_series, epoch, label, stepped
from bot.history.records import CapacityHistory
from bot.history.stats import NO_MODEL, Stats

#: The capacity chart's size in pixels (Discord shows it scaled to the embed's width).
WIDTH, HEIGHT = 1000, 500
#: The /stats chart's size: small, it sits under the figures.
STATS_WIDTH, STATS_HEIGHT = 700, 300
DPI = 100
#: Bars of the /stats chart (busiest provider·model first).
STATS_BARS = 10

# matplotlib's own settings are process-wide; the renders that use them are serialised.
_LOCK = threading.Lock()
_RC: dict[Any, Any] = {
    "font.family": "DejaVu Sans",
    "font.size": 10,
    # upstream text (account e-mails, model names) is drawn as it is: a "$" is no formula
    "text.parse_math": False,
    "axes.spines.top": False,
    "axes.spines.right": False,
}

_COMPLETED, _FAILED, _MODERATED = "#57F287", "#ED4245", "#F0B232"


#: Tick spacings the time axis may use, in seconds.
_STEPS = (3600, 2 * 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86400, 2 * 86400, 5 * 86400, 7 * 86400)


def time_ticks(lo: float, hi: float, most: int = 8) -> tuple[list[float], list[str]]:
    """Ticks of the UTC time axis over [lo, hi] (epoch seconds): the finest round spacing
    giving at most `most`, on UTC boundaries; labelled `HH:MM`, with the date at midnight (or
    the date alone for day spacings). Plain arithmetic: matplotlib's date locators spend more
    than the rest of the axis."""
    step = next((s for s in _STEPS if (hi - lo) / s <= most), _STEPS[-1])
    first = math.ceil(lo / step) * step
    at = [float(t) for t in range(int(first), int(hi) + 1, step)]
    names = []
    for t in at:
        moment = datetime.fromtimestamp(t, UTC)
        midnight = moment.hour == 0 and moment.minute == 0
        if step >= 86400 or midnight:
            names.append(f"{moment:%d %b}")
        else:
            names.append(f"{moment:%H:%M}")
    return at, names


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    FigureCanvasAgg(fig).print_png(buf)  # type: ignore[no-untyped-call]
    return buf.getvalue()


def _figure(width: int, height: int, *, fixed: bool = False) -> Figure:
    """A figure of `width` × `height` pixels. `fixed`: set margins (the capacity chart's,
    whose legend takes the right fifth) instead of the constrained layout's several measuring
    passes, a fifth of the drawing time."""
    fig = Figure(
        figsize=(width / DPI, height / DPI), dpi=DPI, layout=None if fixed else "constrained"
    )
    if fixed:
        fig.subplots_adjust(left=0.07, right=0.79, top=0.92, bottom=0.11)
    return fig


def capacity_png(
    history: CapacityHistory,
    *,
    title: str,
    titles: Mapping[str, str] | None = None,
    redact: bool = False,
    width: int = WIDTH,
    height: int = HEIGHT,
) -> bytes:
    """Utilisation (running / maxJobs, %) over the period, exhausted spans shaded, the time
    axis in UTC and saying so. A period without samples still gives a chart, saying so."""
    lines, shade = capacity_series(history, titles=titles, redact=redact)
    with _LOCK, matplotlib.rc_context(_RC):
        return _png(
            capacity_figure(
                lines,
                shade,
                since=history.since,
                until=history.until,
                title=title,
                size=(width, height),
            )
        )


def capacity_figure(
    lines: Sequence[Series],
    shade: Sequence[tuple[float, float]] = (),
    *,
    since: datetime,
    until: datetime,
    title: str,
    size: tuple[int, int] = (WIDTH, HEIGHT),
) -> Figure:
    """The figure of `capacity_series`'s lines and spans (call it holding `_LOCK` inside
    `_RC`): each line shades its own exhausted spans in its colour, `shade` (a per-account
    chart's provider exhausted) in red."""
    width, height = size
    fig = _figure(width, height, fixed=True)
    ax = fig.add_subplot()
    days = _Days(epoch(since), epoch(until))
    peak = 100.0
    for line in lines:
        x, y = stepped(line.times, line.percent, days.hi)
        [drawn] = ax.plot(days.of(x), y, drawstyle="steps-post", linewidth=1.4, label=line.label)
        if np.any(~np.isnan(y)):
            peak = max(peak, float(np.nanmax(y)))
        # per provider: each shades its own exhausted spans in its own colour
        days.shade(ax, line.full, to_hex(drawn.get_color()), f"{line.label} exhausted")
    days.shade(ax, shade, _FAILED, "exhausted (every account full)")
    ax.set_xlim(days.of(days.lo), days.of(days.hi))
    ax.set_ylim(0, peak * 1.05)
    ax.set_ylabel("capacity used (%)")
    ax.set_xlabel("time (UTC)")
    at, names = time_ticks(days.lo, days.hi)
    ax.set_xticks(days.of(np.array(at)), names)
    ax.grid(True, alpha=0.3)
    ax.set_title(f"{title} · {since:%Y-%m-%d %H:%M} to {until:%Y-%m-%d %H:%M} UTC", loc="left")
    if lines:
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8, frameon=False)
    else:
        _nothing(ax, "no capacity history in this period")
    return fig


@dataclass(frozen=True, slots=True)
class _Days:
    """The time axis of [lo, hi) (epoch seconds) in matplotlib's day numbers (from 1970);
    its ticks are ours (`time_ticks`)."""

    lo: float
    hi: float

    def of(self, t: Any) -> Any:
        return self.lo / 86400 + (t - self.lo) / 86400

    def shade(self, ax: Any, spans: Sequence[tuple[float, float]], colour: str, name: str) -> None:
        """`spans` shaded, clipped to the axis, in the legend once as `name`."""
        for i, (start, end) in enumerate(spans):
            ax.axvspan(
                self.of(max(start, self.lo)),
                self.of(min(end, self.hi)),
                color=colour,
                alpha=0.18,
                linewidth=0,
                label=name if i == 0 else None,
            )


def _nothing(ax: Any, text: str) -> None:
    """An empty chart's one line, in its middle."""
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", color="#777777")


def stats_png(
    stats: Stats,
    *,
    titles: Mapping[str, str] | None = None,
    width: int = STATS_WIDTH,
    height: int = STATS_HEIGHT,
) -> bytes:
    """Completed, failed and moderated jobs per provider · model, as stacked bars (the busiest
    `STATS_BARS`)."""
    titles = titles or {}
    rows = sorted(
        (m for p in stats.providers for m in p.models),
        key=lambda m: (-m.total, m.provider, m.model or ""),
    )[:STATS_BARS]
    rows.reverse()  # barh draws bottom-up: the busiest on top
    labels = [
        f"{titles.get(m.provider, m.provider)} · {label(m.model) if m.model else NO_MODEL}"
        for m in rows
    ]
    with _LOCK, matplotlib.rc_context(_RC):
        fig = _figure(width, height)
        ax = fig.add_subplot()
        y = np.arange(len(rows))
        left = np.zeros(len(rows))
        for what, colour in (
            ("completed", _COMPLETED),
            ("failed", _FAILED),
            ("moderated", _MODERATED),
        ):
            values = np.array([getattr(m, what) for m in rows], dtype=float)
            ax.barh(y, values, left=left, color=colour, label=what, height=0.6)
            left += values
        ax.set_yticks(y, labels, fontsize=8)
        ax.set_xlabel("jobs")
        ax.set_title(
            f"{stats.since:%Y-%m-%d %H:%M} to {stats.until:%Y-%m-%d %H:%M} UTC", loc="left"
        )
        if rows:
            ax.legend(loc="lower right", fontsize=8, frameon=False)
        else:
            _nothing(ax, "no finished jobs in this period")
        return _png(fig)
