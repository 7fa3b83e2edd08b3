"""`/help`: the commands the caller can use, what the team has set up, and what is missing."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

import discord

from bot.alerts import AlertConfig
from bot.embeds.config import mention_lines, mute_lines, route_lines
from bot.embeds.layout import join_bounded
from bot.embeds.style import NEUTRAL
from bot.events import EventKind

__all__ = ["ELSEWHERE", "UNREADABLE", "help_embed", "missing_setup"]

#: What a member without Manage Server reads instead of the set-up commands.
ASK = "ask someone with Manage Server to run"
ELSEWHERE = "Alerts are managed from the team's own server: its set-up is not shown here."
UNREADABLE = "The set-up could not be read just now (see the bot's log). Try again in a moment."
MEMBER_FOOTER = "Commands that need Manage Server are not listed."


#: Characters the command lines and each set-up field may take: together they stay inside
#: Discord's 6,000 characters for the whole embed, however much is set up.
SETUP_FIELD_MAX = 700
COMMANDS_MAX = 2000


def _more(n: int) -> str:
    return f"…and {n} more"


def _covered(kind: EventKind, config: AlertConfig, providers: Sequence[str]) -> bool:
    """Whether every enabled provider's `kind` alerts have a route (no default channel)."""
    mine = [r.provider for r in config.routes if r.kind is kind]
    if kind is EventKind.DIGEST:  # one message for every provider: only a route for all
        return None in mine
    return None in mine or (bool(providers) and all(p in mine for p in providers))


def missing_setup(
    config: AlertConfig,
    boards: Sequence[tuple[int, str | None]],
    *,
    default: int | None,
    providers: Sequence[str],
    admin: bool,
    digest: bool = False,
) -> list[str]:
    """What is not set up yet, each with the command that sets it (`admin`), or whom to ask.
    The `digest` route is missing only while the digest is on (`digest`: DIGEST_HOUR set)."""
    run = "run" if admin else ASK
    out: list[str] = []
    if not providers:
        out.append("no provider is enabled: set `PROVIDERS` and restart opsbot")
    if default is None:
        kinds = [k for k in EventKind if digest or k is not EventKind.DIGEST]
        unrouted = [k.value for k in kinds if not _covered(k, config, providers)]
        if not config.routes:
            out.append(f"no alert channel set: {run} `/alerts route`")
        elif unrouted:
            out.append(f"no channel for {', '.join(unrouted)} alerts: {run} `/alerts route`")
    if not boards:
        out.append(f"no status board: {run} `/board` in a channel")
    return out


def _board_lines(boards: Sequence[tuple[int, str | None]], titles: Mapping[str, str]) -> list[str]:
    return [
        f"<#{channel}> · {titles.get(provider, provider) if provider else 'every provider'}"
        for channel, provider in sorted(boards, key=lambda b: (b[0], b[1] or ""))
    ]


def help_embed(
    commands: Sequence[tuple[str, str]],
    *,
    titles: Mapping[str, str],
    config: AlertConfig | None,
    boards: Sequence[tuple[int, str | None]],
    default: int | None,
    admin: bool,
    now: datetime,
    instead: str = ELSEWHERE,
    digest: bool = False,
) -> discord.Embed:
    """One embed: `commands` (qualified name, help text) the caller can use, then the team's
    set-up and what is missing (None `config`: `instead` says why the set-up is not shown).
    `boards`: (channel id, provider or None for every provider) of each status board."""
    lines = [f"`/{name}` — {text}" for name, text in commands]
    embed = discord.Embed(
        title="opsbot — help",
        colour=NEUTRAL,
        description=join_bounded(["**Commands you can use**", *lines], COMMANDS_MAX, _more),
    )
    if not admin:
        embed.set_footer(text=MEMBER_FOOTER)
    providers = sorted(titles)
    embed.add_field(
        name="Providers",
        inline=False,
        value=", ".join(titles[p] for p in providers) or "none enabled",
    )
    if config is None:
        embed.add_field(name="Set-up", inline=False, value=instead)
        return embed
    channels = [f"default → <#{default}>" if default else "no default channel"]
    sections = (
        # sorted: the store's row order is no order a reader could follow
        ("Alert channels", channels + sorted(route_lines(config))),
        ("Mentions", sorted(mention_lines(config))),
        ("Mutes", mute_lines(config, now)),
        ("Boards", _board_lines(boards, titles)),
    )
    for name, value in sections:
        embed.add_field(
            name=name, inline=False, value=join_bounded(value, SETUP_FIELD_MAX, _more) or "none"
        )
    missing = missing_setup(
        config, boards, default=default, providers=providers, admin=admin, digest=digest
    )
    if missing:
        embed.add_field(
            name="Not set up yet",
            inline=False,
            value=join_bounded(missing, SETUP_FIELD_MAX, _more),
        )
    return embed
