"""`/help`: the commands this member can use (their docstrings are the help text) and what
the team has set up: providers, alert channels, mentions, mutes, boards, and what is missing."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot import embeds
from bot.embeds.help import ELSEWHERE, UNREADABLE
from cogs.manage import at_home

if TYPE_CHECKING:
    from bot.app import OpsBot

log = logging.getLogger(__name__)

AnyCommand = app_commands.Command[Any, ..., Any]


def _leaves(command: AnyCommand | app_commands.Group) -> list[AnyCommand]:
    if isinstance(command, app_commands.Group):
        return [leaf for sub in command.commands for leaf in _leaves(sub)]
    return [command]


def _root(command: AnyCommand) -> AnyCommand | app_commands.Group:
    return command.root_parent or command


class HelpCog(commands.Cog, name="Help"):
    """What opsbot's commands do, and what this server has set up."""

    def __init__(self, bot: OpsBot) -> None:
        self.bot = bot

    def usable(self, interaction: discord.Interaction, command: AnyCommand) -> bool:
        """Whether this member can use `command` here: Discord's default permission and
        server-only flag, then the owning cog's own check (its `allows`, where it has one)."""
        root = _root(command)
        if interaction.guild is None and (root.guild_only or command.guild_only):
            return False
        needed = root.default_permissions
        if needed is not None and not needed.is_subset(interaction.permissions):
            return False
        allows = getattr(command.binding, "allows", None)
        return allows is None or bool(allows(interaction, command))

    def commands_for(self, interaction: discord.Interaction) -> list[tuple[str, str]]:
        """(name, help text) of each command this member can use, by name."""
        leaves = [
            leaf
            for c in self.bot.tree.get_commands()
            if not isinstance(c, app_commands.ContextMenu)
            for leaf in _leaves(c)
        ]
        return sorted(
            (c.qualified_name, c.description) for c in leaves if self.usable(interaction, c)
        )

    @app_commands.command(name="help")
    async def help(self, interaction: discord.Interaction) -> None:
        """What each command does, what this server has set up, and what is missing."""
        admin = interaction.guild is not None and interaction.permissions.manage_guild
        now = self.bot.clock()
        config, boards, instead = None, [], ELSEWHERE
        if interaction.guild is not None and at_home(self.bot, interaction.guild.id):
            try:
                config = await self.bot.store.alert_config(now)
                boards = [(b.channel_id, b.provider) for b in await self.bot.store.boards()]
            except Exception:
                log.exception("/help: could not read the set-up")
                config, instead = None, UNREADABLE
        embed = embeds.help_embed(
            self.commands_for(interaction),
            titles=self.bot.titles(),
            config=config,
            boards=boards,
            default=self.bot.settings.alert_channel_id,
            admin=admin,
            now=now,
            instead=instead,
            digest=self.bot.settings.digest_hour is not None,
        )
        await interaction.response.send_message(
            embed=embed, ephemeral=True, allowed_mentions=discord.AllowedMentions.none()
        )


async def setup(bot: OpsBot) -> None:
    await bot.add_cog(HelpCog(bot))
