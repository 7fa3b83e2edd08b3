"""Commands that look back: /stats, and the history half of /capacity (`history:`).

Both read the store (never upstream), so they answer from data already here; the chart takes
a few hundred milliseconds of CPU, so they defer first (Discord's 3-second rule), draw it in a
thread (`bot.history.render`) and then replace the "thinking…" message with the embed and the
PNG attached, the embed's image pointing at it (`attachment://…`).
"""

from __future__ import annotations

import io
import logging
from datetime import timedelta
from typing import TYPE_CHECKING, Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot import embeds, validate
from bot.embeds.stats import capacity_history_embed, stats_embed
from bot.history import query, render, stats

if TYPE_CHECKING:
    from bot.app import OpsBot

log = logging.getLogger(__name__)

#: The periods the commands offer (the contract's choices) and their length.
Period = Literal["6h", "24h", "7d", "30d"]
StatsPeriod = Literal["24h", "7d", "30d"]
PERIODS: dict[str, timedelta] = {
    "6h": timedelta(hours=6),
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
}
NO_CHART = "The chart took too long to draw; the figures are above."


class HistoryCog(commands.Cog, name="History"):
    """Figures and charts of the past: /stats."""

    def __init__(self, bot: OpsBot) -> None:
        self.bot = bot

    async def cog_app_command_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        """Whatever broke (the database, say), the invoker gets an answer instead of a
        "thinking…" that never ends, and the log gets the traceback."""
        await answer_failure(interaction, error)

    def _names(self, provider: str | None) -> list[str]:
        if provider is None:
            return sorted(self.bot.providers)
        if provider not in self.bot.providers:
            raise validate.InputError(f'Provider "{provider}" is not enabled here.')
        return [provider]

    @app_commands.command(name="stats")
    @app_commands.describe(
        period="How far back (default: 24h)",
        provider="Only this provider (default: all)",
        private="Answer only to you",
    )
    async def stats(
        self,
        interaction: discord.Interaction,
        period: StatsPeriod = "24h",
        provider: str | None = None,
        private: bool = False,
    ) -> None:
        """Completed, failed and moderated jobs, failure %, run times, hours at full
        capacity; with a chart."""
        try:
            names = self._names(provider)
        except validate.InputError as exc:
            await interaction.response.send_message(
                embed=embeds.input_error_embed(str(exc)), ephemeral=True
            )
            return
        await interaction.response.defer(ephemeral=private, thinking=True)
        until = self.bot.clock()
        figures = await query.period_stats(
            self.bot.store, since=until - PERIODS[period], until=until, providers=names, now=until
        )
        titles = self.bot.titles()
        png = await render.stats_png_or_none(figures, titles=titles, what="/stats")
        embed = stats_embed(
            figures,
            title=f"Stats · last {period}",
            titles=titles,
            image=render.STATS_PNG if png is not None else None,
        )
        await send_with_chart(interaction, embed, png, render.STATS_PNG)


async def capacity_history(
    bot: OpsBot,
    interaction: discord.Interaction,
    *,
    period: Period,
    names: list[str],
    provider: str | None,
    private: bool,
) -> None:
    """/capacity history: the chart of the period and the hours at full capacity."""
    await interaction.response.defer(ephemeral=private, thinking=True)
    until = bot.clock()
    since = until - PERIODS[period]
    history = await query.capacity_history(
        bot.store, since=since, until=until, provider=provider, providers=names, now=until
    )
    titles = bot.titles()
    figures = stats.summarise((), history.samples, since=since, until=until, providers=names)
    scope = embeds.layout.provider_title(provider, titles) if provider else "All providers"
    try:
        png: bytes | None = await render.capacity_png(
            history,
            title=f"Capacity used · {scope}",
            titles=titles,
            redact=bot.settings.redact_accounts,
        )
    except render.ChartTimeout:
        log.warning("/capacity history: %s", NO_CHART)
        png = None
    embed = capacity_history_embed(
        figures,
        period=period,
        provider=provider,
        drawn=len(history.accounts),
        others=history.others,
        titles=titles,
        image=render.CAPACITY_PNG,
    )
    if png is None:
        embed.set_image(url=None)
        embed.set_footer(text=NO_CHART)
    await send_with_chart(interaction, embed, png, render.CAPACITY_PNG)


#: What the invoker is told when a history command failed inside opsbot.
FAILED = discord.Embed(
    title="Something went wrong inside opsbot",
    description="The error was logged. Try again in a moment.",
    colour=embeds.BAD,
)


async def answer_failure(
    interaction: discord.Interaction, error: app_commands.AppCommandError
) -> None:
    command = interaction.command.qualified_name if interaction.command else "?"
    cause = error.__cause__ or error
    log.error("/%s failed", command, exc_info=(type(cause), cause, cause.__traceback__))
    try:
        if interaction.response.is_done():
            await interaction.edit_original_response(embed=FAILED, attachments=[])
        else:
            await interaction.response.send_message(embed=FAILED, ephemeral=True)
    except discord.HTTPException:
        log.warning("/%s: could not tell the invoker about the failure", command, exc_info=True)


async def send_with_chart(
    interaction: discord.Interaction, embed: discord.Embed, png: bytes | None, filename: str
) -> None:
    """Replace the deferred "thinking…" message with `embed` and the PNG attached (a
    multipart upload); without a chart, the embed alone. The attachment's description is the
    embed's title: what a screen reader says of the image."""
    if png is None:
        await interaction.edit_original_response(embed=embed)
        return
    chart = discord.File(io.BytesIO(png), filename=filename, description=embed.title)
    await interaction.edit_original_response(embed=embed, attachments=[chart])


async def setup(bot: OpsBot) -> None:
    await bot.add_cog(HistoryCog(bot))
