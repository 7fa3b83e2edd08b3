"""The domain vocabulary on the model: each question answered once (issue 10)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.models import Account, Job, Snapshot

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("account", "full"),
    [
        # useapi's own free-slot count decides where it publishes one
        (Account("a", 3, 3, 1), False),  # MiniMax: 3 running, one an image; a video still fits
        (Account("a", 3, 2, 0), True),  # no free slot by useapi's count, whatever executing says
        (Account("a", 3, 3, 0), True),
        (Account("a", 3, 0, 3), False),
        (Account("a", None, 4, 0), True),
        (Account("a", None, 4, 1), False),
        # without it: maxJobs against the running jobs, at exactly the limit and on either side
        (Account("a", 3, 2, None), False),
        (Account("a", 3, 3, None), True),
        (Account("a", 3, 4, None), True),
        (Account("a", 0, 0, None), True),
        # neither: the provider does not say (Mureka)
        (Account("a", None, 7, None), None),
    ],
)
def test_account_full_follows_useapis_free_slot_count(account: Account, full: bool | None) -> None:
    assert account.full is full


def test_snapshot_totals() -> None:
    accounts = (Account("a", 3, 3, 0), Account("b", None, 2, None), Account("c", 5, 1, 4))
    s = Snapshot("minimax", T0, (), accounts)
    assert (s.used, s.capacity, s.full_accounts) == (6, 8, (accounts[0],))
    empty = Snapshot("mureka", T0, (), (Account("x", None, 2, None),))
    assert (empty.used, empty.capacity, empty.full_accounts) == (2, None, ())
    assert (Snapshot("p", T0).used, Snapshot("p", T0).capacity) == (0, None)


def test_job_elapsed_is_upstreams_figure_aged_else_from_started() -> None:
    figure = Job("p", "a", elapsed_seconds=100, started=T0 - timedelta(hours=5))
    assert figure.elapsed(T0) == 100  # upstream's own figure wins over `started`
    assert figure.elapsed(T0 + timedelta(seconds=30), taken_at=T0) == 130  # aged since read
    assert figure.elapsed(T0 - timedelta(seconds=30), taken_at=T0) == 100  # never younger
    started = Job("p", "b", started=T0 - timedelta(minutes=3))
    assert started.elapsed(T0) == 180
    naive = Job("p", "c", started=(T0 - timedelta(minutes=3)).replace(tzinfo=None))
    assert naive.elapsed(T0) == 180  # naive = UTC
    assert Job("p", "d", started=T0 + timedelta(minutes=1)).elapsed(T0) == 0  # future start
    assert Job("p", "e").elapsed(T0) is None


def test_run_seconds_is_from_the_start_to_when_the_job_left_the_queue() -> None:
    left = T0 + timedelta(minutes=2)
    both = Job("p", "a", elapsed_seconds=100, started=T0 - timedelta(minutes=3))
    assert both.run_seconds(left) == 300  # the start wins: it does not age with the reading
    assert Job("p", "b", elapsed_seconds=100).run_seconds(left) == 100.0  # as last read
    naive = Job("p", "c", started=(T0 - timedelta(minutes=3)).replace(tzinfo=None))
    assert naive.run_seconds(T0) == 180  # naive = UTC
    seen = Job("p", "d", started=T0, seen=True)  # a first sighting counts as the start
    assert seen.run_seconds(left) == 120
    assert Job("p", "e", started=left + timedelta(seconds=1)).run_seconds(left) == 0.0
    assert Job("p", "f").run_seconds(left) is None


def test_askable_only_when_decoding_left_the_id_alone() -> None:
    assert Job("p", "user:1-pixverse:a@b.c-video:7").askable
    assert not Job("p", "user:1-pixverse:a@b.c-video:\ufffd").askable


FULL, ROOM, SILENT = Account("f", 2, 2, 0), Account("r", 2, 1, 1), Account("s", None, 3, None)


@pytest.mark.parametrize(
    ("accounts", "whole"),
    [
        ((FULL,), True),
        ((FULL, FULL), True),
        ((ROOM,), False),
        ((ROOM, FULL), False),
        ((FULL, ROOM), False),
        ((SILENT, ROOM), False),
        ((ROOM, SILENT), False),  # one with room is enough to say no
        ((FULL, SILENT), None),
        ((SILENT, FULL), None),
        ((SILENT,), None),
        ((), None),
    ],
)
def test_a_provider_is_full_when_every_account_is(
    accounts: tuple[Account, ...], whole: bool | None
) -> None:
    assert Snapshot("p", T0, (), accounts).full is whole
