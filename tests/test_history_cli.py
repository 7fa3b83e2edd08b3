"""`opsbot history`: the summary read from the database as it is, and the chart written to a
file; what cannot be done is one line and an exit status, never a traceback."""

from __future__ import annotations

import asyncio
import io
import os
import struct
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot import cli
from bot.history import Finished
from bot.models import Account, Snapshot
from bot.settings import Settings
from bot.store import Store

NAMES = {name.upper() for name in Settings.model_fields}


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No setting from the shell or a `.env`; PixVerse alone; a database of this test's own."""
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.upper() in NAMES:
            monkeypatch.delenv(name)
    db = tmp_path / "opsbot.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{db}")
    monkeypatch.setenv("PROVIDERS", "pixverse")
    return db


def job(n: int, outcome: str, run: float, at: datetime) -> Finished:
    return Finished("pixverse", f"j{n}", "a@x.com", "video", "v5", outcome, run, "poll", at)


async def record(db: Path) -> None:
    """Two hours ago every account was full (a tick every quarter hour: a point holds at most
    that long); an hour ago one had room again; three jobs."""
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    store = await Store.open(f"sqlite+aiosqlite:///{db}")
    try:
        full = now - timedelta(hours=2)
        room = now - timedelta(hours=1)
        quarters = [(full + k * timedelta(minutes=15), 2) for k in range(4)]
        for at, running in (*quarters, (room, 1)):
            snapshot = Snapshot(
                "pixverse", at, accounts=(Account("a@x.com", 2, running, 2 - running),)
            )
            jobs = [job(1, "completed", 60, at), job(2, "failed", 5, at)] if at == full else []
            if at == room:
                jobs = [job(3, "completed", 180, at)]
            await store.commit_tick(
                "pixverse", now=at, batch=str(at), snapshot=snapshot, finished=jobs
            )
    finally:
        await store.close()


def test_history_prints_the_summary_and_writes_the_chart(
    env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    asyncio.run(record(env))
    png = tmp_path / "capacity.png"
    code = cli.main(["history", "--hours", "3", "--png", str(png)])
    out, err = capsys.readouterr()
    assert (code, err) == (0, "")
    [row] = [line for line in out.splitlines() if line.lstrip().startswith("PixVerse")]
    # 2 completed, 1 failed, 0 moderated, failure 33 %, p50 1m 00s, p95 3m 00s, full 1 h
    assert row.split() == [
        "PixVerse",
        "v5",
        "2",
        "1",
        "0",
        "33",
        "%",
        "1m",
        "00s",
        "3m",
        "00s",
        "1",
        "h",
    ]
    assert f"chart written to {png}" in out
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", data[16:24]) == (1000, 500)


def test_history_without_a_database_says_so(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["history"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("opsbot: database ") and err.endswith(": no opsbot database there yet\n")
    assert err.count("\n") == 1


def test_history_refuses_a_provider_not_enabled(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["history", "--provider", "minimax"]) == 2
    out, err = capsys.readouterr()
    assert (out, err) == (
        "",
        "opsbot: config error: --provider: 'minimax' is not enabled in PROVIDERS (pixverse)\n",
    )


HOURS = "opsbot history: error: argument --hours: must be a number from 1 to 8784"


@pytest.mark.parametrize(
    "hours", ["0", "0.99", "-1", "8784.01", "1e9", "inf", "nan", "soon", ""], ids=repr
)
def test_history_bad_hours_is_a_usage_error(
    env: Path, capsys: pytest.CaptureFixture[str], hours: str
) -> None:
    """argparse's usage line, then one line naming the option and its range; exit 2 and
    nothing read (no database exists here: that would be exit 1)."""
    with pytest.raises(SystemExit) as stopped:
        cli.main(["history", f"--hours={hours}"])
    assert stopped.value.code == 2
    out, err = capsys.readouterr()
    assert out == ""
    usage, line = err.splitlines()
    assert usage.startswith("usage: opsbot history ")
    assert line == HOURS


@pytest.mark.parametrize("hours", ["1", "8784"])
def test_history_hours_at_exactly_each_bound(
    env: Path, capsys: pytest.CaptureFixture[str], hours: str
) -> None:
    asyncio.run(record(env))
    assert cli.main(["history", "--hours", hours]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    [row] = [line for line in out.splitlines() if line.lstrip().startswith("PixVerse")]
    # the last hour began a few seconds after the last record; a year holds all three jobs,
    # and its capacity comes from the 15-minute buckets, none rolled up here
    assert row.split() == (
        ["PixVerse", "no", "jobs", "no", "data"]
        if hours == "1"
        else ["PixVerse", "v5", "2", "1", "0", "33", "%", "1m", "00s", "3m", "00s", "no", "data"]
    )


def test_history_chart_to_a_file_that_cannot_be_written(
    env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    asyncio.run(record(env))
    target = tmp_path / "missing-dir" / "c.png"
    assert cli.main(["history", "--png", str(target)]) == 1
    _, err = capsys.readouterr()
    assert err == f"opsbot: --png {target}: No such file or directory\n"
    # a directory where the file should go: the same, one line
    assert cli.main(["history", "--png", str(tmp_path)]) == 1
    out, err = capsys.readouterr()
    assert err == f"opsbot: --png {tmp_path}: Is a directory\n"
    assert "chart written" not in out


def test_the_table_fits_80_columns_with_every_figure_whole() -> None:
    """Nine columns of figures: with padding besides the box's spaces the last one, the hours
    at full capacity, was cut to "f" / "12." at 80 columns."""
    from rich.console import Console

    from bot.history import Sample
    from bot.history.stats import compute
    from bot.history.table import stats_table

    t0 = datetime(2026, 11, 29, tzinfo=UTC)
    model = "seedance-2.0-pro-long-name"
    jobs = [
        Finished("pixverse", f"j{i}", "a", "video", model, outcome, 750.0 + i, "poll", t0)
        for i, outcome in enumerate(["completed"] * 1200 + ["failed"] * 3)
    ]
    quarter = timedelta(minutes=15)  # (a point holds at most a quarter hour)
    full = [Sample("pixverse", None, t0 + k * quarter, 3, 3, 0, True) for k in range(50)]
    full.append(Sample("pixverse", None, t0 + 50 * quarter, 1, 3, 2, False))  # 12:30
    figures = compute(jobs, full, since=t0, until=t0 + timedelta(days=1), providers=["dreamina"])
    console = Console(width=80, record=True, file=io.StringIO())
    console.print(stats_table(figures, titles={"pixverse": "PixVerse", "dreamina": "Dreamina"}))
    lines = console.export_text().splitlines()
    assert max(len(line) for line in lines) <= 80
    assert lines[1].split() == [
        "provider",
        "model",
        "completed",
        "failed",
        "moderated",
        "failure",
        "p50",
        "p95",
        "full",
    ]
    assert lines[3].split() == ["Dreamina", "no", "jobs", "no", "data"]
    assert lines[4].split() == [
        "PixVerse",
        "seedance-2.0",
        "1200",
        "3",
        "0",
        "0.2",
        "%",
        "22m",
        "29s",
        "31m",
        "29s",
        "12.5",
        "h",
    ]
