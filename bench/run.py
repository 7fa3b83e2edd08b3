"""opsbot's benchmarks, all against the simulator and the fake Discord on loopback.

    .venv/bin/opsbot bench [--quick]          # or: .venv/bin/python bench/run.py [--quick]

Prints one table and writes the same figures to `bench/results.json` (the previous file is
kept as `bench/results.prev.json`, and the differences are printed). Parts:

1. command latency (bench/commands.py)     5. tick CPU and memory by size (bench/tick_scale.py)
2. alert latency (bench/alert_latency.py)  6. start-up (bench/startup.py)
3. alert latency via a replyUrl callback   7. an alert flood (bench/flood.py)
   (bench/callback_latency.py)             8. history rows and bytes per day at 500 accounts,
4. upstream economy (bench/economy.py)        SQLite and PostgreSQL (bench/history_size.py)
                                           9. the 7-day chart (bench/chart.py)

Figures are printed and recorded, never asserted.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `bench`, `bot` and `tests` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rich.console import Console
from rich.table import Table

from bench import common

BENCH_DIR = Path(__file__).resolve().parent
PARTS = (
    "commands",
    "alerts",
    "callbacks",
    "economy",
    "tick",
    "startup",
    "flood",
    "history",
    "chart",
)

#: Goals from the issue.
CACHED_P99_MS = 100.0
ALERT_MAX_OVER_INTERVAL = 1.2  # one 5 s tick plus 1 s
CALLBACK_P99_MS = 1000.0
ECONOMY_RATIO = 50.0
TICK_CPU_MS_AT_10K = 50.0
TICK_RSS_MB_AT_10K = 150.0
CHART_7D_MS = 500.0


# --------------------------------------------------------------------------- running


def run_parts(
    parts: Sequence[str], *, quick: bool, console: Console, profile: Path | None = None
) -> dict[str, Any]:
    """Run the chosen parts one after the other (never side by side: they would disturb
    each other's figures) and return their figures merged."""
    from bench import (
        alert_latency,
        callback_latency,
        chart,
        commands,
        economy,
        flood,
        history_size,
        startup,
        tick_scale,
    )

    runners: dict[str, Callable[[], dict[str, Any] | list[dict[str, Any]]]] = {
        "commands": lambda: commands.run(quick=quick),
        "alerts": lambda: alert_latency.run(quick=quick),
        "callbacks": lambda: callback_latency.run(quick=quick),
        "economy": lambda: economy.run(quick=quick),
        # quick: SQLite and today's code only; the full run adds PostgreSQL and, beside each,
        # the code before the snapshot became rows (issue 13)
        "tick": lambda: tick_scale.run(
            tick_scale.QUICK_SIZES if quick else tick_scale.SIZES,
            ticks=3 if quick else 5,
            backends=("sqlite",) if quick else tick_scale.BACKENDS,
            before=not quick,
            note=lambda line: console.print(f"[yellow]{line}[/yellow]"),
        ),
        "startup": lambda: startup.run(quick=quick),
        "flood": lambda: flood.run(quick=quick),
        "history": lambda: history_size.run(quick=quick),
        "chart": lambda: chart.run(quick=quick),
    }
    out: dict[str, Any] = {}
    for part in parts:
        started = time.perf_counter()
        with console.status(f"bench: {part}…"):
            got = runners[part]()
        if part == "tick":
            out["tick"] = got
        else:
            assert isinstance(got, dict)
            out.update(got)
        console.print(f"[dim]  {part}: {time.perf_counter() - started:.1f} s[/dim]")
    if profile is not None:
        with console.status("bench: profiling one tick at 10,000 jobs…"):
            tick_scale.run_size(10_000, 500, ticks=3, profile=profile)
        console.print(f"[dim]  profile of the 10,000-job tick written to {profile}[/dim]")
    return out


def results_doc(figures: Mapping[str, Any], *, quick: bool) -> dict[str, Any]:
    """The results.json document: the documented keys first (one per figure, fixed so runs
    compare), details under `details`."""
    doc: dict[str, Any] = {
        "machine": common.machine(),
        "date": date.today().isoformat(),
        "quick": quick,
    }
    details: dict[str, Any] = {}
    for key, value in figures.items():
        if key.startswith("_"):
            details[key.lstrip("_")] = value
        else:
            doc[key] = value
    doc["details"] = details
    return doc


def write_results(doc: Mapping[str, Any], directory: Path = BENCH_DIR) -> dict[str, Any] | None:
    """Write `results.json`, keeping the old one as `results.prev.json`; return the old one."""
    path = directory / "results.json"
    prev: dict[str, Any] | None = None
    if path.exists():
        try:
            prev = json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            prev = None
        path.replace(directory / "results.prev.json")
    tmp = directory / "results.json.tmp"
    tmp.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)
    return prev


