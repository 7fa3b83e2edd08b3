"""Alert latency: from the simulator ending a job to the alert about it arriving at the fake
Discord, with POLL_INTERVAL_SECONDS=5 and the bot's own tick loops running (real clock).

Job ends are scheduled at random moments (uniform over the window, so at random phases of
the tick). Each end is `Simulator.finish_job` at that moment; the arrival is when the fake's
handler received the `POST /channels/{id}/messages` whose embeds name the job. Both are
`time.monotonic()` in this process. Figures are latency / poll interval; the goal, one tick
plus 1 s, is (5 + 1) / 5 = 1.2 (the watcher's ±10 % jitter makes a tick at most 5.5 s).
"""

from __future__ import annotations

import asyncio
import random
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from bench.common import SIM_TOKEN, p50_p99, running_bot
from bot.settings import DEFAULT_PROVIDERS
from bot.sim import Simulator
from rig.botharness import Harness

INTERVAL_S = 5.0
MESSAGE_ROUTE = "POST /channels/{channel_id}/messages"
OUTCOMES = ("completed", "failed", "cancelled")


def _text(body: Any) -> str:
    """Every string in a message body, markdown escapes and zero-width spaces removed."""
    parts: list[str] = []

    def walk(v: Any) -> None:
        if isinstance(v, str):
            parts.append(v)
        elif isinstance(v, dict):
            for x in v.values():
                walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)

    walk(body)
    return "\n".join(parts).replace("\\", "")


async def _wait_first_ticks(rig: Harness) -> None:
    """Until every provider's loop has done its start-up tick."""

    def pending() -> bool:
        return any(w.state.ticks < 1 for w in rig.bot.watchers.values())

    async with asyncio.timeout(30):
        while pending():
            await rig.bot.wait_for("opsbot_tick", check=lambda *_: not pending())


async def arrivals(
    rig: Harness, job_ids: Iterable[str], *, start: int, within: float, every: float = 0.1
) -> dict[str, float]:
    """When the fake Discord received the first message naming each of `job_ids` (its
    requests from index `start` on; `time.monotonic()`), looking every `every` seconds for at
    most `within` seconds. A job missing from the answer got no alert in that time."""
    wanted = set(job_ids)
    arrived: dict[str, float] = {}
    deadline = time.monotonic() + within
    seen = start
    while len(arrived) < len(wanted) and time.monotonic() < deadline:
        await asyncio.sleep(every)
        new = rig.fake.requests[seen:]
        seen += len(new)
        for rec in new:
            if rec.route != MESSAGE_ROUTE:
                continue
            text = _text(rec.json)
            for job_id in wanted:
                if job_id not in arrived and job_id in text:
                    arrived[job_id] = rec.time
    return arrived


async def measure(
    *, samples: int = 40, window_s: float = 50.0, seed: int = 3, jobs: int = 90, accounts: int = 15
) -> dict[str, Any]:
    # The providers the bot loads by default: a job of another would never be alerted.
    sim = Simulator(
        seed=seed,
        accounts=accounts,
        jobs=jobs,
        token=SIM_TOKEN,
        churn=False,
        providers=DEFAULT_PROVIDERS,
    )
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory(prefix="opsbot-bench-") as tmp:
        async with running_bot(sim, Path(tmp), poll_interval=INTERVAL_S, manual_ticks=False) as rig:
            await _wait_first_ticks(rig)
            await asyncio.sleep(INTERVAL_S * 0.2)  # every loop is past its start-up tick
            victims = rng.sample(sim.running(), min(samples, len(sim.running())))
            offsets = sorted(rng.uniform(0, window_s) for _ in victims)
            start = rig.fake.mark()
            t_base = time.monotonic()
            ended: dict[str, float] = {}
            for job, offset in zip(victims, offsets, strict=True):
                await asyncio.sleep(max(0.0, t_base + offset - time.monotonic()))
                sim.finish_job(job.id, rng.choice(OUTCOMES))
                ended[job.id] = time.monotonic()
            arrived = await arrivals(rig, ended, start=start, within=3 * INTERVAL_S + 5)
    ratios = [(arrived[j] - ended[j]) / INTERVAL_S for j in ended if j in arrived]
    return {
        "alert_latency_over_interval": {**p50_p99(ratios), "max": round(max(ratios), 2)}
        if ratios
        else {"p50": None, "p99": None, "max": None},
        "_alerts": {"ended": len(ended), "alerted": len(arrived), "interval_s": INTERVAL_S},
    }


def run(*, quick: bool = False) -> dict[str, Any]:
    if quick:
        return asyncio.run(measure(samples=5, window_s=10.0))
    return asyncio.run(measure())
