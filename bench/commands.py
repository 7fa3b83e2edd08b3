"""Command latency: from the fake Discord sending INTERACTION_CREATE to it receiving the
interaction callback, for /queue and /capacity (every provider), with 1,000 running jobs.

* cached: the watcher has just ticked, so the answer comes from memory (type 4);
* stale + slow: the cache is older than one poll interval and the simulator adds 2 s to every
  upstream request; the bot must defer (type 5) within Discord's 3 s, then answer.

Both times are `time.monotonic()` in this process: taken just before `FakeDiscord.invoke`
dispatches the interaction, and when the callback request reached the fake's handler.
"""

from __future__ import annotations

import asyncio
import random
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench.common import SIM_TOKEN, p50_p99, running_bot
from bot.sim import Simulator
from rig.botharness import Harness
from rig.fakediscord import CALLBACK_ROUTE, FakeDiscord, RecordedRequest

COMMANDS = ("queue", "capacity")
DEADLINE_S = 3.0
UPSTREAM_LATENCY_S = 2.0


def _callback_of(fake: FakeDiscord, token: str, start: int) -> RecordedRequest | None:
    """The recorded callback request of the interaction with `token`."""
    for rec in reversed(fake.requests[start:]):
        if rec.route == CALLBACK_ROUTE and rec.params.get("token") == token:
            return rec
    return None


async def _invoke(rig: Harness, name: str) -> tuple[float, int, str]:
    """Invoke /`name`; returns (callback latency in ms, callback type, interaction token)."""
    start = rig.fake.mark()
    t0 = time.monotonic()
    inter = await rig.fake.invoke(name, {})
    await rig.fake.wait_for_interaction_response(inter, timeout=30)
    rec = _callback_of(rig.fake, inter.token, start)
    assert rec is not None and inter.callback is not None
    return (rec.time - t0) * 1000, int(inter.callback.get("type", 0)), inter.token


async def _final_answer(rig: Harness, token: str, start: int, wait_s: float = 20) -> float:
    """When the answer after a defer (edit of the original or a followup) reached the fake."""

    def done(r: RecordedRequest) -> bool:
        return (
            r.params.get("token") == token
            and r.method in ("PATCH", "POST")
            and r.path.startswith("/webhooks/")
            and 200 <= (r.status or 0) < 300
        )

    rec = await rig.fake.wait_for(done, wait_s, start=start)
    return rec.time


async def cached(rig: Harness, name: str, n: int) -> list[float]:
    await rig.tick()
    out: list[float] = []
    for _ in range(n):
        ms, kind, _token = await _invoke(rig, name)
        if kind != 4:
            raise RuntimeError(f"/{name} from cache answered with callback type {kind}")
        out.append(ms)
        await asyncio.sleep(0.01)  # let the reply's own follow-up requests finish
    return out


async def stale_slow(
    rig: Harness, name: str, n: int, latency_s: float = UPSTREAM_LATENCY_S
) -> list[dict[str, Any]]:
    """`n` invocations with a stale cache and `latency_s` added to every upstream request."""
    faults = [rig.sim.faults.set(p, "latency", seconds=latency_s) for p in rig.sim.providers]
    out: list[dict[str, Any]] = []
    try:
        for _ in range(n):
            for w in rig.bot.watchers.values():  # older than one poll interval
                if w.state.fetched_at is not None:
                    w.state.fetched_at -= timedelta(days=1)
            start = rig.fake.mark()
            t0 = time.monotonic()
            ms, kind, token = await _invoke(rig, name)
            answered = await _final_answer(rig, token, start)
            out.append({"callback_ms": ms, "type": kind, "answer_s": answered - t0})
    finally:
        for f in faults:
            rig.sim.faults.remove(f.id)
    return out


async def measure(
    *,
    n: int = 200,
    n_stale: int = 3,
    jobs: int = 1_000,
    accounts: int = 100,
    seed: int = 11,
    latency_s: float = UPSTREAM_LATENCY_S,
) -> dict[str, Any]:
    sim = Simulator(seed=seed, accounts=accounts, jobs=jobs, token=SIM_TOKEN, churn=False)
    with tempfile.TemporaryDirectory(prefix="opsbot-bench-") as tmp:
        async with running_bot(sim, Path(tmp)) as rig:
            for name in COMMANDS:  # warm-up: first-call costs are not the steady state
                await cached(rig, name, 3)
            cached_ms = {name: await cached(rig, name, n) for name in COMMANDS}
            stale = {name: await stale_slow(rig, name, n_stale, latency_s) for name in COMMANDS}
    rows = [r for name in COMMANDS for r in stale[name]]
    return {
        "queue_cached_ms": p50_p99(cached_ms["queue"]),
        "capacity_cached_ms": p50_p99(cached_ms["capacity"]),
        "stale_slow_upstream_answered_in_time": all(
            r["type"] == 5 and r["callback_ms"] < DEADLINE_S * 1000 for r in rows
        ),
        "stale_slow_callback_ms": {
            **p50_p99([r["callback_ms"] for r in rows]),
            "max": round(max(r["callback_ms"] for r in rows), 2),
        },
        "stale_slow_answer_s": p50_p99([r["answer_s"] for r in rows]),
        "_samples": {"cached": n, "stale": len(rows), "jobs": jobs, "accounts": accounts},
    }


def run(*, quick: bool = False) -> dict[str, Any]:
    random.seed(0)
    return asyncio.run(measure(n=20 if quick else 200, n_stale=1 if quick else 3))