# --------------------------------------------------------------------------- the table


def _ms(v: float | None) -> str:
    return "–" if v is None else f"{v:.1f} ms"


def _mark(ok: bool | None) -> str:
    return "" if ok is None else ("[green]✓[/green]" if ok else "[red]✗[/red]")


def growth_exponent(ticks: Sequence[Mapping[str, Any]]) -> float | None:
    """k in cpu ∝ jobs^k between the smallest and the largest size (1 = linear)."""
    if len(ticks) < 2:
        return None
    a, b = ticks[0], ticks[-1]
    if a["cpu_ms"] <= 0 or b["jobs"] == a["jobs"]:
        return None
    return math.log(b["cpu_ms"] / a["cpu_ms"]) / math.log(b["jobs"] / a["jobs"])


def _tick_label(t: Mapping[str, Any]) -> str:
    """ ", PostgreSQL, before" and the like: which store and which code a tick entry ran."""
    parts = []
    if "backend" in t:
        parts.append("PostgreSQL" if t["backend"] == "postgresql" else "SQLite")
    if t.get("code") == "before":
        parts.append("before (whole snapshot)")
    return "".join(f", {p}" for p in parts)


def rows(doc: Mapping[str, Any]) -> list[tuple[str, str, str, bool | None]]:
    """(figure, value, goal, met?) for each figure in `doc`."""
    out: list[tuple[str, str, str, bool | None]] = []
    details = doc.get("details", {})
    samples = details.get("samples", {})
    for key, name in (("queue_cached_ms", "/queue"), ("capacity_cached_ms", "/capacity")):
        if key in doc:
            v = doc[key]
            out.append(
                (
                    f"{name} from cache, {samples.get('jobs', 1000):,} jobs "
                    f"(n={samples.get('cached', '?')})",
                    f"p50 {_ms(v['p50'])} · p99 {_ms(v['p99'])}",
                    f"p99 < {CACHED_P99_MS:.0f} ms",
                    v["p99"] < CACHED_P99_MS,
                )
            )
    if "stale_slow_upstream_answered_in_time" in doc:
        cb = doc.get("stale_slow_callback_ms", {})
        ans = doc.get("stale_slow_answer_s", {})
        ok = bool(doc["stale_slow_upstream_answered_in_time"])
        out.append(
            (
                f"stale cache + 2 s upstream (n={samples.get('stale', '?')})",
                f"{'deferred in time' if ok else 'LATE'}: callback max {_ms(cb.get('max'))}"
                f", answer p50 {ans.get('p50', 0):.2f} s",
                "type 5 within 3 s",
                ok,
            )
        )
    if "alert_latency_over_interval" in doc:
        v = doc["alert_latency_over_interval"]
        al = details.get("alerts", {})
        ok = (
            v["p50"] is not None
            and al.get("alerted") == al.get("ended")
            and v.get("max", v["p99"]) <= ALERT_MAX_OVER_INTERVAL
        )
        value = (
            "no alerts"
            if v["p50"] is None
            else f"p50 {v['p50']:.2f} · p99 {v['p99']:.2f} · max {v.get('max', v['p99']):.2f}"
            f" ({al.get('alerted')}/{al.get('ended')} alerted)"
        )
        out.append(
            (
                f"alert latency / poll interval ({al.get('interval_s', 5):g} s)",
                value,
                f"≤ {ALERT_MAX_OVER_INTERVAL} (1 tick + 1 s)",
                ok,
            )
        )
    if "callback_alert_latency_ms" in doc:
        v = doc["callback_alert_latency_ms"]
        cb = details.get("callbacks", {})
        answer = cb.get("answer_ms") or {}
        ok = (
            v["p99"] is not None
            and cb.get("alerted") == cb.get("sent")
            and v["p99"] < CALLBACK_P99_MS
        )
        value = (
            "no alerts"
            if v["p99"] is None
            else f"p50 {_ms(v['p50'])} · p99 {_ms(v['p99'])} ({cb.get('alerted')}/"
            f"{cb.get('sent')} alerted; 202 answered p99 {_ms(answer.get('p99'))})"
        )
        out.append(
            (
                f"alert latency via callback (poll interval {cb.get('interval_s', 60):g} s)",
                value,
                f"p99 < {CALLBACK_P99_MS:.0f} ms",
                ok,
            )
        )
    if "upstream_calls_per_tick" in doc:
        v = doc["upstream_calls_per_tick"]
        ec = details.get("economy", {})
        out.append(
            (
                f"upstream calls per tick ({ec.get('jobs', 500)} jobs, "
                f"{ec.get('accounts', 50)} accounts, {ec.get('finishing_per_tick', 3)} "
                f"ending per tick)",
                f"opsbot {v['opsbot']:g} (+{v.get('account_checks', 0):g} account checks) · "
                f"naive {v['naive']:g} · {v['ratio']:g}× fewer",
                f"≥ {ECONOMY_RATIO:.0f}× fewer",
                v["ratio"] >= ECONOMY_RATIO,
            )
        )
    if "upstream_calls_per_tick_all_providers" in doc:
        v = doc["upstream_calls_per_tick_all_providers"]
        out.append(
            (
                f"the same load over all {v['providers']} providers",
                f"opsbot {v['opsbot']:g} (+{v.get('account_checks', 0):g} account checks) · "
                f"naive {v['naive']:g} · {v['ratio']:g}× fewer",
                "none (the goal is judged on the default PROVIDERS)",
                None,
            )
        )
    if "account_checks_per_hour" in doc:
        v = doc["account_checks_per_hour"]
        out.append(
            (
                f"account checks per hour ({v['providers']} providers, every {v['minutes']:g} min)",
                f"{v['requests']} requests (simulator's request log)",
                "(1 + providers) × 60 / ACCOUNT_CHECK_MINUTES",
                v["requests"] == (1 + v["providers"]) * 60 / v["minutes"],
            )
        )
    for t in doc.get("tick", []):
        at_10k = t["jobs"] == 10_000
        before = t.get("code") == "before"
        goal = at_10k and not before
        out.append(
            (
                f"tick, {t['jobs']:,} jobs / {t['accounts']:,} accounts{_tick_label(t)}",
                f"CPU {_ms(t['cpu_ms'])} (first tick {_ms(t.get('first_cpu_ms'))}) · "
                f"peak RSS {t['rss_mb']:.0f} MB"
                + (
                    f" · {t['rows_written']:,} rows, {t['kb_written']:,.1f} KB written"
                    if "rows_written" in t
                    else ""
                ),
                f"CPU < {TICK_CPU_MS_AT_10K:.0f} ms" if goal else "",
                t["cpu_ms"] < TICK_CPU_MS_AT_10K if goal else None,
            )
        )
        if goal and t.get("backend", "sqlite") == "sqlite":
            out.append(
                (
                    f"tick memory, {t['jobs']:,} jobs",
                    f"peak RSS {t['rss_mb']:.0f} MB",
                    f"< {TICK_RSS_MB_AT_10K:.0f} MB",
                    t["rss_mb"] < TICK_RSS_MB_AT_10K,
                )
            )
    k = growth_exponent(
        [
            t
            for t in doc.get("tick", [])
            if t.get("code", "now") == "now" and t.get("backend", "sqlite") == "sqlite"
        ]
    )
    if k is not None:
        out.append(("tick CPU growth (cpu ∝ jobs^k)", f"k = {k:.2f}", "k ≤ 1 (linear)", k <= 1.05))
    if "startup_s" in doc:
        out.append(
            ("start-up: process start → commands synced", f"{doc['startup_s']:.2f} s", "", None)
        )
    out += _flood_rows(doc)
    out += _history_rows(doc)
    out += _chart_rows(doc)
    return out


