"""Runway through the real bot (discord.py against the fake Discord, the simulator over HTTP):
/queue, /capacity, /job, /status, /board, alerts, routes and mutes, and the first sighting
that a command's own fetch and a restart both keep."""

from __future__ import annotations

import asyncio
import math
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.models import Job, Snapshot
from bot.store import Store
from rig.botharness import Harness, cycle, make_sim, settled
from rig.fakediscord import ADMIN_PERMISSIONS, FakeInteraction
from rig.received import alerts, count

INF = math.inf
R = "runway"
JSON = dict[str, Any]
#: (A job the simulator gave a replyRef says so at the end.)
SEEN_LINE = re.compile(r"^• …\S+ · first seen <t:(\d+):R> · seen for \d+s( · ref ref-\d+)?$")
LOADING = 128  # the "thinking…" flag


async def run(h: Harness, name: str, options: JSON | None = None, **kw: Any) -> FakeInteraction:
    """Invoke `/name` and wait until the bot's handler for it has finished."""
    done = asyncio.ensure_future(
        h.bot.wait_for(
            "app_command_completion",
            check=lambda i, c: c.qualified_name.split()[0] == name,  # ("alerts route")
            timeout=10,
        )
    )
    await asyncio.sleep(0)  # let wait_for register its listener
    inter = await h.fake.invoke(name, options or {}, **kw)
    await done
    return inter


async def command(
    h: Harness, name: str, options: JSON, *, subcommand: str | None = None, **kw: Any
) -> JSON:
    """An admin's `/name subcommand`: the bot's interaction response."""
    inter = await run(h, name, options, subcommand=subcommand, permissions=ADMIN_PERMISSIONS, **kw)
    body: JSON = await h.fake.wait_for_interaction_response(inter)
    return body


def answer(h: Harness, inter: FakeInteraction) -> JSON:
    """The one message the invoker ends up looking at."""
    ids = [inter.original_message_id, *inter.followup_message_ids]
    live = [h.fake.message(i) for i in ids if i is not None and not h.fake.is_deleted(i)]
    [msg] = live
    assert msg is not None and not msg["flags"] & LOADING, "still 'thinking…'"
    return msg


def embed_text(e: JSON) -> str:
    parts = [e.get("title") or "", e.get("description") or ""]
    parts += [f"{f['name']}\n{f['value']}" for f in e.get("fields") or []]
    return "\n".join(parts)


async def post_board(h: Harness) -> JSON:
    await command(h, "board", {}, channel_id=h.fake.channel_ids[1])
    board: JSON = await h.fake.wait_for_message(
        h.fake.channel_ids[1], lambda m: m["embeds"][0].get("title") == "opsbot board"
    )
    return board


def queue_lines(embed: JSON) -> list[str]:
    return [ln for f in embed["fields"] for ln in f["value"].split("\n")]


def first_sightings(embed: JSON) -> set[str]:
    """The first-seen timestamps of a /queue page's job lines."""
    return {m.group(1) for ln in queue_lines(embed) if (m := SEEN_LINE.match(ln))}


