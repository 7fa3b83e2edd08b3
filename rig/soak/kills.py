"""The soak's first phase: `python -m bot run` as a process (real time, 5 s poll interval)
SIGKILLed `kills` times, alternately while an alert POST is out (the fake Discord holds it)
and while a scheduler read is out (mid-tick). The simulated clock moves on in quiet moments
only, so each real tick sees ~50 simulated seconds of churn."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import sys
import time
from typing import TYPE_CHECKING

from rig.process import ROOT, base_env, wait_until
from rig.soak.config import JOB_PATTERN, POST_MESSAGE, PROVIDERS, QUEUE_RE, Incarnation

if TYPE_CHECKING:
    from rig.soak.run import Soak


async def subprocess_phase(soak: Soak) -> None:
    stop = asyncio.Event()
    driver = asyncio.create_task(_drive_clock(soak, stop))
    try:
        for n in range(soak.cfg.kills):
            await _one_subprocess(soak, n)
    finally:
        stop.set()
        await driver


async def _drive_clock(soak: Soak, stop: asyncio.Event) -> None:
    """Move simulated time on (~10x real) only in quiet moments, so that a tick's
    scheduler and capacity reads always see the same simulated instant."""
    owed = 0.0
    last = time.monotonic()
    while not stop.is_set():
        await asyncio.sleep(0.05)
        now = time.monotonic()
        owed += (now - last) * 10.0
        last = now
        if owed >= 2.0 and now - soak.last_request > 0.06 and not soak.in_flight():
            soak.sim.advance(owed)
            owed = 0.0


def _env(soak: Soak) -> dict[str, str]:
    env = base_env()
    env.update(
        {
            "DISCORD_TOKEN": soak.discord_token,
            "USEAPI_TOKEN": soak.useapi_token,
            "USEAPI_BASE_URL": soak.server.url,
            "DISCORD_API_BASE_URL": soak.fake.api_base,
            "DISCORD_GATEWAY_URL": soak.fake.gateway_url,
            "GUILD_IDS": str(soak.fake.guild_id),
            "ALERT_CHANNEL_ID": str(soak.alert_channel),
            "DATABASE_URL": soak.database_url,
            "POLL_INTERVAL_SECONDS": "5",
            "STUCK_AFTER_MINUTES": f"{soak.cfg.stuck_after_minutes:g}",
            "LOG_LEVEL": soak.cfg.subprocess_log_level,
            "PYTHONUNBUFFERED": "1",
            "PYTHONPATH": str(ROOT) + os.pathsep + env.get("PYTHONPATH", ""),
        }
    )
    return env


def _q_requests(soak: Soak, inc: Incarnation, provider: str) -> int:
    rx = QUEUE_RE[provider]
    return sum(1 for i, e in soak.log[inc.first_request :] if i == inc.index and rx.match(e.path))


async def _one_subprocess(soak: Soak, n: int) -> None:
    inc = soak.new_incarnation("subprocess")
    out = soak.workdir / f"bot-{inc.index}.log"
    soak.outputs.append(out)
    mark = soak.fake.mark()
    mid_delivery = n % 2 == 0
    if mid_delivery:  # hold the first alert POST so that the kill lands while it is out
        soak.chaos.slow_post(3.0, 1)
    job_fault = soak.chaos.upstream(
        JOB_PATTERN[PROVIDERS[n % 3]], "status", "upstream job 500", status=500, probability=0.3
    )
    hostile = None
    if n == 1:  # 401 whose body echoes the token back: a hostile upstream / proxy
        hostile = soak.chaos.upstream(
            "minimax",
            "status",
            "upstream 401 (echoing the token)",
            status=401,
            body={"error": f"Invalid API token {soak.useapi_token}", "code": 401},
        )
    with out.open("wb") as sink:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            cwd=str(soak.workdir),
            env=_env(soak),
            stdout=sink,
            stderr=asyncio.subprocess.STDOUT,
        )
        try:
            await soak.fake.wait_for(
                lambda r: r.method == "PUT" and r.path.endswith("/commands"), timeout=40, start=mark
            )
            inc.how = await (
                _post_in_flight(soak, mark) if mid_delivery else _read_in_flight(soak, inc)
            )
            proc.send_signal(signal.SIGKILL)
            soak.report.kills += 1
        finally:
            if proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
            await proc.wait()
    soak.sim.faults.remove(job_fault.id)
    if hostile is not None:
        soak.sim.faults.remove(hostile.id)
    soak.say(f"subprocess {n + 1}: {inc.how}")


async def _post_in_flight(soak: Soak, mark: int) -> str:
    """Until the (held) first alert POST is out."""
    await soak.fake.wait_for(
        lambda r: r.method == "POST" and re.match(POST_MESSAGE, r.key) is not None,
        timeout=40,
        start=mark,
        answered=False,
    )
    return "SIGKILL mid-delivery"


async def _read_in_flight(soak: Soak, inc: Incarnation) -> str:
    """One tick of every provider, then until the next scheduler read is held."""
    await wait_until(
        "the subprocess's first ticks",
        lambda: all(_q_requests(soak, inc, p) >= 1 for p in PROVIDERS) and not soak.in_flight(),
        40,
        every=0.02,
    )
    target = PROVIDERS[soak.rng.randrange(3)]
    held = soak.chaos.upstream(
        QUEUE_RE[target].pattern, "latency", "upstream slow answer", seconds=3.0, count=1
    )
    await wait_until("the held scheduler read", lambda: held.hits >= 1, 30, every=0.02)
    return "SIGKILL mid-tick"
