"""The bot's command tree: every slash command timed, from its arrival to its callback's end."""

from __future__ import annotations

import time
from typing import Any

import discord
from discord import app_commands

from bot import metrics

_STARTED = "opsbot_started"


class TimedTree(app_commands.CommandTree[Any]):
    """`opsbot_command_seconds` by command: started in `interaction_check` (run before every
    command), observed at its completion, or in `on_error` when it failed."""

    async def interaction_check(self, interaction: discord.Interaction[Any], /) -> bool:
        interaction.extras[_STARTED] = time.perf_counter()
        return True

    async def on_error(
        self, interaction: discord.Interaction[Any], error: app_commands.AppCommandError, /
    ) -> None:
        observe(interaction)
        await super().on_error(interaction, error)


def observe(interaction: discord.Interaction[Any]) -> None:
    """Record the time since `interaction_check` under the command's name, once."""
    started = interaction.extras.pop(_STARTED, None)
    command = interaction.command
    if started is None or command is None:
        return
    metrics.COMMAND_SECONDS.labels(command.qualified_name).observe(time.perf_counter() - started)
