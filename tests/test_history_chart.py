"""The charts from known data: real PNGs of the stated size, drawn with matplotlib's bundled
font and no network; the lines, the "others" line and the shaded exhausted spans."""

from __future__ import annotations

import socket
import struct
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
import pytest
from matplotlib import font_manager
from matplotlib.colors import to_hex
from matplotlib.patches import Rectangle

from bot.history import Finished, Sample, chart, render
from bot.history import lines as chart_lines
from bot.history.records import CapacityHistory
from bot.history.stats import compute

T0 = datetime(2026, 11, 29, tzinfo=UTC)
T1 = T0 + timedelta(hours=6)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(data: bytes) -> tuple[int, int]:
    """(width, height) from a PNG's IHDR chunk, after checking the signature and chunk type."""
    assert data[:8] == PNG_SIGNATURE
    length, kind = struct.unpack(">I4s", data[8:16])
    assert (length, kind) == (13, b"IHDR")
    width, height = struct.unpack(">II", data[16:24])
    assert data[-12:] == b"\x00\x00\x00\x00IEND\xaeB`\x82"
    return width, height


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Any socket connection while drawing fails the test."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the chart tried to reach the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    yield


def sample(
    account: str | None, minutes: int, running: float, max_jobs: float | None = 4.0
) -> Sample:
    full = max_jobs is not None and running >= max_jobs
    return Sample(
        "pixverse",
        account,
        T0 + timedelta(minutes=minutes),
        running,
        max_jobs,
        None if max_jobs is None else max_jobs - running,
        full,
    )


def hist(
    samples: list[Sample], accounts: tuple[str, ...] = (), others: int = 0, until: datetime = T1
) -> CapacityHistory:
    """The history of [T0, until) a chart is handed."""
    return CapacityHistory(T0, until, tuple(samples), accounts, others)


def minutes_of(ax: Any) -> list[tuple[float, float]]:
    """The shaded spans of `ax`, in minutes from T0."""
    base = T0.timestamp() / 86400  # matplotlib's day numbers count from 1970
    return sorted(
        (round((p.get_x() - base) * 1440, 6), round((p.get_x() + p.get_width() - base) * 1440, 6))
        for p in ax.patches
        if isinstance(p, Rectangle)
    )


def test_capacity_png_is_a_real_png_of_the_stated_size(no_network: None) -> None:
    samples = [sample(None, 0, 1), sample(None, 60, 4), sample(None, 120, 2)]
    data = chart.capacity_png(hist(samples), title="PixVerse")
    assert png_size(data) == (chart.WIDTH, chart.HEIGHT) == (1000, 500)


def test_small_charts_and_empty_periods_still_draw(no_network: None) -> None:
    assert png_size(chart.capacity_png(hist([]), title="x", width=300, height=150)) == (300, 150)
    empty = compute([], [], since=T0, until=T1)
    assert png_size(chart.stats_png(empty, width=320, height=160)) == (320, 160)


def test_stats_png_from_known_jobs(no_network: None) -> None:
    jobs = [
        Finished("pixverse", f"j{i}", "a", "video", "v5", outcome, 60.0, "poll", T0)
        for i, outcome in enumerate(["completed", "failed", "moderated", "completed"])
    ]
    stats = compute(jobs, [], since=T0, until=T1)
    assert png_size(chart.stats_png(stats, width=400, height=200)) == (400, 200)


def test_text_is_drawn_in_matplotlibs_own_dejavu() -> None:
    path = font_manager.findfont(
        font_manager.FontProperties(family=chart._RC["font.family"]), fallback_to_default=False
    )
    assert Path(path).is_relative_to(matplotlib.get_data_path())
    assert Path(path).name == "DejaVuSans.ttf"


