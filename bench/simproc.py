"""A static useapi simulator (churn off, real clock) as a process of its own, for benchmarks
that must not count the simulator's work as the bot's. Prints `useapi simulator listening on
URL …` once serving. Usage: python -m bench.simproc --jobs N --accounts N [--seed N]
[--turnover N]

`--turnover N`: each time the PixVerse queue is read (once per watcher tick: it is the first
provider a tick polls), N running jobs picked at random finish (`completed`) and N new ones
start on the same accounts, so that a steady tick sees N jobs end and N start, as a busy
team's does, instead of nothing at all."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import random

from aiohttp import web

from bot.sim import SimServer, Simulator

#: The request that marks a tick of the bench (see the module docstring).
TICK_MARK = "/v2/pixverse/scheduler/"


class TurnoverServer(SimServer):
    """A `SimServer` that ends `turnover` jobs and starts as many at each tick mark."""

    def __init__(self, sim: Simulator, turnover: int, seed: int) -> None:
        super().__init__(sim, "127.0.0.1", 0)
        self.turnover = turnover
        self._rng = random.Random(f"{seed}:turnover")

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if self.turnover and request.method == "GET" and request.path == TICK_MARK:
            running = self.sim.running()
            for job in self._rng.sample(running, min(self.turnover, len(running))):
                self.sim.finish_job(job.id)
                self.sim.start_job(job.provider, job.account, duration=math.inf)
        return await super()._handle(request)


async def serve(*, seed: int, accounts: int, jobs: int, token: str, turnover: int) -> None:
    sim = Simulator(seed=seed, accounts=accounts, jobs=jobs, token=token, churn=False)
    async with TurnoverServer(sim, turnover, seed) as server:
        print(
            f"useapi simulator listening on {server.url} ({accounts} accounts, {jobs} jobs, "
            f"turnover {turnover} per tick)",
            flush=True,
        )
        await asyncio.Event().wait()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, required=True)
    parser.add_argument("--accounts", type=int, required=True)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--token", default="sim-token")
    parser.add_argument("--turnover", type=int, default=0)
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(
            serve(
                seed=args.seed,
                accounts=args.accounts,
                jobs=args.jobs,
                token=args.token,
                turnover=args.turnover,
            )
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
