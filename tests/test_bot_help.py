"""`/help` end to end: fake Discord ⇄ the real discord.py bot (started as `opsbot run` starts it).

One ephemeral embed: the commands the caller can use (their docstrings as the help text), the
team's set-up (providers, alert channels, mentions, mutes, boards) and what is missing, with the
command that sets it up, or for a member whom to ask. Each whole embed is asserted."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import discord
from discord import app_commands
from discord.utils import format_dt

from bot.embeds import limit_problems
from bot.embeds.help import ELSEWHERE, MEMBER_FOOTER
from bot.events import EventKind
from rig.botharness import Harness, StartBot, command, make_sim
from rig.fakediscord import ADMIN_PERMISSIONS, MEMBER_PERMISSIONS, FakeDiscord

JSON = dict[str, Any]
EPHEMERAL = 64
ROLE = 1200000000000000333
HEAD = "**Commands you can use**"
MANAGE_MESSAGES = 1 << 13

#: Every command's help text: its docstring's first paragraph, as Discord has it.
HELP = {
    "alerts mention": "Mention a role in one kind of alert (or stop mentioning).",
    "alerts mute": "Silence alerts for a while. Muted alerts are dropped, not saved for later.",
    "alerts notify": "How you hear of jobs submitted for you (replyRef discord:<your id>).",
    "alerts route": "Send one kind of alert (optionally one provider's) to a channel.",
    "alerts show": "Show where each kind of alert goes, who is mentioned and what is muted.",
    "alerts unmute": "Lift mutes (all of them, or those for a provider / kind).",
    "board": "Post a status board here that the bot keeps up to date.",
    "cancel": "Untrack a running job: useapi stops tracking it and its callbacks (asks first).",
    "capacity": (
        "Free slots per account (executing / maxJobs); with history: capacity used over time, "
        "as a chart."
    ),
    "help": "What each command does, what this server has set up, and what is missing.",
    "job": "What became of one job: outcome, times, prompt, results, upstream error.",
    "queue": "What is running now, longest-running first.",
    "stats": (
        "Completed, failed and moderated jobs, failure %, run times, hours at full capacity; "
        "with a chart."
    ),
    "status": "One view of every provider: running jobs, capacity used, watcher health.",
}
EVERYONE = ["alerts notify", "capacity", "help", "job", "queue", "stats", "status"]


def description(names: list[str], helps: dict[str, str] = HELP) -> str:
    return "\n".join([HEAD, *(f"`/{n}` — {helps[n]}" for n in names)])


def fields(*pairs: tuple[str, str]) -> list[JSON]:
    return [{"inline": False, "name": n, "value": v} for n, v in pairs]


async def help_embed(h: Harness, permissions: int = ADMIN_PERMISSIONS, **kw: Any) -> JSON:
    """The one embed /help answers with, checked ephemeral, pinging no one, within limits."""
    inter = await h.fake.invoke("help", {}, permissions=permissions, **kw)
    body = await h.fake.wait_for_interaction_response(inter)
    assert body["type"] == 4
    data = body["data"]
    assert data["flags"] & EPHEMERAL and data["allowed_mentions"] == {"parse": []}
    assert not data.get("content") and not data.get("components")
    [embed] = data["embeds"]
    assert embed["title"] == "opsbot — help"
    return dict(embed)


def within_limits(embed: JSON) -> None:
    assert limit_problems([discord.Embed.from_dict(embed)]) == []


async def test_help_for_an_admin_lists_every_command_and_what_is_missing(start_bot):
    h = await start_bot()
    embed = await help_embed(h)
    assert embed["description"] == description(sorted(HELP))
    assert "footer" not in embed
    assert embed["fields"] == fields(
        ("Providers", "Dreamina, MiniMax, PixVerse"),
        ("Alert channels", f"default → <#{h.alert_channel}>"),
        ("Mentions", "none"),
        ("Mutes", "none"),
        ("Boards", "none"),
        ("Not set up yet", "no status board: run `/board` in a channel"),
    )
    within_limits(embed)


async def test_help_for_a_member_lists_only_what_they_can_use(start_bot):
    h = await start_bot(alert_channel_id=None)
    embed = await help_embed(h, MEMBER_PERMISSIONS)
    assert embed["description"] == description(EVERYONE)
    assert embed["footer"] == {"text": MEMBER_FOOTER}
    ask = "ask someone with Manage Server to run"
    assert embed["fields"] == fields(
        ("Providers", "Dreamina, MiniMax, PixVerse"),
        ("Alert channels", "no default channel"),
        ("Mentions", "none"),
        ("Mutes", "none"),
        ("Boards", "none"),
        (
            "Not set up yet",
            f"no alert channel set: {ask} `/alerts route`\n"
            f"no status board: {ask} `/board` in a channel",
        ),
    )


async def test_help_follows_each_commands_default_permissions(start_bot: StartBot) -> None:
    """Discord's own rule, besides each cog's check: a command whose default permissions the
    member lacks is not listed (a command with no check of its own: only Discord's rule)."""
    h = await start_bot()

    @app_commands.command(name="purge")
    @app_commands.default_permissions(manage_messages=True)
    async def purge(interaction: discord.Interaction) -> None:
        """Delete messages."""

    h.bot.tree.add_command(purge)
    try:
        admin = await help_embed(h)
        member = await help_embed(h, MEMBER_PERMISSIONS)
        manager = await help_embed(h, MEMBER_PERMISSIONS | MANAGE_MESSAGES)
    finally:
        h.bot.tree.remove_command("purge")
    helps = HELP | {"purge": "Delete messages."}
    assert admin["description"] == description(sorted(helps), helps)
    assert member["description"] == description(EVERYONE)
    assert manager["description"] == description(sorted([*EVERYONE, "purge"]), helps)


async def test_help_lists_cancel_for_a_member_of_the_cancel_role(
    fake_discord: FakeDiscord, start_bot: StartBot
) -> None:
    fake_discord.add_guild(fake_discord.guild_id, fake_discord.channel_ids, roles={ROLE: "cancel"})
    h = await start_bot(cancel_role_id=ROLE)
    embed = await help_embed(h, MEMBER_PERMISSIONS, roles=[ROLE])
    assert embed["description"] == description(sorted([*EVERYONE, "cancel"]))
    assert (await help_embed(h, MEMBER_PERMISSIONS))["description"] == description(EVERYONE)


async def test_help_shows_the_set_up_once_made(
    fake_discord: FakeDiscord, start_bot: StartBot
) -> None:
    fake_discord.add_guild(fake_discord.guild_id, fake_discord.channel_ids, roles={ROLE: "on-call"})
    providers = ["pixverse", "kling"]
    h = await start_bot(
        sim=make_sim(providers=providers), alert_channel_id=None, providers=providers
    )
    default, other = h.fake.channel_ids
    # job alerts of one provider only: the others' job alerts still have no channel
    await command(
        h, "alerts", {"kind": "job", "channel": other, "provider": "kling"}, subcommand="route"
    )
    embed = await help_embed(h)
    assert embed["fields"][-1] == {
        "inline": False,
        "name": "Not set up yet",
        "value": "no channel for job, capacity, upstream, account alerts: run `/alerts route`\n"
        "no status board: run `/board` in a channel",
    }
    # every enabled provider's job alerts routed: job is covered; the other kinds by kind
    await command(
        h, "alerts", {"kind": "job", "channel": other, "provider": "pixverse"}, subcommand="route"
    )
    await command(h, "alerts", {"kind": "capacity", "channel": default}, subcommand="route")
    embed = await help_embed(h)
    assert embed["fields"][-1]["value"] == (
        "no channel for upstream, account alerts: run `/alerts route`\n"
        "no status board: run `/board` in a channel"
    )
    for kind in ("upstream", "account"):
        await command(h, "alerts", {"kind": kind, "channel": default}, subcommand="route")
    await command(h, "alerts", {"kind": "job", "role": ROLE}, subcommand="mention")
    await command(
        h, "alerts", {"provider": "kling", "kind": "capacity", "duration": "2h"}, subcommand="mute"
    )
    await command(h, "board", {"provider": "kling"}, channel_id=other)
    [mute] = await h.bot.store.mutes()
    assert mute.until is not None

    embed = await help_embed(h)
    assert embed["description"] == description(sorted(HELP))
    assert embed["fields"] == fields(
        ("Providers", "Kling, PixVerse"),
        (
            "Alert channels",
            "no default channel\n"
            f"account → <#{default}>\n"
            f"capacity → <#{default}>\n"
            f"job · kling → <#{other}>\n"
            f"job · pixverse → <#{other}>\n"
            f"upstream → <#{default}>",
        ),
        ("Mentions", f"job → <@&{ROLE}>"),
        ("Mutes", f"kling · capacity until {format_dt(mute.until, 'f')}"),
        ("Boards", f"<#{other}> · Kling"),
    )
    # a member sees the same set-up, and nothing is missing
    member = await help_embed(h, MEMBER_PERMISSIONS)
    assert member["fields"] == embed["fields"]
    assert member["description"] == description(EVERYONE)


async def test_help_in_another_server_hides_the_team_set_up(
    fake_discord: FakeDiscord, start_bot: StartBot
) -> None:
    other_guild = 1200000000000009000
    fake_discord.add_guild(other_guild, [1200000000000009001])
    h = await start_bot()
    embed = await help_embed(h, guild_id=other_guild, channel_id=1200000000000009001)
    # a moderator of another server can use what everyone can; /alerts and /board are the team's
    assert embed["description"] == description(sorted([*EVERYONE, "cancel"]))
    assert embed["fields"] == fields(
        ("Providers", "Dreamina, MiniMax, PixVerse"), ("Set-up", ELSEWHERE)
    )


async def test_help_stays_within_the_embed_limits_however_much_is_set_up(
    start_bot: StartBot,
) -> None:
    h = await start_bot()
    store, now = h.bot.store, h.bot.clock()
    channel = 1300000000000000000
    for i, kind in enumerate(EventKind):
        for provider in (None, "pixverse", "minimax", "dreamina"):
            await store.set_route(kind, provider, channel + i)
            await store.set_mention(kind, channel + 100 + i, provider=provider)
            await store.mute(provider, kind, now + timedelta(hours=i + 1))
    for i in range(80):
        await store.set_board(channel + 1000 + i, None, channel + 2000 + i)
    embed = await help_embed(h)
    within_limits(embed)
    by_name = {f["name"]: f["value"] for f in embed["fields"]}
    assert list(by_name) == ["Providers", "Alert channels", "Mentions", "Mutes", "Boards"]
    # the default, then every route (4 per kind), the last ones announced as "…and N more"
    routes = by_name["Alert channels"].split("\n")
    assert routes[0].startswith("default → ")
    last = re.fullmatch(r"…and (\d+) more", routes[-1])
    assert last is not None and len(routes) - 2 + int(last[1]) == 4 * len(EventKind)
    boards = by_name["Boards"].split("\n")
    assert boards[0] == f"<#{channel + 1000}> · every provider"
    shown = len(boards) - 1
    assert 0 < shown < 80 and boards[-1] == f"…and {80 - shown} more"
    assert len(by_name["Boards"]) <= 700
