"""History's edges a review found (each failed before its fix): accounts newer than the last
completed bucket or day are ranked; a day row ranks an hour's burst as an hour; the others
line does not take off an account that left; the buckets count no more full time than the
points; and the outbox's INSERT … RETURNING over a 10,000-alert flood."""

from __future__ import annotations

from datetime import timedelta

from bot.history import stats
from bot.history.lines import capacity_series
from bot.history.query import capacity_history
from bot.history.records import CapacityHistory, Sample
from bot.models import Account, Snapshot
from bot.store import Store
from bot.store.history import BUCKET, DAY, MINUTE
from rig.store import T0, item
from rig.store import put_history as put

MIN = timedelta(minutes=1)
DAY_ = timedelta(days=1)


async def test_an_account_newer_than_the_last_bucket_is_ranked_in_1h(store: Store) -> None:
    """A 1-hour chart draws every account from the minute points, but ranks them on the
    15-minute buckets: an account that appeared after the last completed bucket is in no
    bucket, so it is neither drawn nor counted among the others."""
    now = T0 + 58 * MIN
    for i in range(59):
        at = T0 + i * MIN
        accounts = [Account("a@x", 2, 1, 1), Account("b@x", 2, 0, 2)]
        if i >= 47:
            accounts.append(Account("c@x", 2, 2, 0))  # busiest, from minute 47 on
        await store.commit_tick(
            "pixverse",
            now=at,
            batch=str(at),
            snapshot=Snapshot("pixverse", at, accounts=tuple(accounts)),
        )
    await store.compact_history("pixverse", now=now, keep=timedelta(days=60))
    got = await capacity_history(
        store, since=now - timedelta(hours=1), until=now, provider="pixverse", now=now
    )
    assert "c@x" in got.accounts, got.accounts


async def test_a_week_chart_ranks_an_account_that_appeared_today(store: Store) -> None:
    """A 7-day chart ranks on the day rows, and today has none yet (only completed days are
    rolled up): an account that appeared today, however busy, is not drawn."""
    days = [T0 + i * DAY_ for i in range(6)]
    await put(store, DAY, [("", d, 1.0) for d in days] + [("a@x", d, 1.0) for d in days])
    today = T0 + 6 * DAY_
    quarters = [today + i * timedelta(seconds=BUCKET) for i in range(40)]
    await put(
        store,
        BUCKET,
        [("", q, 4.0) for q in quarters] + [("a@x", quarters[0], 0.0), ("new@x", quarters[0], 4.0)],
        clear=False,
    )
    end = today + 10 * timedelta(hours=1)
    got = await capacity_history(
        store, since=end - 7 * DAY_, until=end, provider="pixverse", now=end
    )
    assert "new@x" in got.accounts, got.accounts


async def test_a_day_row_does_not_rank_an_hour_of_use_as_a_day(store: Store) -> None:
    """A day row holds the mean of the account's buckets *while present*; `read_use` holds it
    for the whole day. An account busy 4 jobs for one hour (14,400 job-seconds) outranks one
    running 1 job all day (86,400 job-seconds)."""
    quarters = [T0 + i * timedelta(seconds=BUCKET) for i in range(96)]
    await put(
        store,
        BUCKET,
        [("", q, 1.0) for q in quarters]
        + [
            ("steady@x", quarters[0], 1.0),
            ("brief@x", quarters[40], 4.0),
            ("brief@x", quarters[44], None),
        ],
    )
    await store.compact_history("pixverse", now=T0 + DAY_ + MIN, keep=timedelta(days=60))
    ranked = await store.account_use("pixverse", since=T0, until=T0 + DAY_, step=DAY)
    assert [a for a, _ in ranked] == ["steady@x", "brief@x"], ranked


def test_others_do_not_lose_a_drawn_account_that_left() -> None:
    """`_others` carries each drawn account's last sample forward to every later total: once
    `a` is gone (read_samples emits nothing for it), its 2 jobs are still subtracted, so the
    others read 0 % instead of 1 of 4 slots (25 %)."""
    t0, t1 = T0, T0 + MIN
    samples = (
        Sample("p", None, t0, 3.0, 6.0, 3.0, False, 0.0),
        Sample("p", "a", t0, 2.0, 2.0, 0.0, True, 0.0),
        Sample("p", None, t1, 1.0, 4.0, 3.0, False, 0.0),  # a removed: x 1 of 2, y 0 of 2
    )
    history = CapacityHistory(t0, t0 + 2 * MIN, samples, accounts=("a",), others=2)
    lines, _ = capacity_series(history)
    others = lines[-1]
    assert others.label == "2 other accounts"
    assert others.percent.tolist() == [25.0, 25.0]


async def test_the_buckets_count_no_more_full_time_than_the_points(store: Store) -> None:
    """One exhausted point at 12:00, the next at 12:29 (the bot was down): read from the
    points a point holds at most 15 minutes (`HOLDS_AT_MOST`), 900 s full. The roll-up counts
    12:00-12:15 in the first bucket and again 12:15-12:29 as the "held" lead of the second:
    1,740 s, so /stats of a long period says twice as much as of a short one."""
    await put(store, MINUTE, [("", T0, 4.0), ("", T0 + 29 * MIN, 0.0)])
    end = T0 + 45 * MIN
    points = await store.samples(since=T0, until=end, provider="pixverse", now=end, step=MINUTE)
    await store.compact_history("pixverse", now=end, keep=timedelta(days=60))
    buckets = await store.samples(since=T0, until=end, provider="pixverse", now=end, step=BUCKET)
    assert stats.full_seconds(points, since=T0, until=end) == 900.0
    assert stats.full_seconds(buckets, since=T0, until=end) == 900.0


async def test_a_flood_of_10000_alerts_is_queued_and_counted(store: Store) -> None:
    """Not a finding (passes): the outbox's INSERT … RETURNING over 10,000 rows."""
    from bot.store import outbox

    async with store.engine.begin() as conn:
        n = await outbox.queue(conn, [item(f"k{i}") for i in range(10_000)], batch="b", now=T0)
    assert n == 10_000
    async with store.engine.begin() as conn:
        again = [item(f"k{i}") for i in range(9_990, 10_010)]
        assert await outbox.queue(conn, again, batch="c", now=T0) == 10
