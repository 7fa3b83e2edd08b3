"""Learned stuck limits (`bot.stucklimit`): 19 vs 20 jobs, the 5-minute floor, the ceiling, the
words the alert says, and the diff using a limit per model."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot import alerts
from bot.diff import diff
from bot.embeds import queue_pages
from bot.history.records import Finished
from bot.models import Job, Snapshot
from bot.stucklimit import FLOOR_SECONDS, MIN_JOBS, StuckLimit, learn, limit_for, p95

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
CEILING = 20 * 60.0


def runs(
    *seconds: float, outcome: str = "completed", model: str = "Seedance 2.0"
) -> list[Finished]:
    return [
        Finished("dreamina", f"j{i}", "a", "video", model, outcome, s, "poll", T0)
        for i, s in enumerate(seconds)
    ]


def test_p95_nearest_rank() -> None:
    assert p95([5.0]) == 5.0
    assert p95(float(i) for i in range(1, 21)) == 19.0  # of 20: the 19th smallest
    assert p95(float(i) for i in range(100, 0, -1)) == 95.0


def test_nineteen_jobs_are_not_enough_twenty_are() -> None:
    assert MIN_JOBS == 20
    nineteen = runs(*[180.0] * 19)
    assert learn("Seedance 2.0", nineteen, ceiling_seconds=CEILING) == StuckLimit(
        CEILING, "ceiling", "Seedance 2.0", None
    )
    twenty = runs(*[180.0] * 20)
    assert learn("Seedance 2.0", twenty, ceiling_seconds=CEILING) == StuckLimit(
        360.0, "learned", "Seedance 2.0", 180.0
    )
    # only completed jobs with a usable run time count
    others = runs(*[180.0] * 5, outcome="failed") + runs(float("nan"), -1.0)
    assert learn("m", nineteen + others, ceiling_seconds=CEILING).source == "ceiling"


def test_the_floor_and_the_ceiling_at_exactly_their_values() -> None:
    assert FLOOR_SECONDS == 5 * 60
    floor = learn("m", runs(*[FLOOR_SECONDS / 2] * 20), ceiling_seconds=CEILING)
    assert floor == StuckLimit(FLOOR_SECONDS, "floor", "m", 150.0)
    below = learn("m", runs(*[FLOOR_SECONDS / 2 - 1] * 20), ceiling_seconds=CEILING)
    assert (below.seconds, below.source) == (FLOOR_SECONDS, "floor")
    above = learn("m", runs(*[FLOOR_SECONDS / 2 + 1] * 20), ceiling_seconds=CEILING)
    assert (above.seconds, above.source) == (FLOOR_SECONDS + 2, "learned")
    at_ceiling = learn("m", runs(*[CEILING / 2] * 20), ceiling_seconds=CEILING)
    assert (at_ceiling.seconds, at_ceiling.source) == (CEILING, "ceiling")
    under = learn("m", runs(*[CEILING / 2 - 1] * 20), ceiling_seconds=CEILING)
    assert (under.seconds, under.source) == (CEILING - 2, "learned")
    # a ceiling under the floor (STUCK_AFTER_MINUTES=1) wins: the operator's limit
    low = learn("m", runs(*[10.0] * 20), ceiling_seconds=60.0)
    assert (low.seconds, low.source) == (60.0, "ceiling")


def test_p95_not_the_mean_the_slowest_twentieth_ignored() -> None:
    # 19 runs of 3 min and one of 60 min: p95 is 3 min, the outlier does not count
    limit = learn("m", runs(*[180.0] * 19, 3600.0), ceiling_seconds=CEILING)
    assert (limit.seconds, limit.p95) == (360.0, 180.0)


def stuck_job(model: str | None, seconds: int) -> Job:
    return Job("dreamina", "j1", "video", "a", None, seconds, model=model)


def test_the_alert_says_which_limit_applied() -> None:
    job = stuck_job("Seedance 2.0", 14 * 60)
    learned = StuckLimit(12 * 60.0, "learned", "Seedance 2.0", 6 * 60.0)
    event = alerts.stuck_event("dreamina", job, 14 * 60, now=T0, limit=learned)
    assert event.detail == "running for 14m 00s; Seedance 2.0 usually finishes within 6m 00s"
    floor = StuckLimit(300.0, "floor", "m", 60.0)
    assert alerts.stuck_event("dreamina", job, 301, now=T0, limit=floor).detail == (
        "running for 5m 01s; m usually finishes within 1m 00s; stuck after 5m 00s at the least"
    )
    capped = StuckLimit(CEILING, "ceiling", "m", 900.0)
    assert alerts.stuck_event("dreamina", job, CEILING, now=T0, limit=capped).detail == (
        "running for 20m 00s; m usually finishes within 15m 00s; stuck after 20m 00s "
        "(STUCK_AFTER_MINUTES) at the most"
    )
    fallback = StuckLimit(CEILING)
    assert alerts.stuck_event("dreamina", job, CEILING, now=T0, limit=fallback).detail == (
        "running for 20m 00s; stuck after 20m 00s (STUCK_AFTER_MINUTES)"
    )


def test_the_diff_uses_each_models_limit() -> None:
    jobs = (
        Job("dreamina", "fast-over", "video", "a", None, 361, model="fast"),
        Job("dreamina", "fast-at", "video", "a", None, 360, model="fast"),
        Job("dreamina", "fast-under", "video", "a", None, 359, model="fast"),
        Job("dreamina", "other", "video", "a", None, 1199, model="other"),
        Job("dreamina", "none", "video", "a", None, 1200),
    )
    cur = Snapshot("dreamina", T0, jobs, ())
    d = diff(
        None,
        cur,
        now=T0,
        stuck_after=timedelta(seconds=CEILING),
        stuck_limits={"fast": 360.0},
    )
    assert [j.id for j in d.new_stuck] == ["fast-over", "fast-at", "none"]


def test_queue_marks_by_the_same_limit() -> None:
    """/queue's ⚠ and the stuck alert agree: a job past its model's learned limit is marked,
    one of another model at the same age is not (the ceiling is its limit)."""
    jobs = (
        Job("dreamina", "fast-job", "video", "a", None, 360, model="fast"),
        Job("dreamina", "slow-job", "video", "a", None, 360, model="slow"),
    )
    snap = Snapshot("dreamina", T0, jobs, ())
    [page] = queue_pages(
        [snap],
        now=T0,
        stuck_after=timedelta(seconds=CEILING),
        redact=False,
        titles={},
        stuck_limits={"dreamina": {"fast": 360.0}, "other": {"slow": 1.0}},
    )
    assert page.title == "Queue — 2 running, 1 stuck"
    [field] = page.fields
    lines = (field.value or "").splitlines()
    assert [("fast" in line, line.endswith("⚠ stuck")) for line in lines] == [
        (True, True),
        (False, False),
    ]


def test_a_model_with_too_little_history_says_the_fallback_and_limit_for_the_ceiling() -> None:
    too_little = StuckLimit(CEILING, model="Seedance 2.0")
    assert too_little.reason() == "stuck after 20m 00s (STUCK_AFTER_MINUTES)"
    assert limit_for("Seedance 2.0", None, CEILING) == CEILING  # nothing learned at all
    assert limit_for("Seedance 2.0", {}, CEILING) == CEILING
    assert limit_for("Seedance 2.0", {"other": 60.0}, CEILING) == CEILING
    assert limit_for(None, {"other": 60.0}, CEILING) == CEILING
    assert limit_for("other", {"other": 60.0}, CEILING) == 60.0


def test_a_run_of_zero_seconds_counts() -> None:
    """A job seen once and gone the next tick ran (as far as anyone knows) 0 s: a real
    completion, counted; the floor keeps its limit at 5 minutes."""
    assert learn("m", runs(*[0.0] * 20), ceiling_seconds=CEILING) == StuckLimit(
        300.0, "floor", "m", 0.0
    )
