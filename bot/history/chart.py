"""The charts, as PNG bytes: capacity utilisation over time (/capacity history, `opsbot
history --png`, the digest) and the small /stats bar chart.

matplotlib on its Agg backend through `Figure` objects (never pyplot: no global figure state,
nothing to close), text in the DejaVu Sans that matplotlib ships (no font is looked up on the
network or downloaded). Rendering is CPU work: callers on the event loop use `bot.history.render`,
which runs these in a thread with a time bound. matplotlib is imported here only, and this
module only when a chart is drawn, so the bot starts as fast as before.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import matplotlib
import numpy as np
from matplotlib import dates as mdates
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from bot.history.records import Sample
from bot.history.stats import NO_MODEL, Stats

#: The capacity chart's size in pixels (Discord shows it scaled to the embed's width).
WIDTH, HEIGHT = 1000, 500
#: The /stats chart's size: small, it sits under the figures.
STATS_WIDTH, STATS_HEIGHT = 700, 300
DPI = 100
#: Accounts drawn one line each in a one-provider chart; the rest are one "others" line.
TOP_ACCOUNTS = 8
#: Points of the "others" line (its accounts are resampled onto this many instants).
GRID_POINTS = 600
#: Bars of the /stats chart (busiest provider·model first).
STATS_BARS = 10

# matplotlib's own settings are process-wide; the renders that use them are serialised.
_LOCK = threading.Lock()
_RC: dict[Any, Any] = {
    "font.family": "DejaVu Sans",
    "font.size": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
}

_COMPLETED, _FAILED, _MODERATED = "#57F287", "#ED4245", "#F0B232"


@dataclass(slots=True)
class Series:
    """One line: utilisation in percent at `times` (epoch seconds), each value holding until
    the next; NaN where the limit is not known. `full` are its exhausted spans."""

    label: str
    times: np.ndarray
    percent: np.ndarray
    full: list[tuple[float, float]] = field(default_factory=list)
    #: Job-seconds run over the period: what "top by use" sorts on.
    use: float = 0.0


def _epoch(t: datetime) -> float:
    return t.timestamp()


def _spans(times: np.ndarray, exhausted: np.ndarray, until: float) -> list[tuple[float, float]]:
    """Merged [start, end) spans where a step series says exhausted."""
    out: list[tuple[float, float]] = []
    ends = np.append(times[1:], until)
    for t, end in zip(times[exhausted].tolist(), ends[exhausted].tolist(), strict=True):
        if out and out[-1][1] >= t:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((t, end))
    return out


@dataclass(slots=True)
class _Points:
    """One series' samples as arrays (each read once from the records)."""

    times: np.ndarray
    running: np.ndarray
    limit: np.ndarray
    exhausted: np.ndarray

    @classmethod
    def of(cls, points: Sequence[Sample]) -> _Points:
        ordered = sorted(points, key=lambda s: s.at)
        return cls(
            times=np.fromiter((s.at.timestamp() for s in ordered), float, len(ordered)),
            running=np.fromiter((s.running for s in ordered), float, len(ordered)),
            limit=np.fromiter(
                (np.nan if s.max_jobs is None else s.max_jobs for s in ordered),
                float,
                len(ordered),
            ),
            exhausted=np.fromiter((s.exhausted for s in ordered), bool, len(ordered)),
        )


