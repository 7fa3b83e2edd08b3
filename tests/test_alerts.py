"""The alert policy: flap damping, stable keys, routing, mutes, mentions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

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
        changed, events = capacity_events("pixverse", [CapacityObs(account, full, 5, 5)],
                                          states, now=at(i), flap_ticks=flap)
        for s in changed:
            states[s.scope] = s
        keys += [e.key for e in events]
    return keys


def run_upstream(seq: list[str], *, flap: int = 2, after: int = 3) -> list[str]:
    states: dict[str, AlertState] = {}
    words: list[str] = []
    for i, obs in enumerate(seq):
        changed, events = upstream_events("minimax", obs, states, now=at(i), flap_ticks=flap,
                                          unreachable_after=after, detail="boom")
        for s in changed:
            states[s.scope] = s
        words += [e.key for e in events]
    return words


def test_exhausted_then_restored_with_flap_damping():
    F, N = True, False
    assert run_capacity([F]) == []
    assert run_capacity([F, F]) == ["capacity:pixverse:a@x:1:exhausted"]
    assert run_capacity([F, F, F, F, N, N, N]) == ["capacity:pixverse:a@x:1:exhausted",
                                                   "capacity:pixverse:a@x:1:restored"]
    # a second episode gets its own keys
    assert run_capacity([F, F, N, N, F, F]) == ["capacity:pixverse:a@x:1:exhausted",
                                                "capacity:pixverse:a@x:1:restored",
                                                "capacity:pixverse:a@x:2:exhausted"]


def test_flapping_never_announces():
    assert run_capacity([True, False] * 10) == []
    # announced, then a flap back to ok that does not hold: no restored
    assert run_capacity([True, True, False, True, False, True]) == [
        "capacity:pixverse:a@x:1:exhausted"]


def test_flap_ticks_one_is_immediate():
    assert run_capacity([True, False], flap=1) == ["capacity:pixverse:a@x:1:exhausted",
                                                   "capacity:pixverse:a@x:1:restored"]


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
        ["exhausted"] if len(words) % 2 else [])
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
    assert keys == ["upstream:minimax:1:unauthorized", "upstream:minimax:2:payment required",
                    "upstream:minimax:2:recovered"]


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
        EventKind.JOB, "failed", "a@b.c", "nsfw", ("https://x/1",))
    s = alerts.stuck_event("pixverse", job, 1500, now=T0)
    assert s == Event(key="job:pixverse:user:1-pixverse:a@b.c-video:7:stuck",
                      kind=EventKind.JOB, provider="pixverse", word="stuck", at=T0,
                      job_id=job.id, account="a@b.c", detail="running for 25m 00s",
                      extra={"elapsed_seconds": "1500", "kind": "video"})
    # An absurd upstream figure (clamped to a year by the adapters) reads as absurd.
    for figure in (10**400, 1e308, float("inf"), "99999999:00"):
        seconds = parse_elapsed(figure)
        assert seconds == MAX_ELAPSED_SECONDS
        absurd = alerts.stuck_event("pixverse", job, seconds, now=T0)
        assert absurd.detail == "running for over 365d"


def ev(kind: EventKind, provider: str = "pixverse") -> Event:
    return Event(key=f"{kind}:{provider}", kind=kind, provider=provider, word="x", at=T0)


def test_route_for_per_kind_and_provider():
    routes = [Route(EventKind.JOB, None, 10), Route(EventKind.JOB, "minimax", 11),
              Route(EventKind.UPSTREAM, "pixverse", 12)]
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
    mutes = [Mute("pixverse", None, T0 + timedelta(hours=1)),
             Mute(None, EventKind.CAPACITY, T0 - timedelta(minutes=1)),  # expired
             Mute("minimax", EventKind.JOB, None)]
    assert is_muted(ev(EventKind.JOB), mutes, T0)
    assert not is_muted(ev(EventKind.JOB), mutes, T0 + timedelta(hours=2))
    assert not is_muted(ev(EventKind.CAPACITY, "dreamina"), mutes, T0)
    assert is_muted(ev(EventKind.JOB, "minimax"), mutes, T0)
    assert not is_muted(ev(EventKind.UPSTREAM, "minimax"), mutes, T0)


def test_plan_states():
    config = AlertConfig(routes=(Route(EventKind.JOB, None, 10),),
                         mutes=(Mute(None, EventKind.CAPACITY, None),),
                         mentions=(Mention(EventKind.JOB, None, 7),))
    items = plan([ev(EventKind.JOB), ev(EventKind.CAPACITY), ev(EventKind.UPSTREAM)], config,
                 default_channel=None, now=T0)
    assert [(i.channel_id, i.mention_role_id, i.state) for i in items] == [
        (10, 7, "pending"), (None, None, "muted"), (None, None, "unrouted")]
