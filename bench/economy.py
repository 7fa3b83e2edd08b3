"""Upstream economy: useapi requests per tick (every simulated provider) with 500 running jobs
across 50 accounts in steady state, opsbot's watcher against a naive poller, side by side.

Each round first changes the world the same way for both – a few jobs end (`FINISH_PER_TICK`,
random providers and outcomes) and as many new ones start – then runs one opsbot tick per
provider, then one naive poll. Requests are counted at the simulator (its request log), so
retries and capacity calls count too. The naive poller is what a bot without a queue diff
does: per provider, fetch the scheduler list, then ask each listed job's endpoint for its
status (`naive_poll` below).

The account checks are on, as in the bot: an `AccountChecker` checks once per
ACCOUNT_CHECK_MINUTES (15) of the simulator's clock through one simulated hour, and the
requests that hour costs are read from the same request log (`account_checks_per_hour`);
spread over the hour's ticks they are part of opsbot's figure the goal is judged on.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import tempfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
from pydantic import SecretStr

from bench.common import SIM_TOKEN
from bot import providers
from bot.accounts.check import AccountChecker, CheckConfig
from bot.settings import DEFAULT_PROVIDERS
from bot.sim import ManualClock, SimServer, Simulator
from bot.store import Store
from bot.useapi import UseapiClient
from bot.watch import ProviderWatcher, WatchConfig

FINISH_PER_TICK = 3
#: The bot's defaults: ACCOUNT_CHECK_MINUTES, POLL_INTERVAL_SECONDS.
CHECK_MINUTES = 15
POLL_SECONDS = 30
OUTCOMES = ("completed", "failed", "cancelled")

#: The naive poller's endpoints: (scheduler list, one job's status).
NAIVE_PATHS: dict[str, tuple[str, str]] = {
    "pixverse": ("/v2/pixverse/scheduler/", "/v2/pixverse/videos/{id}"),
    "minimax": ("/v1/minimax/scheduler/", "/v1/minimax/videos/{id}"),
    "dreamina": ("/v1/dreamina/scheduler", "/v1/dreamina/videos/{id}"),
    "mureka": ("/v1/mureka/jobs", "/v1/mureka/jobs/{id}"),
    "kling": ("/v1/kling/scheduler", "/v1/kling/tasks/{id}"),
    "runway": ("/v1/runwayml/scheduler/", "/v1/runwayml/tasks/{id}"),
}


def _ids(body: Any) -> Iterator[str]:
    """Job ids anywhere in a scheduler body (`id`, `videoId`, `imageId`, `jobid`, `taskId`;
    Kling's are numbers)."""
    if isinstance(body, list):
        for v in body:
            yield from _ids(v)
    elif isinstance(body, dict):
        for k, v in body.items():
            if k in ("id", "videoId", "imageId", "jobid", "taskId") and isinstance(v, str | int):
                yield str(v)
            elif isinstance(v, dict | list):
                yield from _ids(v)


async def naive_poll(http: httpx.AsyncClient, names: tuple[str, ...]) -> None:
    """The baseline: every running job's status, every tick."""
    sem = asyncio.Semaphore(20)

    async def get(path: str) -> None:
        async with sem:
            await http.get(path)

    for name in names:
        queue, job = NAIVE_PATHS[name]
        body = (await http.get(queue)).json()
        await asyncio.gather(*(get(job.format(id=quote(i, safe=""))) for i in _ids(body)))


def _churn(sim: Simulator, rng: random.Random, n: int) -> None:
    """`n` jobs end and as many start in their place (new ones never end by themselves)."""
    for job in rng.sample(sim.running(), n):
        sim.finish_job(job.id, rng.choice(OUTCOMES))
        sim.start_job(job.provider, job.account, job.kind, float("inf"))


async def measure(
    *,
    rounds: int = 10,
    jobs: int = 500,
    accounts: int = 50,
    seed: int = 5,
    names: tuple[str, ...] = DEFAULT_PROVIDERS,
) -> dict[str, Any]:
    """The economy of watching `names` (the bot's default `PROVIDERS`, unless told)."""
    clock = ManualClock()
    sim = Simulator(
        seed=seed,
        accounts=accounts,
        jobs=jobs,
        token=SIM_TOKEN,
        clock=clock,
        churn=False,
        providers=names,
    )
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory(prefix="opsbot-bench-") as tmp:
        async with (
            SimServer(sim) as server,
            UseapiClient(server.url, SecretStr(SIM_TOKEN)) as client,
            httpx.AsyncClient(
                base_url=server.url, timeout=30, headers={"Authorization": f"Bearer {SIM_TOKEN}"}
            ) as http,
        ):
            store = await Store.open(f"sqlite+aiosqlite:///{Path(tmp) / 'economy.db'}")
            try:
                config = WatchConfig(stuck_after=timedelta(hours=6), poll_interval=POLL_SECONDS)
                watchers = [
                    ProviderWatcher(providers.load(name)(client), store, config, clock=clock)
                    for name in sim.providers
                ]
                ours, naive = await _rounds(sim, rng, watchers, http, clock, rounds)
                checks = await _account_checks_hour(sim, client, watchers, store, clock)
            finally:
                await store.close()
    mean_ours, mean_naive = statistics.mean(ours), statistics.mean(naive)
    per_tick = checks / (3600 / POLL_SECONDS)
    return {
        "upstream_calls_per_tick": {
            "opsbot": round(mean_ours, 1),
            "naive": round(mean_naive, 1),
            "ratio": round(mean_naive / (mean_ours + per_tick), 1),
            "account_checks": round(per_tick, 2),
        },
        "account_checks_per_hour": {
            "requests": checks,
            "providers": len(sim.providers),
            "minutes": CHECK_MINUTES,
        },
        "_economy": {
            "rounds": rounds,
            "jobs": jobs,
            "accounts": accounts,
            "finishing_per_tick": FINISH_PER_TICK,
            "opsbot_per_round": ours,
        },
    }


async def _rounds(
    sim: Simulator,
    rng: random.Random,
    watchers: list[ProviderWatcher],
    http: httpx.AsyncClient,
    clock: ManualClock,
    rounds: int,
) -> tuple[list[int], list[int]]:
    """Requests per round: opsbot's ticks, and the naive poll, after the same churn."""
    ours: list[int] = []
    naive: list[int] = []
    for _ in range(2):  # warm-up: the first tick has nothing to diff against
        for w in watchers:
            await w.tick()
        clock.advance(POLL_SECONDS)
    for _ in range(rounds):
        _churn(sim, rng, FINISH_PER_TICK)
        before = len(sim.requests)
        for w in watchers:
            report = await w.tick()
            if report.error:
                raise RuntimeError(f"tick failed: {report.error}")
        ours.append(len(sim.requests) - before)
        before = len(sim.requests)
        await naive_poll(http, sim.providers)
        naive.append(len(sim.requests) - before)
        clock.advance(POLL_SECONDS)
    return ours, naive


async def _account_checks_hour(
    sim: Simulator,
    client: UseapiClient,
    watchers: list[ProviderWatcher],
    store: Store,
    clock: ManualClock,
) -> int:
    """Requests the account checks make in one simulated hour, from the request log."""
    enabled = {w.name: w.provider for w in watchers}
    config = CheckConfig(interval=timedelta(minutes=CHECK_MINUTES), warn=timedelta(days=3))
    checker = AccountChecker(client, lambda: enabled, store, config, clock=clock)
    before = len(sim.requests)
    for _ in range(60 // CHECK_MINUTES):
        report = await checker.check()
        if report.error or report.failures:
            raise RuntimeError(f"account check failed: {report.error or report.failures}")
        clock.advance(CHECK_MINUTES * 60)
    return len(sim.requests) - before


def run(*, quick: bool = False) -> dict[str, Any]:
    """The goal is judged with the bot's default providers; the same load spread over every
    provider opsbot knows is reported beside it (each provider costs its fixed requests a tick
    while the naive poller's cost stays one a job)."""
    rounds = 2 if quick else 8
    doc = asyncio.run(measure(rounds=rounds))
    every = asyncio.run(measure(rounds=rounds, names=tuple(providers.known())))
    doc["upstream_calls_per_tick_all_providers"] = {
        **every["upstream_calls_per_tick"],
        "providers": len(providers.known()),
    }
    return doc
