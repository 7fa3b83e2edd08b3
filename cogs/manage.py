"""What the moderators' cogs (/alerts, /board) share: who may use them, and how they answer.

Not an extension: cogs/alerts.py and cogs/board.py subclass `ManageCog`.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.validate import InputError

if TYPE_CHECKING:
    from bot.app import OpsBot

log = logging.getLogger(__name__)

MANAGE_GUILD = discord.Permissions(manage_guild=True)
NOT_ALLOWED = "You need the **Manage Server** permission for this."
NOT_HOME = "Alerts are managed from the team's own server."
FAILED = "Something went wrong; see the bot's log."


def home_guilds(bot: OpsBot) -> set[int]:
    """GUILD_IDS, else the server of ALERT_CHANNEL_ID; empty when neither is known."""
    if bot.settings.guild_ids:
        return set(bot.settings.guild_ids)
    channel_id = bot.settings.alert_channel_id
    channel = bot.get_channel(channel_id) if channel_id else None
    guild = getattr(channel, "guild", None)
    return {guild.id} if guild is not None else set()


def at_home(bot: OpsBot, guild_id: int | None) -> bool:
    """Whether `guild_id` is the team's server (any server when it is not known)."""
    home = home_guilds(bot)
    return not home or guild_id in home


class ManageCog(commands.Cog):
    """Commands for members with Manage Server, on the team's own server."""

    def __init__(self, bot: OpsBot) -> None:
        self.bot = bot

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        """Manage Server is the commands' default permission *and* checked here, so a member
        whose access was widened on the command alone is still refused."""
        if interaction.guild is None or not interaction.permissions.manage_guild:
            await interaction.response.send_message(NOT_ALLOWED, ephemeral=True)
            return False
        if not at_home(self.bot, interaction.guild.id):
            # Alert settings are the team's, not per server: a moderator of some other server
            # the bot was invited to must not reroute or mute them.
            await interaction.response.send_message(NOT_HOME, ephemeral=True)
            return False
        return True

    def allows(self, interaction: discord.Interaction, command: object) -> bool:
        """Whether `interaction_check` lets this member use `command` (for /help)."""
        guild = interaction.guild
        return (
            guild is not None
            and interaction.permissions.manage_guild
            and at_home(self.bot, guild.id)
        )

    async def cog_app_command_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        if isinstance(error, app_commands.CheckFailure):
            return  # already answered by interaction_check
        log.error("%s command failed", self.qualified_name.lower(), exc_info=error)
        if not interaction.response.is_done():
            await interaction.response.send_message(FAILED, ephemeral=True)

    def _provider(self, provider: str | None) -> str | None:
        """The `provider` option: None (every provider) or a loaded one. A choice synced
        before its provider was unloaded can still arrive."""
        if provider is not None and provider not in self.bot.providers:
            raise InputError(f"Provider {provider} is not enabled here.")
        return provider

    @staticmethod
    async def _refuse(interaction: discord.Interaction, error: InputError) -> None:
        """What the user typed is not acceptable: tell them alone, in the error's words."""
        await interaction.response.send_message(str(error), ephemeral=True)
