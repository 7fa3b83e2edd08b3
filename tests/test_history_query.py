"""What the views read from the history store (`bot.history.query`), on both backends: a
chart's samples at the resolution its period needs, and a period's figures."""

from __future__ import annotations

from datetime import timedelta

from bot.history import Finished
from bot.history.query import capacity_samples, period_stats
from bot.models import Account, Snapshot
from bot.store import Store
from rig.store import T0

MIN = timedelta(minutes=1)


async def record(store: Store, minutes: int) -> None:
    """A tick a minute: two accounts of 2 slots, `a` full every other minute, `b` idle."""
    for i in range(minutes + 1):
        at = T0 + i * MIN
        running = 2 if i % 2 else 1
        accounts = (Account("a@x.com", 2, running, 2 - running), Account("b@x.com", 2, 0, 2))
        await store.commit_tick(
            "pixverse", now=at, batch=str(at), snapshot=Snapshot("pixverse", at, accounts=accounts)
        )
    await store.compact_history("pixverse", now=T0 + minutes * MIN, keep=timedelta(days=60))


async def test_a_short_period_reads_every_account_a_minute(store):
    await record(store, 40)
    end = T0 + 40 * MIN
    got = await capacity_samples(store, since=T0, until=end, provider="pixverse", now=end)
    per = {a: [s.at for s in got if s.account == a] for a in (None, "a@x.com", "b@x.com")}
    minutes = [T0 + i * MIN for i in range(41)]
    assert per == {None: minutes, "a@x.com": minutes, "b@x.com": minutes}


async def test_a_longer_period_reads_the_accounts_from_the_buckets(store):
    await record(store, 40)
    end = T0 + 40 * MIN
    since = end - timedelta(hours=24)
    got = await capacity_samples(store, since=since, until=end, provider="pixverse", now=end)
    totals = [s.at for s in got if s.account is None]
    assert totals == [T0 + i * MIN for i in range(41)]  # the totals: still every minute
    # the accounts: the two quarter hours that have ended, [00, 15) and [15, 30)
    buckets = [T0, T0 + 15 * MIN]
    assert [s.at for s in got if s.account == "a@x.com"] == buckets
    assert [s.at for s in got if s.account == "b@x.com"] == buckets
    [first] = [s for s in got if s.account == "a@x.com" and s.at == T0]
    # the mean of 1, 2, 1, … over minutes 0 to 14 (kept to 3 decimals), full 7 of them
    assert (first.running, first.exhausted, first.full_seconds) == (1.467, True, 420.0)


async def test_period_figures_from_the_store(store):
    await record(store, 40)
    done = [
        Finished("pixverse", "j1", "a@x.com", "video", "v5", "completed", 60.0, "poll", T0),
        Finished("pixverse", "j2", "a@x.com", "video", "v5", "moderated", None, "callback", T0),
    ]
    await store.commit_tick("pixverse", now=T0 + 41 * MIN, batch="f", finished=done)
    end = T0 + 60 * MIN
    figures = await period_stats(
        store, since=T0, until=end, providers=["pixverse", "minimax"], now=end
    )
    [minimax, pixverse] = figures.providers
    assert (minimax.models, minimax.sampled) == ((), False)
    [v5] = pixverse.models
    assert (v5.completed, v5.moderated, v5.failure_percent, v5.p50_seconds) == (1, 1, 50.0, 60.0)
    # never every account full (b is idle): no hour at full capacity
    assert pixverse.sampled and pixverse.full_hours == 0.0
