"""What /stats, /capacity history, `opsbot history` and the digest read from the store: one
place that knows which records each figure needs."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot.history import stats
from bot.history.records import CapacityHistory
from bot.store.history import BUCKET, DAY, MINUTE

#: The longest period whose accounts are ranked from the 15-minute buckets on (longer: the days).
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
    (job-seconds run in the period, `ranked`) and how many others it had, the totals then at
    the accounts' resolution (the others line is the total less the accounts drawn, instant by
    instant). Only the providers in `providers`, when given. `now` decides the resolution
    (`Store.samples`).

    Only the accounts drawn are read, so a week of 500 accounts sends a few thousand rows,
    not a third of a million samples."""
    if provider is None or per_account is False:
        totals = await store.samples(since=since, until=until, provider=provider, now=now)
        return CapacityHistory(
            since, until, tuple(s for s in totals if providers is None or s.provider in providers)
        )
    ranked = await ranked_accounts(store, provider, since=since, until=until)
    shown = [a for a, _ in (ranked if len(ranked) <= top + 1 else ranked[:top])]
    samples = await store.samples(
        since=since,
        until=until,
        provider=provider,
        per_account=True,
        now=now,  # (the points within 2 days: the few accounts drawn, a minute apart)
        accounts=shown,
    )
    return CapacityHistory(
        since,
        until,
        tuple(s for s in samples if providers is None or s.provider in providers),
        accounts=tuple(shown),
        others=len(ranked) - len(shown),
    )


async def ranked_accounts(
    store: Store, provider: str, *, since: datetime, until: datetime
) -> list[tuple[str, float]]:
    """The accounts of `provider` seen in [since, until) with the job-seconds they ran there,
    busiest first (ties by name), summed by the database: on the days the day rows cover (for
    a period longer than a day), then on the quarter hours the buckets cover, then on the
    minute points to `until` — so an account that came after the last completed day or
    quarter hour is ranked too."""
    tiers = (BUCKET, MINUTE) if until - since <= RANK_BUCKETS_MAX else (DAY, BUCKET, MINUTE)
    use: dict[str, float] = {}
    start = since
    for step in tiers:
        covered = until if step == MINUTE else await store.history_covered(provider, step)
        end = min(until, covered) if covered is not None else start
        if end <= start:
            continue
        for account, seconds in await store.account_use(
            provider, since=start, until=end, step=step
        ):
            use[account] = use.get(account, 0.0) + seconds
        start = end
    return sorted(use.items(), key=lambda x: (-x[1], x[0]))


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
