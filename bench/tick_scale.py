"""Scale: CPU time, peak RSS and database writes of one watcher tick (fetch → parse → diff →
persist) for every simulated provider, at several population sizes, on SQLite and PostgreSQL,
side by side with the code before the snapshot was stored as rows (issue 13, part 4).

Each measurement runs in a fresh process (so its peak RSS is its own) against a simulator
served from yet another process (`bench.simproc`) in which `TURNOVER` jobs end and as many
start at every tick, so the figures count only the bot's side: `time.process_time()` of the
measuring process (user + system CPU of all its threads – the event loop and aiosqlite's worker
thread – including the kernel work of receiving the HTTP bodies), around
`ProviderWatcher.tick()` of each simulated provider, one after the other. The first tick
(nothing stored yet: every job is new, stuck jobs are reported) is reported apart from the
steady state (median of ticks 2+). `rows_written` / `kb_written`: the rows the steady tick's
INSERT, UPDATE and DELETE statements touched, and the bytes of their parameters (median).

"before": the same measuring code run on the bot as it was at `BEFORE` (its tree taken from
git into a temporary directory: `bot` and `rig` from there, this `bench`), so that both stand
in one table from one run. Skipped, with a line saying why, where git or that commit is not
at hand.

Child usage: python -m bench.tick_scale --url URL --token T [--ticks N] [--profile FILE]
[--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Iterator, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from sqlalchemy import event

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
#: Jobs that end, and jobs that start, between two ticks (issue 13: "3 changing per tick").
TURNOVER = 3
#: The last commit whose store rewrote the whole snapshot every tick (one JSON text).
BEFORE = "263004eb7f7d9bc0c44c5bd73f0365f6130316bc"
BACKENDS = ("sqlite", "postgresql")


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


class WriteCounter:
    """Rows touched and parameter bytes sent by the INSERT, UPDATE and DELETE statements run on
    `engine` while `on` (SQLAlchemy's cursor events: the same on both backends and on any
    version of the store)."""

    def __init__(self, engine: Any) -> None:
        self.on = False
        self.rows = 0
        self.bytes = 0
        event.listen(engine, "after_cursor_execute", self._after)

    def _after(
        self,
        conn: Any,
        cursor: Any,
        statement: str,
        parameters: Any,
        context: Any,
        executemany: bool,
    ) -> None:
        if not self.on or statement.lstrip()[:6].upper() not in ("INSERT", "UPDATE", "DELETE"):
            return
        style = getattr(context, "execute_style", None)
        if style is not None and style.name == "INSERTMANYVALUES":
            # one INSERT … VALUES (…), (…) RETURNING of a batch: its parameters come flat
            flat = list(parameters)
            per_row = max(1, len(context.compiled_parameters[0]))
            self.rows += len(flat) // per_row
            self.bytes += sum(_size(v) for v in flat)
            return
        sets = parameters if executemany else [parameters]
        rowcount = getattr(cursor, "rowcount", -1)
        self.rows += rowcount if isinstance(rowcount, int) and rowcount >= 0 else len(sets)
        for params in sets:
            values = params.values() if isinstance(params, dict) else params or ()
            self.bytes += sum(_size(v) for v in values)


def _size(v: Any) -> int:
    if isinstance(v, str):
        return len(v.encode("utf-8", "surrogatepass"))
    if isinstance(v, bytes):
        return len(v)
    return 0 if v is None else 8


async def measure(
    url: str,
    token: str,
    *,
    ticks: int = 5,
    db_dir: Path,
    profile: bool = False,
    database_url: str | None = None,
) -> dict[str, Any]:
    """Tick every simulated provider `ticks` times against the simulator at `url`, the store on
    `database_url` (default: a new SQLite file in `db_dir`). With `profile`, the last tick runs
    under pyinstrument and the text report is under the key `profile`."""
    tune_gc()  # as `opsbot run` does, before its client and store exist
    client = UseapiClient(url, SecretStr(token), timeout=120, attempts=1)
    store = await Store.open(database_url or f"sqlite+aiosqlite:///{db_dir / 'tick.db'}")
    writes = WriteCounter(store.engine.sync_engine)
    try:
        config = WatchConfig(stuck_after=timedelta(minutes=20), poll_interval=30)
        watchers = [
            ProviderWatcher(providers.load(name)(client), store, config) for name in PROVIDERS
        ]
        gc.collect()
        base_rss = _rss_mb()
        cpu: list[float] = []
        wall: list[float] = []
        rows: list[int] = []
        sent: list[int] = []
        jobs = accounts = calls = 0
        profiler: Any = None
        for i in range(ticks):
            if profile and i == ticks - 1:
                from pyinstrument import Profiler

                profiler = Profiler(interval=0.0005, async_mode="enabled")
                profiler.start()
            writes.rows = writes.bytes = 0
            writes.on = True
            c0, w0 = time.process_time(), time.perf_counter()
            reports = [await w.tick() for w in watchers]
            cpu.append((time.process_time() - c0) * 1000)
            wall.append((time.perf_counter() - w0) * 1000)
            writes.on = False
            rows.append(writes.rows)
            sent.append(writes.bytes)
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
            "rows_written": int(statistics.median(rows[1:] or rows)),
            "kb_written": round(statistics.median(sent[1:] or sent) / 1024, 1),
            "first_rows_written": rows[0],
        }
        if profiler is not None:
            out["profile"] = profiler.output_text(unicode=True, color=False, show_all=False)
        return out
    finally:
        await store.close()
        await client.aclose()


@contextlib.contextmanager
def code_before(rev: str = BEFORE) -> Iterator[Path | str]:
    """A temporary tree of the bot at `rev` with this `bench` in it (yields its path), or the
    reason there is none (yields a str)."""
    with tempfile.TemporaryDirectory(prefix="opsbot-before-") as tmp:
        archive = Path(tmp) / "tree.tar"
        try:
            subprocess.run(
                ["git", "-C", str(ROOT), "archive", "--format=tar", "-o", str(archive), rev],
                check=True,
                capture_output=True,
                timeout=60,
            )
        except (OSError, subprocess.SubprocessError) as exc:
            err = getattr(exc, "stderr", b"") or b""
            yield f"no tree of {rev[:12]} ({err.decode(errors='replace').strip() or exc})"
            return
        tree = Path(tmp) / "tree"
        with tarfile.open(archive) as tar:
            tar.extractall(tree, members=_only(tar, ("bot/", "rig/")), filter="data")
        shutil.copytree(ROOT / "bench", tree / "bench")
        yield tree


def _only(tar: tarfile.TarFile, prefixes: tuple[str, ...]) -> list[tarfile.TarInfo]:
    return [m for m in tar.getmembers() if m.name.startswith(prefixes)]


@contextlib.contextmanager
def _database(backend: str) -> Iterator[str | None]:
    """None (the child makes a SQLite file), or a new PostgreSQL database's URL (dropped after)."""
    if backend == "sqlite":
        yield None
        return
    from rig.store import create_pg_database, drop_pg_database

    url = create_pg_database()
    try:
        yield url
    finally:
        drop_pg_database(url)


