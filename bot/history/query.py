"""What /stats, /capacity history, `opsbot history` and the digest read from the store: one
place that knows which records each figure needs."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot.history import stats
from bot.history.records import Sample
from bot.store.history import POINTS_KEEP

#: The longest period whose accounts are read at 1-minute resolution.
ACCOUNT_POINTS_MAX = timedelta(hours=6)

if TYPE_CHECKING:
    from bot.store import Store


async def capacity_samples(
    store: Store,
    *,
    since: datetime,
    until: datetime,
    provider: str | None,
    per_account: bool | None = None,
    now: datetime | None = None,
) -> list[Sample]:
    """What a capacity chart needs: the provider totals, and its accounts too when
    `per_account` (default: when one provider is asked for). `now` decides the resolution
    (`Store.samples`)."""
    if per_account is None:
        per_account = provider is not None
    if not per_account or until - since <= ACCOUNT_POINTS_MAX:
        return await store.samples(
            since=since, until=until, provider=provider, per_account=per_account, now=now
        )
    # Longer per account: the totals as usual, the accounts from the 15-minute buckets even
    # within 2 days (a day of 1-minute points at 500 accounts is 720,000 samples; of buckets
    # 48,000). `Store.samples` reads buckets when `since` lies before `now` − 2 days.
    totals = await store.samples(since=since, until=until, provider=provider, now=now)
    buckets = await store.samples(
        since=since,
        until=until,
        provider=provider,
        per_account=True,
        now=max(now or until, since + POINTS_KEEP + timedelta(seconds=1)),
    )
    return [*totals, *(s for s in buckets if s.account is not None)]


async def period_stats(
    store: Store,
    *,
    since: datetime,
    until: datetime,
    providers: Sequence[str],
    now: datetime | None = None,
) -> stats.Stats:
    """The figures of [since, until) for `providers` (one provider: that one only)."""
    only = providers[0] if len(providers) == 1 else None
    finished = await store.finished(provider=only, since=since)
    samples = await store.samples(since=since, until=until, provider=only, now=now)
    return stats.compute(
        [f for f in finished if f.provider in providers],
        [s for s in samples if s.provider in providers],
        since=since,
        until=until,
        providers=providers,
    )