def _chart_rows(doc: Mapping[str, Any]) -> list[tuple[str, str, str, bool | None]]:
    """One row per backend: the chart read from the store and drawn, the goal on each."""
    if "chart_7d_ms" not in doc:
        return []
    ch = doc.get("details", {}).get("chart", {})
    out: list[tuple[str, str, str, bool | None]] = []
    for backend in ("sqlite", "postgresql"):
        v = ch.get(backend)
        if v is None:
            continue
        out.append(
            (
                f"7-day capacity chart, {ch.get('accounts', 500)} accounts "
                f"({ch.get('bucket_rows', 0):,} bucket rows, {backend}) → read + PNG",
                f"p50 {_ms(v['p50'])} (read {_ms(v['read_p50'])}, draw {_ms(v['draw_p50'])}) · "
                f"max {_ms(v['max'])} · CPU p50 {_ms(v['cpu_p50'])}",
                f"p50 < {CHART_7D_MS:.0f} ms",
                v["p50"] < CHART_7D_MS,
            )
        )
    return out


def _history_rows(doc: Mapping[str, Any]) -> list[tuple[str, str, str, bool | None]]:
    out: list[tuple[str, str, str, bool | None]] = []
    rows_per_day = doc.get("history_rows_per_day", {})
    hd = doc.get("details", {}).get("history", {})
    for backend, n in rows_per_day.items():
        f = hd.get(backend, {})
        out.append(
            (
                f"history per day, {hd.get('accounts', 500)} accounts, "
                f"{hd.get('ends_per_minute', 3)} jobs ending a minute ({backend})",
                f"{n:,} rows ({f.get('points', 0):,} points · {f.get('buckets', 0):,} buckets · "
                f"{f.get('days', 0):,} days · {f.get('finished', 0):,} jobs) · "
                f"{doc.get('history_bytes_per_day', {}).get(backend, 0) / 2**20:.1f} MiB · "
                f"kept at {hd.get('history_days', 60)} days {f.get('kept_mb', 0):g} MiB",
                "",
                None,
            )
        )
    return out


