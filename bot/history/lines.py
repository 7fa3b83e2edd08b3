"""The lines of a capacity chart, as numpy arrays: utilisation per provider or per account
over time, where each point holds until the next (at most `HOLDS_AT_MOST`), the exhausted spans
to shade, and the "others" line. Pure: no matplotlib here (`bot.history.chart` draws them)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from operator import attrgetter
from typing import Any

import numpy as np

from bot.history.records import HOLDS_AT_MOST, CapacityHistory, Sample
from bot.text import display_account, printable, truncate

#: The longest account or model name drawn (upstream text).
LABEL_CHARS = 40


@dataclass(slots=True)
class Series:
    """One line: utilisation in percent at `times` (epoch seconds), each value holding until
    the next; NaN where the limit is not known. `full` are its exhausted spans."""

    label: str
    times: np.ndarray
    percent: np.ndarray
    full: list[tuple[float, float]] = field(default_factory=list)


def epoch(t: datetime) -> float:
    return t.timestamp()


#: How long a point holds at most (`HOLDS_AT_MOST`), in seconds.
_HOLD = HOLDS_AT_MOST.total_seconds()


def _ends(times: np.ndarray, until: float) -> np.ndarray:
    """Until when each point of a series holds: the next point, the last `until`, at most
    `HOLDS_AT_MOST` (a longer gap is unknown)."""
    ends: np.ndarray = np.minimum(np.append(times[1:], until), times + _HOLD)
    return ends


def stepped(times: np.ndarray, values: np.ndarray, until: float) -> tuple[np.ndarray, np.ndarray]:
    """The x and y a steps-post line draws: each value from its point until `_ends`, then
    nothing (NaN) until the next point; the last to `until`."""
    if not len(times):
        return np.array([until]), np.array([np.nan])
    ends = _ends(times, until)
    cut = np.flatnonzero(ends < np.append(times[1:], until))
    x = np.insert(times, cut + 1, ends[cut])
    y = np.insert(values, cut + 1, np.nan)
    return np.append(x, until), np.append(y, y[-1])


def full_spans(times: np.ndarray, exhausted: np.ndarray, until: float) -> list[tuple[float, float]]:
    """Merged [start, end) spans where a step series says exhausted."""
    out: list[tuple[float, float]] = []
    ends = _ends(times, until)
    for t, end in zip(times[exhausted].tolist(), ends[exhausted].tolist(), strict=True):
        if out and out[-1][1] >= t:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((t, end))
    return out


@dataclass(slots=True)
class _Points:
    """One series' samples as arrays, oldest first."""

    times: np.ndarray
    running: np.ndarray
    limit: np.ndarray
    exhausted: np.ndarray


