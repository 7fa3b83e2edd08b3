"""The outbox: a key queued once, a row's way from pending to sent, held or failed, and pruning
(`bot.store.outbox`). Claiming rows is tests/test_claim.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import get_args

from bot.alerts import DecidedState, OutboxState
from rig.store import T0, item


async def test_duplicate_keys_ignored(store):
    assert await store.enqueue([item("k1"), item("k2"), item("k1")], batch="b", now=T0) == 2
    assert await store.commit_tick("p", now=T0, batch="b2", outbox=[item("k2"), item("k3")]) == 1
    rows = await store.claim_outbox(limit=10, now=T0, worker_id="w")
    assert [r.key for r in rows] == ["k1", "k2", "k3"]
    await store.mark_sent(["k1", "k2", "k3"], 555)
    # old news after a restart: sent keys are never queued again
    assert await store.enqueue([item("k1")], batch="b3", now=T0) == 0
    assert await store.claim_outbox(limit=10, now=T0 + timedelta(hours=1), worker_id="w") == []
    assert (await store.outbox_row("k1"))["sent_message_id"] == 555


async def test_failed_hold_release(store):
    await store.enqueue([item("k1", 100), item("k2", 200)], batch="b", now=T0)
    await store.claim_outbox(limit=5, now=T0, worker_id="w")
    await store.mark_failed(["k1"], "503", T0 + timedelta(seconds=10))
    await store.hold(["k2"], "403 Missing Access")
    assert await store.claim_outbox(limit=5, now=T0 + timedelta(seconds=5), worker_id="w") == []
    rows = await store.claim_outbox(limit=5, now=T0 + timedelta(seconds=10), worker_id="w")
    assert [(r.key, r.attempts) for r in rows] == [("k1", 1)]
    await store.mark_failed(["k1"], "400 bad embed", None)
    assert await store.outbox_counts() == {"failed": 1, "held": 1}
    held = await store.held()
    assert [(h.key, h.channel_id, h.last_error) for h in held] == [
        ("k2", 200, "403 Missing Access")
    ]
    assert await store.release_held(200, moves={"k2": 300}) == 1
    rows = await store.claim_outbox(limit=5, now=datetime.now(UTC), worker_id="w")
    assert [(r.key, r.channel_id) for r in rows] == [("k2", 300)]


async def test_prune_outbox(store):
    await store.enqueue([item("old"), item("m", state="muted")], batch="b", now=T0)
    await store.mark_sent(["old"], 1)
    assert await store.prune_outbox(datetime.now(UTC) + timedelta(days=1)) == 2


async def test_pending_without_channel_is_recorded_unrouted(store):
    assert await store.enqueue([item("k", channel=None)], batch="b", now=T0) == 1
    assert await store.outbox_counts() == {"unrouted": 1}


async def test_a_row_is_only_ever_in_an_outbox_state(store):
    """The policy's three starting states and delivery's three: each reached, nothing else."""
    await store.enqueue(
        [
            item("sent"),
            item("failed"),
            item("held"),
            item("muted", state="muted"),
            item("unrouted", channel=None),
            item("pending"),
        ],
        batch="b",
        now=T0,
    )
    await store.mark_sent(["sent"], 1, now=T0)
    await store.mark_failed(["failed"], "400 bad embed", None)
    await store.hold(["held"], "403 Missing Access")
    counts = await store.outbox_counts()
    assert counts == dict.fromkeys(get_args(OutboxState), 1)
    assert get_args(DecidedState) == ("pending", "muted", "unrouted")
