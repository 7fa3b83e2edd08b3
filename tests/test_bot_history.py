"""/capacity history and /stats end to end: the real discord.py bot against the fake Discord
and the simulator. The watcher's own ticks record the history (no record is written by hand);
each command defers first, then replaces the "thinking…" message with a multipart upload:
the PNG as a file part, the embed's image pointing at it (`attachment://…`)."""

from __future__ import annotations

import asyncio
import math
import re
import struct
from datetime import UTC, datetime, timedelta
from typing import Any

from discord.utils import format_dt

from rig.botharness import Harness, cycle, make_sim
from rig.fakediscord import FakeInteraction
from rig.fakediscord.records import RecordedRequest

JSON = dict[str, Any]
INF = math.inf
EPHEMERAL = 64
ORIGINAL = r"PATCH /webhooks/\d+/[^/]+/messages/@original$"


async def run(h: Harness, name: str, options: JSON) -> FakeInteraction:
    """Invoke `/name` and wait until the bot's handler has finished."""
    done = asyncio.ensure_future(
        h.bot.wait_for(
            "app_command_completion", check=lambda i, c: c.qualified_name == name, timeout=20
        )
    )
    await asyncio.sleep(0)  # let wait_for register its listener
    inter = await h.fake.invoke(name, options)
    await done
    return inter


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def upload(h: Harness, inter: FakeInteraction) -> RecordedRequest:
    """The one edit of the interaction's original message: the answer after the defer."""
    [rec] = [r for r in h.fake.requests_matching(ORIGINAL) if r.path.split("/")[3] == inter.token]
    assert rec.status == 200
    return rec


def frozen(h: Harness) -> datetime:
    """Fix the bot's clock (commands read it) a little after the ticks so far."""
    now = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=2)
    h.bot.clock = lambda: now
    return now


async def test_capacity_history_defers_and_attaches_the_chart_the_embed_shows(start_bot):
    h = await start_bot(providers=["pixverse", "minimax"])
    await cycle(h, ticks=2)  # each tick records every provider's capacity
    now = frozen(h)
    inter = await run(h, "capacity", {"history": "6h"})

    assert inter.callback is not None and inter.callback["type"] == 5  # deferred first
    assert inter.callback.get("data", {}).get("flags", 0) & EPHEMERAL == 0
    rec = upload(h, inter)
    assert rec.headers["Content-Type"].startswith("multipart/form-data")
    [part] = rec.files
    # (discord.py sends every file as application/octet-stream; Discord goes by the name)
    assert (part["field"], part["filename"]) == ("files[0]", "capacity.png")
    assert png_size(part["data"]) == (1000, 500)
    title = "Capacity · All providers · last 6h"
    assert rec.json["attachments"] == [{"id": 0, "filename": "capacity.png", "description": title}]
    since = now - timedelta(hours=6)
    assert rec.json["embeds"] == [
        {
            "type": "rich",
            "title": title,
            "description": f"{format_dt(since, 'f')} to {format_dt(now, 'f')}\n"
            "Capacity used per provider (times in UTC); exhausted periods shaded.",
            "color": 0x5865F2,
            "flags": 0,
            "fields": [
                {
                    "name": "At full capacity",
                    "value": "MiniMax: 0 h at full capacity\nPixVerse: 0 h at full capacity",
                    "inline": False,
                }
            ],
            "image": {"url": "attachment://capacity.png"},
        }
    ]
    # What the channel shows: the attachment, and the embed pointing at it.
    message = h.fake.message(inter.original_message_id or 0)
    assert message is not None
    assert [a["filename"] for a in message["attachments"]] == ["capacity.png"]
    assert message["embeds"][0]["image"] == {"url": "attachment://capacity.png"}


async def test_capacity_history_of_one_provider_is_per_account(start_bot):
    h = await start_bot(providers=["pixverse"])
    await cycle(h)
    now = frozen(h)
    inter = await run(h, "capacity", {"history": "24h", "provider": "pixverse", "private": True})
    assert inter.callback is not None and inter.callback["type"] == 5  # deferred first
    assert inter.callback["data"]["flags"] & EPHEMERAL
    rec = upload(h, inter)
    assert rec.headers["Content-Type"].startswith("multipart/form-data")
    [part] = rec.files
    assert (part["field"], part["filename"]) == ("files[0]", "capacity.png")
    assert png_size(part["data"]) == (1000, 500)
    title = "Capacity · PixVerse · last 24h"
    assert rec.json["attachments"] == [{"id": 0, "filename": "capacity.png", "description": title}]
    assert rec.json["embeds"] == [
        {
            "type": "rich",
            "title": title,
            "description": f"{format_dt(now - timedelta(hours=24), 'f')} to "
            f"{format_dt(now, 'f')}\n"
            "Capacity used per account (times in UTC); exhausted periods shaded.",
            "color": 0x5865F2,
            "flags": 0,
            "fields": [
                {
                    "name": "At full capacity",
                    "value": "PixVerse: 0 h at full capacity",
                    "inline": False,
                }
            ],
            "image": {"url": "attachment://capacity.png"},
        }
    ]
    # 30 days too: only the busiest accounts are read (the database ranks them)
    inter = await run(h, "capacity", {"history": "30d", "provider": "pixverse"})
    [embed] = upload(h, inter).json["embeds"]
    assert embed["description"].split("\n")[1] == (
        "Capacity used per account (times in UTC); exhausted periods shaded."
    )


