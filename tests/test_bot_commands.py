"""Slash commands end to end: fake Discord ⇄ real discord.py bot ⇄ simulator."""

from __future__ import annotations

import pytest

from bot.text import short_id
from tests.fakediscord import ADMIN_PERMISSIONS


async def test_startup_syncs_commands_to_the_guild(start_bot):
    h = await start_bot()
    synced = {c["name"]: c for c in h.fake.synced_commands(h.fake.guild_id)}
    assert set(synced) == {"queue", "capacity", "job", "status", "alerts", "board"}
    queue = {o["name"]: o for o in synced["queue"]["options"]}
    assert [c["value"] for c in queue["provider"]["choices"]] == ["dreamina", "minimax",
                                                                  "pixverse"]
    assert queue["account"].get("autocomplete") is True
    assert queue["private"]["type"] == 5
    job = {o["name"]: o for o in synced["job"]["options"]}
    assert job["provider"]["required"] is True and job["id"]["required"] is True
    assert int(synced["alerts"]["default_member_permissions"]) == 1 << 5
    assert int(synced["board"]["default_member_permissions"]) == 1 << 5
    assert synced["queue"].get("default_member_permissions") in (None, "")
    assert {o["name"] for o in synced["alerts"]["options"]} == {"show", "route", "mute",
                                                                 "unmute", "mention"}


@pytest.mark.parametrize("provider", ["pixverse", "minimax", "dreamina"])
async def test_queue_from_cache_lists_the_providers_jobs(start_bot, provider):
    h = await start_bot()
    await h.tick()
    inter = await h.fake.invoke("queue", {"provider": provider}, permissions=ADMIN_PERMISSIONS)
    body = await h.fake.wait_for_interaction_response(inter)
    assert body["type"] == 4  # answered at once, from the watcher's snapshot
    embeds = body["data"]["embeds"]
    text = str(embeds)
    running = h.sim.running(provider)
    assert running
    for job in running:
        assert short_id(job.id).strip("…")[:16] in text
    assert body["data"].get("flags", 0) & 64 == 0
    assert body["data"]["allowed_mentions"] == {"parse": []}
