"""Reminders (`bot.remind`): a condition still on after REMIND_AFTER_HOURS is posted again once
per period, under a key naming its episode and period."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from bot import alerts
from bot.alerts import AlertState, advance
from bot.events import Event, EventKind
from bot.remind import due, reminder_events

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
EVERY = timedelta(hours=4)
SECOND = timedelta(seconds=1)


def announced(scope: str, word: str = alerts.FULL, **kw: object) -> AlertState:
    """`scope` announced at T0 (episode 3), observed ever since."""
    fields: dict[str, object] = {
        "raw": word,
        "since": T0 - timedelta(minutes=1),
        "announced": word,
        "episode": 3,
        "announced_at": T0,
    }
    fields.update(kw)
    return AlertState(scope, **fields)  # type: ignore[arg-type]


def test_due_at_exactly_remind_after_and_once_per_period() -> None:
    s = announced("capacity")
    assert due(s, now=T0 + EVERY - SECOND, every=EVERY) is None
    assert due(s, now=T0 + EVERY, every=EVERY) == 1
    reminded = replace(s, reminded=1)
    assert due(reminded, now=T0 + EVERY, every=EVERY) is None
    assert due(reminded, now=T0 + 2 * EVERY - SECOND, every=EVERY) is None
    assert due(reminded, now=T0 + 2 * EVERY, every=EVERY) == 2
    # ticks missed across several periods: one reminder, of the period now
    assert due(reminded, now=T0 + 5 * EVERY + SECOND, every=EVERY) == 5


def test_not_due_when_nothing_is_on() -> None:
    later = T0 + 10 * EVERY
    assert due(AlertState("capacity"), now=later, every=EVERY) is None
    # announced, but the condition is not observed this tick (a blip before the all-clear)
    blip = announced("capacity", raw=alerts.OK)
    assert due(blip, now=later, every=EVERY) is None
    # off
    assert reminder_events("p", [announced("capacity")], now=later, every=None) == ([], [])
    assert due(announced("capacity"), now=later, every=timedelta(0)) is None


def test_a_state_passed_over_does_not_stop_the_others() -> None:
    """Not due, or not a remindable condition (a failure rate): passed over, and the states
    after it still reminded."""
    now = T0 + EVERY
    states = [
        AlertState("capacity:ok@b.c"),
        announced("failure:a@b.c", "high"),
        announced("capacity:a@b.c"),
    ]
    changed, events = reminder_events("p", states, now=now, every=EVERY)
    assert changed == [replace(states[2], reminded=1)]
    assert [e.key for e in events] == ["capacity:p:a@b.c:3:still exhausted:1"]


def test_a_state_from_before_reminders_counts_from_since() -> None:
    old = announced("upstream", alerts.UNREACHABLE, announced_at=None, since=T0)
    assert due(old, now=T0 + EVERY - SECOND, every=EVERY) is None
    assert due(old, now=T0 + EVERY, every=EVERY) == 1
    assert due(replace(old, since=None), now=T0 + EVERY, every=EVERY) is None


def test_reminder_events_whole() -> None:
    now = T0 + EVERY
    states = [
        announced("capacity"),
        announced("capacity:a@b.c"),
        announced("upstream", alerts.UNAUTHORIZED),
        announced("failure:a@b.c", "high"),  # failure rates are not reminded
        AlertState("capacity:ok@b.c"),
    ]
    changed, events = reminder_events("minimax", states, now=now, every=EVERY)
    assert changed == [replace(s, reminded=1) for s in states[:3]]
    assert events == [
        Event(
            key="capacity:minimax:*:3:still exhausted:1",
            kind=EventKind.CAPACITY,
            provider="minimax",
            word="still exhausted",
            at=now,
            detail="every account has been full for 4h 00m",
        ),
        Event(
            key="capacity:minimax:a@b.c:3:still exhausted:1",
            kind=EventKind.CAPACITY,
            provider="minimax",
            word="still exhausted",
            at=now,
            account="a@b.c",
            detail="full for 4h 00m",
        ),
        Event(
            key="upstream:minimax:3:still unreachable:1",
            kind=EventKind.UPSTREAM,
            provider="minimax",
            word="still unreachable",
            at=now,
            detail="unauthorized for 4h 00m",
        ),
    ]


def test_a_new_episode_starts_its_own_periods() -> None:
    """The all-clear forgets the reminders; the next announcement counts from itself, under
    keys of its own episode."""
    s = replace(announced("capacity"), reminded=2)
    cleared, what = advance(replace(s, raw=alerts.OK, streak=1), alerts.OK, now=T0, need=2)
    assert what == "clear" and (cleared.announced_at, cleared.reminded) == (None, 0)
    again = T0 + timedelta(hours=1)
    s1, _ = advance(cleared, alerts.FULL, now=again, need=1)
    assert (s1.episode, s1.announced_at, s1.reminded) == (4, again, 0)
    assert due(s1, now=again + EVERY - SECOND, every=EVERY) is None
    _, events = reminder_events("p", [s1], now=again + EVERY, every=EVERY)
    assert [e.key for e in events] == ["capacity:p:*:4:still exhausted:1"]


def test_replaying_a_period_gives_the_same_key() -> None:
    """A restart (or a second replica) that lost the `reminded` write decides the same
    reminder again: the same key, which the outbox refuses."""
    s = announced("capacity:a")
    first = reminder_events("p", [s], now=T0 + EVERY, every=EVERY)[1]
    again = reminder_events("p", [s], now=T0 + EVERY + timedelta(minutes=7), every=EVERY)[1]
    assert [e.key for e in first] == [e.key for e in again] == ["capacity:p:a:3:still exhausted:1"]
