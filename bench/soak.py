"""The chaos soak, long mode: the CI soak of `tests/test_soak.py` (engine: `rig/soak/`) run
for a wall-clock budget, with more SIGKILLs of `python -m bot run`, an in-process hard stop
every ~20 s, real client timeouts (upstream hanging 11 s) and Discord 5xx bursts long enough
for discord.py to give up (`--real-backoff` also sleeps through stamina's retry back-offs
in-process). Prints the counts; exits 1 if any alert was lost, invented or duplicated.

Usage: .venv/bin/python bench/soak.py --minutes 10 [--seed N] [--kills N] [--keep DIR]
          [--postgresql]
   (or .venv/bin/python -m bench.soak …)

`--postgresql`: the bots share a database of its own on the test server (`OPSBOT_TEST_PG`,
default 127.0.0.1:5432), dropped at the end, instead of a SQLite file.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--minutes",
        type=float,
        default=10.0,
        help="wall-clock minutes of the in-process phase (default 10)",
    )
    parser.add_argument("--seed", type=int, default=int(time.time()) % 100_000)
    parser.add_argument(
        "--kills", type=int, default=6, help="SIGKILLs of the subprocess bot (default 6)"
    )
    parser.add_argument(
        "--restart-every",
        type=float,
        default=20.0,
        help="seconds between in-process hard stops, on average (default 20)",
    )
    parser.add_argument("--jobs", type=int, default=150, help="running population (default 150)")
    parser.add_argument("--accounts", type=int, default=24)
    parser.add_argument(
        "--real-backoff",
        action="store_true",
        help="in-process, sleep through stamina's retry back-offs (slow: a "
        "provider that is down then costs seconds per tick)",
    )
    parser.add_argument(
        "--keep", type=Path, default=None, help="keep the run's database and logs in this directory"
    )
    parser.add_argument(
        "--postgresql",
        action="store_true",
        help="a PostgreSQL database on the test server instead of a SQLite file",
    )
    args = parser.parse_args(argv)
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from rig.soak import SoakConfig, run_soak
    from rig.store import create_pg_database, drop_pg_database, pg_unreachable

    url = None
    if args.postgresql:
        why = pg_unreachable()
        if why is not None:
            print(f"soak: --postgresql: {why}", file=sys.stderr)
            return 2
        url = create_pg_database()
    workdir = args.keep or Path(tempfile.mkdtemp(prefix="opsbot-soak-"))
    where = "PostgreSQL" if url else "SQLite"
    print(f"soak seed {args.seed}, {args.minutes:g} min, {where}, work dir {workdir}", flush=True)
    config = SoakConfig(
        database_url=url,
        seed=args.seed,
        workdir=workdir,
        minutes=args.minutes,
        kills=max(2, args.kills),
        restart_every=args.restart_every,
        fast_retries=not args.real_backoff,
        heavy_faults=True,
        jobs=args.jobs,
        accounts=args.accounts,
        upstream_rate=0.03,
        discord_rate=0.04,
        progress=lambda line: print(f"  {time.strftime('%H:%M:%S')} {line}", flush=True),
    )
    try:
        result = asyncio.run(run_soak(config))
    finally:
        if url is not None:
            drop_pg_database(url)
    print(result.report, flush=True)
    r = result.report
    bad = r.problems or r.lost or r.invented or r.duplicated or r.capacity_lost
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