def _s(v: float | None, what: str = "") -> str:
    return f"not {what}".strip() if v is None else f"{v:.2f} s"


def _flood_rows(doc: Mapping[str, Any]) -> list[tuple[str, str, str, bool | None]]:
    from bench.flood import STOP_BOUND_S, growth

    out: list[tuple[str, str, str, bool | None]] = []
    details = doc.get("details", {})
    if "claim_s" in doc:
        claims = doc["claim_s"]
        k = growth(claims)
        value = " · ".join(
            f"{int(n):,}: {_s(v)}" for n, v in sorted(claims.items(), key=lambda kv: int(kv[0]))
        )
        out.append(
            (
                "outbox claim of one tick's N rows (SQLite)",
                value + ("" if k is None else f" · k = {k:.2f}"),
                "∝ rows (k ≤ 1)",
                None if k is None else k <= 1.05,
            )
        )
    if "flood" in doc:
        f = doc["flood"]
        fd = details.get("flood", {})
        interval = fd.get("interval_s", 5.0)
        delivered = f.get("delivery_s")
        rate = f.get("claim_rows_per_s")
        out.append(
            (
                f"flood: {f.get('events', 0):,} events in one tick → Discord",
                f"delivered {_s(delivered, 'delivered')} after the commit"
                + ("" if rate is None else f" · claim {rate:,} rows/s"),
                f"within one tick ({interval:g} s)",
                delivered is not None and delivered <= interval,
            )
        )
        ratio = f.get("unrelated_alert_over_interval")
        out.append(
            (
                "unrelated alert during the flood / poll interval",
                ("not posted" if ratio is None else f"{ratio:.2f}")
                + f" ({f.get('failed_ticks', 0)} ticks failed)",
                f"≤ {ALERT_MAX_OVER_INTERVAL} (1 tick + 1 s)",
                ratio is not None and ratio <= ALERT_MAX_OVER_INTERVAL,
            )
        )
        exit_s = f.get("sigterm_exit_s")
        code = details.get("sigterm", {}).get("exit_code")
        out.append(
            (
                "SIGTERM during the flood → process exit",
                f"{_s(exit_s, 'exited (killed)')} (exit status {code})",
                f"≤ {STOP_BOUND_S:.0f} s, status 0",
                exit_s is not None and exit_s <= STOP_BOUND_S and code == 0,
            )
        )
    return out


def table(doc: Mapping[str, Any]) -> Table:
    t = Table(
        title=f"opsbot bench — {doc.get('date')}" + (" (quick)" if doc.get("quick") else ""),
        caption=str(doc.get("machine")),
    )
    t.add_column("figure")
    t.add_column("value")
    t.add_column("goal")
    t.add_column("", justify="center")
    for figure, value, goal, ok in rows(doc):
        t.add_row(figure, value, goal, _mark(ok))
    return t