def test_provider_lines_utilisation_and_shaded_exhausted_spans() -> None:
    until = T0 + timedelta(minutes=105)
    samples = [
        sample(None, 0, 1),
        sample(None, 15, 4),  # full from 15 to 30 min
        sample(None, 30, 2),  # then nothing for an hour: held 15 minutes, then unknown
        sample(None, 90, 4),  # full to the end, exactly 15 minutes later
        Sample("minimax", None, T0, 3, 6, 3, False),  # one point: 15 minutes, then unknown
    ]
    with matplotlib.rc_context(chart._RC):
        fig = chart.capacity_figure(
            *chart_lines.capacity_series(
                hist(samples, until=until), titles={"pixverse": "PixVerse", "minimax": "MiniMax"}
            ),
            since=T0,
            until=until,
            title="All",
        )
    [ax] = fig.axes
    assert ax.get_xlabel() == "time (UTC)"
    assert ax.get_title(loc="left") == "All · 2026-11-29 00:00 to 2026-11-29 01:45 UTC"
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert set(lines) == {"MiniMax", "PixVerse"}
    # steps: each value holds until the next point, at most 15 minutes (a gap is drawn as
    # none), the last to the end of the period
    base = T0.timestamp() / 86400

    def xy(name: str) -> tuple[list[float], list[float]]:
        x = np.asarray(lines[name].get_xdata(), dtype=float)
        y = np.asarray(lines[name].get_ydata(), dtype=float)
        return [round(float(v), 6) for v in (x - base) * 1440], y.tolist()

    x, y = xy("PixVerse")
    assert x == [0, 15, 30, 45, 90, 105]
    np.testing.assert_array_equal(y, [25, 100, 50, np.nan, 100, 100])
    x, y = xy("MiniMax")
    assert x == [0, 15, 105]
    np.testing.assert_array_equal(y, [50, np.nan, np.nan])
    assert minutes_of(ax) == [(15.0, 30.0), (90.0, 105.0)]
    legend = ax.get_legend()
    assert legend is not None
    assert [t.get_text() for t in legend.get_texts()] == [
        "MiniMax",
        "PixVerse",
        "PixVerse exhausted",
    ]


def test_an_exhausted_point_before_a_gap_is_shaded_a_quarter_hour_only() -> None:
    # full at 0, then the bot down until 3 h: 15 minutes shaded, not 3 hours
    samples = [sample(None, 0, 4), sample(None, 180, 1)]
    [line], shade = chart_lines.capacity_series(hist(samples))
    assert (line.full, shade) == ([(T0.timestamp(), T0.timestamp() + 900)], [])


def test_one_provider_its_accounts_and_the_others_as_the_total_less_them() -> None:
    # 11 accounts, account i running min(i, 4) of 4 all along: 34 of 44; then every one full
    samples = [sample(None, 0, 34, 44), sample(None, 15, 44, 44)]
    samples += [sample(f"a{i:02}", 0, 4, 4) for i in (4, 5, 6)]  # the three drawn
    until = T0 + timedelta(minutes=30)
    lines, shade = chart_lines.capacity_series(
        hist(samples, ("a05", "a04", "a06"), others=8, until=until)
    )
    # in the order given (busiest first), then the others
    assert [line.label for line in lines] == ["a05", "a04", "a06", "8 other accounts"]
    others = lines[-1]
    # the total less the three drawn (12 of 12): 22 of 32, then 32 of 32
    assert others.times.tolist() == [T0.timestamp(), (T0 + timedelta(minutes=15)).timestamp()]
    assert others.percent.tolist() == [100 * 22 / 32, 100.0]
    assert others.full == []  # shaded once, for the provider, not per line
    assert shade == [((T0 + timedelta(minutes=15)).timestamp(), until.timestamp())]


def test_a_per_account_figure_shades_the_providers_exhausted_spans_once_in_red() -> None:
    samples = [sample(None, 0, 2, 8), sample(None, 15, 8, 8), sample(None, 30, 4, 8)]
    samples += [sample("a", 0, 4, 4), sample("b", 0, 1, 4)]  # a full all along: no span of its own
    until = T0 + timedelta(minutes=45)
    with matplotlib.rc_context(chart._RC):
        fig = chart.capacity_figure(
            *chart_lines.capacity_series(hist(samples, ("a", "b"), others=2, until=until)),
            since=T0,
            until=until,
            title="PixVerse",
        )
    [ax] = fig.axes
    assert minutes_of(ax) == [(15.0, 30.0)]  # the provider's one exhausted quarter, no other
    assert to_hex(ax.patches[0].get_facecolor()) == chart._FAILED.lower()
    legend = ax.get_legend()
    assert legend is not None
    assert [t.get_text() for t in legend.get_texts()] == [
        "a",
        "b",
        "2 other accounts",
        "exhausted (every account full)",
    ]


