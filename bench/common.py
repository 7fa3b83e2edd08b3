"""Helpers every benchmark shares: percentiles, the machine line, settings without `.env`,
quiet logging, the bot run in process, and a simulator served from its own process."""

from __future__ import annotations

import logging
import math
import os
import platform
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import AbstractAsyncContextManager, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.settings import Settings, load_settings

if TYPE_CHECKING:
    from bot.sim import Simulator
    from rig.botharness import Harness

#: The repository root (holds `bot/`, `bench/`, `rig/`).
ROOT = Path(__file__).resolve().parent.parent

SIM_TOKEN = "sim-token-BENCH-0123456789"
DISCORD_TOKEN = "discord-token-BENCH.0123456789"


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (`q` in 0..100): always one of the measured values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def p50_p99(values: Sequence[float], digits: int = 2) -> dict[str, float]:
    """`{"p50", "p99"}` of `values`, rounded."""
    return {
        "p50": round(percentile(values, 50), digits),
        "p99": round(percentile(values, 99), digits),
    }


def machine() -> str:
    """`2 cores, AMD EPYC, 23.5 GiB RAM, Linux 6.1, Python 3.12.3`."""
    cores = os.cpu_count() or 0
    model = platform.processor() or platform.machine()
    ram = ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
        with open("/proc/meminfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("MemTotal:"):
                    ram = f", {int(line.split()[1]) / 1024 / 1024:.1f} GiB RAM"
                    break
    except OSError:
        pass
    return (
        f"{cores} cores, {model}{ram}, {platform.system()} "
        f"{platform.release().split('-')[0]}, Python {platform.python_version()}"
    )


def settings(**values: Any) -> Settings:
    """Settings from `values` and the environment only: a `.env` in the working directory
    must not change what is measured."""
    base: dict[str, Any] = dict(
        providers="pixverse,minimax,dreamina",
        log_level="WARNING",
        redact_accounts=False,
        stuck_after_minutes=20,
        http_port=0,
    )
    base.update(values)
    return load_settings(_env_file=None, **base)


def running_bot(
    sim: Simulator, db_dir: Path, **kwargs: Any
) -> AbstractAsyncContextManager[Harness]:
    """`rig.botharness.running_bot` with the bench's tokens and settings (no `.env`).
    Imported here and not at the top: the tick bench's processes must not load discord.py."""
    from rig.botharness import running_bot as run

    return run(
        sim,
        db_dir,
        make_settings=settings,
        useapi_token=SIM_TOKEN,
        discord_token=DISCORD_TOKEN,
        **kwargs,
    )


def quiet_logging() -> None:
    """Warnings and errors only, on stderr (the tables go to stdout)."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger().setLevel(logging.WARNING)
    for name in ("discord", "bot", "cogs", "aiohttp", "httpx"):
        logging.getLogger(name).setLevel(logging.ERROR)


def child_env(**extra: str) -> dict[str, str]:
    """Environment for a bench subprocess: `bench` and `rig` importable, no colour."""
    env = dict(os.environ)
    path = env.get("PYTHONPATH")
    env["PYTHONPATH"] = f"{ROOT}{os.pathsep}{path}" if path else str(ROOT)
    env.update(extra)
    return env


@contextmanager
def sim_process(
    *, jobs: int, accounts: int, seed: int = 1, token: str = SIM_TOKEN, turnover: int = 0
) -> Iterator[str]:
    """A static (churn off, real clock) simulator in its own process; yields its URL.
    `turnover`: jobs that end and start at each tick (`bench.simproc`).

    Its CPU time and memory are not the measured process's: that is the point."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bench.simproc",
            "--jobs",
            str(jobs),
            "--accounts",
            str(accounts),
            "--seed",
            str(seed),
            "--token",
            token,
            "--turnover",
            str(turnover),
        ],
        stdout=subprocess.PIPE,
        text=True,
        env=child_env(),
        cwd=ROOT,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if "listening on " not in line:
            raise RuntimeError(f"simulator did not start: {line!r}")
        yield line.split("listening on ", 1)[1].split()[0]
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:  # pragma: no cover
            proc.kill()
            proc.wait()
