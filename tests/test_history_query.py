"""What the views read from the history store (`bot.history.query`), on both backends: a
chart's samples at the resolution its period needs, its busiest accounts as the database ranks
them (checked against a plain reference over random histories), and a period's figures."""

from __future__ import annotations

import math
import random
from datetime import datetime, timedelta

from sqlalchemy import delete

from bot.history import Finished, stats
from bot.history.query import capacity_history, period_stats
from bot.models import Account, Snapshot
from bot.store import Store
from bot.store.history import BUCKET, DAY, LOOKBACK, MINUTE
from bot.store.schema import history_finished_table
from rig.store import T0
from rig.store import HistoryRow as Row
from rig.store import put_history as put

MIN = timedelta(minutes=1)
ONE_DAY = timedelta(days=1)


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
    got = await capacity_history(store, since=T0, until=end, provider="pixverse", now=end)
    per = {a: [s.at for s in got.samples if s.account == a] for a in (None, "a@x.com", "b@x.com")}
    minutes = [T0 + i * MIN for i in range(41)]
    assert per == {None: minutes, "a@x.com": minutes, "b@x.com": minutes}
    # a runs jobs, b none: a first; two accounts are all drawn
    assert (got.since, got.until, got.accounts, got.others) == (T0, end, ("a@x.com", "b@x.com"), 0)


async def test_a_longer_period_reads_the_accounts_from_the_buckets(store):
    await record(store, 40)
    end = T0 + 40 * MIN
    # a day: still the points (only the accounts drawn are read)
    got = await capacity_history(
        store, since=end - timedelta(hours=24), until=end, provider="pixverse", now=end
    )
    minutes = [T0 + i * MIN for i in range(41)]
    assert [s.at for s in got.samples if s.account == "b@x.com"] == minutes
    # 3 days: past the points' 2, the totals and the accounts from the buckets, the two
    # quarter hours that have ended, [00, 15) and [15, 30)
    since = end - timedelta(days=3)
    got = await capacity_history(store, since=since, until=end, provider="pixverse", now=end)
    buckets = [T0, T0 + 15 * MIN]
    for who in (None, "a@x.com", "b@x.com"):
        assert [s.at for s in got.samples if s.account == who] == buckets
    [first] = [s for s in got.samples if s.account == "a@x.com" and s.at == T0]
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


def busiest(
    rows: list[Row], step: int, since: datetime, until: datetime
) -> list[tuple[str, float]]:
    """The reference: each account's rows from LOOKBACK before `since` to `until`, each
    holding until its next or `until`, clipped to [since, until); present when it held a
    running count there for some time; busiest first, ties by name."""
    use: dict[str, float] = {}
    present: set[str] = set()
    mine = sorted(r for r in rows if r[0] and since - LOOKBACK[step] <= r[1] <= until)
    for i, (a, at, running) in enumerate(mine):
        nxt = mine[i + 1][1] if i + 1 < len(mine) and mine[i + 1][0] == a else until
        held = (min(nxt, until) - max(at, since)).total_seconds()
        use[a] = use.get(a, 0.0) + (running or 0.0) * max(held, 0.0)
        if running is not None and held > 0:
            present.add(a)
    return sorted(((a, use[a]) for a in present), key=lambda x: (-x[1], x[0]))


async def test_the_databases_ranking_is_the_reference_over_random_histories(store):
    """Fast path = slow path: the job-seconds the database sums per account (a window
    function) against the plain reference above, over 60 random histories of each resolution:
    accounts coming, changing, leaving (gone rows) and coming back, rows before the look-back,
    inside it, at `since`, at `until` and after it."""
    rng = random.Random(14)
    for case in range(60):
        step = (MINUTE, BUCKET, DAY)[case % 3]
        unit = timedelta(seconds=step)
        since = T0 + rng.randint(0, 40) * unit
        until = since + rng.randint(0, 30) * unit
        rows: list[Row] = []
        for a in rng.sample(["a", "b", "c", "d", "e"], rng.randint(0, 5)):
            at = since - LOOKBACK[step] - rng.randint(-3, 40) * unit
            while at <= until + 3 * unit:
                rows.append((a, at, rng.choice([None, 0.0, 1.0, 2.0, 3.0, 4.0])))
                at += rng.randint(1, 12) * unit
        await put(store, step, rows)
        got = await store.account_use("pixverse", since=since, until=until, step=step)
        assert got == busiest(rows, step, since, until), (case, rows, since, until)


