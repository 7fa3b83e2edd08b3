"""History size: rows and bytes the history (`bot.store.history`) writes per day at 500
accounts, on SQLite and on PostgreSQL.

A simulated day of 1-minute ticks goes through the store as the watcher writes it: each tick
`Store.commit_tick` with the snapshot (500 accounts of 3 slots) and the jobs that finished,
and every 5 minutes `Store.compact_history` (the roll-up into 15-minute buckets and days).
The load is the issue's steady one: `ENDS_PER_MINUTE` jobs end and as many start each
minute, on random accounts (seeded). After an hour's warm-up (the first tick writes every
account), the rows each table gains are counted; their bytes follow from the bytes per row of
all rows stored (SQLite: `dbstat`, the table and its indexes; PostgreSQL:
`pg_total_relation_size`), and so does what the retention keeps at steady state: 2 days of
points, `HISTORY_DAYS` of buckets, days and finished jobs. The upper bound, every account
changing every minute, is worked out from the measured bytes per row (`busy_rows`,
`busy_bytes`).
"""

from __future__ import annotations

import asyncio
import random
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text

from bot.history import Finished
from bot.models import Account, Snapshot
from bot.store import Store
from bot.store.history import BUCKET, DAY, MINUTE, POINTS_KEEP
from bot.store.schema import history_finished_table, history_samples_table

ACCOUNTS = 500
SLOTS = 3
ENDS_PER_MINUTE = 3
HISTORY_DAYS = 60
#: Ticks before counting: the first writes every account, and the first buckets too.
WARM_UP_HOURS = 1
T0 = datetime(2026, 1, 1, tzinfo=UTC)
TABLES = ("history_samples", "history_finished")


async def simulate(
    url: str,
    *,
    hours: float,
    accounts_n: int = ACCOUNTS,
    warm_up_hours: float = WARM_UP_HOURS,
    seed: int = 14,
) -> dict[str, Any]:
    """`hours` of ticks (after `warm_up_hours`) into the database at `url`; rows and bytes
    per day."""
    rng = random.Random(seed)
    store = await Store.open(url)
    try:
        accounts = [
            Account(f"acc{n:03}@example.com", SLOTS, rng.randint(0, SLOTS), None)
            for n in range(accounts_n)
        ]
        job = 0
        warm = round(warm_up_hours * 60)
        minutes = warm + round(hours * 60)
        before: dict[str, int] = {}
        for m in range(minutes):
            if m == warm:
                before = await _rows(store)
            now = T0 + timedelta(minutes=m)
            done: list[Finished] = []
            for _ in range(ENDS_PER_MINUTE):
                busy = [i for i, a in enumerate(accounts) if a.executing > 0]
                i = rng.choice(busy)
                accounts[i] = replace(accounts[i], executing=accounts[i].executing - 1)
                job += 1
                done.append(
                    Finished(
                        "pixverse",
                        f"user:1-pixverse:{accounts[i].account}-video:{job}",
                        accounts[i].account,
                        "video",
                        "v4.5",
                        rng.choice(("completed", "completed", "completed", "failed")),
                        rng.uniform(30, 600),
                        "poll",
                        now,
                    )
                )
                free = [k for k, a in enumerate(accounts) if a.executing < SLOTS]
                k = rng.choice(free)
                accounts[k] = replace(accounts[k], executing=accounts[k].executing + 1)
            snapshot = Snapshot("pixverse", now, (), tuple(accounts))
            await store.commit_tick(
                "pixverse", now=now, batch=f"b{m}", snapshot=snapshot, finished=done
            )
            if m % 5 == 0:
                await store.compact_history("pixverse", now=now, keep=timedelta(days=HISTORY_DAYS))
        return await _measure(store, before, days=hours / 24, accounts_n=accounts_n)
    finally:
        await store.close()