def run_size(
    jobs: int,
    accounts: int,
    *,
    ticks: int = 5,
    profile: Path | None = None,
    backend: str = "sqlite",
    tree: Path | None = None,
) -> dict[str, Any]:
    """One size on one backend: a simulator process and a fresh measuring process, run on the
    bot in `tree` (default: this one)."""
    with (
        sim_process(jobs=jobs, accounts=accounts, turnover=TURNOVER) as url,
        _database(backend) as db,
    ):
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
        if db is not None:
            cmd += ["--database-url", db]
        env = child_env()
        if tree is not None:  # its `bot`, `rig` and `bench` before the installed ones
            env["PYTHONPATH"] = os.pathsep.join([str(tree), env["PYTHONPATH"]])
        done = subprocess.run(
            cmd,
            capture_output=True,
            text=True,
            env=env,
            cwd=tree or ROOT,
            timeout=600,
            check=False,
        )
    if done.returncode != 0:
        raise RuntimeError(f"tick bench at {jobs} jobs failed:\n{done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return {**result, "backend": backend, "code": "before" if tree is not None else "now"}


def run(
    sizes: Sequence[tuple[int, int]] = SIZES,
    *,
    ticks: int = 5,
    backends: Sequence[str] = BACKENDS,
    before: bool = True,
    note: Any = print,
) -> list[dict[str, Any]]:
    """Every size on every backend reachable, now and (with `before`) before; `note` is told
    what was skipped and why."""
    usable = list(backends)
    if "postgresql" in usable:
        from rig.store import pg_unreachable

        why = pg_unreachable()
        if why is not None:
            note(f"tick on PostgreSQL skipped: {why}")
            usable.remove("postgresql")
    out: list[dict[str, Any]] = []
    with contextlib.ExitStack() as stack:
        tree = stack.enter_context(code_before()) if before else None
        if isinstance(tree, str):
            note(f"tick before the change skipped: {tree}")
            tree = None
        for jobs, accounts in sizes:
            for backend in usable:
                out.append(run_size(jobs, accounts, ticks=ticks, backend=backend))
                if tree is not None:
                    out.append(run_size(jobs, accounts, ticks=ticks, backend=backend, tree=tree))
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--token", default=SIM_TOKEN)
    parser.add_argument("--ticks", type=int, default=5)
    parser.add_argument(
        "--profile", type=Path, help="write a pyinstrument profile of the last tick here"
    )
    parser.add_argument("--database-url", help="the store (default: a new SQLite file)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="opsbot-tick-") as tmp:
        result = asyncio.run(
            measure(
                args.url,
                args.token,
                ticks=args.ticks,
                db_dir=Path(tmp),
                profile=args.profile is not None,
                database_url=args.database_url,
            )
        )
    if args.profile is not None:
        args.profile.write_text(result.pop("profile"), encoding="utf-8")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
