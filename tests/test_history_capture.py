"""History records made from what the watcher holds (`bot.history.capture`), and the time
buckets the store files them under (`bot.store.history.floor_to`): pure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from bot.history import Finished, Sample, finished_of, samples_of
from bot.models import Account, Job, JobResult, Outcome, Snapshot
from bot.store.history import floor_to

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def test_samples_say_free_and_exhausted_by_the_models_own_definitions():
    snap = Snapshot(
        "minimax",
        T0,
        accounts=(
            Account("told", max_jobs=3, executing=3, available=1),  # `available` decides: room
            Account("over", max_jobs=2, executing=3, available=None),  # worked out, never < 0
            Account("silent", max_jobs=None, executing=2, available=None),  # says nothing
        ),
    )
    assert samples_of(snap) == [
        Sample("minimax", None, T0, 8.0, 5.0, 1.0, False),
        Sample("minimax", "told", T0, 3.0, 3.0, 1.0, False),
        Sample("minimax", "over", T0, 3.0, 2.0, 0.0, True),
        Sample("minimax", "silent", T0, 2.0, None, None, False),
    ]
    # no limit published anywhere (Mureka): nothing free known, never exhausted
    mureka = Snapshot("mureka", T0, accounts=(Account("m", None, 4, None),))
    assert samples_of(mureka, T0 + timedelta(seconds=5))[0] == Sample(
        "mureka", None, T0 + timedelta(seconds=5), 4.0, None, None, False
    )
    assert samples_of(Snapshot("p", T0)) == [Sample("p", None, T0, 0.0, None, None, False)]


def test_a_finished_record_takes_upstreams_answer_first_and_its_reason_only_when_failed():
    job = Job("p", "j", kind="video", account="a", model="m1", started=T0)
    left = T0 + timedelta(minutes=4)
    failed = JobResult("p", "j", Outcome.FAILED, model="m2", error="no GPU")
    assert finished_of("p", job, failed, Outcome.FAILED, left_at=left, at=left, via="poll") == (
        Finished("p", "j", "a", "video", "m2", "failed", 240.0, "poll", left, "no GPU")
    )
    done = JobResult("p", "j", Outcome.COMPLETED, error="a warning")
    got = finished_of("p", job, done, Outcome.COMPLETED, left_at=left, at=left, via="callback")
    assert (got.model, got.reason, got.via) == ("m1", None, "callback")
    bare = finished_of("p", Job("p", "k"), None, Outcome.UNKNOWN, left_at=left, at=left, via="poll")
    assert bare == Finished("p", "k", None, None, None, "unknown", None, "poll", left)


def test_times_floor_to_whole_minutes_and_quarter_hours_in_utc():
    t = datetime(2026, 11, 30, 23, 59, 59, 999_999, tzinfo=UTC)
    assert floor_to(t, 60) == datetime(2026, 11, 30, 23, 59, tzinfo=UTC)
    assert floor_to(t, 900) == datetime(2026, 11, 30, 23, 45, tzinfo=UTC)
    edge = datetime(2026, 12, 1, 0, 15, tzinfo=UTC)
    assert floor_to(edge, 900) == edge  # exactly on the edge: itself
    assert floor_to(edge - timedelta(microseconds=1), 900) == edge - timedelta(minutes=15)
    india = datetime(2026, 12, 1, 5, 50, tzinfo=timezone(timedelta(hours=5, minutes=30)))
    assert floor_to(india, 900) == datetime(2026, 12, 1, 0, 15, tzinfo=UTC)
    assert floor_to(edge.replace(tzinfo=None), 60) == edge  # naive: UTC
