"""Mureka through the real bot (started as `opsbot run` starts it) against the simulator and the
fake Discord: its commands' choices, /queue, /capacity, /job, /status, /board, its job alerts,
a route and a mute; and a Mureka that fills up never raises a capacity alert."""

from __future__ import annotations

import asyncio
import math
from typing import Any

import pytest

from bot.providers.mureka import EXPIRED
from bot.sim import ManualClock, Simulator
from rig.botharness import TOKEN, Harness, StartBot, cycle, settled
from rig.fakediscord import ADMIN_PERMISSIONS
from rig.received import alerts, count

JSON = dict[str, Any]
INF = math.inf
NO_LIMIT = "no limit published"


def two_provider_sim() -> Simulator:
    """PixVerse and Mureka, two accounts each (Mureka's caps are the simulator's own)."""
    return Simulator(
        seed=8,
        accounts=4,
        jobs=0,
        token=TOKEN,
        clock=ManualClock(),
        churn=False,
        providers=["pixverse", "mureka"],
    )


async def command(
    h: Harness, name: str, options: JSON | None = None, *, subcommand: str | None = None
) -> JSON:
    """Invoke a slash command as an admin; the bot's last answer once it has finished."""
    done = asyncio.ensure_future(
        h.bot.wait_for(
            "app_command_completion", check=lambda i, c: i.data.get("name") == name, timeout=10
        )
    )
    try:
        inter = await h.fake.invoke(
            name, options or {}, subcommand=subcommand, permissions=ADMIN_PERMISSIONS
        )
        await h.fake.wait_for_interaction_response(inter)
        await done
    finally:
        done.cancel()
    mid = inter.original_message_id
    assert mid is not None
    message = h.fake.message(mid)
    assert message is not None
    return message


async def test_every_view_of_mureka(start_bot):
    sim = two_provider_sim()
    h = await start_bot(sim=sim, providers=["pixverse", "mureka"])
    synced = {c["name"]: c for c in h.fake.synced_commands(h.fake.guild_id)}
    choices = next(o for o in synced["queue"]["options"] if o["name"] == "provider")["choices"]
    assert {c["value"] for c in choices} == {"pixverse", "mureka"}

    first, last = (a.account for a in sim.accounts("mureka"))
    music = sim.start_job("mureka", first, kind="music", duration=INF, elapsed=90)
    tts = sim.start_job("mureka", first, kind="tts", duration=INF, elapsed=30)
    sim.start_job("pixverse", duration=INF)
    await h.tick()

    cap = await command(h, "capacity", {"provider": "mureka"})
    [embed] = cap["embeds"]
    assert embed["title"] == f"Capacity — 2 running · {NO_LIMIT}"
    assert embed["description"] == f"**Mureka** 2 running · {NO_LIMIT} · 2 accounts"
    assert [(f["name"], f["value"]) for f in embed["fields"]] == [
        ("Mureka accounts", f"2 running · {NO_LIMIT} · {first}\n0 running · {NO_LIMIT} · {last}")
    ]
    both = (await command(h, "capacity"))["embeds"][0]
    assert both["title"].startswith("Capacity — 1/") and both["title"].endswith(
        f"in use · 2 running · {NO_LIMIT}"
    )

    queue = (await command(h, "queue", {"provider": "mureka"}))["embeds"][0]
    assert queue["title"] == "Queue — 2 running"
    [field] = queue["fields"]
    assert field["name"] == f"Mureka · {first} (2 jobs)"
    assert [ln.startswith("🎵 ") for ln in field["value"].split("\n")] == [True, True]

    status = (await command(h, "status"))["embeds"][0]
    [mureka_field] = [f for f in status["fields"] if f["name"].endswith("Mureka")]
    assert f"Capacity: 2 running · {NO_LIMIT}" in mureka_field["value"]

    await command(h, "board")
    posted = await h.fake.wait_for_message(
        h.fake.channel_ids[0], lambda m: m["embeds"][0].get("title") == "opsbot board"
    )
    [board_field] = [f for f in posted["embeds"][0]["fields"] if f["name"] == "Mureka"]
    assert f"Capacity: 2 running · {NO_LIMIT}" in board_field["value"]

    job = (await command(h, "job", {"provider": "mureka", "id": tts}))["embeds"][0]
    assert "running" in job["title"].lower()
    assert {f["name"]: f["value"] for f in job["fields"]}["jobType"] == "tts"

    sim.finish_job(music, "completed")
    sim.advance(8 * 86_400)  # Mureka keeps a job 7 days
    gone = (await command(h, "job", {"provider": "mureka", "id": music}))["embeds"][0]
    assert "unknown" in gone["title"].lower()
    assert EXPIRED.split(" (")[0] in str(gone)