def test_the_others_line_takes_off_each_drawn_account_where_it_was_there() -> None:
    samples = [sample(None, 0, 3, 8), sample(None, 60, 5, 8), sample(None, 120, 2, None)]
    samples.append(sample(None, 180, 4, 8))
    # a: there from the second instant on, 2 of 4, gone at the last; b: its limit unknown,
    # 1 running at every instant (the store gives an account a sample at each while there)
    samples += [sample("a", 60, 2, 4), sample("a", 120, 2, 4)]
    samples += [sample("b", m, 1, None) for m in (0, 60, 120, 180)]
    lines, _ = chart_lines.capacity_series(hist(samples, ("a", "b", "gone"), others=2))
    assert [line.label for line in lines] == ["a", "b", "2 other accounts"]
    others = lines[-1].percent.tolist()
    # 0 min: (3 - 1) of 8; 60 min: (5 - 2 - 1) of (8 - 4); 120 min: no limit known;
    # 180 min: a gone, not taken off: (4 - 1) of 8
    assert others[:2] == [100 * 2 / 8, 100 * 2 / 4]
    assert np.isnan(others[2])
    assert others[3] == 100 * 3 / 8


def test_the_others_line_never_goes_below_nothing() -> None:
    # a bucket's total is a mean of means: it may fall a little short of its accounts' sum
    samples = [sample(None, 0, 1.9, 8), sample("a", 0, 2, 4)]
    [_, others], _ = chart_lines.capacity_series(hist(samples, ("a",), others=2))
    assert others.percent.tolist() == [0.0]


def test_unknown_limit_draws_no_utilisation() -> None:
    lines, shade = chart_lines.capacity_series(hist([sample(None, 0, 3, None)]))
    assert np.isnan(lines[0].percent).all() and shade == []


async def test_render_runs_off_the_loop_and_is_bounded(no_network: None) -> None:
    data = await render.capacity_png(hist([sample(None, 0, 1)]), title="x")
    assert png_size(data) == (chart.WIDTH, chart.HEIGHT)
    with pytest.raises(render.ChartTimeout):
        await render.capacity_png(hist([]), title="x", bound=0)


def test_account_labels_masked_bounded_and_never_formulas(no_network: None) -> None:
    long = "a" * 30 + "@example.com"
    names = ("$x^{2$", long, "ann@example.com")
    samples = [sample("ann@example.com", 0, 1), sample(long, 0, 2), sample("$x^{2$", 0, 3)]
    lines, _ = chart_lines.capacity_series(hist(samples, names), redact=True)
    assert [line.label for line in lines] == ["$x^{2$", "a***@example.com", "a***@example.com"]
    lines, _ = chart_lines.capacity_series(hist(samples, names))
    assert [line.label for line in lines] == ["$x^{2$", long[:39] + "…", "ann@example.com"]
    # an unbalanced "$" would stop matplotlib's formula parser: drawn as text instead
    data = chart.capacity_png(hist(samples, names), title="$x", width=300, height=150)
    assert png_size(data) == (300, 150)


def test_time_ticks_round_utc_spacings_for_each_period() -> None:
    def ticks(since: datetime, hours: float) -> list[str]:
        lo = since.timestamp()
        return chart.time_ticks(lo, lo + hours * 3600)[1]

    assert ticks(T0, 6) == ["29 Nov", "01:00", "02:00", "03:00", "04:00", "05:00", "06:00"]
    assert ticks(T0 + timedelta(hours=13, minutes=17), 24) == [
        "15:00",
        "18:00",
        "21:00",
        "30 Nov",
        "03:00",
        "06:00",
        "09:00",
        "12:00",
    ]
    week = ticks(T0 - timedelta(days=7), 7 * 24)
    assert week == ["22 Nov", "23 Nov", "24 Nov", "25 Nov", "26 Nov", "27 Nov", "28 Nov", "29 Nov"]
    assert len(ticks(T0 - timedelta(days=30), 30 * 24)) == 6  # every 5 days


def test_the_bot_starts_without_importing_matplotlib() -> None:
    """matplotlib (and numpy) load with the first chart, not with the bot: start-up stays as
    fast as it was."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "import bot.app, bot.cli, cogs.status, cogs.history, cogs.delivery, cogs.digest\n"
        "print(sorted(m for m in ('matplotlib', 'numpy') if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout, done.stderr) == (0, "[]\n", "")
