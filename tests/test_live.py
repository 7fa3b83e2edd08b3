"""A provider's runtime state (`bot.live.LiveState`): one owner, updated by the watcher's ticks
(leader and follower) and by the commands that fetch for themselves."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import ClassVar

from bot.errors import PayloadError, Unauthorized
from bot.live import LiveState, describe
from bot.models import Job, JobResult, Outcome, Snapshot
from bot.providers.base import Provider
from bot.store import Store
from bot.watch import ProviderWatcher, WatchConfig

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
P = "pixverse"
TICK = timedelta(microseconds=1)


def snap(*ids: str, at: datetime = T0) -> Snapshot:
    return Snapshot(P, at, tuple(Job(P, i, kind="video", account="a@x") for i in ids))


def test_the_freshest_snapshot_is_kept_whoever_saw_it() -> None:
    state = LiveState(poll_interval=30)
    by_command = snap("a", at=T0 + timedelta(seconds=5))
    state.saw(by_command, ok_at=by_command.taken_at)
    # a tick that fetched before the command commits after it: its older answer is not shown
    state.saw(snap("old"), ok_at=T0 + timedelta(seconds=6))
    assert (state.snapshot, state.fetched_at, state.last_ok) == (
        by_command,
        by_command.taken_at,
        T0 + timedelta(seconds=6),
    )
    as_new = snap("b", at=by_command.taken_at)
    state.saw(as_new, ok_at=None)  # committed in part: shown, but no good poll
    assert (state.snapshot, state.last_ok) == (as_new, T0 + timedelta(seconds=6))


def test_fresh_means_younger_than_one_poll_interval_of_its_own_time() -> None:
    state = LiveState(poll_interval=30)
    assert state.fresh(T0) is None
    state.saw(snap("a"), ok_at=T0)
    assert state.fresh(T0 + timedelta(seconds=30)) == snap("a")
    assert state.fresh(T0 + timedelta(seconds=30) + TICK) is None
    state.saw(snap("a"), ok_at=T0 + timedelta(minutes=5))  # seen again: no younger
    assert state.fresh(T0 + timedelta(minutes=5)) is None


def test_a_tick_records_its_error_and_the_next_good_one_clears_it() -> None:
    state = LiveState(poll_interval=30)
    state.ended_tick("pixverse: useapi rejected the token (401)", at=T0)
    assert (state.ticks, state.errors, state.last_error, state.last_error_at) == (
        1,
        1,
        "pixverse: useapi rejected the token (401)",
        T0,
    )
    state.failed(Unauthorized("Unauthorized", provider=P, status=401), at=T0 + TICK)
    assert (state.last_error, state.last_error_at) == ("pixverse: Unauthorized (401)", T0 + TICK)
    state.ended_tick(None, at=T0 + timedelta(seconds=30))
    assert (state.ticks, state.errors, state.last_error) == (2, 1, None)
    assert state.last_error_at == T0 + TICK  # when the last error was, still


def test_describe_names_a_bug_by_its_type_and_an_upstream_error_by_its_words() -> None:
    assert describe(PayloadError("could not read", provider=P)) == "pixverse: could not read"
    assert describe(KeyError("jobs")) == "KeyError: 'jobs'"


def test_the_loop_counts_as_running_until_three_intervals_and_a_minute_pass_silent() -> None:
    state = LiveState(poll_interval=30)
    state.saw(snap(), ok_at=T0)
    assert state.loop_running(T0) is None  # no tick has ended yet
    state.ended_tick(None, at=T0)
    limit = T0 + timedelta(seconds=3 * 30 + 60)
    assert state.loop_running(limit) is True
    assert state.loop_running(limit + TICK) is False
    # an upstream error is a tick that ended: the loop runs
    state.ended_tick("pixverse: useapi is unreachable", at=limit)
    assert state.loop_running(limit + timedelta(seconds=150)) is True
    failing = LiveState(poll_interval=30)
    failing.ended_tick("pixverse: useapi is unreachable", at=T0)
    assert failing.loop_running(limit) is True and failing.loop_running(limit + TICK) is False


class Scripted(Provider):
    name: ClassVar[str] = P
    title: ClassVar[str] = "PixVerse"

    def __init__(self, answer: Snapshot) -> None:
        self.answer = answer
        self.calls = 0

    async def snapshot(self) -> Snapshot:
        self.calls += 1
        return self.answer

    async def job(self, job_id: str) -> JobResult:
        return JobResult(P, job_id, Outcome.RUNNING)


async def test_a_follower_keeps_its_state_from_the_store(url: str) -> None:
    leader_store, follower_store = await Store.open(url), await Store.open(url)
    config = WatchConfig(
        stuck_after=timedelta(minutes=20), poll_interval=30, lease_ttl=timedelta(seconds=90)
    )
    lead = ProviderWatcher(Scripted(snap("a")), leader_store, config, clock=lambda: T0)
    own = Scripted(snap("never"))
    follow = ProviderWatcher(own, follower_store, config, clock=lambda: T0)
    try:
        assert (await lead.tick()).leader
        follow.state.failed("pixverse: useapi rejected the token (401)", at=T0)  # a command's
        report = await follow.tick()
        assert not report.leader and report.error is None and own.calls == 0
        state = follow.state
        assert state.snapshot == snap("a") and state.fetched_at == T0
        assert (state.last_ok, state.last_error, state.ticks) == (T0, None, 1)
        assert state.loop_running(T0) is True
        # a command's younger fetch stays until the store holds a younger one
        younger = snap("b", at=T0 + timedelta(seconds=10))
        state.saw(younger, ok_at=younger.taken_at)
        await follow.tick()
        assert state.snapshot == younger and follow.latest == younger
    finally:
        await leader_store.close()
        await follower_store.close()
