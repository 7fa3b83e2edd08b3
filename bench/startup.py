"""Start-up: from starting `python -m bot run` as a process to the fake Discord receiving the
command-sync PUT (cogs loaded, commands synced), against a fresh database each run.

The fake Discord and a small simulator are served from this process; the bot is the child.
Both instants are `time.monotonic()` in this process (just before `Popen`, and when the fake's
handler received the PUT), so interpreter start and imports are included.
"""

from __future__ import annotations

import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import DISCORD_TOKEN, SIM_TOKEN, child_env
from bot.sim import SimServer, Simulator
from rig.fakediscord import FakeDiscord


async def once(server: SimServer, tmp: Path, run: int) -> tuple[float, int | None]:
    """One start: (seconds to the command-sync PUT, exit status after SIGTERM)."""
    fake = FakeDiscord()
    await fake.start()
    try:
        env = child_env(
            DISCORD_TOKEN=DISCORD_TOKEN,
            USEAPI_TOKEN=SIM_TOKEN,
            USEAPI_BASE_URL=server.url,
            DISCORD_API_BASE_URL=fake.api_base,
            DISCORD_GATEWAY_URL=fake.gateway_url,
            GUILD_IDS=str(fake.guild_id),
            ALERT_CHANNEL_ID=str(fake.channel_ids[0]),
            POLL_INTERVAL_SECONDS="30",
            LOG_LEVEL="WARNING",
            HTTP_PORT="0",
            PROVIDERS="pixverse,minimax,dreamina",
            REDACT_ACCOUNTS="false",
            DATABASE_URL=f"sqlite+aiosqlite:///{tmp / f'startup-{run}.db'}",
        )
        t0 = time.monotonic()
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            env=env,
            cwd=tmp,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        rec = None
        try:
            rec = await fake.wait_for_request("PUT", r"/commands$", timeout=60)
        except TimeoutError:
            pass
        finally:
            proc.terminate()
            try:
                _, err = await asyncio.wait_for(proc.communicate(), 15)
            except TimeoutError:  # pragma: no cover
                proc.kill()
                _, err = await proc.communicate()
        if rec is None:
            raise RuntimeError(
                "`python -m bot run` did not sync its commands in 60 s:\n"
                + err.decode(errors="replace")[-2000:]
            )
        return rec.time - t0, proc.returncode
    finally:
        await fake.stop()


async def measure(runs: int = 3) -> dict[str, Any]:
    sim = Simulator(seed=2, accounts=30, jobs=60, token=SIM_TOKEN, churn=False)
    times: list[float] = []
    codes: list[int | None] = []
    with tempfile.TemporaryDirectory(prefix="opsbot-bench-") as tmp:
        async with SimServer(sim) as server:
            for i in range(runs):
                seconds, code = await once(server, Path(tmp), i)
                times.append(seconds)
                codes.append(code)
    return {
        "startup_s": round(statistics.median(times), 2),
        "_startup": {
            "runs": runs,
            "max_s": round(max(times), 2),
            "exit_codes_after_sigterm": codes,
        },
    }


def run(*, quick: bool = False) -> dict[str, Any]:
    return asyncio.run(measure(1 if quick else 3))
