"""The diff (`bot.diff`): pure, two snapshots in, what happened out."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from bot.alerts import CapacityObs
from bot.diff import Diff, diff
from bot.models import Account, Job, Snapshot

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
P = "pixverse"


def job(
    jid: str, *, account: str = "a@x", elapsed: int | None = 60, started: datetime | None = None
) -> Job:
    return Job(P, jid, kind="video", account=account, elapsed_seconds=elapsed, started=started)


def snap(*jobs: Job, accounts: Sequence[Account] = (), at: datetime = T0) -> Snapshot:
    return Snapshot(P, at, tuple(jobs), tuple(accounts))


def acct(name: str, available: int | None, max_jobs: int | None = 3) -> Account:
    executing = (max_jobs or 0) - (available or 0)
    return Account(name, max_jobs, executing, available)


def test_diff_left_and_first_run():
    a, b, c = job("a"), job("b"), job("c")
    d = diff(snap(a, b), snap(b, c), now=T0, stuck_after=timedelta(minutes=20))
    assert d.left == (a,)
    assert diff(None, snap(b, c), now=T0, stuck_after=timedelta(minutes=20)).left == ()
    assert diff(snap(a), snap(a), now=T0, stuck_after=timedelta(minutes=20)).left == ()


def test_diff_stuck_once():
    old = job("old", elapsed=1300)
    by_start = job("s", elapsed=None, started=T0 - timedelta(minutes=25))
    young = job("y", elapsed=10)
    timeless = job("t", elapsed=None)
    d = diff(None, snap(old, by_start, young, timeless), now=T0, stuck_after=timedelta(minutes=20))
    assert {j.id for j in d.new_stuck} == {"old", "s"}
    assert d.stuck_ids == {"old", "s"}
    d2 = diff(
        snap(old, by_start),
        snap(old),
        now=T0,
        stuck_after=timedelta(minutes=20),
        stuck_ids=d.stuck_ids,
    )
    assert d2.new_stuck == () and d2.stuck_ids == {"old"}  # "s" left: forgotten


def test_diff_capacity():
    d = diff(
        None, snap(accounts=[acct("a", 0), acct("b", 2)]), now=T0, stuck_after=timedelta(minutes=20)
    )
    assert [(o.account, o.full) for o in d.capacity] == [("a", True), ("b", False), (None, False)]
    d = diff(
        None, snap(accounts=[acct("a", 0), acct("b", 0)]), now=T0, stuck_after=timedelta(minutes=20)
    )
    assert [(o.account, o.full) for o in d.capacity] == [("a", True), ("b", True), (None, True)]
    # one account unknown: cannot say the provider is full
    d = diff(
        None,
        snap(accounts=[acct("a", 0), Account("b", None, 1, None)]),
        now=T0,
        stuck_after=timedelta(minutes=20),
    )
    assert [(o.account, o.full) for o in d.capacity] == [("a", True)]
    assert diff(None, snap(), now=T0, stuck_after=timedelta(minutes=1)).capacity == ()


def test_naive_times_are_utc():
    naive = job("n", elapsed=None, started=(T0 - timedelta(minutes=3)).replace(tzinfo=None))
    assert naive.elapsed(T0) == 180


# ---------------------------------------------------------------- whole values, list edges

LIMIT = timedelta(minutes=20)


def test_diff_whole() -> None:
    gone, stays, old = job("gone"), job("stays"), job("old", elapsed=1300)
    accounts = [acct("a", 0), acct("b", 2)]
    d = diff(snap(gone, stays), snap(stays, old, accounts=accounts), now=T0, stuck_after=LIMIT)
    assert d == Diff(
        left=(gone,),
        new_stuck=(old,),
        stuck_ids=frozenset({"old"}),
        capacity=(
            CapacityObs("a", True, 3, 3),
            CapacityObs("b", False, 1, 3),
            CapacityObs(None, False),
        ),
    )


@pytest.mark.parametrize("where", ["first", "last", "alone"])
def test_a_job_already_reported_stuck_is_skipped_wherever_it_stands(where: str) -> None:
    reported, fresh = job("reported", elapsed=5000), job("fresh", elapsed=1300)
    order = {"first": (reported, fresh), "last": (fresh, reported), "alone": (reported,)}
    d = diff(
        None, snap(*order[where]), now=T0, stuck_after=LIMIT, stuck_ids=frozenset({"reported"})
    )
    expected = () if where == "alone" else (fresh,)
    assert d == Diff(
        new_stuck=expected, stuck_ids=frozenset({"reported"} | {j.id for j in expected})
    )


@pytest.mark.parametrize("where", ["first", "last", "alone"])
def test_an_account_of_unknown_capacity_is_skipped_wherever_it_stands(where: str) -> None:
    unknown = Account("u", None, 1, None)
    full, free = acct("f", 0), acct("r", 1)
    order = {"first": (unknown, full, free), "last": (full, free, unknown), "alone": (unknown,)}
    d = diff(None, snap(accounts=order[where]), now=T0, stuck_after=LIMIT)
    expected = (
        ()
        if where == "alone"
        else (CapacityObs("f", True, 3, 3), CapacityObs("r", False, 2, 3), CapacityObs(None, False))
    )
    assert d.capacity == expected


def test_every_known_account_full_with_one_unknown_says_nothing_provider_wide() -> None:
    d = diff(
        None, snap(accounts=[Account("u", None, 1, None), acct("f", 0)]), now=T0, stuck_after=LIMIT
    )
    assert d.capacity == (CapacityObs("f", True, 3, 3),)
    d = diff(None, snap(accounts=[acct("f", 0), acct("g", 0)]), now=T0, stuck_after=LIMIT)
    assert d.capacity == (
        CapacityObs("f", True, 3, 3),
        CapacityObs("g", True, 3, 3),
        CapacityObs(None, True),
    )


def test_stuck_at_exactly_the_limit() -> None:
    at_limit = job("at", elapsed=1200)
    below = job("below", elapsed=1199)
    started_at_limit = job("s", elapsed=None, started=T0 - LIMIT)
    started_below = job("sb", elapsed=None, started=T0 - LIMIT + timedelta(microseconds=1))
    d = diff(
        None, snap(at_limit, below, started_at_limit, started_below), now=T0, stuck_after=LIMIT
    )
    assert d == Diff(new_stuck=(at_limit, started_at_limit), stuck_ids=frozenset({"at", "s"}))
