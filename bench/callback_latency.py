"""Alert latency via a replyUrl callback: from the simulator's callback POST to the alert about
that job arriving at the fake Discord, with POLL_INTERVAL_SECONDS=60 and the bot's own loops
running (real clock), so no tick can be what posted it.

Jobs end at random moments over the window; each end makes the simulator POST the job's body
to the bot's receiver (`bot.sim.callbacks`, its send time `time.monotonic()`); the arrival is
when the fake's handler received the `POST /channels/{id}/messages` naming the job (the same
clock). Also the receiver's own answer time (the 202), which must not wait for the re-read.
"""

from __future__ import annotations

import asyncio
import random
import secrets
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.alert_latency import _wait_first_ticks, arrivals
from bench.common import SIM_TOKEN, p50_p99, running_bot
from bot.settings import DEFAULT_PROVIDERS
from bot.sim import Simulator
from bot.sim.callbacks import CallbackSender
from rig.process import free_port

INTERVAL_S = 60.0
OUTCOMES = ("completed", "failed", "moderated")


async def measure(
    *, samples: int = 60, window_s: float = 20.0, seed: int = 5, jobs: int = 90, accounts: int = 15
) -> dict[str, Any]:
    sim = Simulator(
        seed=seed,
        accounts=accounts,
        jobs=jobs,
        token=SIM_TOKEN,
        churn=False,
        providers=DEFAULT_PROVIDERS,  # the providers the bot loads by default
    )
    rng = random.Random(seed)
    port, secret = free_port(), secrets.token_urlsafe(32)
    url = f"http://127.0.0.1:{port}/hooks/useapi/{secret}"
    with tempfile.TemporaryDirectory(prefix="opsbot-bench-") as tmp:
        async with running_bot(
            sim,
            Path(tmp),
            poll_interval=INTERVAL_S,
            manual_ticks=False,
            http_port=port,
            reply_secret=secret,
        ) as rig:
            await _wait_first_ticks(rig)  # the bot has seen every job running
            victims = rng.sample(sim.running(), min(samples, len(sim.running())))
            offsets = sorted(rng.uniform(0, window_s) for _ in victims)
            start = rig.fake.mark()
            async with CallbackSender(sim, url) as sender:
                t_base = time.monotonic()
                for job, offset in zip(victims, offsets, strict=True):
                    await asyncio.sleep(max(0.0, t_base + offset - time.monotonic()))
                    sim.finish_job(job.id, rng.choice(OUTCOMES))
                await sender.idle()
                sent = {s.job_id: s for s in sender.sent}
                arrived = await arrivals(rig, sent, start=start, within=10, every=0.05)
            # the start-up tick of each provider only: no poll posted these alerts
            ticks = sum(w.state.ticks for w in rig.bot.watchers.values())
    latency_ms = [(arrived[j] - sent[j].at) * 1000 for j in sent if j in arrived]
    answer_ms = [s.seconds * 1000 for s in sent.values() if s.status is not None]
    return {
        "callback_alert_latency_ms": {
            **p50_p99(latency_ms),
            "max": round(max(latency_ms), 1),
        }
        if latency_ms
        else {"p50": None, "p99": None, "max": None},
        "_callbacks": {
            "sent": len(sent),
            "answered_202": sum(1 for s in sent.values() if s.status == 202),
            "alerted": len(arrived),
            "interval_s": INTERVAL_S,
            "ticks_during_run": ticks,
            "answer_ms": p50_p99(answer_ms) if answer_ms else None,
        },
    }


def run(*, quick: bool = False) -> dict[str, Any]:
    if quick:
        return asyncio.run(measure(samples=10, window_s=5.0))
    return asyncio.run(measure())
