"""Scale: CPU time and peak RSS of one watcher tick (fetch → parse → diff → persist) for
every simulated provider, at several population sizes.

Each size runs in a fresh process (so its peak RSS is that size's own) against a static
simulator served from yet another process (`bench.simproc`), so the figures count only the
bot's side: `time.process_time()` of the measuring process (user + system CPU of all its
threads – the event loop and aiosqlite's worker thread – including the kernel work of receiving
the HTTP bodies), around `ProviderWatcher.tick()` of each simulated provider, one after the other.
The first tick (nothing stored yet: every job is new, stuck jobs are reported) is reported
apart from the steady state (median of ticks 2+).

Child usage: python -m bench.tick_scale --url URL --token T [--ticks N] [--profile FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from bench.common import ROOT, SIM_TOKEN, child_env, sim_process
from bot import providers
from bot.runtime import tune_gc
from bot.sim import PROVIDERS
from bot.store import Store
from bot.useapi import UseapiClient
from bot.watch import ProviderWatcher, WatchConfig

#: (running jobs, accounts) – totals across the simulated providers.
SIZES: tuple[tuple[int, int], ...] = ((1_000, 10), (10_000, 500), (50_000, 2_000))
QUICK_SIZES: tuple[tuple[int, int], ...] = ((1_000, 10), (10_000, 500))


def _rss_mb() -> float:
    """Peak resident set size of this process so far, in MiB.

    Linux: `VmHWM` from /proc/self/status, the high-water mark of this process's own memory.
    `ru_maxrss` is not used there because Linux carries it across fork+exec: a child started
    by a big parent reports at least the parent's size. Elsewhere: `ru_maxrss`."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 if sys.platform != "darwin" else peak / 1024 / 1024


async def measure(
    url: str, token: str, *, ticks: int = 5, db_dir: Path, profile: bool = False
) -> dict[str, Any]:
    """Tick every simulated provider `ticks` times against the simulator at `url`. With `profile`,
    the last tick runs under pyinstrument and the text report is under the key `profile`."""
    tune_gc()  # as `opsbot run` does, before its client and store exist
    client = UseapiClient(url, SecretStr(token), timeout=120, attempts=1)
    store = await Store.open(f"sqlite+aiosqlite:///{db_dir / 'tick.db'}")
    try:
        config = WatchConfig(stuck_after=timedelta(minutes=20), poll_interval=30)
        watchers = [
            ProviderWatcher(providers.load(name)(client), store, config) for name in PROVIDERS
        ]
        gc.collect()
        base_rss = _rss_mb()
        cpu: list[float] = []
        wall: list[float] = []
        jobs = accounts = calls = 0
        profiler: Any = None
        for i in range(ticks):
            if profile and i == ticks - 1:
                from pyinstrument import Profiler

                profiler = Profiler(interval=0.0005, async_mode="enabled")
                profiler.start()
            c0, w0 = time.process_time(), time.perf_counter()
            reports = [await w.tick() for w in watchers]
            cpu.append((time.process_time() - c0) * 1000)
            wall.append((time.perf_counter() - w0) * 1000)
            if profiler is not None:
                profiler.stop()
            errors = [r.error for r in reports if r.error]
            if errors:
                raise RuntimeError(f"tick failed: {errors[0]}")
            jobs = sum(r.jobs for r in reports)
            accounts = sum(r.accounts for r in reports)
            calls = sum(r.upstream_calls for r in reports)
        steady = cpu[1:] or cpu
        out: dict[str, Any] = {
            "jobs": jobs,
            "accounts": accounts,
            "cpu_ms": round(statistics.median(steady), 1),
            "first_cpu_ms": round(cpu[0], 1),
            "wall_ms": round(statistics.median(wall[1:] or wall), 1),
            "rss_mb": round(_rss_mb(), 1),
            "base_rss_mb": round(base_rss, 1),
            "calls": calls,
        }
        if profiler is not None:
            out["profile"] = profiler.output_text(unicode=True, color=False, show_all=False)
        return out
    finally:
        await store.close()
        await client.aclose()


def run_size(
    jobs: int, accounts: int, *, ticks: int = 5, profile: Path | None = None
) -> dict[str, Any]:
    """One size: a simulator process and a fresh measuring process."""
    with sim_process(jobs=jobs, accounts=accounts) as url:
        cmd = [
            sys.executable,
            "-m",
            "bench.tick_scale",
            "--url",
            url,
            "--token",
            SIM_TOKEN,
            "--ticks",
            str(ticks),
        ]
        if profile is not None:
            cmd += ["--profile", str(profile)]
        done = subprocess.run(
            cmd, capture_output=True, text=True, env=child_env(), cwd=ROOT, timeout=600, check=False
        )
    if done.returncode != 0:
        raise RuntimeError(f"tick bench at {jobs} jobs failed:\n{done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def run(sizes: Sequence[tuple[int, int]] = SIZES, *, ticks: int = 5) -> list[dict[str, Any]]:
    return [run_size(j, a, ticks=ticks) for j, a in sizes]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--token", default=SIM_TOKEN)
    parser.add_argument("--ticks", type=int, default=5)
    parser.add_argument(
        "--profile", type=Path, help="write a pyinstrument profile of the last tick here"
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="opsbot-tick-") as tmp:
        result = asyncio.run(
            measure(
                args.url,
                args.token,
                ticks=args.ticks,
                db_dir=Path(tmp),
                profile=args.profile is not None,
            )
        )
    if args.profile is not None:
        args.profile.write_text(result.pop("profile"), encoding="utf-8")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