async def test_stats_counts_what_the_watcher_saw_finish(start_bot):
    sim = make_sim()
    h = await start_bot(sim=sim, providers=["pixverse"])
    jobs = [sim.start_job("pixverse", duration=INF) for _ in range(5)]
    await cycle(h)
    outcomes = ["completed", "completed", "completed", "failed", "moderated"]
    for job, outcome in zip(jobs, outcomes, strict=True):
        sim.finish_job(job, outcome)
    await cycle(h)
    now = frozen(h)
    inter = await run(h, "stats", {"period": "24h"})  # (24h: the 1-minute points)

    assert inter.callback is not None and inter.callback["type"] == 5  # deferred first
    assert inter.callback.get("data", {}).get("flags", 0) & EPHEMERAL == 0
    rec = upload(h, inter)
    assert rec.headers["Content-Type"].startswith("multipart/form-data")
    [part] = rec.files
    assert (part["field"], part["filename"]) == ("files[0]", "stats.png")
    assert png_size(part["data"]) == (700, 300)
    title = "Stats · last 24h"
    assert rec.json["attachments"] == [{"id": 0, "filename": "stats.png", "description": title}]
    [embed] = rec.json["embeds"]
    # one line per model (the simulator's, by its seed), busiest first, each figure next to
    # its word; run times are the simulator's ManualClock start to the bot's real clock (days):
    # matched, not compared (their figures: tests/test_history_stats.py, test_history_cli.py)
    [field] = embed.pop("fields")
    assert embed == {
        "type": "rich",
        "title": title,
        "description": f"{format_dt(now - timedelta(days=1), 'f')} to {format_dt(now, 'f')}\n"
        "3 completed · 1 failed · 1 moderated · failure 40 %",
        "color": 0x5865F2,
        "flags": 0,
        "image": {"url": "attachment://stats.png"},
    }
    assert (field["name"], field["inline"]) == ("PixVerse", False)
    full, v45, v5 = field["value"].split("\n")
    assert full == "0 h at full capacity"
    assert re.fullmatch(
        r"\*\*v4\.5\*\*: 3 completed · 0 failed · 0 moderated · failure 0 % · "
        r"run time p50 \S+ \S+, p95 \S+ \S+",
        v45,
    )
    assert v5 == "**v5**: 0 completed · 1 failed · 1 moderated · failure 100 %"
    # What the channel shows: the attachment, and the embed pointing at it.
    message = h.fake.message(inter.original_message_id or 0)
    assert message is not None
    assert [a["filename"] for a in message["attachments"]] == ["stats.png"]
    assert message["embeds"][0]["image"] == {"url": "attachment://stats.png"}


async def test_stats_of_a_provider_not_enabled_is_refused_before_any_defer(start_bot):
    h = await start_bot(providers=["pixverse"])
    inter = await h.fake.invoke("stats", {"provider": "minimax"})
    body = await h.fake.wait_for_interaction_response(inter)
    assert body["type"] == 4 and body["data"]["flags"] & EPHEMERAL
    assert h.fake.requests_matching(ORIGINAL) == []


async def test_stats_when_the_database_fails_answers_instead_of_thinking_forever(
    start_bot, monkeypatch
):
    h = await start_bot(providers=["pixverse"])

    async def broken(**kwargs: Any) -> list[Any]:
        raise RuntimeError("database gone")

    monkeypatch.setattr(h.bot.store, "model_stats", broken)
    inter = await h.fake.invoke("stats", {})  # (no completion event: the command failed)
    await h.fake.wait_for_request("PATCH", r"/webhooks/\d+/[^/]+/messages/@original$")
    assert inter.callback is not None and inter.callback["type"] == 5
    [embed] = upload(h, inter).json["embeds"]
    assert (embed["title"], embed["description"]) == (
        "Something went wrong inside opsbot",
        "The error was logged. Try again in a moment.",
    )


async def test_stats_of_one_provider_over_7_days_counts_that_provider_only(start_bot):
    sim = make_sim(providers=("pixverse", "minimax"))
    h = await start_bot(sim=sim, providers=["pixverse", "minimax"])
    pix = sim.start_job("pixverse", duration=INF)
    mini = [sim.start_job("minimax", duration=INF) for _ in range(2)]
    await cycle(h)
    sim.finish_job(pix, "failed")
    sim.finish_job(mini[0], "completed")
    sim.finish_job(mini[1], "moderated")
    await cycle(h)
    now = frozen(h)
    inter = await run(h, "stats", {"period": "7d", "provider": "minimax", "private": True})
    assert inter.callback is not None and inter.callback["type"] == 5
    assert inter.callback["data"]["flags"] & EPHEMERAL
    rec = upload(h, inter)
    [embed] = rec.json["embeds"]
    assert embed["title"] == "Stats · last 7d"
    assert embed["description"] == (
        f"{format_dt(now - timedelta(days=7), 'f')} to {format_dt(now, 'f')}\n"
        "1 completed · 0 failed · 1 moderated · failure 50 %"
    )
    [field] = embed["fields"]
    assert field["name"] == "MiniMax"
    # 7 days read the 15-minute buckets: none is complete yet
    assert field["value"].split("\n")[0] == "no capacity history in this period"
    assert [f["filename"] for f in rec.json["attachments"]] == ["stats.png"]