@dataclass(slots=True)
class _Table:
    """Every sample as columns, sorted by series then time; series `i` is rows
    `bounds[i]:bounds[i + 1]` and is `keys[i]` (provider, account).

    Read in C-level passes (attrgetter, map, numpy): a week of 500 accounts is a third of a
    million samples, and a Python statement per sample would cost most of the time budget."""

    keys: list[tuple[str, str | None]]
    codes: np.ndarray
    bounds: np.ndarray
    points: _Points

    @classmethod
    def of(cls, samples: Sequence[Sample]) -> _Table:
        n = len(samples)
        if n == 0:
            empty = np.zeros(0)
            return cls(
                [],
                np.zeros(0, np.int64),
                np.zeros(1, np.int64),
                _Points(empty, empty, empty, np.zeros(0, bool)),
            )

        def column(name: str) -> list[Any]:
            return list(map(attrgetter(name), samples))

        def coded(values: list[Any]) -> tuple[list[Any], np.ndarray]:
            distinct = list(dict.fromkeys(values))
            index = {v: i for i, v in enumerate(distinct)}
            return distinct, np.fromiter(map(index.__getitem__, values), np.int64, n)

        providers, pcodes = coded(column("provider"))
        accounts, acodes = coded(column("account"))
        combos, codes = np.unique(pcodes * len(accounts) + acodes, return_inverse=True)
        keys = [(providers[c // len(accounts)], accounts[c % len(accounts)]) for c in combos]
        ats = column("at")
        stamp = {t: t.timestamp() for t in set(ats)}  # many samples share their instant
        times = np.fromiter(map(stamp.__getitem__, ats), float, n)
        order = np.lexsort((times, codes))
        codes = codes[order]
        bounds = np.searchsorted(codes, np.arange(len(keys) + 1))
        return cls(
            keys=keys,
            codes=codes,
            bounds=bounds,
            points=_Points(
                times=times[order],
                running=np.array(column("running"), dtype=float)[order],
                # None → NaN: the limit is not known
                limit=np.array(column("max_jobs"), dtype=float)[order],
                exhausted=np.array(column("exhausted"), dtype=bool)[order],
            ),
        )

    def series(self, i: int) -> _Points:
        lo, hi = int(self.bounds[i]), int(self.bounds[i + 1])
        p = self.points
        return _Points(p.times[lo:hi], p.running[lo:hi], p.limit[lo:hi], p.exhausted[lo:hi])


def label(text: str, redact: bool = False) -> str:
    """An upstream name as a chart shows it: masked when asked, printable, bounded."""
    return truncate(printable(display_account(text, redact)), LABEL_CHARS)


def _percent(running: np.ndarray, limit: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(limit > 0, 100.0 * running / limit, np.nan)


def _series(label: str, p: _Points, until: float, *, shaded: bool = True) -> Series:
    return Series(
        label=label,
        times=p.times,
        percent=_percent(p.running, p.limit),
        full=full_spans(p.times, p.exhausted, until) if shaded else [],
    )


def _others(table: _Table, total: int, drawn: Sequence[int], count: int) -> Series:
    """The accounts not drawn, as one line: at each of the provider total's instants, its
    running and limit less those of the accounts drawn there. The store gives an account a
    sample at every instant of its total while it is there (`Store.samples`), so one without
    a sample at an instant was not there: it is not taken off."""
    t = table.series(total)
    running, limit = t.running.copy(), t.limit.copy()
    for i in drawn:
        d = table.series(i)
        at = np.clip(np.searchsorted(d.times, t.times), 0, max(len(d.times) - 1, 0))
        there = d.times[at] == t.times if len(d.times) else np.zeros(len(t.times), bool)
        running -= np.where(there, d.running[at] if len(d.times) else 0.0, 0.0)
        limit -= np.where(there, np.nan_to_num(d.limit)[at] if len(d.times) else 0.0, 0.0)
    return Series(
        label=f"{count} other accounts",
        times=t.times,
        percent=_percent(np.clip(running, 0, None), np.clip(limit, 0, None)),
    )


def capacity_series(
    history: CapacityHistory,
    *,
    titles: Mapping[str, str] | None = None,
    redact: bool = False,
) -> tuple[list[Series], list[tuple[float, float]]]:
    """The lines of a capacity chart, and the spans to shade apart from them.

    Per provider (no `history.accounts`): one line per provider total, each with its own
    exhausted spans; nothing apart. Per account (one provider): a line per account in
    `history.accounts` (busiest first), one for its `others`, and apart the spans where the
    provider's total was exhausted.
    """
    titles = titles or {}
    hi = epoch(history.until)
    table = _Table.of(history.samples)
    totals = sorted((titles.get(p, p), i) for i, (p, a) in enumerate(table.keys) if a is None)
    if not history.accounts:
        return [_series(title, table.series(i), hi) for title, i in totals], []
    index = {a: i for i, (_, a) in enumerate(table.keys) if a is not None}
    drawn = [index[a] for a in history.accounts if a in index]
    lines = [
        _series(label(str(table.keys[i][1]), redact), table.series(i), hi, shaded=False)
        for i in drawn
    ]
    shade: list[tuple[float, float]] = []
    for _, total in totals[:1]:  # per account: one provider
        if history.others:
            lines.append(_others(table, total, drawn, history.others))
        series = table.series(total)
        shade = full_spans(series.times, series.exhausted, hi)
    return lines, shade
