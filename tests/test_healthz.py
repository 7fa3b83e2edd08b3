"""/healthz readiness through the real bot: each part that is not ready is named, and each
threshold holds at exactly its value (the bot's clock is moved, nothing sleeps)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from bot.app import OUTBOX_STUCK, READY_INTERVALS
from rig.botharness import quiet_sim
from rig.process import free_port
from rig.store import item


async def health(port: int) -> tuple[int, dict[str, Any]]:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
        answer = await client.get("/healthz")
    return answer.status_code, answer.json()


async def test_ready_only_when_every_part_is(start_bot):
    port = free_port()
    sim = quiet_sim()
    # The loops' start-up ticks hang on useapi until start_bot stops the loops, so none ends
    # (else the race between them and the stop decides what /healthz says first).
    sim.faults.set("scheduler", "latency", seconds=30)
    h = await start_bot(sim=sim, http_port=port)
    sim.faults.clear()
    status, body = await health(port)
    assert (status, body["ok"]) == (503, False)
    assert body["not_ready"] == [
        "dreamina: no tick yet",
        "minimax: no tick yet",
        "pixverse: no tick yet",
    ]

    await h.tick()
    status, body = await health(port)
    assert (status, body["ok"], body["not_ready"]) == (200, True, [])

    # a provider whose last tick is exactly three intervals old is ready; a second more is not
    limit = READY_INTERVALS * h.bot.settings.poll_interval_seconds
    ended = datetime.now(UTC)
    for name in h.bot.watchers:  # the three ticks ended at one instant
        h.bot.state(name).last_ok = ended
    h.bot.clock = lambda: ended + timedelta(seconds=limit)
    assert h.bot.not_ready() == []
    h.bot.clock = lambda: ended + timedelta(seconds=limit + 1)
    status, body = await health(port)
    assert (status, body["ok"]) == (503, False)
    assert body["not_ready"] == [
        f"{name}: last tick {limit + 1:.0f} s ago (over {limit:g} s)"
        for name in ("dreamina", "minimax", "pixverse")
    ]


async def test_an_alert_due_too_long_is_a_stuck_outbox(start_bot):
    port = free_port()
    h = await start_bot(http_port=port)
    await h.tick()
    # what the start-up tick queued (a stuck job of the simulator) is posted first: under load
    # the loop had not always posted it yet, and it was the row found due
    await h.deliver()
    delivery: Any = h.bot.get_cog("Delivery")
    task = delivery.deliver.get_task()
    delivery.deliver.cancel()  # the delivery loop is dead: what /healthz must notice
    await asyncio.gather(task, return_exceptions=True)
    due = datetime.now(UTC).replace(microsecond=0)
    await h.bot.store.enqueue([item("waiting")], batch="b", now=due)
    real = h.bot.clock
    for state in (h.bot.state(n) for n in h.bot.watchers):
        state.last_ok = due + OUTBOX_STUCK + timedelta(seconds=1)  # every tick is young

    h.bot.clock = lambda: due + OUTBOX_STUCK
    await delivery.measure_depth()
    assert h.bot.outbox_due_since == due
    assert h.bot.not_ready() == []  # exactly five minutes: not stuck yet
    h.bot.clock = lambda: due + OUTBOX_STUCK + timedelta(seconds=1)
    status, body = await health(port)
    assert (status, body["not_ready"]) == (
        503,
        [f"outbox: an alert due {OUTBOX_STUCK.total_seconds() + 1:.0f} s ago is not delivered"],
    )
    h.bot.clock = real