async def test_a_chart_draws_the_busiest_accounts_and_counts_the_rest(store):
    end = T0 + 7 * ONE_DAY
    since = end - 7 * ONE_DAY
    # the days of six accounts: f busiest, then a and b tied (by name), c, d, e idle; 4 more
    # would be the rest of the top, here top=3
    days = [T0 + i * ONE_DAY for i in range(7)]
    running = {"f@x": 4.0, "b@x": 3.0, "a@x": 3.0, "c@x": 2.0, "d@x": 1.0, "e@x": 0.0}
    await put(
        store,
        DAY,
        [("", d, 13.0) for d in days] + [(a, d, r) for d in days for a, r in running.items()],
    )
    got = await capacity_history(store, since=since, until=end, provider="pixverse", now=end, top=3)
    assert (got.accounts, got.others) == (("f@x", "a@x", "b@x"), 3)
    # only the accounts drawn are read (from the 15-minute buckets), and the totals
    last = end - timedelta(minutes=15)
    await put(store, BUCKET, [(a, last, 1.0) for a in ["", *running]], clear=False)
    got = await capacity_history(store, since=since, until=end, provider="pixverse", now=end, top=3)
    assert [(s.at, s.account) for s in got.samples] == [
        (last, None),
        (last, "a@x"),  # at each instant by name
        (last, "b@x"),
        (last, "f@x"),
    ]
    # one more account than the top: all drawn, no "others" of one
    got = await capacity_history(store, since=since, until=end, provider="pixverse", now=end, top=5)
    assert (got.accounts, got.others) == (("f@x", "a@x", "b@x", "c@x", "d@x", "e@x"), 0)
    # per provider: no account
    got = await capacity_history(store, since=since, until=end, provider=None, now=end)
    assert (got.accounts, got.others) == ((), 0)


async def test_the_ranking_falls_back_to_finer_rows_while_the_coarser_have_none(store):
    # a fresh install: 10 minutes of points, no bucket yet
    end = T0 + 10 * MIN
    await put(
        store,
        MINUTE,
        [("", T0, 1.0), ("a@x", T0, 0.0), ("b@x", T0, 1.0), ("", end, 1.0)],
    )
    for period in (timedelta(hours=6), timedelta(days=7)):
        got = await capacity_history(
            store, since=end - period, until=end, provider="pixverse", now=end
        )
        assert got.accounts == ("b@x", "a@x")


async def test_the_databases_model_figures_are_the_pure_ones_over_random_jobs(store):
    """Fast path = slow path: `Store.model_stats` (counted and ranked by the database)
    against `stats.model_stats` of the same jobs, field by field, over 40 random sets: every
    outcome, no model, run times unknown, negative, 0 and tied, jobs at exactly `since` and
    `until` (not in), another provider, and groups of 1 to 41 completed jobs (each side of the
    ranks ⌈0.5·n⌉ and ⌈0.95·n⌉ changing)."""
    rng = random.Random(14)
    outcomes = ["completed"] * 5 + ["failed", "moderated", "cancelled", "unknown"]
    since, until = T0, T0 + ONE_DAY
    for case in range(40):
        jobs = []
        for i in range(rng.randint(0, 120)):
            at = rng.choice(
                [since, until, since - MIN, until - MIN, since + rng.random() * ONE_DAY]
            )
            jobs.append(
                Finished(
                    rng.choice(["pixverse", "pixverse", "minimax"]),
                    f"c{case}-j{i}",
                    "a@x",
                    "video",
                    rng.choice(["v4", "v5", None]),
                    rng.choice(outcomes),
                    rng.choice([None, -1.0, 0.0, 30.0, float(rng.randint(1, 900))]),
                    "poll",
                    at,
                )
            )
        await store.commit_tick("pixverse", now=until, batch=f"c{case}", finished=jobs)
        for provider in (None, "pixverse"):
            got = await store.model_stats(since=since, until=until, provider=provider)
            kept = [j for j in jobs if since <= j.at < until and provider in (None, j.provider)]
            groups = sorted({(j.provider, j.model) for j in kept}, key=lambda k: (k[0], k[1] or ""))
            want = [
                stats.model_stats(p, m, [j for j in kept if (j.provider, j.model) == (p, m)])
                for p, m in groups
            ]
            assert got == want, case
        async with store.engine.begin() as conn:
            await conn.execute(delete(history_finished_table))


async def test_percentiles_by_rank_for_every_count_up_to_41(store):
    # n completed jobs of 1 … n s: p50 and p95 are the ⌈0.5·n⌉-th and ⌈0.95·n⌉-th
    for n in range(1, 42):
        jobs = [
            Finished(
                "pixverse", f"n{n}-{i}", "a@x", "video", "v5", "completed", float(i), "poll", T0
            )
            for i in range(n, 0, -1)  # newest-first order must not matter
        ]
        await store.commit_tick("pixverse", now=T0, batch=f"n{n}", finished=jobs)
        [m] = await store.model_stats(since=T0, until=T0 + MIN)
        want = (n, float(math.ceil(n / 2)), float(math.ceil(0.95 * n - 1e-9)))
        assert (m.completed, m.p50_seconds, m.p95_seconds) == want, n
        async with store.engine.begin() as conn:
            await conn.execute(delete(history_finished_table))
