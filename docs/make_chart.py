"""Draw docs/capacity.png, the README's chart, with the project's own parts: the simulator's
churning population (seeded), recorded by the history store tick by tick over a simulated day,
read back and drawn by the same code as `opsbot history --png` (`bot.history.cli.history`).

    .venv/bin/python docs/make_chart.py            # writes docs/capacity.png

The day: PixVerse's accounts are filled up from 06:00 to 09:30 (every account full: the
provider exhausted, shaded), MiniMax loses half its slots at 15:00.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `bot` importable from a checkout
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.history.cli import history
from bot.models import Account, Snapshot
from bot.settings import Settings
from bot.sim import ManualClock, Simulator
from bot.store import Store

PROVIDERS = ("pixverse", "minimax", "dreamina")
START = datetime(2026, 11, 29, tzinfo=UTC)
TICK = timedelta(minutes=2)
INF = float("inf")
OUT = Path(__file__).resolve().parent / "capacity.png"


def snapshot(sim: Simulator, provider: str, at: datetime) -> Snapshot:
    accounts = tuple(
        Account(
            a.account,
            max_jobs=a.max_jobs,
            executing=len(a.running),
            available=max(0, a.max_jobs - len(a.running)),
        )
        for a in sim.accounts(provider)
    )
    return Snapshot(provider=provider, taken_at=at, accounts=accounts)


async def record(db: str) -> datetime:
    clock = ManualClock(START)
    sim = Simulator(seed=3, accounts=24, jobs=60, clock=clock, providers=PROVIDERS)
    store = await Store.open(db)
    filled: list[str] = []
    try:
        at = START
        while at < START + timedelta(days=1):
            hour = (at - START) / timedelta(hours=1)
            if 6 <= hour < 9.5:  # kept full: what the churn frees is taken again at once
                for a in sim.accounts("pixverse"):
                    filled += sim.fill_account("pixverse", a.account, duration=INF)
            if hour == 9.5:
                for job in filled:
                    sim.finish_job(job, "completed")
            if hour == 15:
                for a in sim.accounts("minimax"):
                    sim.set_max_jobs("minimax", a.account, max(1, a.max_jobs // 2))
            for provider in PROVIDERS:
                await store.commit_tick(
                    provider, now=at, batch=f"{provider}:{at}", snapshot=snapshot(sim, provider, at)
                )
            at = clock.advance(TICK.total_seconds())
    finally:
        await store.close()
    return at


async def main() -> int:
    with tempfile.TemporaryDirectory(prefix="opsbot-chart-") as tmp:
        db = f"sqlite+aiosqlite:///{Path(tmp) / 'history.db'}"
        end = await record(db)
        settings = Settings(database_url=db, providers=list(PROVIDERS), _env_file=None)  # type: ignore[call-arg]
        return await history(settings, hours=24, png=str(OUT), only=None, now=end)


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
