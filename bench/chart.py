"""The 7-day capacity chart at 500 accounts, as /capacity history makes it: read from the store,
then drawn, on SQLite and on PostgreSQL.

The worst case for one provider and 7 days: every account's running count a random walk that
moves at most 15-minute buckets, stored as the roll-up leaves it (a bucket row where an
account's values changed, the provider's total every bucket) and the days rolled up from them
by the store's own `compact_history`. Timed, after one warm-up (matplotlib's import and font
cache): `query.capacity_history` (the database ranks the accounts by job-seconds on the days,
then the 8 busiest and the totals are read) and `chart.capacity_png` (drawing, PNG encoding) in
a worker thread, as `render` runs it. `chart_7d_ms` is the slower backend's; each backend's,
with its read and draw apart, is in the details.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.history import Sample

ACCOUNTS = 500
DAYS = 7
BUCKET = timedelta(minutes=15)
MAX_JOBS = 5
PROVIDER = "pixverse"


def samples(accounts: int = ACCOUNTS, days: int = DAYS, *, seed: int = 1) -> list[Sample]:
    """Per account a random walk of running jobs, and the provider's total, every bucket."""
    rng = random.Random(seed)
    until = datetime(2026, 11, 30, tzinfo=UTC)
    since = until - timedelta(days=days)
    steps = int((until - since) / BUCKET)
    out: list[Sample] = []
    running = [rng.randint(0, MAX_JOBS) for _ in range(accounts)]
    for step in range(steps):
        at = since + step * BUCKET
        for i in range(accounts):
            running[i] = min(MAX_JOBS, max(0, running[i] + rng.choice((-1, 0, 0, 1))))
            full = running[i] >= MAX_JOBS
            out.append(
                Sample(
                    PROVIDER,
                    f"account{i:03}@example.com",
                    at,
                    running[i],
                    MAX_JOBS,
                    MAX_JOBS - running[i],
                    full,
                    BUCKET.total_seconds() if full else 0.0,
                )
            )
        used = sum(running)
        out.append(
            Sample(
                PROVIDER,
                None,
                at,
                used,
                MAX_JOBS * accounts,
                MAX_JOBS * accounts - used,
                used >= MAX_JOBS * accounts,
            )
        )
    return out


async def _stored(url: str, data: list[Sample]) -> int:
    """`data` into the database at `url` as the roll-up leaves buckets (an account's row only
    where it changed), then the days rolled up; the bucket rows written."""
    from bot.store import Store
    from bot.store.history import BUCKET as STEP
    from bot.store.history import TOTAL, sample_row, upsert_samples

    rows: list[dict[str, Any]] = []
    last: dict[str, tuple[Any, ...]] = {}
    for s in data:
        values = (s.running, s.max_jobs, s.free, int(s.exhausted), s.full_seconds)
        account = TOTAL if s.account is None else s.account
        if account != TOTAL and last.get(account) == values:
            continue
        last[account] = values
        rows.append(sample_row(s.provider, STEP, account, s.at, values))
    store = await Store.open(url)
    try:
        for i in range(0, len(rows), 5000):
            async with store.engine.begin() as conn:
                await upsert_samples(conn, rows[i : i + 5000])
        await store.compact_history(PROVIDER, now=data[-1].at + BUCKET, keep=timedelta(days=60))
    finally:
        await store.close()
    return len(rows)


async def _timed(url: str, since: datetime, until: datetime, runs: int) -> dict[str, Any]:
    from bot.history import chart, query
    from bot.store import Store

    store = await Store.open(url)
    reads, draws, totals, cpu = [], [], [], []
    try:
        for n in range(runs + 1):  # the first: the warm-up
            started, started_cpu = time.perf_counter(), time.process_time()
            history = await query.capacity_history(
                store, since=since, until=until, provider=PROVIDER, now=until
            )
            read = time.perf_counter()
            png = await asyncio.to_thread(chart.capacity_png, history, title="PixVerse")
            done = time.perf_counter()
            if n:
                reads.append((read - started) * 1000)
                draws.append((done - read) * 1000)
                totals.append((done - started) * 1000)
                cpu.append((time.process_time() - started_cpu) * 1000)
    finally:
        await store.close()
    return {
        "p50": round(statistics.median(totals), 1),
        "max": round(max(totals), 1),
        "cpu_p50": round(statistics.median(cpu), 1),
        "read_p50": round(statistics.median(reads), 1),
        "draw_p50": round(statistics.median(draws), 1),
        "samples_drawn": len(history.samples),
        "accounts_drawn": len(history.accounts),
        "others": history.others,
        "png_bytes": len(png),
    }


def run(*, quick: bool = False, accounts: int = ACCOUNTS, days: int = DAYS) -> dict[str, Any]:
    from bench.history_size import databases

    data = samples(accounts, days)
    until = data[-1].at + BUCKET
    since = until - timedelta(days=days)
    found: dict[str, dict[str, Any]] = {}
    stored = 0
    with databases() as urls:
        for backend, url in urls.items():
            stored = asyncio.run(_stored(url, data))
            found[backend] = asyncio.run(_timed(url, since, until, 3 if quick else 7))
    worst = max(found.values(), key=lambda f: f["p50"])
    return {
        # wall time, read and draw; `cpu_p50` is the CPU this process spent (what other load
        # on a shared machine does not inflate; PostgreSQL's own work is not in it)
        "chart_7d_ms": {k: worst[k] for k in ("p50", "max", "cpu_p50")},
        "_chart": {
            "accounts": accounts,
            "days": days,
            "samples": len(data),
            "bucket_rows": stored,
            "runs": 3 if quick else 7,
            **found,
        },
    }
