"""Failure rates (`bot.failrate`): the thresholds at exactly their values, the reasons named,
flap damping, and the keys."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from bot.alerts import STABLE, AlertState
from bot.events import Event, EventKind
from bot.failrate import (
    REASON_CHARS,
    FailureRate,
    failure_events,
    failure_rate,
    failure_scope,
    is_high,
)
from bot.history.records import Finished

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def job(
    i: int, outcome: str = "completed", reason: str | None = None, account: str = "a"
) -> Finished:
    return Finished(
        provider="pixverse",
        job_id=f"j{i}",
        account=account,
        kind="video",
        model="v5",
        outcome=outcome,
        run_seconds=60.0,
        via="poll",
        at=T0 - timedelta(seconds=i),
        reason=reason,
    )


def jobs(failing: int, seen: int, reason: str = "boom") -> list[Finished]:
    """`seen` jobs, newest first, the newest `failing` of them failed."""
    return [job(i, "failed", reason) if i < failing else job(i) for i in range(seen)]


def test_at_least_ten_seen() -> None:
    assert is_high(failure_rate(jobs(9, 9), window=20), threshold=30) is None
    assert is_high(failure_rate(jobs(3, 10), window=20), threshold=30) is True
    assert is_high(failure_rate(jobs(2, 10), window=20), threshold=30) is False


def test_at_exactly_the_threshold() -> None:
    six = failure_rate(jobs(6, 20), window=20)
    assert (six.seen, six.failing, six.percent) == (20, 6, 30.0)
    assert is_high(six, threshold=30) is True
    assert is_high(six, threshold=30.01) is False
    assert is_high(six, threshold=29.99) is True
    # one job either side of 6 of 20
    assert is_high(failure_rate(jobs(5, 20), window=20), threshold=30) is False
    assert is_high(failure_rate(jobs(7, 20), window=20), threshold=30) is True
    # at the fewest seen: 3 of 10 is exactly 30 %
    assert is_high(failure_rate(jobs(3, 10), window=20), threshold=30) is True
    # 29.99 % and 30 % of 10,000 jobs
    assert is_high(FailureRate(10_000, 2_999, 0), threshold=30) is False
    assert is_high(FailureRate(10_000, 2_000, 1_000), threshold=30) is True


def test_only_the_window_counts_and_moderated_counts_too() -> None:
    # the newest 20: 3 failed + 3 moderated; older failures out of the window
    history = (
        [job(i, "failed", "x") for i in range(3)]
        + [job(i, "moderated") for i in range(3, 6)]
        + [job(i) for i in range(6, 20)]
        + [job(i, "failed", "old") for i in range(20, 40)]
    )
    rate = failure_rate(history, window=20)
    assert (rate.seen, rate.failed, rate.moderated) == (20, 3, 3)
    assert rate.reasons == (("x", 3), ("moderated", 3))
    # cancelled and unknown are finished jobs that did not fail
    assert failure_rate([job(0, "cancelled"), job(1, "unknown")], window=20).failing == 0


def test_reasons_top_three_bounded_whitespace_folded() -> None:
    history = (
        [job(i, "failed", "  out\nof   credits ") for i in range(4)]
        + [job(i, "failed", "x" * 500) for i in range(4, 6)]
        + [job(6, "failed", "rare")]
        + [job(7, "failed", "rarer")]
        + [job(8, "moderated", None)]
        + [job(i) for i in range(9, 20)]
    )
    rate = failure_rate(history, window=20)
    long = "x" * (REASON_CHARS - 1) + "…"
    # ties (1 each): the most recent first
    assert rate.reasons == (("out of credits", 4), (long, 2), ("rare", 1))


def run(seq: Sequence[list[Finished]], *, flap: int = 2, account: str | None = "a") -> list[Event]:
    states: dict[str, AlertState] = {}
    out: list[Event] = []
    for i, finished in enumerate(seq):
        changed, events = failure_events(
            "pixverse",
            {account: finished},
            states,
            now=T0 + timedelta(seconds=30 * i),
            flap_ticks=flap,
            window=20,
            threshold=30,
        )
        states.update((s.scope, s) for s in changed)
        out += events
    return out


def test_high_then_normal_whole_events() -> None:
    high, low = jobs(7, 20, "bad *prompt*"), jobs(2, 20)
    events = run([high, high, high, low, low, low])
    assert events == [
        Event(
            key="failure:pixverse:a:1:failure rate high",
            kind=EventKind.ACCOUNT,
            provider="pixverse",
            word="failure rate high",
            at=T0 + timedelta(seconds=30),
            account="a",
            detail="7 of 20 recent jobs failed or were moderated (35 %): 7 failed. "
            "Top reasons: 7× bad *prompt*",
            extra={"failure rate": "35 %", "jobs seen": "20"},
        ),
        Event(
            key="failure:pixverse:a:1:failure rate normal",
            kind=EventKind.ACCOUNT,
            provider="pixverse",
            word="failure rate normal",
            at=T0 + timedelta(seconds=120),
            account="a",
            detail="2 of 20 recent jobs failed or were moderated (10 %): 2 failed, under 30 % "
            "again",
            extra={"failure rate": "10 %", "jobs seen": "20"},
        ),
    ]


def test_flap_damped_like_capacity() -> None:
    high, low = jobs(7, 20), jobs(0, 20)
    # one tick high, one low, alternating: nothing
    assert run([high, low, high, low, high, low]) == []
    # normal only after an announced high, and only once it held below
    assert [e.word for e in run([high, high, low, high, low, low])] == [
        "failure rate high",
        "failure rate normal",
    ]
    # a second episode, its own keys; the provider as a whole: `*`
    keys = [e.key for e in run([high, high, low, low, high, high], account=None)]
    assert keys == [
        "failure:pixverse:*:1:failure rate high",
        "failure:pixverse:*:1:failure rate normal",
        "failure:pixverse:*:2:failure rate high",
    ]
    assert run([low, low], account=None) == []


def test_too_few_seen_leaves_the_state_alone() -> None:
    announced = AlertState(failure_scope("a"), raw="high", announced="high", episode=1)
    changed, events = failure_events(
        "pixverse",
        {"a": jobs(0, 9)},
        {announced.scope: announced},
        now=T0,
        flap_ticks=1,
        window=20,
        threshold=30,
    )
    assert (changed, events) == ([], [])
    assert failure_scope(None) == "failure" and failure_scope("x:y") == "failure:x:y"


def test_restart_replays_the_same_key() -> None:
    """The state committed with the alert says it was announced: the same readings after a
    restart announce nothing; a replica with a stale state decides the same key."""
    high = jobs(10, 20)
    first = run([high, high])
    assert [e.key for e in first] == ["failure:pixverse:a:1:failure rate high"]
    stale = run([high, high])  # a second replica from the same stored state
    assert [e.key for e in stale] == [e.key for e in first]
    states: dict[str, AlertState] = {}
    for _ in range(2):
        changed, _events = failure_events(
            "pixverse", {"a": high}, states, now=T0, flap_ticks=2, window=20, threshold=30
        )
        states.update((s.scope, s) for s in changed)
    changed, events = failure_events(
        "pixverse", {"a": high}, states, now=T0, flap_ticks=2, window=20, threshold=30
    )
    assert (changed, events) == ([], [])


def test_the_words_each_count_by_its_word() -> None:
    assert FailureRate(20, 3, 3).words() == (
        "6 of 20 recent jobs failed or were moderated (30 %): 3 failed, 3 moderated"
    )
    assert FailureRate(20, 0, 2).words() == (
        "2 of 20 recent jobs failed or were moderated (10 %): 2 moderated"
    )
    assert FailureRate(20, 0, 0).words() == "none of 20 recent jobs failed or was moderated (0 %)"
    # no window at all (the setting's bounds keep it from 0): nothing seen
    assert failure_rate(jobs(3, 20), window=0) == FailureRate(0, 0, 0)


def test_each_scope_keeps_its_own_state_and_too_few_skips_only_that_one() -> None:
    """The provider (`*`) and each account are read side by side: one with too few jobs is
    passed over, the next still read; each state under its own scope, since this tick."""
    many = (
        [job(i, "failed", "GPU fell over") for i in range(4)]
        + [job(i, "failed", "out of credits") for i in range(4, 6)]
        + [job(6, "moderated")]
        + [job(i) for i in range(7, 20)]
    )
    windows = {"few": jobs(9, 9), None: many, "a": jobs(6, 20)}
    t1 = T0 + timedelta(seconds=30)

    def tick(states: dict[str, AlertState], now: datetime) -> tuple[list[AlertState], list[Event]]:
        return failure_events(
            "pixverse", windows, states, now=now, flap_ticks=2, window=20, threshold=30
        )

    changed, events = tick({}, T0)
    assert (changed, events) == (
        [
            AlertState("failure", raw="high", streak=1, since=T0),
            AlertState("failure:a", raw="high", streak=1, since=T0),
        ],
        [],
    )
    changed, events = tick({s.scope: s for s in changed}, t1)
    assert changed == [
        AlertState(
            scope,
            raw="high",
            streak=STABLE,
            since=T0,
            announced="high",
            episode=1,
            announced_at=t1,
        )
        for scope in ("failure", "failure:a")
    ]
    assert [(e.key, e.detail) for e in events] == [
        (
            "failure:pixverse:*:1:failure rate high",
            "7 of 20 recent jobs failed or were moderated (35 %): 6 failed, 1 moderated. "
            "Top reasons: 4× GPU fell over; 2× out of credits; 1× moderated",
        ),
        (
            "failure:pixverse:a:1:failure rate high",
            "6 of 20 recent jobs failed or were moderated (30 %): 6 failed. Top reasons: 6× boom",
        ),
    ]


def test_normal_at_none_failing_says_so() -> None:
    events = run([jobs(7, 20), jobs(7, 20), jobs(0, 20), jobs(0, 20)])
    assert events[-1].detail == (
        "none of 20 recent jobs failed or was moderated (0 %), under 30 % again"
    )
