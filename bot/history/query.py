"""What /stats, /capacity history, `opsbot history` and the digest read from the store: one
place that knows which records each figure needs."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot.history import stats
from bot.history.records import CapacityHistory
from bot.store.history import BUCKET, DAY, MINUTE

#: The longest period whose accounts are read at 1-minute resolution.
ACCOUNT_POINTS_MAX = timedelta(hours=6)
#: The longest period whose accounts are ranked on the 15-minute buckets (longer: the days).
RANK_BUCKETS_MAX = timedelta(hours=24)
#: Accounts drawn one line each in a one-provider chart; the rest are one "others" line
#: (only when it stands for at least two: one would just be a line).
TOP_ACCOUNTS = 8

if TYPE_CHECKING:
    from bot.store import Store


async def capacity_history(
    store: Store,
    *,
    since: datetime,
    until: datetime,
    provider: str | None,
    providers: Collection[str] | None = None,
    per_account: bool | None = None,
    now: datetime | None = None,
    top: int = TOP_ACCOUNTS,
) -> CapacityHistory:
    """What a capacity chart of [since, until) draws: the provider totals, and with
    `per_account` (default: when one provider is asked for) its `top` busiest accounts
    (job-seconds run in the period) and how many others it had. Only the providers in
    `providers`, when given. `now` decides the resolution (`Store.samples`).

    Only the accounts drawn are read: the ranking is summed by the database, on the coarsest
    rows that cover the period (the 15-minute buckets up to a day, else the days; finer ones
    while the coarser have none yet), so a week of 500 accounts sends a few thousand rows,
    not a third of a million samples."""
    totals = [
        s
        for s in await store.samples(since=since, until=until, provider=provider, now=now)
        if providers is None or s.provider in providers
    ]
    if provider is None or per_account is False:
        return CapacityHistory(since, until, tuple(totals))
    ranked: list[tuple[str, float]] = []
    tiers = (BUCKET, MINUTE) if until - since <= RANK_BUCKETS_MAX else (DAY, BUCKET, MINUTE)
    for step in tiers:
        ranked = await store.account_use(provider, since=since, until=until, step=step)
        if ranked:
            break
    shown = [a for a, _ in (ranked if len(ranked) <= top + 1 else ranked[:top])]
    accounts = await store.samples(
        since=since,
        until=until,
        provider=provider,
        per_account=True,
        now=now,
        # longer than a few hours, the 15-minute buckets even within 2 days: the chart is
        # a thousand pixels wide
        step=None if until - since <= ACCOUNT_POINTS_MAX else BUCKET,
        accounts=shown,
    )
    return CapacityHistory(
        since,
        until,
        (*totals, *(s for s in accounts if s.account is not None)),
        accounts=tuple(shown),
        others=len(ranked) - len(shown),
    )


async def period_stats(
    store: Store,
    *,
    since: datetime,
    until: datetime,
    providers: Sequence[str],
    now: datetime | None = None,
) -> stats.Stats:
    """The figures of [since, until) for `providers` (one provider: that one only): the jobs
    summed by the database, the hours at full capacity from the providers' totals."""
    only = providers[0] if len(providers) == 1 else None
    models = await store.model_stats(since=since, until=until, provider=only)
    samples = await store.samples(since=since, until=until, provider=only, now=now)
    return stats.summarise(
        [m for m in models if m.provider in providers],
        [s for s in samples if s.provider in providers],
        since=since,
        until=until,
        providers=providers,
    )
