"""The benchmark code path on tiny sizes, so that it does not rot: result structure and keys,
never speeds (figures are printed by `opsbot bench`, not asserted)."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import tomllib

from rich.console import Console

from bench import (
    alert_latency,
    callback_latency,
    chart,
    commands,
    economy,
    flood,
    history_size,
    tick_scale,
)
from bench import run as bench_run
from bench.common import ROOT, SIM_TOKEN, p50_p99, percentile
from bot.cli import BENCH_EXTRA
from bot.sim import SimServer, Simulator

#: Every module of the rig and of bench/.
RIG_AND_BENCH = sorted(
    ".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
    for d in ("rig", "bench")
    for p in (ROOT / d).rglob("*.py")
)


def _python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120
    )


def test_bench_without_its_extra_says_what_to_install():
    """`opsbot bench` on an install without the `bench` extra: one line saying what to
    install, exit 2, and the benchmarks are not started."""
    done = _python(
        "import subprocess, sys\n"
        "sys.modules['pyinstrument'] = None  # as if it were not installed\n"
        "subprocess.call = lambda *a, **k: sys.exit('bench/run.py was started')\n"
        "from bot.cli import main\n"
        "sys.exit(main(['bench', '--quick']))\n"
    )
    assert (done.returncode, done.stdout, done.stderr) == (
        2,
        "",
        "opsbot: bench needs the bench extra (pyinstrument is not installed): "
        "pip install -e '.[bench]'\n",
    )


def test_bench_with_its_extra_runs_bench_run_py():
    done = _python(
        "import importlib.machinery, subprocess, sys, types\n"
        "extra = types.ModuleType('pyinstrument')\n"
        "extra.__spec__ = importlib.machinery.ModuleSpec('pyinstrument', None)\n"
        "sys.modules['pyinstrument'] = extra\n"
        "subprocess.call = lambda cmd, **k: print(cmd[1:]) or 0\n"
        "from bot.cli import main\n"
        "sys.exit(main(['bench', '--quick', '--only', 'tick']))\n"
    )
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == f"{[str(ROOT / 'bench' / 'run.py'), '--quick', '--only', 'tick']}\n"


def test_the_cli_checks_what_the_bench_extra_installs():
    extra = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]["bench"]
    assert [re.split(r"[\[<>=!~;\s]", r, maxsplit=1)[0] for r in extra] == list(BENCH_EXTRA)


def test_the_rig_and_bench_import_without_pytest_or_hypothesis():
    """What `opsbot bench` imports needs only the `bench` extra: neither the rig nor bench/
    imports pytest (nor anything else of the `test` extra)."""
    assert "rig.fakediscord.world" in RIG_AND_BENCH and "bench.run" in RIG_AND_BENCH
    blocked = ("pytest", "_pytest", "pytest_asyncio", "xdist", "hypothesis")
    done = _python(
        "import importlib, sys\n"
        f"for name in {blocked!r}:\n"
        "    sys.modules[name] = None\n"
        f"for module in {RIG_AND_BENCH!r}:\n"
        "    importlib.import_module(module)\n"
    )
    assert (done.returncode, done.stderr) == (0, "")


def test_percentiles_are_nearest_rank():
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 99) == 99.0
    assert p50_p99([3.0]) == {"p50": 3.0, "p99": 3.0}


def test_alert_matching_sees_through_markdown_escapes():
    body = {"embeds": [{"description": "**Job** user:1-pixverse:a\\_b@x.io-video:7"}]}
    assert "user:1-pixverse:a_b@x.io-video:7" in alert_latency._text(body)


async def test_bench_parts_on_tiny_sizes(tmp_path):
    figures = await commands.measure(n=2, n_stale=1, jobs=12, accounts=6, latency_s=0.2)
    for key in ("queue_cached_ms", "capacity_cached_ms"):
        assert set(figures[key]) == {"p50", "p99"}
    assert isinstance(figures["stale_slow_upstream_answered_in_time"], bool)

    figures.update(await economy.measure(rounds=1, jobs=30, accounts=6))
    assert set(figures["upstream_calls_per_tick"]) == {
        "opsbot",
        "naive",
        "ratio",
        "account_checks",
    }
    # measured at the simulator: 4 checks in the hour, each /v2/account + 3 accounts endpoints
    assert figures["account_checks_per_hour"] == {"requests": 16, "providers": 3, "minutes": 15}
    assert (
        figures["upstream_calls_per_tick"]["naive"]
        > figures["upstream_calls_per_tick"]["opsbot"]
        > 0
    )

    sim = Simulator(seed=1, accounts=6, jobs=30, token=SIM_TOKEN, churn=False)
    async with SimServer(sim) as server:
        tick = await tick_scale.measure(server.url, SIM_TOKEN, ticks=2, db_dir=tmp_path)
    assert tick["jobs"] == 30
    assert {"jobs", "accounts", "cpu_ms", "rss_mb", "first_cpu_ms"} <= set(tick)
    # a static world: the first tick writes at least every job and account row and the six
    # providers' headers (alert states beside them), the second far fewer
    assert tick["first_rows_written"] >= 30 + 6 + 6 > tick["rows_written"] > 0
    figures["tick"] = [tick, dict(tick, jobs=300, cpu_ms=tick["cpu_ms"] * 2)]
    figures["alert_latency_over_interval"] = {"p50": 0.5, "p99": 1.0, "max": 1.0}
    figures["_alerts"] = {"ended": 2, "alerted": 2, "interval_s": 5.0}
    figures["startup_s"] = 1.0
    figures.update(await callback_latency.measure(samples=3, window_s=0.5))
    assert figures["_callbacks"]["alerted"] == figures["_callbacks"]["sent"] == 3
    assert set(figures["callback_alert_latency_ms"]) == {"p50", "p99", "max"}

    doc = bench_run.results_doc(figures, quick=True)
    for key in (
        "machine",
        "date",
        "queue_cached_ms",
        "capacity_cached_ms",
        "stale_slow_upstream_answered_in_time",
        "alert_latency_over_interval",
        "upstream_calls_per_tick",
        "account_checks_per_hour",
        "tick",
        "startup_s",
        "callback_alert_latency_ms",
    ):
        assert key in doc
    assert not any(k.startswith("_") for k in doc)

    assert bench_run.write_results(doc, tmp_path) is None
    prev = bench_run.write_results(doc, tmp_path)
    assert prev is not None and (tmp_path / "results.prev.json").exists()
    assert json.loads((tmp_path / "results.json").read_text())["tick"][0]["jobs"] == 30

    out = io.StringIO()
    console = Console(file=out, width=200)
    console.print(bench_run.table(doc))
    console.print(bench_run.delta_table(doc, prev))
    assert "/queue from cache" in out.getvalue() and "tick.30.cpu_ms" in out.getvalue()
    assert "account checks per hour (3 providers, every 15 min)" in out.getvalue()
    assert "alert latency via callback (poll interval 60 s)" in out.getvalue()


async def test_flood_part_on_tiny_sizes():
    figures = await flood.measure(
        claim_sizes=(20, 60), accounts=12, interval=0.5, deadline_s=30, delays=(0.1,)
    )
    assert set(figures["claim_s"]) == {"20", "60"}
    f = figures["flood"]
    assert set(f) == {
        "events",
        "delivery_s",
        "unrelated_alert_over_interval",
        "failed_ticks",
        "claim_rows_per_s",
        "sigterm_exit_s",
    }
    # every figure was taken (a None would mean the alert never came or the bot was killed)
    assert all(isinstance(v, int | float) for v in f.values())
    # the accounts that were not full before, and the provider once all of them are
    assert f["events"] >= figures["_flood"]["accounts"] >= 1 and f["failed_ticks"] == 0
    assert figures["_sigterm"]["exit_code"] == 0

    doc = bench_run.results_doc(figures, quick=True)
    assert not any(k.startswith("_") for k in doc)
    names = [r[0] for r in bench_run.rows(doc)]
    assert "outbox claim of one tick's N rows (SQLite)" in names
    assert any(n.startswith("flood: ") for n in names)
    assert "unrelated alert during the flood / poll interval" in names
    assert "SIGTERM during the flood → process exit" in names
    assert "flood.sigterm_exit_s" in bench_run.flatten(doc)


def test_the_code_before_is_skipped_with_a_reason_where_git_has_no_such_commit() -> None:
    with tick_scale.code_before("0" * 40) as tree:
        assert isinstance(tree, str) and tree.startswith("no tree of 000000000000 (")


async def test_history_part_on_a_tiny_load(url):
    got = await history_size.simulate(url, hours=0.5, accounts_n=20, warm_up_hours=0.25)
    assert set(got) == {
        "rows",
        "bytes",
        "points",
        "buckets",
        "days",
        "finished",
        "bytes_per_sample_row",
        "bytes_per_finished_row",
        "kept_mb",
        "busy_rows",
        "busy_bytes",
    }
    # half an hour: 30 ticks' totals and 90 jobs; per day, 48 times that
    assert got["finished"] == 90 * 48 and got["points"] >= 30 * 48
    # (from 00:00 to 00:45: no day has ended)
    assert got["days"] == 0
    assert got["rows"] == got["points"] + got["buckets"] + got["days"] + got["finished"]
    assert got["bytes_per_sample_row"] > 0 and got["bytes_per_finished_row"] > 0
    figures = {
        "history_rows_per_day": {"x": got["rows"]},
        "history_bytes_per_day": {"x": got["bytes"]},
        "_history": {"accounts": 20, "x": got},
    }
    doc = bench_run.results_doc(figures, quick=True)
    names = [r[0] for r in bench_run.rows(doc)]
    assert names == ["history per day, 20 accounts, 3 jobs ending a minute (x)"]


def test_chart_part_on_tiny_sizes():
    # (3 days: past the 2 of 1-minute points, so the totals are read from the buckets too)
    figures = chart.run(quick=True, accounts=12, days=3)
    assert set(figures["chart_7d_ms"]) == {"p50", "max", "cpu_p50"}
    details = figures["_chart"]
    # 12 accounts and the total, every 15 minutes of the 3 days
    assert details["samples"] == 13 * 288
    backends = [b for b in ("sqlite", "postgresql") if b in details]
    assert backends[0] == "sqlite"
    for b in backends:
        # the 8 busiest drawn, the 4 others one line; the read is of those and the totals
        assert (details[b]["accounts_drawn"], details[b]["others"]) == (8, 4)
        assert details[b]["samples_drawn"] == 9 * 288
        assert details[b]["p50"] >= details[b]["read_p50"]
    # the headline is the slower backend's
    assert figures["chart_7d_ms"]["p50"] == max(details[b]["p50"] for b in backends)
    doc = bench_run.results_doc(figures, quick=True)
    rows = [r for r in bench_run.rows(doc) if r[0].startswith("7-day capacity chart")]
    assert [r[0] for r in rows] == [
        f"7-day capacity chart, 12 accounts ({details['bucket_rows']:,} bucket rows, {b})"
        " → read + PNG"
        for b in backends
    ]
    assert "chart_7d_ms.p50" in bench_run.flatten(doc)


async def test_the_write_counter_counts_the_outbox_rows_a_tick_adds(url):
    """The tick bench's count of rows and bytes written (SQLAlchemy's cursor events), on the
    outbox's INSERT … RETURNING, which SQLAlchemy sends as one batch of flat values."""
    from bot.store import Store
    from rig.store import T0, item

    store = await Store.open(url)
    try:
        writes = tick_scale.WriteCounter(store.engine.sync_engine)
        writes.on = True
        assert await store.enqueue([item("k1"), item("k2"), item("k3")], batch="b", now=T0) == 3
        assert writes.rows == 3
        assert writes.bytes > 3 * len("k1")
    finally:
        await store.close()
