"""The 7-day capacity chart at 500 accounts: from the history records to PNG bytes.

The worst case the store can hand over for one provider and 7 days: every account with a
point in every 15-minute bucket (500 × 672 samples, plus the provider's total), utilisation
moving all the time. Timed: `bot.history.chart.capacity_png` (grouping, the top accounts and
"others", drawing, PNG encoding), after one warm-up (matplotlib's import and font cache).
"""

from __future__ import annotations

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
                    "pixverse",
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
                "pixverse",
                None,
                at,
                used,
                MAX_JOBS * accounts,
                MAX_JOBS * accounts - used,
                used >= MAX_JOBS * accounts,
            )
        )
    return out


def run(*, quick: bool = False, accounts: int = ACCOUNTS, days: int = DAYS) -> dict[str, Any]:
    from bot.history import chart

    data = samples(accounts, days)
    until = data[-1].at + BUCKET
    since = until - timedelta(days=days)

    def draw() -> bytes:
        return chart.capacity_png(
            data, since=since, until=until, title="PixVerse", per_account=True
        )

    started = time.perf_counter()
    png = draw()  # warm-up: matplotlib's import, its font cache
    first_ms = (time.perf_counter() - started) * 1000
    times, cpu = [], []
    for _ in range(3 if quick else 7):
        started, started_cpu = time.perf_counter(), time.process_time()
        draw()
        times.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
    return {
        # wall time; `cpu_p50` is the CPU the process spent (what other load on a shared
        # machine does not inflate)
        "chart_7d_ms": {
            "p50": round(statistics.median(times), 1),
            "max": round(max(times), 1),
            "cpu_p50": round(statistics.median(cpu), 1),
        },
        "_chart": {
            "accounts": accounts,
            "days": days,
            "samples": len(data),
            "runs": len(times),
            "first_ms": round(first_ms, 1),
            "png_bytes": len(png),
        },
    }
