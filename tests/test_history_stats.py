"""The /stats figures from known history records, at exact values."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.history import Finished, Sample
from bot.history.records import HOLDS_AT_MOST
from bot.history.stats import ModelStats, compute, full_seconds, percentile

T0 = datetime(2026, 11, 29, tzinfo=UTC)
T1 = T0 + timedelta(days=1)


def job(
    outcome: str,
    run: float | None = 60.0,
    *,
    provider: str = "pixverse",
    model: str | None = "v5",
    at: datetime = T0 + timedelta(hours=1),
    n: list[int] = [0],  # noqa: B006 - a counter for unique ids
) -> Finished:
    n[0] += 1
    return Finished(
        provider=provider,
        job_id=f"job-{n[0]}",
        account="a@example.com",
        kind="video",
        model=model,
        outcome=outcome,
        run_seconds=run,
        via="poll",
        at=at,
    )


def total(at: datetime, exhausted: bool, full: float = 0.0, provider: str = "pixverse") -> Sample:
    return Sample(provider, None, at, 5, 5, 0, exhausted, full)


def test_percentile_nearest_rank_first_last_alone() -> None:
    assert percentile([], 50) is None
    assert percentile([7.0], 50) == 7.0
    assert percentile([7.0], 95) == 7.0
    values = [float(v) for v in range(1, 21)]  # 1..20
    assert percentile(values, 50) == 10.0
    assert percentile(values, 95) == 19.0
    assert percentile(values, 100) == 20.0
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0  # unsorted input


def test_counts_failure_share_and_run_times_per_model() -> None:
    jobs = [
        job("completed", 100.0),
        job("completed", 300.0),
        job("completed", 200.0),
        job("failed", 5.0),
        job("moderated", None),
        job("cancelled", 50.0),
        job("completed", 40.0, model="v4"),
        job("failed", model=None, provider="minimax"),
    ]
    stats = compute(jobs, [], since=T0, until=T1)
    [minimax, pixverse] = stats.providers
    assert pixverse.models == (
        ModelStats("pixverse", "v5", 3, 1, 1, 1, p50_seconds=200.0, p95_seconds=300.0),
        ModelStats("pixverse", "v4", 1, 0, 0, 0, p50_seconds=40.0, p95_seconds=40.0),
    )
    assert pixverse.models[0].failure_percent == 40.0  # 2 of 5 decided; cancelled aside
    assert pixverse.models[1].failure_percent == 0.0
    assert minimax.models == (ModelStats("minimax", None, 0, 1, 0, 0),)
    assert minimax.models[0].failure_percent == 100.0
    assert pixverse.totals == ModelStats("pixverse", None, 4, 1, 1, 1)


def test_period_bounds_are_half_open() -> None:
    jobs = [
        job("completed", at=T0 - timedelta(microseconds=1)),
        job("failed", at=T0),
        job("moderated", at=T1 - timedelta(microseconds=1)),
        job("completed", at=T1),
    ]
    [p] = compute(jobs, [], since=T0, until=T1).providers
    assert (p.models[0].completed, p.models[0].failed, p.models[0].moderated) == (0, 1, 1)


def test_no_decided_job_has_no_failure_share() -> None:
    [p] = compute([job("cancelled"), job("unknown")], [], since=T0, until=T1).providers
    assert p.models[0].failure_percent is None
    assert (p.models[0].p50_seconds, p.models[0].p95_seconds) == (None, None)


def ticks(start: datetime, end: datetime, exhausted: bool) -> list[Sample]:
    """A point every minute of [start, end)."""
    n = int((end - start) / timedelta(minutes=1))
    return [total(start + timedelta(minutes=m), exhausted) for m in range(n)]


def test_full_hours_raw_samples_hold_until_the_next() -> None:
    hour = timedelta(hours=1)
    samples = [
        *ticks(T0 + 2 * hour, T0 + 5 * hour, True),  # full 2h → 5h: 3 h
        *ticks(T0 + 5 * hour, T0 + 20 * hour, False),
        *ticks(T0 + 20 * hour, T1, True),  # full until the period ends: 4 h
    ]
    [p] = compute([], samples, since=T0, until=T1).providers
    assert p.full_hours == 7.0
    assert p.sampled and not p.models


def test_a_point_holds_at_most_a_quarter_hour_past_it_is_unknown_not_full() -> None:
    samples = [
        total(T0, True),  # then the bot is down 10 hours: 15 minutes of it count, no more
        total(T0 + timedelta(hours=10), True),  # a point 15 minutes before the next: all of it
        total(T0 + timedelta(hours=10, minutes=15), False),
        total(T1 - timedelta(minutes=20), True),  # the last: 15 of its 20 minutes
    ]
    assert full_seconds(samples, since=T0, until=T1) == 3 * 15 * 60
    # exactly at the quarter hour, and a second past it
    at_most = [total(T0, True), total(T0 + HOLDS_AT_MOST, False)]
    assert full_seconds(at_most, since=T0, until=T1) == 900
    past = [total(T0, True), total(T0 + HOLDS_AT_MOST + timedelta(seconds=1), False)]
    assert full_seconds(past, since=T0, until=T1) == 900


def test_full_hours_clipped_to_the_period_and_buckets_count_their_full_seconds() -> None:
    samples = [
        total(T0 - timedelta(minutes=10), True),  # held into the period: counts from T0, 5 min
        total(T0 + timedelta(hours=1), False),
        # a 15-minute bucket that was full for 300 s of it
        total(T0 + timedelta(hours=3), True, full=300.0),
        total(T0 + timedelta(hours=3, minutes=15), False),
        # a bucket recording more than its span counts its span
        total(T1 - timedelta(minutes=1), True, full=900.0),
    ]
    assert full_seconds(samples, since=T0, until=T1) == 300 + 300 + 60


def test_account_samples_do_not_count_and_listed_providers_always_appear() -> None:
    per_account = Sample("pixverse", "a@example.com", T0, 5, 5, 0, True)
    stats = compute([], [per_account], since=T0, until=T1, providers=["dreamina"])
    assert [(p.provider, p.full_hours, p.sampled) for p in stats.providers] == [
        ("dreamina", 0.0, False)
    ]
    assert stats.empty


def test_models_busiest_first_then_by_name() -> None:
    jobs = [job("completed", model="b"), job("completed", model="a"), job("failed", model="c")]
    jobs.append(job("completed", model="c"))
    [p] = compute(jobs, [], since=T0, until=T1).providers
    assert [m.model for m in p.models] == ["c", "a", "b"]