async def test_mureka_job_alerts_route_and_mute_and_no_capacity_alert(start_bot):
    sim = two_provider_sim()
    h = await start_bot(sim=sim, providers=["pixverse", "mureka"])
    default, other = h.fake.channel_ids
    await command(
        h, "alerts", {"kind": "job", "channel": other, "provider": "mureka"}, subcommand="route"
    )
    await cycle(h)
    account = sim.accounts("mureka")[0].account
    jobs = sim.fill_account("mureka", account, duration=INF)  # its hidden cap: full
    assert len(jobs) >= 2
    await cycle(h, ticks=3)
    for job_id, outcome in zip(jobs, ["completed", "failed", "moderated"], strict=False):
        sim.finish_job(job_id, outcome)
    await cycle(h, ticks=2)
    await settled(h)
    for job_id, outcome in zip(jobs, ["completed", "failed", "moderated"], strict=False):
        assert count(h.fake, outcome, job_id, other) == 1, (job_id, outcome)
    assert count(h.fake, "completed", channel=default) == 0
    titles = [t for t, _, _ in alerts(h.fake)]
    assert not [t for t in titles if "exhausted" in t or "restored" in t], titles

    await command(
        h, "alerts", {"provider": "mureka", "kind": "job", "duration": "2h"}, subcommand="mute"
    )
    muted = sim.start_job("mureka", duration=INF)
    await cycle(h)
    sim.finish_job(muted, "completed")
    await cycle(h, ticks=2)
    await settled(h)
    assert count(h.fake, "completed", muted) == 0


@pytest.mark.parametrize(
    ("kind", "added"), [("surrogate", 1), ("huge_numbers", 2), ("duplicates", 0)]
)
async def test_odd_but_readable_mureka_bodies_are_no_outage(
    start_bot: StartBot, kind: str, added: int
) -> None:
    """The simulator's hostile-item faults work on Mureka's grouped body too: the watcher
    reads it (each id once, no lone surrogate) and reports the real job's outcome."""
    sim = two_provider_sim()
    h = await start_bot(sim=sim, providers=["pixverse", "mureka"])
    during = sim.start_job("mureka", sim.accounts("mureka")[0].account, duration=INF)
    await cycle(h)
    sim.faults.set("mureka", kind)
    await cycle(h)
    watcher = h.cog("mureka").watcher
    assert watcher.last_error is None and watcher.latest is not None
    ids = [j.id for j in watcher.latest.jobs]
    assert during in ids and len(ids) == len(set(ids)) == 1 + added
    for job_id in ids:
        job_id.encode()  # no lone surrogate got through
    sim.finish_job(during, "completed")
    await cycle(h, ticks=2)
    await settled(h)
    assert count(h.fake, "completed", during) == 1
    assert count(h.fake, "unreachable") == 0


async def test_an_unreadable_mureka_body_is_an_outage_and_recovers(start_bot):
    sim = two_provider_sim()
    h = await start_bot(sim=sim, providers=["pixverse", "mureka"])
    await cycle(h)
    sim.faults.set("mureka", "deep")
    await cycle(h, ticks=3)
    assert h.cog("mureka").watcher.last_error == "mureka: useapi sent JSON nested too deep to read"
    assert count(h.fake, "unreachable", "Mureka") == 1
    assert sim.faults.clear("mureka") == 1
    await cycle(h, ticks=3)
    await settled(h)
    assert count(h.fake, "recovered", "Mureka") == 1
    assert count(h.fake, "unreachable") == 1  # PixVerse never was
