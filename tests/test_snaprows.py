"""The snapshot as rows (`bot.store.snaprows`, issue 13 part 4): a tick writes only the jobs and
accounts that started, ended or changed; what it writes reads back as what was committed (each
elapsed figure within `ANCHOR_SLACK`, everything else exactly); the image the store keeps in
memory is always what the rows hold, and is not trusted once another writer has been there."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.models import MAX_COUNT, MAX_ELAPSED_SECONDS, Account, Job, Snapshot
from bot.store import LeaseLost, Store, snaprows
from bot.store.snaprows import ANCHOR_SLACK, change, image_snapshot

P = "pixverse"
T0 = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
STARTED = T0 - timedelta(minutes=5)


def job(i: int, elapsed: int | None = 60, **kw: object) -> Job:
    fields: dict[str, object] = {
        "kind": "video",
        "account": f"a{i % 3}@x.io",
        "started": STARTED,
        "elapsed_seconds": elapsed,
        "model": "v5",
    }
    fields.update(kw)
    return Job(P, f"user:1-pixverse:a@x.io-video:{i}", **fields)  # type: ignore[arg-type]


def snap(at: datetime, jobs: Sequence[Job], accounts: Sequence[Account] = ()) -> Snapshot:
    return Snapshot(P, at, tuple(jobs), tuple(accounts))


def aged(s: Snapshot, seconds: float, jitter: float = 0.0) -> Snapshot:
    """`s` a tick later: taken `seconds` later, every elapsed figure grown by as much (+ a
    rounding jitter)."""
    return dataclasses.replace(
        s,
        taken_at=s.taken_at + timedelta(seconds=seconds),
        jobs=tuple(
            j
            if j.elapsed_seconds is None
            else dataclasses.replace(j, elapsed_seconds=round(j.elapsed_seconds + seconds + jitter))
            for j in s.jobs
        ),
    )


ACCOUNTS = (Account("a0@x.io", 5, 2, 3), Account("a1@x.io", 5, 1, 4), Account("a2@x.io", 2, 2, 0))


# --------------------------------------------------------------------------- change (pure)


def test_a_first_write_puts_every_row_and_a_steady_one_none() -> None:
    first = snap(T0, [job(i) for i in range(5)], ACCOUNTS)
    ch = change(first, frozenset(), None)
    assert ch.put_jobs == [j.id for j in first.jobs]
    assert ch.put_accounts == [a.account for a in ACCOUNTS]
    assert (ch.gone_jobs, ch.gone_accounts) == ([], [])
    steady = change(aged(first, 30), frozenset(), ch.image)
    assert (steady.put_jobs, steady.put_accounts, steady.gone_jobs, steady.gone_accounts) == (
        [],
        [],
        [],
        [],
    )
    # what was stored is kept, anchors included: nothing to write means nothing changed
    assert steady.image.jobs == ch.image.jobs and steady.image.accounts == ch.image.accounts


@pytest.mark.parametrize(
    ("drift", "rewritten"), [(ANCHOR_SLACK, False), (-ANCHOR_SLACK, False), (3, True), (-3, True)]
)
def test_an_anchor_is_rewritten_only_past_the_slack(drift: float, rewritten: bool) -> None:
    first = snap(T0, [job(0), job(1), job(2)])
    before = change(first, frozenset(), None).image
    # only the middle job's elapsed drifts, by exactly `drift` seconds
    later = aged(first, 30)
    jobs = list(later.jobs)
    e = jobs[1].elapsed_seconds
    assert e is not None
    jobs[1] = dataclasses.replace(jobs[1], elapsed_seconds=int(e - drift))
    ch = change(dataclasses.replace(later, jobs=tuple(jobs)), frozenset(), before)
    assert ch.put_jobs == ([jobs[1].id] if rewritten else [])


@pytest.mark.parametrize(
    "edit",
    [
        {"kind": "image"},
        {"account": "other@x.io"},
        {"started": STARTED + timedelta(seconds=1)},
        {"started": None},
        {"model": None},
        {"model": "v6"},
        {"seen": True},
        {"reply_ref": "discord:42"},
        {"elapsed_seconds": None},
    ],
    ids=lambda e: next(iter(e)) + "=" + repr(next(iter(e.values()))),
)
@pytest.mark.parametrize("where", [0, 2, "alone"])
def test_any_other_change_of_a_job_rewrites_that_job_alone(
    edit: dict[str, object], where: int | str
) -> None:
    jobs = [job(0)] if where == "alone" else [job(0), job(1), job(2)]
    i = 0 if where == "alone" else int(where)
    first = snap(T0, jobs)
    before = change(first, frozenset(), None).image
    later = aged(first, 30)
    edited = list(later.jobs)
    edited[i] = dataclasses.replace(edited[i], **edit)  # type: ignore[arg-type]
    ch = change(dataclasses.replace(later, jobs=tuple(edited)), frozenset(), before)
    assert (ch.put_jobs, ch.gone_jobs) == ([edited[i].id], [])


@pytest.mark.parametrize("where", [0, 2, "alone"])
def test_stuck_started_and_ended_jobs(where: int | str) -> None:
    jobs = [job(0)] if where == "alone" else [job(0), job(1), job(2)]
    i = 0 if where == "alone" else int(where)
    first = snap(T0, jobs)
    before = change(first, frozenset(), None).image
    later = aged(first, 30)
    flagged = change(later, frozenset({jobs[i].id}), before)
    assert (flagged.put_jobs, flagged.gone_jobs) == ([jobs[i].id], [])
    rest = tuple(j for j in later.jobs if j.id != jobs[i].id)
    ended = change(dataclasses.replace(later, jobs=(*rest, job(9))), frozenset(), before)
    assert (ended.put_jobs, ended.gone_jobs) == ([job(9).id], [jobs[i].id])


@pytest.mark.parametrize("where", [0, 2, "alone"])
def test_accounts_are_written_when_their_counts_change_or_they_go(where: int | str) -> None:
    accounts = ACCOUNTS[:1] if where == "alone" else ACCOUNTS
    i = 0 if where == "alone" else int(where)
    first = snap(T0, [job(0)], accounts)
    before = change(first, frozenset(), None).image
    for edit in ({"executing": 3}, {"max_jobs": None}, {"available": None}, {"available": 9}):
        edited = list(accounts)
        edited[i] = dataclasses.replace(edited[i], **edit)
        ch = change(dataclasses.replace(first, accounts=tuple(edited)), frozenset(), before)
        assert (ch.put_accounts, ch.gone_accounts) == ([accounts[i].account], []), edit
    rest = tuple(a for a in accounts if a is not accounts[i])
    ch = change(dataclasses.replace(first, accounts=rest), frozenset(), before)
    assert (ch.put_accounts, ch.gone_accounts) == ([], [accounts[i].account])


def test_values_no_column_holds_are_bounded_as_they_are_stored() -> None:
    s = snap(T0, [job(0, elapsed=10**400)], [Account("big", 2**65, -1, 2**40)])
    back, _ = image_snapshot(P, change(s, frozenset(), None).image)
    assert back.jobs[0].elapsed_seconds == MAX_ELAPSED_SECONDS
    assert back.accounts == (Account("big", MAX_COUNT, 0, MAX_COUNT),)


# --------------------------------------------------------------------------- read back


def same_but_elapsed(got: Snapshot, want: Snapshot) -> None:
    """`got` is `want` field by field, in any order, each elapsed within `ANCHOR_SLACK`."""
    assert (got.provider, got.taken_at) == (want.provider, want.taken_at)
    g, w = {j.id: j for j in got.jobs}, {j.id: j for j in want.jobs}
    assert g.keys() == w.keys()
    for jid, wj in w.items():
        gj = g[jid]
        assert dataclasses.replace(gj, elapsed_seconds=None) == dataclasses.replace(
            wj, elapsed_seconds=None
        )
        if wj.elapsed_seconds is None:
            assert gj.elapsed_seconds is None
        else:
            assert gj.elapsed_seconds is not None
            assert abs(gj.elapsed_seconds - wj.elapsed_seconds) <= ANCHOR_SLACK
    assert sorted(got.accounts, key=lambda a: a.account) == sorted(
        want.accounts, key=lambda a: a.account
    )


ids = st.integers(0, 12)
ticks = st.lists(
    st.tuples(
        st.dictionaries(
            ids,
            st.tuples(
                st.sampled_from(["video", "image", None]),
                st.sampled_from(["a@x", "b@x", None]),
                st.one_of(st.none(), st.integers(0, 10_000)),
                st.integers(-3, 3),  # the jitter of upstream's figure this tick
                st.booleans(),  # stuck
            ),
            max_size=8,
        ),
        st.dictionaries(st.sampled_from(["a@x", "b@x", "c@x"]), st.integers(0, 5), max_size=3),
        st.integers(5, 120),  # seconds since the last tick
    ),
    min_size=1,
    max_size=6,
)


def build(
    spec: list[tuple[dict[int, tuple[Any, ...]], dict[str, int], int]],
) -> list[tuple[Snapshot, frozenset[str]]]:
    """A run of ticks: each job keeps its start, so its elapsed figure grows with the clock
    (plus the tick's jitter) unless it has none."""
    out = []
    at = T0
    for jobs, accounts, gap in spec:
        at += timedelta(seconds=gap)
        made = [
            Job(
                P,
                f"j{i}",
                kind,
                account,
                STARTED,
                None if e is None else max(0, e + round((at - T0).total_seconds()) + jitter),
                None,
            )
            for i, (kind, account, e, jitter, _) in jobs.items()
        ]
        stuck = frozenset(f"j{i}" for i, v in jobs.items() if v[4])
        accts = [Account(a, 5, n, 5 - n) for a, n in accounts.items()]
        out.append((snap(at, made, accts), stuck))
    return out


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ticks)
def test_the_kept_image_is_what_a_fresh_write_of_the_same_rows_reads(spec) -> None:  # type: ignore[no-untyped-def]
    """Fast path = slow path: the image carried from tick to tick (what `write` diffs
    against) reads back as the committed snapshot, elapsed within the slack, and the stuck
    ids exactly, after any run of ticks."""
    image = None
    for s, stuck in build(spec):
        image = change(s, stuck, image).image
        got, got_stuck = image_snapshot(P, image)
        same_but_elapsed(got, s)
        assert got_stuck == stuck & {j.id for j in s.jobs}