def _percent(running: np.ndarray, limit: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(limit > 0, 100.0 * running / limit, np.nan)


def _series(label: str, p: _Points, since: float, until: float, *, spans: bool = True) -> Series:
    lengths = np.diff(np.append(np.clip(p.times, since, until), until))
    return Series(
        label=label,
        times=p.times,
        percent=_percent(p.running, p.limit),
        full=_spans(p.times, p.exhausted, until) if spans else [],
        use=float(np.sum(p.running * np.clip(lengths, 0, None))),
    )


def _step_at(times: np.ndarray, values: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """A step series' values at `grid` instants (NaN before its first point)."""
    idx = np.searchsorted(times, grid, side="right") - 1
    out = values[np.clip(idx, 0, None)]
    return np.where(idx >= 0, out, np.nan)


def _others(groups: Sequence[_Points], since: float, until: float) -> Series:
    """The accounts past the top ones as one line: their running over their limits, summed at
    `GRID_POINTS` instants."""
    grid = np.linspace(since, until, GRID_POINTS)
    running = np.zeros(GRID_POINTS)
    limit = np.zeros(GRID_POINTS)
    for p in groups:
        run = _step_at(p.times, p.running, grid)
        cap = _step_at(p.times, p.limit, grid)
        known = ~np.isnan(run) & ~np.isnan(cap)
        running += np.where(known, run, 0.0)
        limit += np.where(known, cap, 0.0)
    return Series(
        label=f"{len(groups)} other accounts", times=grid, percent=_percent(running, limit)
    )


def capacity_series(
    samples: Sequence[Sample],
    *,
    since: datetime,
    until: datetime,
    per_account: bool,
    titles: Mapping[str, str] | None = None,
    top: int = TOP_ACCOUNTS,
) -> tuple[list[Series], list[tuple[float, float]]]:
    """The lines of a capacity chart and the spans to shade.

    Per provider (`per_account` False): one line per provider total, each shading its own
    exhausted spans. Per account: the `top` accounts by job-seconds run, the rest as one
    "others" line, and shaded where the provider total (an account-None sample) was exhausted.
    """
    titles = titles or {}
    lo, hi = _epoch(since), _epoch(until)
    groups: dict[tuple[str, str | None], list[Sample]] = {}
    for s in samples:
        groups.setdefault((s.provider, s.account), []).append(s)
    totals = {p: _Points.of(pts) for (p, a), pts in groups.items() if a is None}
    if not per_account:
        lines = [_series(titles.get(p, p), pts, lo, hi) for p, pts in sorted(totals.items())]
        return lines, [span for line in lines for span in line.full]
    accounts = {a: _Points.of(pts) for (_, a), pts in groups.items() if a is not None}
    ranked = sorted(
        (_series(a, pts, lo, hi, spans=False) for a, pts in accounts.items()),
        key=lambda s: (-s.use, s.label),
    )
    # "others" only when it stands for at least two accounts: one would just be a line.
    shown = ranked if len(ranked) <= top + 1 else ranked[:top]
    rest = [accounts[s.label] for s in ranked[len(shown) :]]
    lines = [*shown, _others(rest, lo, hi)] if rest else shown
    shade = [span for pts in totals.values() for span in _spans(pts.times, pts.exhausted, hi)]
    return lines, shade


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    FigureCanvasAgg(fig).print_png(buf)  # type: ignore[no-untyped-call]
    return buf.getvalue()


def _figure(width: int, height: int) -> Figure:
    return Figure(figsize=(width / DPI, height / DPI), dpi=DPI, layout="constrained")


def capacity_png(
    samples: Sequence[Sample],
    *,
    since: datetime,
    until: datetime,
    title: str,
    per_account: bool = False,
    titles: Mapping[str, str] | None = None,
    width: int = WIDTH,
    height: int = HEIGHT,
) -> bytes:
    """Utilisation (running / maxJobs, %) over [since, until), exhausted spans shaded, the time
    axis in UTC and saying so. A period without samples still gives a chart, saying so."""
    with _LOCK, matplotlib.rc_context(_RC):
        return _png(
            capacity_figure(
                samples,
                since=since,
                until=until,
                title=title,
                per_account=per_account,
                titles=titles,
                width=width,
                height=height,
            )
        )


def capacity_figure(
    samples: Sequence[Sample],
    *,
    since: datetime,
    until: datetime,
    title: str,
    per_account: bool = False,
    titles: Mapping[str, str] | None = None,
    width: int = WIDTH,
    height: int = HEIGHT,
) -> Figure:
    """The figure `capacity_png` draws (call it holding `_LOCK` inside `_RC`)."""
    lines, shade = capacity_series(
        samples, since=since, until=until, per_account=per_account, titles=titles
    )
    lo, hi = _epoch(since), _epoch(until)
    fig = _figure(width, height)
    ax = fig.add_subplot()
    base = float(mdates.date2num(since))  # type: ignore[no-untyped-call]
    peak = 100.0
    for line in lines:
        x = base + (np.append(line.times, hi) - lo) / 86400
        y = np.append(line.percent, line.percent[-1] if len(line.percent) else np.nan)
        ax.plot(x, y, drawstyle="steps-post", linewidth=1.4, label=line.label)
        if np.any(~np.isnan(y)):
            peak = max(peak, float(np.nanmax(y)))
    for i, (start, end) in enumerate(shade):
        ax.axvspan(
            base + (max(start, lo) - lo) / 86400,
            base + (min(end, hi) - lo) / 86400,
            color=_FAILED,
            alpha=0.15,
            linewidth=0,
            label="exhausted" if i == 0 else None,
        )
    ax.set_xlim(base, base + (hi - lo) / 86400)
    ax.set_ylim(0, peak * 1.05)
    ax.set_ylabel("capacity used (%)")
    ax.set_xlabel("time (UTC)")
    locator = mdates.AutoDateLocator(tz=UTC, maxticks=8)  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(
        mdates.ConciseDateFormatter(locator, tz=UTC)  # type: ignore[no-untyped-call]
    )
    ax.grid(True, alpha=0.3)
    ax.set_title(f"{title} · {since:%Y-%m-%d %H:%M} to {until:%Y-%m-%d %H:%M} UTC", loc="left")
    if lines:
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8, frameon=False)
    else:
        ax.text(
            0.5,
            0.5,
            "no capacity history in this period",
            transform=ax.transAxes,
            ha="center",
            va="center",
            color="#777777",
        )
    return fig


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
    labels = [f"{titles.get(m.provider, m.provider)} · {m.model or NO_MODEL}" for m in rows]
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
            ax.text(
                0.5,
                0.5,
                "no finished jobs in this period",
                transform=ax.transAxes,
                ha="center",
                va="center",
                color="#777777",
            )
        return _png(fig)
