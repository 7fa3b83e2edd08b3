"""Outbox delivery: grouping, exactly-once bookkeeping, retry/backoff, hold on 403/404."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.alerts import OutboxItem
from bot.delivery import (
    Deliverer,
    DeliveryFailed,
    backoff_delay,
    group_rows,
    nonce_for,
    reroute_held,
)
from bot.events import Event, EventKind
from bot.store import Store

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def item(
    key: str, channel: int = 100, mention: int | None = None, kind: EventKind = EventKind.JOB
) -> OutboxItem:
    return OutboxItem(
        Event(key=key, kind=kind, provider="pixverse", word="completed", at=T0),
        channel,
        mention,
        "pending",
    )


class FakeDiscord:
    """`send` with scripted failures per channel."""

    def __init__(self) -> None:
        self.posts: list[tuple[int, list[str], int | None, str]] = []
        self.fail: dict[int, list[Exception]] = {}
        self.next_id = 1000

    async def send(self, channel_id: int, events: Sequence[Event], mention: int | None) -> int:
        errs = self.fail.get(channel_id)
        if errs:
            raise errs.pop(0)
        self.posts.append((channel_id, [e.key for e in events], mention, nonce_for(events)))
        self.next_id += 1
        return self.next_id


def deliverer(store: Store, discord: FakeDiscord, **kw: Any) -> Deliverer:
    kw.setdefault("rng", random.Random(1))
    return Deliverer(store, discord.send, **kw)


def test_backoff_delay():
    rng = random.Random(0)
    delays = [backoff_delay(n, initial=1, maximum=60, jitter=0.5, rng=rng) for n in range(1, 10)]
    assert 1 <= delays[0] <= 1.5 and 2 <= delays[1] <= 2.5 and 4 <= delays[2] <= 4.5
    assert delays[-1] == 60
    assert backoff_delay(10_000, maximum=600) == 600


def test_nonce_is_stable_and_short():
    assert nonce_for(["b", "a"]) == nonce_for(["a", "b"])
    assert nonce_for(["a"]) != nonce_for(["a", "b"])
    assert len(nonce_for(["x"])) <= 25


async def test_groups_one_message_per_channel_and_tick(store):
    await store.enqueue(
        [item("a1", 100), item("a2", 100), item("a3", 200), item("a4", 100, mention=9)],
        batch="tick1",
        now=T0,
    )
    await store.enqueue([item("b1", 100)], batch="tick2", now=T0)
    d = FakeDiscord()
    report = await deliverer(store, d).run_once(T0)
    assert (report.claimed, report.messages, report.sent) == (5, 4, 5)
    assert sorted((c, keys, m) for c, keys, m, _ in d.posts) == [
        (100, ["a1", "a2"], None),
        (100, ["a4"], 9),
        (100, ["b1"], None),
        (200, ["a3"], None),
    ]
    # channel order kept: tick1 before tick2
    ch100 = [keys for c, keys, m, _ in d.posts if c == 100]
    assert ch100.index(["a1", "a2"]) < ch100.index(["b1"])
    assert await store.outbox_counts() == {"sent": 5}
    assert (await deliverer(store, d).run_once(T0)).claimed == 0
    assert (await store.outbox_row("a1"))["sent_message_id"] is not None


async def test_retry_with_backoff_then_sent(store):
    await store.enqueue([item("k1"), item("k2")], batch="t1", now=T0)
    await store.enqueue([item("k3")], batch="t2", now=T0)
    d = FakeDiscord()
    d.fail[100] = [
        DeliveryFailed("Service Unavailable", retryable=True, status=503),
        DeliveryFailed("Too Many Requests", retryable=True, status=429, retry_after=30),
    ]
    dl = deliverer(store, d, backoff_initial=2, backoff_max=600)
    r = await dl.run_once(T0)
    assert (r.retried, r.sent) == (3, 0) and d.posts == []
    row = await store.outbox_row("k1")
    assert row["attempts"] == 1 and "503" in row["last_error"]
    assert T0 + timedelta(seconds=2) <= row["next_attempt_at"] <= T0 + timedelta(seconds=3)
    assert (await store.outbox_row("k3"))["attempts"] == 0  # untried, just waits
    assert (await dl.run_once(T0 + timedelta(seconds=1))).claimed == 0  # not due yet
    r = await dl.run_once(T0 + timedelta(seconds=3))
    assert r.retried == 3  # 429 with retry_after 30 s
    row = await store.outbox_row("k1")
    assert row["attempts"] == 2 and row["next_attempt_at"] >= T0 + timedelta(seconds=33)
    r = await dl.run_once(T0 + timedelta(seconds=40))
    assert (r.messages, r.sent) == (2, 3)
    assert [keys for _, keys, _, _ in d.posts] == [["k1", "k2"], ["k3"]]


async def test_a_retry_is_not_overtaken_by_later_alerts_of_its_channel(store):
    """An alert decided after one that failed waits for it: "exhausted" (failed once) and the
    "restored" of the next tick reach the channel in that order; other channels go on."""
    await store.enqueue([item("exhausted", 100), item("other-1", 200)], batch="t1", now=T0)
    d = FakeDiscord()
    d.fail[100] = [DeliveryFailed("Bad Gateway", retryable=True, status=502)]
    dl = deliverer(store, d, backoff_initial=2)
    r = await dl.run_once(T0)
    assert (r.retried, r.sent) == (1, 1)
    await store.enqueue(
        [item("restored", 100), item("other-2", 200)], batch="t2", now=T0 + timedelta(seconds=1)
    )
    r = await dl.run_once(T0 + timedelta(seconds=1))
    assert (r.claimed, r.sent) == (1, 1)  # channel 200 goes on; "restored" waits
    assert (await store.outbox_row("restored"))["attempts"] == 0
    r = await dl.run_once(T0 + timedelta(seconds=5))
    assert (r.messages, r.sent) == (2, 2)
    assert [keys for c, keys, _, _ in d.posts if c == 100] == [["exhausted"], ["restored"]]


async def test_a_row_out_with_another_worker_holds_back_its_channel(store):
    await store.enqueue([item("first", 100)], batch="t1", now=T0)
    other = await store.claim_outbox(
        limit=10, now=T0, worker_id="replica-b", lease=timedelta(seconds=10)
    )
    assert [r.key for r in other] == ["first"]
    await store.enqueue([item("second", 100), item("elsewhere", 200)], batch="t2", now=T0)
    mine = await store.claim_outbox(limit=10, now=T0, worker_id="replica-a")
    assert [r.key for r in mine] == ["elsewhere"]
    await store.mark_sent(["first"], 1, now=T0)
    await store.release([r.key for r in mine])
    mine = await store.claim_outbox(limit=10, now=T0, worker_id="replica-a")
    assert [r.key for r in mine] == ["second", "elsewhere"]


async def test_hold_on_403_until_route_fixed(store):
    await store.enqueue([item("k1", 100), item("k2", 200)], batch="t1", now=T0)
    await store.enqueue([item("k3", 100)], batch="t2", now=T0)
    d = FakeDiscord()
    d.fail[100] = [DeliveryFailed("Missing Access", retryable=False, status=403)]
    dl = deliverer(store, d)
    r = await dl.run_once(T0)
    assert (r.held, r.sent) == (2, 1)
    assert "channel 100" in r.errors[0]
    assert await store.outbox_counts() == {"held": 2, "sent": 1}
    assert (await dl.run_once(T0 + timedelta(hours=1))).claimed == 0  # held, not retried
    # the admin routes job alerts elsewhere: held rows move and go out
    await store.set_route(EventKind.JOB, None, 300)
    assert await reroute_held(store, default_channel=100, now=T0) == 2
    r = await dl.run_once(T0 + timedelta(hours=1))
    assert r.sent == 2
    assert [(c, keys) for c, keys, _, _ in d.posts[1:]] == [(300, ["k1"]), (300, ["k3"])]


async def test_non_retryable_is_dropped_and_unexpected_is_retried(store):
    await store.enqueue([item("bad", 100)], batch="t1", now=T0)
    await store.enqueue([item("boom", 200)], batch="t1b", now=T0)
    d = FakeDiscord()
    d.fail[100] = [DeliveryFailed("Invalid Form Body", retryable=False, status=400)]
    d.fail[200] = [RuntimeError("bug in the renderer")]
    r = await deliverer(store, d).run_once(T0)
    assert (r.failed, r.retried) == (1, 1)
    assert await store.outbox_counts() == {"failed": 1, "pending": 1}


async def test_crash_between_send_and_mark_sent_resends_same_group(store):
    """The process dies after Discord accepted the message but before mark_sent: after the
    lease, the same rows go out again as the same group with the same nonce."""
    await store.enqueue([item("k1"), item("k2")], batch="t1", now=T0)
    d = FakeDiscord()
    lease = timedelta(seconds=60)

    async def send_then_die(channel_id, events, mention):
        await d.send(channel_id, events, mention)
        raise asyncio.CancelledError  # the process is killed here

    with pytest.raises(asyncio.CancelledError):
        await Deliverer(store, send_then_die, lease=lease).run_once(T0)
    # a fresh process (new worker id): nothing until the lease runs out, then the same group
    dl = deliverer(store, d, lease=lease)
    assert (await dl.run_once(T0 + timedelta(seconds=30))).claimed == 0
    r = await dl.run_once(T0 + timedelta(seconds=61))
    assert r.sent == 2
    (c1, keys1, _, nonce1), (c2, keys2, _, nonce2) = d.posts
    assert (c1, keys1, nonce1) == (c2, keys2, nonce2)


async def test_two_deliverers_never_post_a_row_twice(url):
    s1, s2 = await Store.open(url), await Store.open(url)
    for b in range(30):
        await s1.enqueue([item(f"{b}-{i}", 100 + i % 3) for i in range(4)], batch=f"t{b}", now=T0)
    d = FakeDiscord()

    async def slow_send(channel_id, events, mention):
        await asyncio.sleep(0.001)
        return await d.send(channel_id, events, mention)

    one = Deliverer(s1, slow_send, claim_limit=5)
    two = Deliverer(s2, slow_send, claim_limit=5)
    for _ in range(40):
        await asyncio.gather(one.run_once(T0), two.run_once(T0))
    posted = [k for _, keys, _, _ in d.posts for k in keys]
    assert len(posted) == len(set(posted)) == 120
    await s1.close()
    await s2.close()


async def test_a_stalled_worker_whose_claim_was_taken_over_posts_and_records_nothing(url):
    """The fence: worker A is stalled (a SIGSTOP, a partition from the database) in the
    middle of a delivery, past its lease, after Discord accepted its first group. Worker B
    takes the rows over and posts them. When A wakes it records nothing over B's bookkeeping
    and does not post the second group, with no nonce to save it."""
    s1, s2 = await Store.open(url), await Store.open(url)
    await s1.enqueue([item("k1")], batch="t1", now=T0)
    await s1.enqueue([item("k2"), item("k3")], batch="t2", now=T0)
    d = FakeDiscord()
    posted, wake = asyncio.Event(), asyncio.Event()

    async def stalls(channel_id, events, mention):
        message_id = await d.send(channel_id, events, mention)  # Discord has it...
        posted.set()
        await wake.wait()  # ...and A stops before it reads the answer
        return message_id

    lease = timedelta(seconds=60)
    a = Deliverer(s1, stalls, lease=lease, worker_id="A")

    async def paused_renewer(claim: str) -> None:
        await asyncio.Event().wait()  # A's renewals stop with the rest of it

    a._renew = paused_renewer  # type: ignore[method-assign]
    stalled = asyncio.create_task(a.run_once(T0))
    await asyncio.wait_for(posted.wait(), 10)
    b = deliverer(s2, d, lease=lease, worker_id="B")
    report = await b.run_once(T0 + lease + timedelta(seconds=1))
    assert (report.claimed, report.messages, report.sent, report.fenced) == (3, 2, 3, 0)
    wake.set()
    report = await asyncio.wait_for(stalled, 10)
    assert (report.claimed, report.messages, report.sent, report.fenced) == (3, 1, 0, 2)
    # k1 twice (A's in-flight send and B's, with one nonce: Discord's window drops the
    # second, this fake has none); k2+k3 once, by B
    assert [(keys, n) for _, keys, _, n in d.posts] == [
        (["k1"], nonce_for(["k1"])),
        (["k1"], nonce_for(["k1"])),
        (["k2", "k3"], nonce_for(["k2", "k3"])),
    ]
    for key, message_id in (("k1", 1002), ("k2", 1003), ("k3", 1003)):
        row = await s1.outbox_row(key)
        assert row is not None
        assert (row["state"], row["sent_message_id"], row["claimed_by"]) == (
            "sent",
            message_id,
            None,
        )
    await s1.close()
    await s2.close()


async def test_the_fence_renews_a_live_claim_and_refuses_a_lapsed_or_foreign_one(store):
    await store.enqueue([item("k1"), item("k2")], batch="t1", now=T0)
    (row, _) = await store.claim_outbox(limit=5, now=T0, worker_id="A", lease=timedelta(seconds=10))
    claim, keys, ten = row.claim, ["k1", "k2"], timedelta(seconds=10)
    # live at exactly its end (claimed_until >= now), and renewed from there
    assert await store.fence_claim(claim, keys, now=T0 + ten, until=T0 + 2 * ten)
    assert await store.fence_claim(claim, keys, now=T0 + 2 * ten, until=T0 + 3 * ten)
    # lapsed a microsecond ago: refused (another worker may have it already)
    after = T0 + 3 * ten + timedelta(microseconds=1)
    assert not await store.fence_claim(claim, keys, now=after, until=after + ten)
    assert not await store.fence_claim("B#1", keys, now=T0, until=T0 + ten)  # not its claim
    assert not await store.fence_claim(claim, [*keys, "k3"], now=T0, until=T0 + ten)  # not all
    # taken over: refused, and the conditional writes leave the new holder's rows alone
    (taken, _) = await store.claim_outbox(limit=5, now=after, worker_id="B")
    assert not await store.fence_claim(claim, keys, now=T0, until=T0 + ten)
    assert await store.mark_sent(keys, 1, now=T0, claim=claim) == 0
    assert await store.mark_failed(keys, "503", None, claim=claim) == 0
    assert await store.hold(keys, "403", claim=claim) == 0
    assert await store.release(keys, claim=claim) == 0
    row1 = await store.outbox_row("k1")
    assert row1 is not None
    assert (row1["state"], row1["claimed_by"], row1["attempts"]) == ("pending", taken.claim, 0)
    assert await store.mark_sent(keys, 2, now=T0, claim=taken.claim) == 2


def test_group_rows_orders_by_first_row():
    from bot.store import OutboxRow

    ev = Event(key="k", kind=EventKind.JOB, provider="p", word="completed", at=T0)
    rows = [
        OutboxRow(
            id=i,
            key=f"k{i}",
            batch=b,
            channel_id=c,
            mention_role_id=None,
            event=ev,
            attempts=0,
            created_at=T0,
        )
        for i, b, c in [(3, "t2", 1), (1, "t1", 1), (2, "t1", 2), (4, "t1", 1)]
    ]
    groups = group_rows(rows)
    assert [(g.channel_id, g.batch, g.keys) for g in groups] == [
        (1, "t1", ["k1", "k4"]),
        (2, "t1", ["k2"]),
        (1, "t2", ["k3"]),
    ]


async def test_run_loop_wakes_and_stops(store):
    d = FakeDiscord()
    dl = deliverer(store, d)
    stop = asyncio.Event()
    task = asyncio.create_task(dl.run(interval=30, stop=stop))
    await asyncio.sleep(0.05)
    await store.enqueue([item("k")], batch="t", now=datetime.now(UTC) - timedelta(seconds=1))
    dl.wake()
    for _ in range(100):
        if d.posts:
            break
        await asyncio.sleep(0.01)
    assert d.posts
    stop.set()
    await asyncio.wait_for(task, 2)


async def test_a_stopped_deliverer_finishes_its_pass_and_claims_nothing_more(store):
    """SIGTERM's drain: `stop` during a pass lets that pass post and mark its rows; the next
    pass claims nothing (the rows queued meanwhile wait for the next start); `idle` returns
    once the pass has ended."""
    await store.enqueue([item("in-flight")], batch="t1", now=T0)
    entered, go = asyncio.Event(), asyncio.Event()
    d = FakeDiscord()

    async def held_send(channel_id: int, events: Sequence[Event], mention: int | None) -> int:
        entered.set()
        await go.wait()  # Discord holds the post
        return await d.send(channel_id, events, mention)

    worker = Deliverer(store, held_send, rng=random.Random(1))
    passing = asyncio.create_task(worker.run_once(T0))
    await entered.wait()
    worker.stop()
    await store.enqueue([item("queued-meanwhile")], batch="t2", now=T0)
    idle = asyncio.create_task(worker.idle())
    await asyncio.sleep(0)
    assert not idle.done()  # the pass in flight holds it
    go.set()
    assert (await passing).sent == 1
    await asyncio.wait_for(idle, 5)
    assert (await worker.run_once(T0)).claimed == 0
    assert [keys for _, keys, _, _ in d.posts] == [["in-flight"]]
    assert await store.outbox_counts() == {"sent": 1, "pending": 1}
