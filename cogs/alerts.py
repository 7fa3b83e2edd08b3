"""`/alerts`: where each kind of alert goes, who is mentioned, what is muted; and
`/alerts notify`, each member's own choice for their jobs.

Delivery is cogs/delivery.py; `/board` is cogs/board.py.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import TYPE_CHECKING, Literal

import discord
from discord import app_commands

from bot import embeds
from bot.alerts import DEFAULT_NOTIFY, Notify
from bot.delivery import reroute_held
from bot.events import EventKind
from bot.validate import InputError
from cogs.manage import ManageCog

if TYPE_CHECKING:
    from bot.app import OpsBot

KindName = Literal["job", "capacity", "upstream", "account", "digest"]
#: Why `/alerts route kind:digest` takes no provider.
DIGEST_FOR_ALL = "The daily digest covers every provider in one message: leave `provider` empty."
_DURATION = re.compile(r"^\s*(\d{1,5})\s*([mhd]?)\s*$", re.IGNORECASE)
#: Seconds per unit of a duration; no unit means minutes.
_UNIT = {"": 60, "m": 60, "h": 3600, "d": 86400}
MAX_MUTE = timedelta(days=30)
DEFAULT_MUTE = "1h"
#: /alerts mention refuses @everyone (a role whose id is the server's) rather than warn: an
#: alert that pings the whole server is never what a moderator picking "a role" meant.
NO_EVERYONE = (
    "`@everyone` cannot be mentioned in alerts: it would ping the whole server. "
    "Pick a role made for this, such as an on-call role."
)


def parse_duration(text: str) -> timedelta:
    """`90`, `90m`, `2h`, `1d` → a timedelta (minutes when no unit), at most 30 days."""
    match = _DURATION.match(text)
    if not match:
        raise InputError("Give a duration like `30m`, `2h` or `1d`.")
    delta = timedelta(seconds=int(match.group(1)) * _UNIT[match.group(2).lower()])
    if not timedelta(0) < delta <= MAX_MUTE:
        raise InputError("A mute lasts from one minute to 30 days.")
    return delta


#: What `/alerts notify` answers, by choice ({user}: the caller's id).
NOTIFY_SAYS: dict[Notify, str] = {
    "mention": "You are mentioned in the alert for each job submitted for you "
    "(`replyRef` `discord:{user}`).",
    "dm": "Alerts for jobs submitted for you (`replyRef` `discord:{user}`) come to you as a "
    "direct message; the channel alert does not ping you.",
    "off": "Alerts for jobs submitted for you (`replyRef` `discord:{user}`) do not ping you "
    "or message you.",
}


class AlertsCog(ManageCog, name="Alerts"):
    """Lets moderators decide where alerts go, who they ping and what is muted; and every
    member how they hear of their own jobs (`/alerts notify`)."""

    # No default permission on the group: Discord sets one for a whole command, and
    # `/alerts notify` is everyone's. Every other subcommand is checked for Manage Server in
    # `interaction_check`, as before.
    alerts = app_commands.Group(
        name="alerts",
        description="Where alerts go, who is pinged, what is muted",
        guild_only=True,
    )

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        """`/alerts notify` is each member's own; the rest need Manage Server."""
        command = interaction.command
        if command is not None and command.qualified_name == "alerts notify":
            return True
        return await super().interaction_check(interaction)

    def allows(self, interaction: discord.Interaction, command: object) -> bool:
        """As `interaction_check`: /alerts notify is everyone's (for /help)."""
        if getattr(command, "qualified_name", None) == "alerts notify":
            return True
        return super().allows(interaction, command)

    @alerts.command(name="notify")
    @app_commands.describe(
        how="mention: pinged in the alert; dm: a direct message; off: neither "
        "(leave out to see your choice)"
    )
    async def notify(self, interaction: discord.Interaction, how: Notify | None = None) -> None:
        """How you hear of jobs submitted for you (replyRef discord:<your id>)."""
        user = interaction.user.id
        if how is not None:
            await self.bot.store.set_notify(user, how)
            now = how
        else:
            now = await self.bot.store.notify_choice(user) or DEFAULT_NOTIFY
        await interaction.response.send_message(
            NOTIFY_SAYS[now].format(user=user),
            ephemeral=True,
            allowed_mentions=discord.AllowedMentions.none(),
        )

    @alerts.command(name="show")
    async def show(self, interaction: discord.Interaction) -> None:
        """Show where each kind of alert goes, who is mentioned and what is muted."""
        now = self.bot.clock()
        config = await self.bot.store.alert_config(now)
        counts = await self.bot.store.outbox_counts()
        held = await self.bot.store.held()
        embed = embeds.config_embed(
            config,
            counts,
            held=len(held),
            held_reason=held[0].last_error if held else None,
            default=self.bot.settings.alert_channel_id,
            now=now,
        )
        await interaction.response.send_message(embed=embed, ephemeral=True)

    @alerts.command(name="route")
    @app_commands.describe(
        kind="Which alerts",
        channel="Where they go",
        provider="Only this provider's (default: every provider)",
    )
    async def route(
        self,
        interaction: discord.Interaction,
        kind: KindName,
        channel: discord.TextChannel,
        provider: str | None = None,
    ) -> None:
        """Send one kind of alert (optionally one provider's) to a channel."""
        try:
            provider = self._provider(provider)
            if kind == "digest" and provider is not None:
                raise InputError(DIGEST_FOR_ALL)
        except InputError as exc:
            await self._refuse(interaction, exc)
            return
        await self.bot.store.set_route(EventKind(kind), provider, channel.id)
        released = await reroute_held(
            self.bot.store, self.bot.settings.alert_channel_id, now=self.bot.clock()
        )
        if released:
            self.bot.dispatch("opsbot_outbox_ready")  # cogs/delivery.py sends them now
        note = f" {released} held alert(s) will be sent again." if released else ""
        await interaction.response.send_message(
            f"{kind} alerts{' for ' + provider if provider else ''} now go to "
            f"{channel.mention}.{note}",
            ephemeral=True,
        )

    @alerts.command(name="mention")
    @app_commands.describe(
        kind="Which alerts",
        role="Role to mention (leave out to stop; @everyone is refused)",
        provider="Only this provider's (default: every provider)",
    )
    async def mention(
        self,
        interaction: discord.Interaction,
        kind: KindName,
        role: discord.Role | None = None,
        provider: str | None = None,
    ) -> None:
        """Mention a role in one kind of alert (or stop mentioning)."""
        try:
            provider = self._provider(provider)
        except InputError as exc:
            await self._refuse(interaction, exc)
            return
        if role is not None and role.is_default():
            await interaction.response.send_message(
                NO_EVERYONE, ephemeral=True, allowed_mentions=discord.AllowedMentions.none()
            )
            return
        await self.bot.store.set_mention(
            EventKind(kind), role.id if role else None, provider=provider
        )
        what = f"{role.mention} is mentioned in" if role else "No role is mentioned in"
        await interaction.response.send_message(
            f"{what} {kind} alerts.",
            ephemeral=True,
            allowed_mentions=discord.AllowedMentions.none(),
        )

    @alerts.command(name="mute")
    @app_commands.describe(
        provider="Only this provider (default: every provider)",
        kind="Only this kind (default: every kind)",
        duration=f"How long: 30m, 2h, 1d (default {DEFAULT_MUTE})",
    )
    async def mute(
        self,
        interaction: discord.Interaction,
        provider: str | None = None,
        kind: KindName | None = None,
        duration: str = DEFAULT_MUTE,
    ) -> None:
        """Silence alerts for a while. Muted alerts are dropped, not saved for later."""
        try:
            provider = self._provider(provider)
            delta = parse_duration(duration)
        except InputError as exc:
            await self._refuse(interaction, exc)
            return
        until = self.bot.clock() + delta
        await self.bot.store.mute(
            provider, EventKind(kind) if kind else None, until, reason=f"by {interaction.user.id}"
        )
        await interaction.response.send_message(
            f"Muted {kind or 'all'} alerts for {provider or 'every provider'} until "
            f"{discord.utils.format_dt(until, 'f')}.",
            ephemeral=True,
        )

    @alerts.command(name="unmute")
    @app_commands.describe(provider="Only this provider", kind="Only this kind")
    async def unmute(
        self,
        interaction: discord.Interaction,
        provider: str | None = None,
        kind: KindName | None = None,
    ) -> None:
        """Lift mutes (all of them, or those for a provider / kind)."""
        if provider is None and kind is None:
            removed = await self.bot.store.clear_mutes()
        else:
            removed = await self.bot.store.unmute(provider, EventKind(kind) if kind else None)
        await interaction.response.send_message(f"Lifted {removed} mute(s).", ephemeral=True)


async def setup(bot: OpsBot) -> None:
    await bot.add_cog(AlertsCog(bot))