async def _rows(store: Store) -> dict[str, int]:
    """Rows of the history now: `points`, `buckets`, `days`, `finished`."""
    t = history_samples_table.c
    async with store.engine.connect() as conn:
        steps: dict[int, int] = {
            int(step): int(n)
            for step, n in await conn.execute(select(t.step, func.count()).group_by(t.step))
        }
        finished = (
            await conn.execute(select(func.count()).select_from(history_finished_table))
        ).scalar_one()
    return {
        "points": steps.get(MINUTE, 0),
        "buckets": steps.get(BUCKET, 0),
        "days": steps.get(DAY, 0),
        "finished": finished,
    }


async def _measure(
    store: Store, before: dict[str, int], *, days: float, accounts_n: int
) -> dict[str, Any]:
    """Rows written per day since `before` (after the warm-up), their bytes by the bytes per
    row of all rows stored, and what the retention keeps."""
    now = await _rows(store)
    async with store.engine.connect() as conn:
        size = await _bytes(conn, store.dialect)
    sample_rows = now["points"] + now["buckets"] + now["days"]
    points = now["points"] - before["points"]
    buckets = now["buckets"] - before["buckets"]
    days_rows = now["days"] - before["days"]
    finished = now["finished"] - before["finished"]
    per_sample = size["history_samples"] / sample_rows if sample_rows else 0.0
    per_finished = size["history_finished"] / now["finished"] if now["finished"] else 0.0
    day = {
        "points": round(points / days),
        "buckets": round(buckets / days),
        "days": round(days_rows / days),
        "finished": round(finished / days),
    }
    kept = (
        day["points"] * POINTS_KEEP.days * per_sample
        + ((day["buckets"] + day["days"]) * per_sample + day["finished"] * per_finished)
        * HISTORY_DAYS
    )
    busy_rows = (1440 + 96 + 1) * (accounts_n + 1)
    return {
        "rows": sum(day.values()),
        "bytes": round(
            points / days * per_sample
            + (buckets + days_rows) / days * per_sample
            + finished / days * per_finished
        ),
        **day,
        "bytes_per_sample_row": round(per_sample, 1),
        "bytes_per_finished_row": round(per_finished, 1),
        "kept_mb": round(kept / 2**20, 1),
        "busy_rows": busy_rows,
        "busy_bytes": round(busy_rows * per_sample),
    }


async def _bytes(conn: Any, dialect: str) -> dict[str, int]:
    """Bytes on disk of each history table with its indexes."""
    out: dict[str, int] = {}
    for table in TABLES:
        if dialect == "sqlite":
            q = text(
                "SELECT COALESCE(SUM(pgsize), 0) FROM dbstat WHERE name = :t "
                "OR name IN (SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = :t)"
            )
        else:
            await conn.execute(text(f"ANALYZE {table}"))
            q = text("SELECT pg_total_relation_size(:t)")
        out[table] = int((await conn.execute(q, {"t": table})).scalar_one())
    return out


@contextmanager
def databases() -> Iterator[dict[str, str]]:
    """A SQLite file, and a PostgreSQL database where the test server answers."""
    from rig.store import pg_database, pg_unreachable

    with tempfile.TemporaryDirectory(prefix="opsbot-history-") as tmp:
        urls = {"sqlite": f"sqlite+aiosqlite:///{Path(tmp) / 'history.db'}"}
        if pg_unreachable() is not None:
            yield urls
            return
        with pg_database() as pg:
            urls["postgresql"] = pg
            yield urls


def run(*, quick: bool = False) -> dict[str, Any]:
    """`history_rows_per_day` and `history_bytes_per_day` per backend, details apart."""
    hours = 6 if quick else 24
    found: dict[str, dict[str, Any]] = {}
    with databases() as urls:
        for backend, url in urls.items():
            found[backend] = asyncio.run(simulate(url, hours=hours))
    return {
        "history_rows_per_day": {b: f["rows"] for b, f in found.items()},
        "history_bytes_per_day": {b: f["bytes"] for b, f in found.items()},
        "_history": {
            "accounts": ACCOUNTS,
            "ends_per_minute": ENDS_PER_MINUTE,
            "simulated_hours": hours,
            "history_days": HISTORY_DAYS,
            **found,
        },
    }
