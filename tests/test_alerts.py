"""The alert policy: flap damping, stable keys, routing, mutes, mentions."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot import alerts, errors
from bot.alerts import (
    AlertConfig,
    AlertState,
    CapacityObs,
    Mention,
    Mute,
    Route,
    advance,
    capacity_events,
    is_muted,
    mention_for,
    plan,
    route_for,
    upstream_events,
)
from bot.events import Event, EventKind
from bot.models import MAX_ELAPSED_SECONDS, Job, JobResult, Outcome
from bot.providers.parse import parse_elapsed

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def at(i: int) -> datetime:
    return T0 + timedelta(seconds=30 * i)


def run_capacity(seq: list[bool], *, flap: int = 2, account: str | None = "a@x") -> list[str]:
    """Feed a sequence of full/not-full readings; return the event keys in order."""
    states: dict[str, AlertState] = {}
    keys: list[str] = []
    for i, full in enumerate(seq):
        changed, events = capacity_events(
            "pixverse", [CapacityObs(account, full, 5, 5)], states, now=at(i), flap_ticks=flap
        )
        for s in changed:
            states[s.scope] = s
        keys += [e.key for e in events]
    return keys


def run_upstream(seq: list[str], *, flap: int = 2, after: int = 3) -> list[str]:
    states: dict[str, AlertState] = {}
    words: list[str] = []
    for i, obs in enumerate(seq):
        changed, events = upstream_events(
            "minimax",
            obs,
            states,
            now=at(i),
            flap_ticks=flap,
            unreachable_after=after,
            detail="boom",
        )
        for s in changed:
            states[s.scope] = s
        words += [e.key for e in events]
    return words


def test_exhausted_then_restored_with_flap_damping():
    F, N = True, False
    assert run_capacity([F]) == []
    assert run_capacity([F, F]) == ["capacity:pixverse:a@x:1:exhausted"]
    assert run_capacity([F, F, F, F, N, N, N]) == [
        "capacity:pixverse:a@x:1:exhausted",
        "capacity:pixverse:a@x:1:restored",
    ]
    # a second episode gets its own keys
    assert run_capacity([F, F, N, N, F, F]) == [
        "capacity:pixverse:a@x:1:exhausted",
        "capacity:pixverse:a@x:1:restored",
        "capacity:pixverse:a@x:2:exhausted",
    ]


def test_flapping_never_announces():
    assert run_capacity([True, False] * 10) == []
    # announced, then a flap back to ok that does not hold: no restored
    assert run_capacity([True, True, False, True, False, True]) == [
        "capacity:pixverse:a@x:1:exhausted"
    ]


def test_flap_ticks_one_is_immediate():
    assert run_capacity([True, False], flap=1) == [
        "capacity:pixverse:a@x:1:exhausted",
        "capacity:pixverse:a@x:1:restored",
    ]


def test_restored_never_without_exhausted():
    assert run_capacity([False, False, False]) == []
    assert run_capacity([True, False, False, False]) == []


def test_provider_wide_key():
    assert run_capacity([True, True], account=None) == ["capacity:pixverse:*:1:exhausted"]


def test_steady_state_writes_nothing():
    state = AlertState("capacity:a")
    new, what = advance(state, alerts.OK, now=T0, need=2)
    assert new is state and what is None
    s1, _ = advance(state, alerts.FULL, now=T0, need=2)
    s2, what = advance(s1, alerts.FULL, now=at(1), need=2)
    assert what == "announce"
    s3, what = advance(s2, alerts.FULL, now=at(2), need=2)
    assert s3 is s2 and what is None


@given(st.lists(st.booleans(), max_size=40), st.integers(1, 4))
def test_capacity_alternates_and_restored_follows_exhausted(seq, flap):
    keys = run_capacity(seq, flap=flap)
    words = [k.rsplit(":", 1)[1] for k in keys]
    assert words == ["exhausted", "restored"] * (len(words) // 2) + (
        ["exhausted"] if len(words) % 2 else []
    )
    assert len(set(keys)) == len(keys)


def test_unauthorized_then_recovered():
    keys = run_upstream([alerts.UNAUTHORIZED, alerts.UNAUTHORIZED, alerts.OK, alerts.OK])
    assert keys == ["upstream:minimax:1:unauthorized", "upstream:minimax:1:recovered"]


def test_unreachable_needs_n_ticks():
    U = alerts.UNREACHABLE
    assert run_upstream([U, U]) == []
    assert run_upstream([U, U, U]) == ["upstream:minimax:1:unreachable"]
    assert run_upstream([U, U, alerts.OK, U, U]) == []
    assert run_upstream([U] * 3 + [alerts.OK]) == ["upstream:minimax:1:unreachable"]
    assert run_upstream([alerts.OK] * 5) == []


def test_outage_word_changes():
    P, A = alerts.PAYMENT_REQUIRED, alerts.UNAUTHORIZED
    keys = run_upstream([A, A, P, P, alerts.OK, alerts.OK])
    assert keys == [
        "upstream:minimax:1:unauthorized",
        "upstream:minimax:2:payment required",
        "upstream:minimax:2:recovered",
    ]


def test_classify_error():
    assert alerts.classify_error(errors.Unauthorized("no")) == alerts.UNAUTHORIZED
    assert alerts.classify_error(errors.PaymentRequired("pay")) == alerts.PAYMENT_REQUIRED
    assert alerts.classify_error(errors.ServerError("x", status=503)) == alerts.UNREACHABLE
    assert alerts.classify_error(errors.UpstreamTimeout("slow")) == alerts.UNREACHABLE
    assert alerts.classify_error(errors.PayloadError("junk")) == alerts.UNREACHABLE


def test_job_event_key_and_fields():
    job = Job("pixverse", "user:1-pixverse:a@b.c-video:7", kind="video", account="a@b.c")
    res = JobResult("pixverse", job.id, Outcome.FAILED, error="nsfw", urls=("https://x/1",))
    e = alerts.job_event("pixverse", job, res, Outcome.FAILED, now=T0)
    assert e.key == "job:pixverse:user:1-pixverse:a@b.c-video:7:failed"
    assert (e.kind, e.word, e.account, e.detail, e.urls) == (
        EventKind.JOB,
        "failed",
        "a@b.c",
        "nsfw",
        ("https://x/1",),
    )
    s = alerts.stuck_event("pixverse", job, 1500, now=T0)
    assert s == Event(
        key="job:pixverse:user:1-pixverse:a@b.c-video:7:stuck",
        kind=EventKind.JOB,
        provider="pixverse",
        word="stuck",
        at=T0,
        job_id=job.id,
        account="a@b.c",
        detail="running for 25m 00s",
        extra={"kind": "video"},
    )
    # An absurd upstream figure (clamped to a year by the adapters) reads as absurd.
    for figure in (10**400, 1e308, float("inf"), "99999999:00"):
        seconds = parse_elapsed(figure)
        assert seconds == MAX_ELAPSED_SECONDS
        absurd = alerts.stuck_event("pixverse", job, seconds, now=T0)
        assert absurd.detail == "running for over 365d"


def ev(kind: EventKind, provider: str = "pixverse") -> Event:
    return Event(key=f"{kind}:{provider}", kind=kind, provider=provider, word="x", at=T0)


def test_route_for_per_kind_and_provider():
    routes = [
        Route(EventKind.JOB, None, 10),
        Route(EventKind.JOB, "minimax", 11),
        Route(EventKind.UPSTREAM, "pixverse", 12),
    ]
    assert route_for(ev(EventKind.JOB), routes, 99) == 10
    assert route_for(ev(EventKind.JOB, "minimax"), routes, 99) == 11
    assert route_for(ev(EventKind.UPSTREAM), routes, 99) == 12
    assert route_for(ev(EventKind.UPSTREAM, "minimax"), routes, 99) == 99
    assert route_for(ev(EventKind.CAPACITY), routes, None) is None


def test_mentions():
    mentions = [Mention(EventKind.UPSTREAM, None, 5), Mention(EventKind.UPSTREAM, "dreamina", 6)]
    assert mention_for(ev(EventKind.UPSTREAM), mentions) == 5
    assert mention_for(ev(EventKind.UPSTREAM, "dreamina"), mentions) == 6
    assert mention_for(ev(EventKind.JOB), mentions) is None


def test_mutes():
    mutes = [
        Mute("pixverse", None, T0 + timedelta(hours=1)),
        Mute(None, EventKind.CAPACITY, T0 - timedelta(minutes=1)),  # expired
        Mute("minimax", EventKind.JOB, None),
    ]
    assert is_muted(ev(EventKind.JOB), mutes, T0)
    assert not is_muted(ev(EventKind.JOB), mutes, T0 + timedelta(hours=2))
    assert not is_muted(ev(EventKind.CAPACITY, "dreamina"), mutes, T0)
    assert is_muted(ev(EventKind.JOB, "minimax"), mutes, T0)
    assert not is_muted(ev(EventKind.UPSTREAM, "minimax"), mutes, T0)


def test_plan_states():
    config = AlertConfig(
        routes=(Route(EventKind.JOB, None, 10),),
        mutes=(Mute(None, EventKind.CAPACITY, None),),
        mentions=(Mention(EventKind.JOB, None, 7),),
    )
    items = plan(
        [ev(EventKind.JOB), ev(EventKind.CAPACITY), ev(EventKind.UPSTREAM)],
        config,
        default_channel=None,
        now=T0,
    )
    assert [(i.channel_id, i.mention_role_id, i.state) for i in items] == [
        (10, 7, "pending"),
        (None, None, "muted"),
        (None, None, "unrouted"),
    ]


# ------------------------------------------------------------------ whole values, exact edges
# What a person reads in Discord is the whole event (word, account, job id, detail, extra
# fields), and what the next tick starts from is the whole state: both are compared whole.


def test_capacity_scope() -> None:
    assert alerts.capacity_scope(None) == "capacity"
    assert alerts.capacity_scope("a@x") == "capacity:a@x"


@pytest.mark.parametrize(
    ("error", "word"),
    [
        # by class, whatever status it carries
        (errors.Unauthorized("no"), "unauthorized"),
        (errors.PaymentRequired("pay"), "payment required"),
        # by status alone, on a plain error of the base classes
        (errors.UpstreamError("no", status=401), "unauthorized"),
        (errors.HTTPStatusError("no", status=401), "unauthorized"),
        (errors.UpstreamError("pay", status=402), "payment required"),
        (errors.HTTPStatusError("pay", status=402), "payment required"),
        # the statuses beside them, and none at all
        (errors.HTTPStatusError("x", status=400), "unreachable"),
        (errors.HTTPStatusError("x", status=403), "unreachable"),
        (errors.UpstreamError("x"), "unreachable"),
    ],
)
def test_classify_error_by_class_or_plain_status(error: errors.UpstreamError, word: str) -> None:
    assert alerts.classify_error(error) == word


def test_advance_each_transition_whole() -> None:
    state = AlertState("capacity:a")
    # a new raw condition: counted from 1, since now
    s1, what = advance(state, alerts.FULL, now=T0, need=2)
    assert (s1, what) == (AlertState("capacity:a", raw="full", streak=1, since=T0), None)
    # held for `need` ticks: announced, a new episode (announced now, nothing reminded), the
    # streak stops counting
    s2, what = advance(s1, alerts.FULL, now=at(1), need=2)
    assert (s2, what) == (
        AlertState(
            "capacity:a",
            raw="full",
            streak=alerts.STABLE,
            since=T0,
            announced="full",
            episode=1,
            announced_at=at(1),
        ),
        "announce",
    )
    # back to ok: counted again, since the new time, still announced
    s3, what = advance(replace(s2, reminded=2), alerts.OK, now=at(2), need=2)
    assert (s3, what) == (
        AlertState(
            "capacity:a",
            raw="ok",
            streak=1,
            since=at(2),
            announced="full",
            episode=1,
            announced_at=at(1),
            reminded=2,
        ),
        None,
    )
    # ok held: the all-clear; the episode stays (its events keep their keys), its reminders go
    s4, what = advance(s3, alerts.OK, now=at(3), need=2)
    assert (s4, what) == (
        AlertState(
            "capacity:a", raw="ok", streak=alerts.STABLE, since=at(2), announced=None, episode=1
        ),
        "clear",
    )


def test_advance_settles_at_exactly_need() -> None:
    """A condition that holds `need` ticks with nothing to announce stops counting at that
    tick, not one later: steady ticks write nothing."""
    flapped = AlertState("capacity:a", raw="full", streak=1, since=T0)  # never announced
    s1, what = advance(flapped, alerts.OK, now=at(1), need=2)
    assert (s1, what) == (AlertState("capacity:a", raw="ok", streak=1, since=at(1)), None)
    s2, what = advance(s1, alerts.OK, now=at(2), need=2)
    assert (s2, what) == (
        AlertState("capacity:a", raw="ok", streak=alerts.STABLE, since=at(1)),
        None,
    )
    s3, what = advance(s2, alerts.OK, now=at(3), need=2)
    assert s3 is s2 and what is None


def test_advance_need_below_one_is_one() -> None:
    new, what = advance(AlertState("upstream"), alerts.UNREACHABLE, now=T0, need=0)
    assert (new, what) == (
        AlertState(
            "upstream",
            raw="unreachable",
            streak=alerts.STABLE,
            since=T0,
            announced="unreachable",
            episode=1,
            announced_at=T0,
        ),
        "announce",
    )


def test_capacity_events_whole_states_and_events() -> None:
    obs = [CapacityObs("a@x", True, 3, 3), CapacityObs(None, True)]
    changed, events = capacity_events("pixverse", obs, {}, now=T0, flap_ticks=1)
    assert changed == [
        AlertState(
            "capacity:a@x",
            raw="full",
            streak=alerts.STABLE,
            since=T0,
            announced="full",
            episode=1,
            announced_at=T0,
        ),
        AlertState(
            "capacity",
            raw="full",
            streak=alerts.STABLE,
            since=T0,
            announced="full",
            episode=1,
            announced_at=T0,
        ),
    ]
    assert events == [
        Event(
            key="capacity:pixverse:a@x:1:exhausted",
            kind=EventKind.CAPACITY,
            provider="pixverse",
            word="exhausted",
            at=T0,
            account="a@x",
            detail="3/3 slots in use",
        ),
        Event(
            key="capacity:pixverse:*:1:exhausted",
            kind=EventKind.CAPACITY,
            provider="pixverse",
            word="exhausted",
            at=T0,
            account=None,
            detail="every account is full",
        ),
    ]
    states = {s.scope: s for s in changed}
    later = at(1)
    ok = [CapacityObs("a@x", False, 1, 3), CapacityObs(None, False)]
    changed, events = capacity_events("pixverse", ok, states, now=later, flap_ticks=1)
    assert [(s.scope, s.announced) for s in changed] == [("capacity:a@x", None), ("capacity", None)]
    assert events == [
        Event(
            key="capacity:pixverse:a@x:1:restored",
            kind=EventKind.CAPACITY,
            provider="pixverse",
            word="restored",
            at=later,
            account="a@x",
            detail="1/3 slots in use",
        ),
        Event(
            key="capacity:pixverse:*:1:restored",
            kind=EventKind.CAPACITY,
            provider="pixverse",
            word="restored",
            at=later,
            account=None,
            detail="capacity is available again",
        ),
    ]
    # Nothing changed: no state to write, no event.
    states = {s.scope: s for s in changed}
    assert capacity_events("pixverse", ok, states, now=at(2), flap_ticks=1) == ([], [])


@pytest.mark.parametrize(
    ("executing", "max_jobs", "detail"),
    [
        (2, 3, "2/3 slots in use"),
        (0, 0, "0/0 slots in use"),
        (2, None, None),
        (None, 3, None),
        (None, None, None),
    ],
)
def test_capacity_event_detail_needs_both_counts(
    executing: int | None, max_jobs: int | None, detail: str | None
) -> None:
    event = alerts.capacity_event(
        "minimax", CapacityObs("b@y", True, executing, max_jobs), alerts.EXHAUSTED, 4, T0
    )
    assert event == Event(
        key="capacity:minimax:b@y:4:exhausted",
        kind=EventKind.CAPACITY,
        provider="minimax",
        word="exhausted",
        at=T0,
        account="b@y",
        detail=detail,
    )


def test_upstream_events_whole() -> None:
    changed, events = upstream_events(
        "dreamina",
        alerts.UNAUTHORIZED,
        {},
        now=T0,
        flap_ticks=1,
        unreachable_after=3,
        detail="bad token",
    )
    assert changed == [
        AlertState(
            "upstream",
            raw="unauthorized",
            streak=alerts.STABLE,
            since=T0,
            announced="unauthorized",
            episode=1,
            announced_at=T0,
        )
    ]
    assert events == [
        Event(
            key="upstream:dreamina:1:unauthorized",
            kind=EventKind.UPSTREAM,
            provider="dreamina",
            word="unauthorized",
            at=T0,
            detail="bad token",
        )
    ]
    states = {"upstream": changed[0]}
    # The same word again: nothing to write, nothing to say.
    assert upstream_events(
        "dreamina",
        alerts.UNAUTHORIZED,
        states,
        now=at(1),
        flap_ticks=1,
        unreachable_after=3,
        detail="bad token",
    ) == ([], [])
    changed, events = upstream_events(
        "dreamina",
        alerts.OK,
        states,
        now=at(1),
        flap_ticks=1,
        unreachable_after=3,
        detail="ignored",
    )
    assert changed == [
        AlertState(
            "upstream", raw="ok", streak=alerts.STABLE, since=at(1), announced=None, episode=1
        )
    ]
    # recovered carries no detail: the error it was about is over
    assert events == [
        Event(
            key="upstream:dreamina:1:recovered",
            kind=EventKind.UPSTREAM,
            provider="dreamina",
            word="recovered",
            at=at(1),
        )
    ]


@pytest.mark.parametrize("after", [0, 1])
def test_unreachable_after_one_announces_at_once(after: int) -> None:
    changed, events = upstream_events(
        "minimax",
        alerts.UNREACHABLE,
        {},
        now=T0,
        flap_ticks=2,
        unreachable_after=after,
        detail="timed out",
    )
    assert changed == [
        AlertState(
            "upstream",
            raw="unreachable",
            streak=alerts.STABLE,
            since=T0,
            announced="unreachable",
            episode=1,
            announced_at=T0,
        )
    ]
    assert events == [
        Event(
            key="upstream:minimax:1:unreachable",
            kind=EventKind.UPSTREAM,
            provider="minimax",
            word="unreachable",
            at=T0,
            detail="timed out",
        )
    ]


def test_unreachable_after_two_waits_exactly_two() -> None:
    assert run_upstream([alerts.UNREACHABLE], after=2) == []
    assert run_upstream([alerts.UNREACHABLE] * 2, after=2) == ["upstream:minimax:1:unreachable"]


# ------------------------------------------------------------------------------ job events

STARTED = T0 - timedelta(minutes=25)
UPDATED = T0 - timedelta(minutes=1)
JOB_ID = "user:1-pixverse:a@b.c-video:7"


def test_job_event_whole_from_job_and_result() -> None:
    job = Job("pixverse", JOB_ID, kind="image", account="job@b.c", started=STARTED, model="v4")
    res = JobResult(
        "pixverse",
        JOB_ID,
        Outcome.COMPLETED,
        account="res@b.c",
        kind="video",
        updated=UPDATED,
        prompt="a cat",
        model="v5",
        urls=("https://x/1",),
        error="late",
        raw_status="COMPLETED",
        extra={"seed": "7"},
    )
    assert alerts.job_event("pixverse", job, res, Outcome.COMPLETED, now=T0) == Event(
        key=f"job:pixverse:{JOB_ID}:completed",
        kind=EventKind.JOB,
        provider="pixverse",
        word="completed",
        at=UPDATED,
        job_id=JOB_ID,
        account="res@b.c",
        detail="late",
        urls=("https://x/1",),
        extra={
            "kind": "video",
            "model": "v5",
            "prompt": "a cat",
            "status": "COMPLETED",
            "seed": "7",
            "started": STARTED.isoformat(),
        },
    )


def test_job_event_result_fields_fall_back_to_the_job() -> None:
    job = Job("pixverse", JOB_ID, kind="image", account="job@b.c", model="v4")
    res = JobResult("pixverse", JOB_ID, Outcome.FAILED)  # the endpoint said little
    assert alerts.job_event(
        "pixverse", job, res, Outcome.FAILED, now=T0, detail="timed out"
    ) == Event(
        key=f"job:pixverse:{JOB_ID}:failed",
        kind=EventKind.JOB,
        provider="pixverse",
        word="failed",
        at=T0,
        job_id=JOB_ID,
        account="job@b.c",
        detail="timed out",
        extra={"kind": "image", "model": "v4"},
    )


def test_job_event_from_the_job_alone() -> None:
    job = Job("minimax", "m-1", kind="video", account="acc", started=STARTED, model="hailuo")
    assert alerts.job_event(
        "minimax", job, None, Outcome.UNKNOWN, now=T0, detail="no outcome in 30m"
    ) == Event(
        key="job:minimax:m-1:unknown",
        kind=EventKind.JOB,
        provider="minimax",
        word="unknown",
        at=T0,
        job_id="m-1",
        account="acc",
        detail="no outcome in 30m",
        extra={"kind": "video", "model": "hailuo", "started": STARTED.isoformat()},
    )
    bare = Job("minimax", "m-2")
    assert alerts.job_event("minimax", bare, None, Outcome.UNKNOWN, now=T0) == Event(
        key="job:minimax:m-2:unknown",
        kind=EventKind.JOB,
        provider="minimax",
        word="unknown",
        at=T0,
        job_id="m-2",
    )


def test_job_event_from_the_result_alone() -> None:
    res = JobResult(
        "dreamina",
        "j-9",
        Outcome.MODERATED,
        account="US:a@x",
        kind="image",
        model="seedream",
        error="nsfw",
    )
    assert alerts.job_event("dreamina", None, res, Outcome.MODERATED, now=T0) == Event(
        key="job:dreamina:j-9:moderated",
        kind=EventKind.JOB,
        provider="dreamina",
        word="moderated",
        at=T0,
        job_id="j-9",
        account="US:a@x",
        detail="nsfw",
        extra={"kind": "image", "model": "seedream"},
    )


def test_job_event_from_nothing_has_an_empty_id() -> None:
    assert alerts.job_event("runway", None, None, Outcome.UNKNOWN, now=T0) == Event(
        key="job:runway::unknown",
        kind=EventKind.JOB,
        provider="runway",
        word="unknown",
        at=T0,
        job_id="",
    )


def test_stuck_event_whole_with_every_field() -> None:
    job = Job(
        "pixverse",
        JOB_ID,
        kind="video",
        account="a@b.c",
        started=STARTED,
        elapsed_seconds=1500,
        model="v5",
    )
    assert alerts.stuck_event("pixverse", job, 1500, now=T0) == Event(
        key=f"job:pixverse:{JOB_ID}:stuck",
        kind=EventKind.JOB,
        provider="pixverse",
        word="stuck",
        at=T0,
        job_id=JOB_ID,
        account="a@b.c",
        detail="running for 25m 00s",
        extra={
            "kind": "video",
            "model": "v5",
            "started": STARTED.isoformat(),
        },
    )
    bare = Job("pixverse", "x")
    assert alerts.stuck_event("pixverse", bare, 1200.9, now=T0) == Event(
        key="job:pixverse:x:stuck",
        kind=EventKind.JOB,
        provider="pixverse",
        word="stuck",
        at=T0,
        job_id="x",
        detail="running for 20m 00s",
        extra={},
    )


# ------------------------------------------------------------------------- routing, mutes


def test_mute_expiring_at_exactly_now_is_over() -> None:
    event = ev(EventKind.JOB)
    mute = Mute("pixverse", None, T0)
    assert not is_muted(event, [mute], T0)
    assert is_muted(event, [mute], T0 - timedelta(microseconds=1))
    assert not mute.active(T0) and mute.active(T0 - timedelta(microseconds=1))


def test_plan_whole_items() -> None:
    job, capacity, upstream = ev(EventKind.JOB), ev(EventKind.CAPACITY), ev(EventKind.UPSTREAM)
    config = AlertConfig(
        routes=(Route(EventKind.JOB, "pixverse", 10),),
        mutes=(Mute(None, EventKind.CAPACITY, T0 + timedelta(minutes=5)),),
        mentions=(Mention(EventKind.UPSTREAM, None, 7),),
    )
    assert plan([job, capacity, upstream], config, default_channel=99, now=T0) == [
        alerts.OutboxItem(job, 10, None, "pending"),
        alerts.OutboxItem(capacity, 99, None, "muted"),
        alerts.OutboxItem(upstream, 99, 7, "pending"),
    ]
    # The mute has run out by then: the capacity event is posted to the default channel.
    assert plan([capacity], config, default_channel=99, now=T0 + timedelta(minutes=5)) == [
        alerts.OutboxItem(capacity, 99, None, "pending")
    ]
