"""`/alerts show`: where each kind of alert goes, who is mentioned, what is muted, the outbox."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

import discord
from discord.utils import format_dt

from bot.alerts import AlertConfig
from bot.embeds.layout import cut
from bot.embeds.limits import FIELD_VALUE_MAX
from bot.embeds.style import NEUTRAL
from bot.text import escape

__all__ = ["config_embed"]


def _field_lines(lines: Sequence[str]) -> str:
    return "\n".join(lines)[:FIELD_VALUE_MAX] or "none"


def route_lines(config: AlertConfig) -> list[str]:
    return [
        f"{r.kind.value}{' · ' + r.provider if r.provider else ''} → <#{r.channel_id}>"
        for r in config.routes
    ]


def mention_lines(config: AlertConfig) -> list[str]:
    return [
        f"{m.kind.value}{' · ' + m.provider if m.provider else ''} → <@&{m.role_id}>"
        for m in config.mentions
    ]


def mute_lines(config: AlertConfig, now: datetime) -> list[str]:
    """The mutes still active at `now`."""
    return [
        f"{m.provider or 'every provider'} · {m.kind.value if m.kind else 'every kind'}"
        f" until {format_dt(m.until, 'f') if m.until else 'unmuted'}"
        for m in config.mutes
        if m.active(now)
    ]


def config_embed(
    config: AlertConfig,
    counts: Mapping[str, int],
    *,
    held: int,
    held_reason: str | None,
    default: int | None,
    now: datetime,
) -> discord.Embed:
    """What /alerts show answers: routes, mentions, active mutes, the outbox (`counts`: rows
    by state), and with `held` alerts, why the first is held."""
    embed = discord.Embed(title="Alert configuration", colour=NEUTRAL)
    embed.add_field(
        name="Default channel",
        value=f"<#{default}>" if default else "none (set ALERT_CHANNEL_ID)",
        inline=False,
    )
    embed.add_field(name="Routes", inline=False, value=_field_lines(route_lines(config)))
    embed.add_field(name="Mentions", inline=False, value=_field_lines(mention_lines(config)))
    embed.add_field(name="Mutes", inline=False, value=_field_lines(mute_lines(config, now)))
    embed.add_field(
        name="Outbox",
        inline=False,
        value=", ".join(f"{k}: {v}" for k, v in sorted(counts.items())) or "empty",
    )
    if held:
        embed.add_field(
            name=f"Held ({held})",
            inline=False,
            value=cut(escape(held_reason or "held"), FIELD_VALUE_MAX),
        )
    return embed
