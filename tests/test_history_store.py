"""History as stored (`bot.store.history`), on both backends: finished jobs recorded once by
whichever path comes first and read back filtered, newest first; capacity points written only
where they changed and read back carried forward; the roll-up into 15-minute buckets and the
retention at exactly their boundaries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.history import Finished, Sample
from bot.models import Account, Snapshot
from bot.store import Store
from bot.store.history import BUCKET as BUCKET_STEP
from bot.store.history import LOOKBACK, MAX_KEY_BYTES, MINUTE, REFRESH, REFRESH_PER_TICK
from bot.store.schema import history_samples_table
from rig.store import T0

MIN = timedelta(minutes=1)


def fin(job_id: str, at: datetime, **kw: object) -> Finished:
    fields: dict[str, object] = {
        "provider": "pixverse",
        "job_id": job_id,
        "account": "a@x",
        "kind": "video",
        "model": "v4",
        "outcome": "completed",
        "run_seconds": 60.0,
        "via": "poll",
        "at": at,
    }
    fields.update(kw)
    return Finished(**fields)  # type: ignore[arg-type]


def snap(at: datetime, *accounts: Account, provider: str = "pixverse") -> Snapshot:
    return Snapshot(provider=provider, taken_at=at, accounts=accounts)


def acct(
    name: str, running: int, max_jobs: int | None = 3, available: int | None = None
) -> Account:
    return Account(name, max_jobs=max_jobs, executing=running, available=available)


async def tick(store: Store, s: Snapshot, **kw: object) -> int:
    """Commit a tick holding `s`; how many history rows it wrote."""
    before = store.history_rows
    await store.commit_tick(s.provider, now=s.taken_at, batch=str(s.taken_at), snapshot=s, **kw)  # type: ignore[arg-type]
    return store.history_rows - before


async def stored_rows(store: Store) -> int:
    async with store.engine.connect() as conn:
        return int(
            (
                await conn.execute(select(func.count()).select_from(history_samples_table))
            ).scalar_one()
        )


# --------------------------------------------------------------------------- finished jobs


async def test_a_finished_job_is_recorded_once_whichever_path_comes_first(store):
    poll = fin("j1", T0, via="poll", outcome="failed", reason="upstream: 500")
    await store.commit_tick("pixverse", now=T0, batch="b", finished=[poll])
    # The callback comes second: ignored, in its transaction with its (also duplicate) rows.
    await store.enqueue([], batch="h", now=T0, finished=[fin("j1", T0 + MIN, via="callback")])
    # The other way round for j2: the callback first.
    await store.enqueue([], batch="h2", now=T0, finished=[fin("j2", T0 + MIN, via="callback")])
    await store.commit_tick("pixverse", now=T0 + 2 * MIN, batch="b2", finished=[fin("j2", T0)])
    assert await store.finished() == [fin("j2", T0 + MIN, via="callback"), poll]


def ids(got: list[Finished]) -> list[str]:
    return [f.job_id for f in got]


async def test_finished_jobs_read_back_filtered_newest_first(store):
    rows = [
        fin("old", T0),
        fin("mid", T0 + MIN, account="b@x", model="v5"),
        fin("new", T0 + 2 * MIN, provider="minimax", account=None, model=None, run_seconds=None),
        fin("same-a", T0 + 3 * MIN),
        fin("same-b", T0 + 3 * MIN),
    ]
    await store.commit_tick("pixverse", now=T0, batch="b", finished=rows)
    assert ids(await store.finished()) == ["same-b", "same-a", "new", "mid", "old"]
    assert (await store.finished())[2] == rows[2]  # None fields round-trip
    assert ids(await store.finished(provider="pixverse")) == ["same-b", "same-a", "mid", "old"]
    assert ids(await store.finished(account="b@x")) == ["mid"]
    assert ids(await store.finished(model="v4")) == ["same-b", "same-a", "old"]
    assert ids(await store.finished(since=T0 + MIN)) == ["same-b", "same-a", "new", "mid"]
    assert ids(await store.finished(limit=1)) == ["same-b"]
    assert ids(await store.finished(provider="pixverse", since=T0 + 3 * MIN, limit=5)) == [
        "same-b",
        "same-a",
    ]
    assert await store.finished(provider="runway") == []


async def test_text_the_database_cannot_hold_never_fails_the_write(store):
    await store.commit_tick(
        "pixverse",
        now=T0,
        batch="b",
        finished=[fin("bad-\ud800", T0), fin("ok", T0, reason="a \ud800 b", model="m\ud800")],
    )
    assert await store.finished() == [fin("ok", T0, reason=None, model=None)]


async def test_a_name_or_id_too_long_for_a_key_is_left_out_not_a_failing_tick(store):
    huge, edge = "ü" * (MAX_KEY_BYTES // 2) + "a", "ü" * (MAX_KEY_BYTES // 2)  # bytes, not chars
    await tick(store, snap(T0, acct(huge, 1), acct("\ud800", 1), acct(edge, 1)))
    await store.commit_tick("pixverse", now=T0, batch="f", finished=[fin(huge, T0), fin(edge, T0)])
    got = await store.samples(since=T0, until=T0, per_account=True, now=T0)
    assert [(s.account, s.running) for s in got] == [(None, 3.0), (edge, 1.0)]  # in the total
    assert [f.job_id for f in await store.finished()] == [edge]


# --------------------------------------------------------------------------- capacity points


async def test_points_are_read_back_carried_forward_per_account(store):
    await tick(store, snap(T0, acct("a", 1), acct("b", 3, available=0)))
    await tick(store, snap(T0 + MIN, acct("a", 1), acct("b", 3, available=0)))
    await tick(store, snap(T0 + 2 * MIN, acct("a", 2), acct("b", 2, available=1)))
    got = await store.samples(since=T0, until=T0 + 2 * MIN, per_account=True, now=T0)
    assert got == [
        Sample("pixverse", None, T0, 4.0, 6.0, 2.0, False),
        Sample("pixverse", "a", T0, 1.0, 3.0, 2.0, False),
        Sample("pixverse", "b", T0, 3.0, 3.0, 0.0, True),
        Sample("pixverse", None, T0 + MIN, 4.0, 6.0, 2.0, False),
        Sample("pixverse", "a", T0 + MIN, 1.0, 3.0, 2.0, False),  # carried forward
        Sample("pixverse", "b", T0 + MIN, 3.0, 3.0, 0.0, True),
        Sample("pixverse", None, T0 + 2 * MIN, 4.0, 6.0, 2.0, False),
        Sample("pixverse", "a", T0 + 2 * MIN, 2.0, 3.0, 1.0, False),
        Sample("pixverse", "b", T0 + 2 * MIN, 2.0, 3.0, 1.0, False),
    ]
    # provider totals only, and a window starting after an account's last change
    totals = await store.samples(since=T0 + MIN, until=T0 + 2 * MIN, now=T0)
    assert [s.at for s in totals] == [T0 + MIN, T0 + 2 * MIN]
    assert all(s.account is None for s in totals)
    one = await store.samples(since=T0 + MIN, until=T0 + MIN, per_account=True, now=T0)
    assert [(s.account, s.running) for s in one] == [(None, 4.0), ("a", 1.0), ("b", 3.0)]


async def test_every_account_full_is_the_provider_exhausted(store):
    await tick(store, snap(T0, acct("a", 3), acct("b", 1, max_jobs=None)))  # b: unknown
    await tick(store, snap(T0 + MIN, acct("a", 3), acct("b", 1, max_jobs=None, available=0)))
    got = await store.samples(since=T0, until=T0 + MIN, now=T0)
    assert [(s.exhausted, s.max_jobs, s.free) for s in got] == [
        (False, 3.0, 0.0),  # `all_full`: not known for b, so not told
        (True, 3.0, 0.0),
    ]


async def test_nothing_is_shown_where_no_tick_stored_a_snapshot(store):
    await tick(store, snap(T0, acct("a", 1)))
    await store.commit_tick("pixverse", now=T0 + MIN, batch="outage")  # a failed tick
    await tick(store, snap(T0 + 2 * MIN, acct("a", 1)))
    got = await store.samples(since=T0, until=T0 + 5 * MIN, per_account=True, now=T0)
    assert [(s.at, s.account) for s in got] == [
        (T0, None),
        (T0, "a"),
        (T0 + 2 * MIN, None),
        (T0 + 2 * MIN, "a"),
    ]


async def test_an_account_that_leaves_is_not_carried_forward(store):
    await tick(store, snap(T0, acct("a", 1), acct("b", 1)))
    assert await tick(store, snap(T0 + MIN, acct("a", 1))) == 2  # the total, b gone
    await tick(store, snap(T0 + 2 * MIN, acct("a", 1)))
    got = await store.samples(since=T0 + MIN, until=T0 + 2 * MIN, per_account=True, now=T0)
    assert [s.account for s in got] == [None, "a", None, "a"]
    # and one that comes back is shown again from then on
    assert await tick(store, snap(T0 + 3 * MIN, acct("a", 1), acct("b", 2))) == 2
    got = await store.samples(since=T0 + 3 * MIN, until=T0 + 3 * MIN, per_account=True, now=T0)
    assert [(s.account, s.running) for s in got] == [(None, 3.0), ("a", 1.0), ("b", 2.0)]


async def test_a_steady_tick_at_500_accounts_writes_the_total_and_the_changes_only(store):
    accounts = [acct(f"acc{n:03}@x", n % 4) for n in range(500)]
    assert await tick(store, snap(T0, *accounts)) == 501  # the first: everything
    assert await tick(store, snap(T0 + MIN, *accounts)) == 1  # steady: the total alone
    changed = list(accounts)
    for n in (0, 250, 499):  # first, middle, last
        changed[n] = acct(changed[n].account, (changed[n].executing + 1) % 4)
    assert await tick(store, snap(T0 + 2 * MIN, *changed)) == 4
    assert await tick(store, snap(T0 + 3 * MIN, *changed)) == 1
    assert await stored_rows(store) == 501 + 1 + 4 + 1
    got = await store.samples(since=T0 + 3 * MIN, until=T0 + 3 * MIN, per_account=True, now=T0)
    assert len(got) == 501 and got[0].running == sum(min(a.executing, 3) for a in changed)
    assert {s.account: s.running for s in got[1:]} == {
        a.account: float(a.executing) for a in changed
    }


async def test_unchanged_accounts_are_written_again_a_few_per_tick_once_refresh_old(store):
    accounts = [acct(f"acc{n:02}", 1) for n in range(40)]
    await tick(store, snap(T0, *accounts))
    refresh = REFRESH[MINUTE]
    just_before = T0 + refresh - MIN
    assert await tick(store, snap(just_before, *accounts)) == 1
    assert await tick(store, snap(T0 + refresh, *accounts)) == 1 + REFRESH_PER_TICK
    assert await tick(store, snap(T0 + refresh + MIN, *accounts)) == 1 + 40 - REFRESH_PER_TICK
    assert await tick(store, snap(T0 + refresh + 2 * MIN, *accounts)) == 1
    # a read well after the first rows still finds every account within its look-back
    at = T0 + LOOKBACK[MINUTE] + refresh - MIN
    await tick(store, snap(at, *accounts))
    got = await store.samples(since=at, until=at, per_account=True, now=at)
    assert len(got) == 41


async def test_another_writer_in_between_is_read_back_not_trusted(url):
    a, b = await Store.open(url), await Store.open(url)
    try:
        await tick(a, snap(T0, acct("x", 1), acct("y", 1)))
        await tick(b, snap(T0 + MIN, acct("x", 2), acct("y", 1)))  # b took over
        # a's memory says x=1; the stored x is 2: a must write x=1 again, not skip it
        assert await tick(a, snap(T0 + 2 * MIN, acct("x", 1), acct("y", 1))) == 2
        got = await a.samples(since=T0 + 2 * MIN, until=T0 + 2 * MIN, per_account=True, now=T0)
        assert [(s.account, s.running) for s in got] == [(None, 2.0), ("x", 1.0), ("y", 1.0)]
    finally:
        await a.close()
        await b.close()


async def test_after_a_gap_of_refresh_every_account_is_written_again(store):
    await tick(store, snap(T0, acct("x", 1), acct("y", 1), acct("z", 1)))
    later = T0 + REFRESH[MINUTE]
    # y left during the gap: marked gone (the look-back would still find its old row)
    assert await tick(store, snap(later, acct("x", 1), acct("z", 1))) == 4
    got = await store.samples(since=later, until=later, per_account=True, now=later)
    assert [s.account for s in got] == [None, "x", "z"]


async def test_two_ticks_in_one_minute_keep_the_last(store):
    await tick(store, snap(T0, acct("a", 1)))
    await tick(store, snap(T0 + timedelta(seconds=30), acct("a", 2)))
    await tick(store, snap(T0 + timedelta(seconds=59), acct("a", 1)))
    got = await store.samples(since=T0, until=T0 + MIN, per_account=True, now=T0)
    assert [(s.at, s.account, s.running) for s in got] == [(T0, None, 1.0), (T0, "a", 1.0)]


async def test_samples_of_every_provider_interleave_oldest_first(store):
    await tick(store, snap(T0, acct("a", 1), provider="pixverse"))
    await tick(store, snap(T0, acct("m", 2), provider="minimax"))
    await tick(store, snap(T0 + MIN, acct("a", 1), provider="pixverse"))
    got = await store.samples(since=T0, until=T0 + MIN, per_account=True, now=T0)
    assert [(s.at, s.provider, s.account) for s in got] == [
        (T0, "minimax", None),
        (T0, "minimax", "m"),
        (T0, "pixverse", None),
        (T0, "pixverse", "a"),
        (T0 + MIN, "pixverse", None),
        (T0 + MIN, "pixverse", "a"),
    ]
    assert [
        s.provider for s in await store.samples(since=T0, until=T0, provider="minimax", now=T0)
    ] == ["minimax"]


# --------------------------------------------------------------------------- roll-up, retention

BUCKET = timedelta(minutes=15)
DAY = timedelta(days=1)


async def rows_of(store: Store, step: int) -> list[tuple[str, datetime]]:
    t = history_samples_table.c
    async with store.engine.connect() as conn:
        got = await conn.execute(
            select(t.account, t.at).where(t.step == step).order_by(t.at, t.account)
        )
        return [(a, at.replace(tzinfo=T0.tzinfo)) for a, at in got]


async def test_completed_buckets_roll_up_from_the_minute_points(store):
    # 12:00-12:14: a runs 1 of 2 (b full the first 5 minutes, then free); 12:15: the next bucket
    for m in range(16):
        b = acct("b", 2 if m < 5 else 0, max_jobs=2)
        await tick(store, snap(T0 + m * MIN, acct("a", 1, max_jobs=2), b))
    just_before = T0 + BUCKET - timedelta(microseconds=1)
    assert await store.compact_history("pixverse", now=just_before, keep=60 * DAY) == (0, 0)
    assert await store.compact_history("pixverse", now=T0 + BUCKET, keep=60 * DAY) == (1, 0)
    # a second run finds nothing more due (the 12:15 bucket is not complete)
    assert await store.compact_history("pixverse", now=T0 + 2 * BUCKET - MIN, keep=60 * DAY) == (
        0,
        0,
    )
    later = T0 + 3 * DAY  # read as from 3 days on: the buckets
    got = await store.samples(since=T0, until=T0 + DAY, per_account=True, now=later)
    assert got == [
        Sample("pixverse", None, T0, 1.667, 4.0, 2.333, False, 0.0),
        Sample("pixverse", "a", T0, 1.0, 2.0, 1.0, False, 0.0),
        Sample("pixverse", "b", T0, 0.667, 2.0, 1.333, True, 300.0),
    ]


async def put_rows(
    store: Store, step: int, rows: list[tuple[str, datetime, tuple[Any, ...]]]
) -> None:
    """Rows of `step` as a roll-up would have written them: (account, at, values)."""
    async with store.engine.begin() as conn:
        for account, at, (running, max_jobs, free, exhausted, full) in rows:
            await conn.execute(
                history_samples_table.insert().values(
                    provider="pixverse",
                    step=step,
                    account=account,
                    at=at.replace(tzinfo=None),
                    running=running,
                    max_jobs=max_jobs,
                    free=free,
                    exhausted=exhausted,
                    full_seconds=full,
                )
            )


async def test_completed_days_roll_up_from_the_buckets(store):
    day = datetime(2026, 1, 5, tzinfo=UTC)
    q = BUCKET
    await put_rows(
        store,
        900,
        [
            ("", day, (2.0, 4.0, 2.0, 0, 0.0)),
            ("a", day, (1.0, 2.0, 1.0, 0, 0.0)),
            ("b", day, (1.0, 2.0, 1.0, 0, 0.0)),
            ("", day + q, (4.0, 4.0, 0.0, 1, 600.0)),
            ("a", day + q, (2.0, 2.0, 0.0, 1, 900.0)),
            ("b", day + q, (None, None, None, 0, 0.0)),  # b leaves
            ("", day + DAY, (2.0, 2.0, 0.0, 1, 900.0)),  # the next day: a unchanged, carried
            ("", day + DAY + q, (2.0, 2.0, 0.0, 1, 900.0)),
            ("", day + 2 * DAY, (2.0, 2.0, 0.0, 1, 900.0)),  # and the day after, the same
            ("", day + 2 * DAY + q, (2.0, 2.0, 0.0, 1, 900.0)),
        ],
    )
    # not before the day is over; then that day, and the next only once it is over too
    assert await store.compact_history("pixverse", now=day + DAY - MIN, keep=60 * DAY) == (0, 0)
    assert await store.compact_history("pixverse", now=day + DAY, keep=60 * DAY) == (1, 0)
    got = await store.samples(
        since=day, until=day + 3 * DAY, per_account=True, step=86400, now=day + DAY
    )
    assert got == [
        # means over the buckets; exhausted when at any; the time full summed
        Sample("pixverse", None, day, 3.0, 4.0, 1.0, True, 600.0),
        Sample("pixverse", "a", day, 1.5, 2.0, 0.5, True, 900.0),
        # running over the day's two instants, 1 job in the one it was there: 0.5 (limits and
        # free while it was there)
        Sample("pixverse", "b", day, 0.5, 2.0, 1.0, False, 0.0),
    ]
    assert await store.compact_history("pixverse", now=day + 2 * DAY, keep=60 * DAY) == (1, 0)
    got = await store.samples(
        since=day + DAY, until=day + 3 * DAY, per_account=True, step=86400, now=day + DAY
    )
    assert got == [
        Sample("pixverse", None, day + DAY, 2.0, 2.0, 0.0, True, 1800.0),
        # a's last bucket held through both of the next day's: full for them both
        Sample("pixverse", "a", day + DAY, 2.0, 2.0, 0.0, True, 1800.0),
    ]
    # a day of the same values is written again all the same: every account has a row a day
    # (a read looks back `LOOKBACK` for each account's values)
    assert await store.compact_history("pixverse", now=day + 3 * DAY, keep=60 * DAY) == (1, 0)
    assert [at for a, at in await rows_of(store, 86400) if a == "a"] == [
        day,
        day + DAY,
        day + 2 * DAY,
    ]


async def test_the_roll_up_skips_a_stretch_without_points_and_carries_accounts_over_it(store):
    await tick(store, snap(T0, acct("a", 1), acct("b", 2)))
    gap = T0 + 2 * BUCKET  # nothing in the 12:15 bucket; b leaves meanwhile
    await tick(store, snap(gap, acct("a", 1)))
    await tick(store, snap(gap + BUCKET, acct("a", 1)))  # a bucket that stays open
    assert (await store.compact_history("pixverse", now=gap + BUCKET, keep=60 * DAY))[0] == 2
    got = await store.samples(since=T0, until=gap, per_account=True, now=T0 + 3 * DAY)
    assert [(s.at, s.account, s.running) for s in got] == [
        (T0, None, 3.0),
        (T0, "a", 1.0),
        (T0, "b", 2.0),
        (gap, None, 1.0),
        (gap, "a", 1.0),  # written once: carried forward from 12:00 on read
    ]
    assert [a for a, at in await rows_of(store, 900) if at == gap] == ["", "b"]  # b: gone


async def test_retention_keeps_exactly_up_to_its_boundaries_in_bounded_chunks(store):
    now = T0 + 70 * DAY
    keep = 60 * DAY
    points_edge = now - timedelta(days=2)
    bucket_edge = now - keep
    # minute points: the total one minute past the edge and at it; accounts LOOKBACK longer
    for at in (points_edge - LOOKBACK[MINUTE] - MIN, points_edge - MIN, points_edge):
        await tick(store, snap(at, acct("a", 1 if at == points_edge else 2)))
    t = history_samples_table
    async with store.engine.begin() as conn:  # buckets, as the roll-up would have made them
        for at in (bucket_edge - LOOKBACK[BUCKET_STEP] - BUCKET, bucket_edge - BUCKET, bucket_edge):
            for account in ("", "a"):
                await conn.execute(
                    t.insert().values(
                        provider="pixverse",
                        step=900,
                        account=account,
                        at=at.replace(tzinfo=None),
                        running=1.0,
                        exhausted=0,
                        full_seconds=0.0,
                    )
                )
    await store.commit_tick(
        "pixverse",
        now=now,
        batch="f",
        finished=[fin("old", bucket_edge - timedelta(seconds=1)), fin("edge", bucket_edge)],
    )
    await store.commit_tick(
        "minimax", now=now, batch="m", finished=[fin("other", T0, provider="minimax")]
    )
    rolled, deleted = await store.compact_history("pixverse", now=now, keep=keep, chunk=2)
    # the roll-up first: the buckets of the three minute points, and the days of every bucket
    # (01-09 and 01-11 of the buckets above, 03-10 of the new ones)
    assert rolled == 3 + 3
    # minute, bucket: 2 totals, 1 account each; day: 2 totals, 1 account; 1 finished job
    assert deleted == 3 + 3 + 3 + 1
    assert await rows_of(store, 60) == [
        ("a", points_edge - MIN),
        ("", points_edge),
        ("a", points_edge),
    ]
    assert [(a, at) for a, at in await rows_of(store, 900) if at <= bucket_edge] == [
        ("a", bucket_edge - BUCKET),
        ("", bucket_edge),
        ("a", bucket_edge),
    ]
    # days as buckets: the totals from the edge, the accounts LOOKBACK longer
    assert await rows_of(store, 86400) == [
        ("a", datetime(2026, 1, 11, tzinfo=UTC)),
        ("", datetime(2026, 3, 10, tzinfo=UTC)),
        ("a", datetime(2026, 3, 10, tzinfo=UTC)),
    ]
    assert [f.job_id for f in await store.finished()] == ["edge", "other"]  # minimax: its own
    # what a read at the edge shows: the account's value carried in from before it
    got = await store.samples(since=points_edge, until=now, per_account=True, now=now)
    assert [(s.account, s.running) for s in got] == [(None, 1.0), ("a", 1.0)]


async def test_the_points_answer_from_exactly_two_days_back_the_buckets_before(store):
    await tick(store, snap(T0, acct("a", 1)))
    await tick(store, snap(T0 + MIN, acct("a", 3)))
    await store.compact_history("pixverse", now=T0 + BUCKET, keep=60 * DAY)
    edge = T0 + 2 * DAY  # `now`: two days after the first point
    points = await store.samples(since=T0, until=T0 + MIN, now=edge)
    assert [(s.at, s.running) for s in points] == [(T0, 1.0), (T0 + MIN, 3.0)]
    buckets = await store.samples(since=T0 - timedelta(microseconds=1), until=T0 + MIN, now=edge)
    assert [(s.at, s.running) for s in buckets] == [(T0, 2.0)]  # the quarter hour's mean


async def test_a_bucket_counts_each_point_until_the_next_when_ticks_are_minutes_apart(store):
    """POLL_INTERVAL_SECONDS may be up to an hour: a point stands for the time until the next
    one, not for one minute (at 2-minute ticks a full quarter hour was counted as 8 minutes,
    and /stats 7d or 30d showed half the hours at full capacity that /stats 24h showed)."""
    # 2-minute ticks from 12:00: full until 12:06 (points 0, 2, 4, 6), room from 12:08 on
    for m in range(0, 16, 2):
        await tick(store, snap(T0 + m * MIN, acct("a", 2 if m <= 6 else 1, max_jobs=2)))
    # 5-minute ticks from 12:17 (not on the quarter hour): full throughout
    for m in (17, 22, 27):
        await tick(store, snap(T0 + m * MIN, acct("a", 2, max_jobs=2)))
    await tick(store, snap(T0 + 2 * BUCKET, acct("a", 0, max_jobs=2)))  # an open bucket
    assert (await store.compact_history("pixverse", now=T0 + 2 * BUCKET, keep=60 * DAY))[0] == 2
    later = T0 + 3 * DAY
    got = await store.samples(since=T0, until=T0 + DAY, per_account=True, now=later)
    assert [(s.at, s.account, s.exhausted, s.full_seconds) for s in got] == [
        (T0, None, True, 8 * 60.0),  # 12:00-12:08: 12:06 holds until 12:08
        (T0, "a", True, 8 * 60.0),
        # 12:15-12:17 is 12:14's (room), then full from 12:17 (12:27 holds until 12:30)
        (T0 + BUCKET, None, True, 13 * 60.0),
        (T0 + BUCKET, "a", True, 13 * 60.0),
    ]
    # /stats over the buckets: the same 21 minutes the 1-minute points give
    from bot.history.stats import compute

    until = T0 + 2 * BUCKET
    buckets = compute([], got, since=T0, until=until)
    points = await store.samples(since=T0, until=until, now=T0)
    assert buckets.providers[0].full_hours * 60 == 21.0
    assert compute([], points, since=T0, until=until).providers[0].full_hours * 60 == 21.0


async def test_the_point_before_a_quarter_holds_into_it_but_not_over_a_gap(store):
    full, room = acct("a", 2, max_jobs=2), acct("a", 1, max_jobs=2)
    # 12:25 → 13:07: the bot down
    for m, a in ((0, room), (13, full), (18, room), (25, full), (67, full)):
        await tick(store, snap(T0 + m * MIN, a))
    keep = 60 * DAY
    assert (await store.compact_history("pixverse", now=T0 + BUCKET, keep=keep))[0] == 1
    # the next roll-up starts at 12:15: 12:13's point is read back from before its start
    assert (await store.compact_history("pixverse", now=T0 + 5 * BUCKET, keep=keep))[0] == 2
    got = await store.samples(since=T0, until=T0 + DAY, now=T0 + 3 * DAY)
    assert [(s.at, s.exhausted, s.full_seconds) for s in got] == [
        (T0, True, 120.0),  # 12:13-12:15
        (T0 + BUCKET, True, 180.0 + 300.0),  # 12:15-12:18: 12:13's, carried in; 12:25-12:30
        (T0 + 4 * BUCKET, True, 480.0),  # 13:07-13:15; 13:00-13:07 unknown, not 12:25's
    ]


async def test_a_tick_that_fails_writes_no_history_and_the_next_writes_what_it_missed(
    store, monkeypatch
):
    """The points and finished jobs are in the tick's transaction: a tick refused (its lease
    lost) or failing after its points were written leaves no trace of them, and the next tick
    writes the account it changed (the store's memory of what it wrote is not advanced)."""
    from bot.store import LeaseLost, jobhistory

    await tick(store, snap(T0, acct("a", 1), acct("b", 1)))
    with pytest.raises(LeaseLost):
        await store.commit_tick(
            "pixverse",
            now=T0 + MIN,
            batch="lost",
            snapshot=snap(T0 + MIN, acct("a", 2), acct("b", 1)),
            finished=[fin("j1", T0 + MIN)],
            lease=("watch:pixverse", "nobody"),
        )

    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the database went away mid-tick")

    monkeypatch.setattr(jobhistory, "write_finished", broken)  # after the points
    with pytest.raises(RuntimeError):
        await store.commit_tick(
            "pixverse",
            now=T0 + 2 * MIN,
            batch="broken",
            snapshot=snap(T0 + 2 * MIN, acct("a", 2), acct("b", 1)),
            finished=[fin("j2", T0 + 2 * MIN)],
        )
    # failing within the minute a tick already stored: the memory's minute is the stored one,
    # so only an unadvanced memory keeps the next tick from trusting a=2 as written
    with pytest.raises(RuntimeError):
        await store.commit_tick(
            "pixverse",
            now=T0 + timedelta(seconds=30),
            batch="broken-2",
            snapshot=snap(T0 + timedelta(seconds=30), acct("a", 2), acct("b", 1)),
            finished=[fin("j3", T0)],
        )
    monkeypatch.undo()
    assert await stored_rows(store) == 3  # the first tick's alone
    assert await store.finished() == []
    assert await tick(store, snap(T0 + 3 * MIN, acct("a", 2), acct("b", 1))) == 2  # total, a
    got = await store.samples(since=T0, until=T0 + 3 * MIN, per_account=True, now=T0)
    assert [(s.at, s.account, s.running) for s in got] == [
        (T0, None, 2.0),
        (T0, "a", 1.0),
        (T0, "b", 1.0),
        (T0 + 3 * MIN, None, 3.0),
        (T0 + 3 * MIN, "a", 2.0),
        (T0 + 3 * MIN, "b", 1.0),
    ]