def markdown(doc: Mapping[str, Any]) -> str:
    """The same table as Markdown (for the README's Performance section)."""
    lines = ["| figure | value | goal | met |", "|---|---|---|---|"]
    for figure, value, goal, ok in rows(doc):
        met = "" if ok is None else ("yes" if ok else "**no**")
        lines.append(f"| {figure} | {value} | {goal} | {met} |")
    return (
        "\n".join(lines)
        + f"\n\n{doc.get('machine')}, {doc.get('date')}"
        + (" (quick)" if doc.get("quick") else "")
        + "\n"
    )


def flatten(doc: Mapping[str, Any]) -> dict[str, float]:
    """Numeric figures by dotted key (`queue_cached_ms.p99`, `tick.10000.cpu_ms`)."""
    out: dict[str, float] = {}

    def walk(prefix: str, v: Any) -> None:
        if isinstance(v, bool):
            out[prefix] = float(v)
        elif isinstance(v, int | float):
            out[prefix] = float(v)
        elif isinstance(v, Mapping):
            for k, x in v.items():
                walk(f"{prefix}.{k}" if prefix else str(k), x)

    for key, value in doc.items():
        if key in ("machine", "date", "quick", "details"):
            continue
        if key == "tick" and isinstance(value, list):
            for t in value:
                where = "".join(
                    f".{t[k]}" for k in ("backend", "code") if k in t and t[k] not in ("now",)
                )
                for k in ("cpu_ms", "first_cpu_ms", "rss_mb", "rows_written", "kb_written"):
                    if k in t:
                        out[f"tick.{t['jobs']}{where}.{k}"] = float(t[k])
        else:
            walk(key, value)
    return out


def delta_table(doc: Mapping[str, Any], prev: Mapping[str, Any]) -> Table:
    now, old = flatten(doc), flatten(prev)
    t = Table(
        title=f"compared with the previous run ({prev.get('date', '?')}"
        + (", quick" if prev.get("quick") else "")
        + ")"
    )
    t.add_column("figure")
    t.add_column("previous", justify="right")
    t.add_column("now", justify="right")
    t.add_column("Δ", justify="right")
    for key in now:
        if key not in old:
            continue
        a, b = old[key], now[key]
        change = "" if a == 0 else f"{(b - a) / abs(a) * 100:+.0f} %"
        t.add_row(key, f"{a:g}", f"{b:g}", change)
    return t


# --------------------------------------------------------------------------- main


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="opsbot bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--quick", action="store_true", help="fewer samples and sizes (well under a minute)"
    )
    parser.add_argument(
        "--only", help=f"comma-separated parts ({','.join(PARTS)}); results.json is then left alone"
    )
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="FILE",
        help="also write a pyinstrument profile of a 10,000-job tick to FILE",
    )
    parser.add_argument(
        "--show", action="store_true", help="run nothing: print the table of bench/results.json"
    )
    parser.add_argument("--markdown", action="store_true", help="also print the table as Markdown")
    args = parser.parse_args(argv)
    console = Console()
    if args.show:
        doc = json.loads((BENCH_DIR / "results.json").read_text(encoding="utf-8"))
        console.print(table(doc))
        if args.markdown:
            print(markdown(doc))
        return 0
    parts = PARTS
    if args.only:
        parts = tuple(p.strip() for p in args.only.split(",") if p.strip())
        unknown = [p for p in parts if p not in PARTS]
        if unknown:
            parser.error(f"unknown part {unknown[0]!r}; choose from {', '.join(PARTS)}")
    common.quiet_logging()
    started = time.perf_counter()
    figures = run_parts(parts, quick=args.quick, console=console, profile=args.profile)
    doc = results_doc(figures, quick=args.quick)
    console.print(table(doc))
    if args.markdown:
        print(markdown(doc))
    if args.only:
        console.print("[dim]--only: bench/results.json not written[/dim]")
    else:
        prev = write_results(doc)
        if prev is not None:
            console.print(delta_table(doc, prev))
        console.print(
            f"[dim]written to {BENCH_DIR / 'results.json'}"
            + (" (previous: results.prev.json)" if prev is not None else "")
            + "[/dim]"
        )
    console.print(f"[dim]{time.perf_counter() - started:.0f} s in all[/dim]")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
