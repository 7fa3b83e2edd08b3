"""A static useapi simulator (churn off, real clock) as a process of its own, for benchmarks
that must not count the simulator's work as the bot's. Prints `useapi simulator listening on
URL …` once serving. Usage: python -m bench.simproc --jobs N --accounts N [--seed N]"""

from __future__ import annotations

import argparse
import asyncio
import contextlib

from bot.sim import serve


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, required=True)
    parser.add_argument("--accounts", type=int, required=True)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--token", default="sim-token")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(
            serve(
                "127.0.0.1",
                args.port,
                seed=args.seed,
                accounts=args.accounts,
                jobs=args.jobs,
                token=args.token,
                churn=False,
            )
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