async def test_steady_ticks_write_the_changes_only_and_read_back_alike(store: Store) -> None:
    """10,000 running jobs on 500 accounts; then three ticks in which 3 jobs end, 3 start and
    one account's count moves: each writes the header, 3 new jobs and 1 account, and deletes 3;
    the rows read back (a new store: nothing in memory) as the last committed snapshot."""
    accounts = [Account(f"acct{i}@x.io", 40, 20, 20) for i in range(500)]
    jobs = [job(i, account=f"acct{i % 500}@x.io") for i in range(10_000)]
    s = snap(T0, jobs, accounts)
    await store.commit_tick(P, now=T0, batch="b0", snapshot=s)
    assert store.last_written[P] == snaprows.Written(1 + 10_000 + 500, 0)
    n = 10_000
    for tick in range(1, 4):
        s = aged(s, 30, jitter=0.4)
        kept = s.jobs[3:]
        new = [job(n + k, account="acct7@x.io") for k in range(3)]
        n += 3
        moved = list(s.accounts)
        moved[7] = dataclasses.replace(moved[7], executing=20 + tick, available=20 - tick)
        s = dataclasses.replace(s, jobs=(*kept, *new), accounts=tuple(moved))
        await store.commit_tick(P, now=s.taken_at, batch=f"b{tick}", snapshot=s)
        assert store.last_written[P] == snaprows.Written(1 + 3 + 1, 3)
    fresh = await Store.open(store.engine.url.render_as_string(hide_password=False))
    try:
        back = await fresh.load_snapshot(P)
        assert back is not None
        same_but_elapsed(back, s)
        async with fresh.engine.connect() as conn:
            assert await snaprows.read_image(conn, P) == store._images[P]
    finally:
        await fresh.close()


