"""Reminders through the watcher and the real store (both backends): once per period, under
damping, during an outage, and not twice after a restart or from a second replica."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from bot import errors
from bot.events import EventKind
from bot.models import Account
from bot.store import Store
from rig.watch import Clock, FakeProvider, P, snap, watcher

HOUR = 3600.0


def full(name: str = "a@x") -> Account:
    return Account(name, 3, 3, 0)


def free(name: str = "a@x") -> Account:
    return Account(name, 3, 1, 2)


async def keys(store: Store) -> list[str]:
    rows = await store.claim_outbox(
        limit=1000, now=datetime.now(UTC) + timedelta(days=400), worker_id="t"
    )
    await store.release([r.key for r in rows])
    return sorted(r.key for r in rows)


async def test_capacity_reminded_once_per_period_then_restored(store: Store) -> None:
    clock = Clock()
    fake = FakeProvider([snap(accounts=[full()])])
    w = watcher(fake, store, clock, remind_after=timedelta(hours=4))
    await w.tick()
    clock.advance()
    await w.tick()  # held two ticks: announced now (T0 + 30 s)
    announced = ["capacity:pixverse:*:1:exhausted", "capacity:pixverse:a@x:1:exhausted"]
    assert await keys(store) == announced
    clock.advance(4 * HOUR - 1)
    assert (await w.tick()).events == 0  # one second short of 4 hours
    clock.advance(1)
    r = await w.tick()  # exactly 4 hours after the announcement
    assert sorted(r.event_keys) == [
        "capacity:pixverse:*:1:still exhausted:1",
        "capacity:pixverse:a@x:1:still exhausted:1",
    ]
    for _ in range(3):  # later ticks of the same period: nothing
        clock.advance()
        assert (await w.tick()).events == 0
    clock.advance(4 * HOUR)
    r = await w.tick()
    assert sorted(r.event_keys) == [
        "capacity:pixverse:*:1:still exhausted:2",
        "capacity:pixverse:a@x:1:still exhausted:2",
    ]
    fake.snapshots = [snap(accounts=[free()])]
    clock.advance()
    assert (await w.tick()).events == 0  # one tick free: damped, and no reminder either
    clock.advance()
    assert len((await w.tick()).event_keys) == 2  # restored
    clock.advance(9 * HOUR)
    assert (await w.tick()).events == 0
    assert len(await keys(store)) == 8


async def test_no_second_reminder_after_a_restart_or_from_a_second_replica(
    store: Store,
) -> None:
    clock = Clock()
    fake = FakeProvider([snap(accounts=[full()])])
    first = watcher(fake, store, clock, remind_after=timedelta(hours=4))
    await first.tick()
    clock.advance()
    await first.tick()
    clock.advance(4 * HOUR)
    assert (await first.tick()).queued == 2
    # a restart: a new watcher on the same store, later in the same period
    clock.advance(60)
    again = watcher(fake, store, clock, remind_after=timedelta(hours=4))
    assert (await again.tick()).events == 0
    # a replica acting on a state that missed the reminder's write decides the same
    # reminders again: the same keys, which the outbox refuses
    stored = (await store.load_watch(P, now=clock.now)).states.values()
    assert [s.reminded for s in stored] == [1, 1]
    await store.commit_tick(
        P, now=clock.now, batch="stale", states=[replace(s, reminded=0) for s in stored]
    )
    clock.advance()
    replica = watcher(fake, store, clock, remind_after=timedelta(hours=4))
    r = await replica.tick()
    assert (len(r.event_keys), r.queued) == (2, 0)
    assert await keys(store) == [
        "capacity:pixverse:*:1:exhausted",
        "capacity:pixverse:*:1:still exhausted:1",
        "capacity:pixverse:a@x:1:exhausted",
        "capacity:pixverse:a@x:1:still exhausted:1",
    ]


async def test_upstream_reminded_during_the_outage(store: Store) -> None:
    clock = Clock()
    fake = FakeProvider([snap(), errors.Unauthorized("no", status=401)])
    w = watcher(fake, store, clock, remind_after=timedelta(hours=1))
    await w.tick()
    for _ in range(2):
        clock.advance()
        await w.tick()
    assert await keys(store) == ["upstream:pixverse:1:unauthorized"]
    clock.advance(HOUR)
    r = await w.tick()
    assert r.event_keys == ("upstream:pixverse:1:still unreachable:1",)
    clock.advance(HOUR)
    assert (await w.tick()).event_keys == ("upstream:pixverse:1:still unreachable:2",)


async def test_reminders_off(store: Store) -> None:
    clock = Clock()
    fake = FakeProvider([snap(accounts=[full()])])
    w = watcher(fake, store, clock, remind_after=None)
    await w.tick()
    clock.advance()
    await w.tick()
    clock.advance(100 * HOUR)
    assert (await w.tick()).events == 0


async def where(store: Store, *keys: str) -> list[tuple[int | None, str]]:
    """(channel, state) of each outbox row named."""
    rows = [await store.outbox_row(k) for k in keys]
    return [(r["channel_id"], r["state"]) for r in rows if r is not None]


async def test_capacity_reminders_follow_the_capacity_route_and_its_mute(store: Store) -> None:
    """A reminder is an alert of its condition's kind: routed where that kind goes, muted
    while that kind is muted (recorded, never posted, and not posted later either)."""
    await store.set_route(EventKind.CAPACITY, None, 200)
    await store.set_route(EventKind.UPSTREAM, P, 300)  # another kind's route: not followed
    clock = Clock()
    fake = FakeProvider([snap(accounts=[full()])])
    w = watcher(fake, store, clock, remind_after=timedelta(hours=4))
    await w.tick()
    clock.advance()
    await w.tick()
    clock.advance(4 * HOUR)
    assert (await w.tick()).queued == 2
    first = ("capacity:pixverse:*:1:still exhausted:1", "capacity:pixverse:a@x:1:still exhausted:1")
    assert await where(store, *first) == [(200, "pending"), (200, "pending")]
    await store.mute(P, EventKind.CAPACITY, None)
    clock.advance(4 * HOUR)
    r = await w.tick()
    assert (r.queued, r.muted) == (2, 2)
    second = (
        "capacity:pixverse:*:1:still exhausted:2",
        "capacity:pixverse:a@x:1:still exhausted:2",
    )
    assert await where(store, *second) == [(200, "muted"), (200, "muted")]
    # unmuted: the next period is posted again; the muted one stays unposted
    await store.unmute(P, EventKind.CAPACITY)
    clock.advance(4 * HOUR)
    assert (await w.tick()).muted == 0
    assert await where(store, *second) == [(200, "muted"), (200, "muted")]
    assert await where(store, "capacity:pixverse:*:1:still exhausted:3") == [(200, "pending")]


async def test_upstream_reminders_follow_the_upstream_route_and_its_mute(store: Store) -> None:
    await store.set_route(EventKind.UPSTREAM, P, 300)
    await store.set_route(EventKind.CAPACITY, None, 200)
    clock = Clock()
    fake = FakeProvider([snap(), errors.Unauthorized("no", status=401)])
    w = watcher(fake, store, clock, remind_after=timedelta(hours=1))
    await w.tick()
    for _ in range(2):
        clock.advance()
        await w.tick()
    clock.advance(HOUR)
    assert (await w.tick()).event_keys == ("upstream:pixverse:1:still unreachable:1",)
    assert await where(store, "upstream:pixverse:1:still unreachable:1") == [(300, "pending")]
    await store.mute(None, EventKind.UPSTREAM, None)  # every provider's upstream alerts
    clock.advance(HOUR)
    assert (await w.tick()).muted == 1
    assert await where(store, "upstream:pixverse:1:still unreachable:2") == [(300, "muted")]
