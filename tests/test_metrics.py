"""/metrics through the real bot: the series a team graphs, each moved by what it counts.

prometheus-client's registry is process-wide, so each figure is read before and after (a delta):
other tests in the same worker move the same series."""

from __future__ import annotations

import asyncio
import math
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from rig.botharness import Harness, cycle, make_sim, settled
from rig.process import free_port
from rig.store import item


async def scrape(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample on /metrics, by name and labels."""
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
        text = (await client.get("/metrics")).text
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(samples: dict[Any, float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def command(h: Harness, name: str) -> None:
    done = asyncio.ensure_future(
        h.bot.wait_for(
            "app_command_completion", check=lambda i, c: c.qualified_name == name, timeout=10
        )
    )
    await asyncio.sleep(0)  # let wait_for register its listener
    await h.fake.invoke(name, {})
    await done


async def test_each_series_counts_what_it_says(start_bot):
    port = free_port()
    sim = make_sim()
    h = await start_bot(sim=sim, http_port=port)
    job = sim.start_job("pixverse", duration=math.inf)
    await cycle(h)
    before = await scrape(port)

    sim.finish_job(job, "failed")
    sim.faults.set("minimax", "status", status=503)
    await cycle(h)
    await settled(h)
    await command(h, "queue")
    await command(h, "queue")
    # the depth: two rows the delivery may not take (held, as for a channel gone) and none
    # pending once delivered
    delivery: Any = h.bot.get_cog("Delivery")
    task = delivery.deliver.get_task()
    delivery.deliver.cancel()  # no delivery round between the two writes below
    await asyncio.gather(task, return_exceptions=True)
    await h.bot.store.enqueue([item("held-1"), item("held-2")], batch="b", now=h.bot.clock())
    await h.bot.store.hold(["held-1", "held-2"], "channel gone")
    assert await delivery.measure_depth() == {"held": 2}
    after = await scrape(port)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("opsbot_alerts_posted_total", kind="job", word="failed") == 1
    assert delta("opsbot_alerts_posted_total", kind="job", word="completed") == 0
    assert delta("opsbot_alert_delivery_seconds_count") == 1
    assert delta("opsbot_alert_delivery_seconds_sum") >= 0
    # one pixverse tick: the scheduler, its capacity and the one job that left
    assert delta("opsbot_upstream_responses_total", provider="pixverse", status="200") == 3
    # minimax's 503s are retried: every attempt is an answer useapi gave
    assert delta("opsbot_upstream_responses_total", provider="minimax", status="503") >= 1
    assert delta("opsbot_upstream_responses_total", provider="minimax", status="200") == 0
    assert delta("opsbot_command_seconds_count", command="queue") == 2
    assert value(after, "opsbot_outbox_depth", state="held") == 2
    assert value(after, "opsbot_outbox_depth", state="pending") == 0