async def test_another_writer_in_between_is_noticed_and_its_rows_read(url: str) -> None:
    """Two stores (two replicas) write the same provider in turn: each notices the other's
    write by the stored `taken_at`, diffs against the rows as they are, and the rows always
    read back as the last write."""
    a, b = await Store.open(url), await Store.open(url)
    try:
        s1 = snap(T0, [job(0), job(1)], ACCOUNTS)
        await a.commit_tick(P, now=T0, batch="1", snapshot=s1)
        s2 = snap(T0 + timedelta(seconds=30), [job(1), job(2)], ACCOUNTS[1:])
        await b.commit_tick(P, now=s2.taken_at, batch="2", snapshot=s2)
        # `b` has no image: it reads the rows, and writes job 1 (its elapsed moved by 30 s
        # against the clock) and job 2, and deletes job 0 and the first account
        assert b.last_written[P] == snaprows.Written(1 + 2, 2)
        # `a` believes job 0 is stored; the rows say otherwise: it diffs against them
        s3 = snap(T0 + timedelta(seconds=60), [job(0), job(2)], ACCOUNTS[:1])
        await a.commit_tick(P, now=s3.taken_at, batch="3", snapshot=s3)
        assert a.last_written[P] == snaprows.Written(1 + 2 + 1, 1 + 2)
        for store, want in ((a, s3), (b, s3)):
            back = await store.load_snapshot(P)
            assert back is not None
            same_but_elapsed(back, want)
    finally:
        await a.close()
        await b.close()


async def test_a_failed_commit_forgets_the_image(store: Store) -> None:
    """A tick refused (its lease lost) writes nothing, and the next diffs against the rows."""
    s1 = snap(T0, [job(0), job(1)])
    await store.commit_tick(P, now=T0, batch="1", snapshot=s1)
    s2 = snap(T0 + timedelta(seconds=30), [job(2)])
    with pytest.raises(LeaseLost):
        await store.commit_tick(
            P, now=s2.taken_at, batch="2", snapshot=s2, lease=("watch:pixverse", "nobody")
        )
    assert P not in store._images
    back = await store.load_snapshot(P)
    assert back is not None
    same_but_elapsed(back, s1)
    await store.commit_tick(P, now=s2.taken_at, batch="3", snapshot=s2)
    assert store.last_written[P] == snaprows.Written(1 + 1, 2)