async def test_runway_shows_in_every_view(start_bot: Any) -> None:
    sim = make_sim(providers=("pixverse", R))
    h: Harness = await start_bot(sim=sim, providers=["pixverse", R])
    jobs = [sim.start_job(R, duration=INF, elapsed=25 * 60) for _ in range(3)]
    await cycle(h)

    inter = await run(h, "queue", {"provider": R})
    assert inter.callback is not None
    [embed] = inter.callback["data"]["embeds"]
    assert embed["description"] == f"**Runway** — {len(jobs)} running"
    lines = queue_lines(embed)
    assert len(lines) == len(jobs) and all(SEEN_LINE.match(ln) for ln in lines), lines
    # upstream's 25 minutes are not known to opsbot: counted from its first sighting, not stuck
    assert "stuck" not in embed_text(embed)
    firsts = first_sightings(embed)
    assert firsts

    # a command that has to fetch itself keeps the first sighting the watcher holds
    for watcher in h.bot.watchers.values():
        if watcher.state.fetched_at is not None:
            watcher.state.fetched_at -= timedelta(seconds=h.settings.poll_interval_seconds + 1)
    stale = await run(h, "queue", {"provider": R})
    assert stale.callback == {"type": 5}
    [again] = answer(h, stale)["embeds"]
    assert first_sightings(again) == firsts

    cap = answer(h, await run(h, "capacity", {"provider": R}))
    text = embed_text(cap["embeds"][0])
    assert "Runway" in text
    assert all(a.account in text for a in sim.accounts(R) if a.executing)

    job = answer(h, await run(h, "job", {"provider": R, "id": jobs[0]}))
    [jembed] = job["embeds"]
    assert jembed["title"] == "Runway job running"
    assert "progress" in [f["name"] for f in jembed["fields"]]

    status = answer(h, await run(h, "status"))
    assert [f["name"] for f in status["embeds"][0]["fields"]] == ["✅ PixVerse", "✅ Runway"]

    board = await post_board(h)
    [rfield] = [f for f in board["embeds"][0]["fields"] if f["name"] == "Runway"]
    assert rfield["value"].startswith(f"Queue: {len(jobs)} running")
    assert "Longest: seen for " in rfield["value"]


async def test_runway_alerts_routes_and_mutes(start_bot: Any) -> None:
    sim = make_sim(providers=("pixverse", R))
    h: Harness = await start_bot(sim=sim, providers=["pixverse", R])
    default, other = h.fake.channel_ids
    body = await command(
        h, "alerts", {"kind": "job", "channel": other, "provider": R}, subcommand="route"
    )
    assert f"<#{other}>" in body["data"]["content"]
    routed = sim.start_job(R, duration=INF)
    plain = sim.start_job("pixverse", duration=INF)
    await cycle(h)
    sim.finish_job(routed, "moderated")
    sim.finish_job(plain, "completed")
    await cycle(h, ticks=2)
    await settled(h)
    assert count(h.fake, "moderated", routed, other) == 1
    assert count(h.fake, "moderated", channel=default) == 0
    assert count(h.fake, "completed", plain, default) == 1
    [(title, desc, _)] = [a for a in alerts(h.fake, other)]
    assert title == "Runway job moderated" and "first seen" in desc and "moderation" in desc

    body = await command(
        h, "alerts", {"provider": R, "kind": "job", "duration": "2h"}, subcommand="mute"
    )
    assert "Muted job alerts for runway" in body["data"]["content"]
    muted = sim.start_job(R, duration=INF)
    await cycle(h)
    sim.finish_job(muted, "failed")
    await cycle(h, ticks=2)
    await settled(h)
    assert count(h.fake, "failed", muted) == 0


async def test_a_restart_keeps_the_first_sighting_and_the_job_turns_stuck(
    start_bot: Any, tmp_path: Path
) -> None:
    """The previous run saw the job 21 minutes ago (its snapshot in the store): the restarted
    bot counts from then, and reports it stuck at once, worded as a sighting."""
    sim = make_sim(providers=("pixverse", R))
    job_id = sim.start_job(R, duration=INF)
    running = sim.job(job_id)
    assert running is not None
    db = tmp_path / "restart.db"
    first_seen = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=21)
    store = await Store.open(f"sqlite+aiosqlite:///{db}")
    seen = Job(R, job_id, None, running.account, first_seen, None, None, True)
    await store.commit_tick(
        R,
        now=first_seen,
        batch="before",
        snapshot=Snapshot(R, first_seen, (seen,)),
        stuck_ids=frozenset(),
    )
    await store.close()

    h: Harness = await start_bot(sim=sim, providers=[R], db=db, stuck_after_minutes=20)
    await cycle(h)
    await settled(h)
    assert count(h.fake, "stuck", job_id) == 1
    [(_, desc, _)] = alerts(h.fake)
    assert re.search(r"seen for 21m \d\ds", desc), desc
    assert f"**first seen** {first_seen.isoformat()}" in desc
    latest = h.bot.watchers[R].latest
    assert latest is not None and latest.jobs[0].started == first_seen
    await cycle(h, ticks=2)
    assert count(h.fake, "stuck", job_id) == 1  # once
