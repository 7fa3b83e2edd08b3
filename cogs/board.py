"""`/board`: a status message the bot keeps up to date, edited only when what it shows changed."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import tasks

from bot import embeds
from bot.store import Board
from bot.validate import InputError
from cogs.manage import ManageCog

if TYPE_CHECKING:
    from bot.app import OpsBot

log = logging.getLogger(__name__)

#: Seconds between looks at the boards; each board is also edited at most this often.
BOARD_INTERVAL = 60.0
#: Seconds between look-ups of an unchanged board, to re-post it if someone deleted it.
BOARD_CHECK_INTERVAL = 600.0


@dataclass(slots=True)
class _Seen:
    """What the bot last knew of one board message (monotonic seconds)."""

    signature: str
    edited: float
    checked: float


class BoardCog(ManageCog, name="Board"):
    """Posts status boards and keeps them current."""

    def __init__(self, bot: OpsBot) -> None:
        super().__init__(bot)
        #: Each board is edited at most this often (seconds); tests shorten it.
        self.board_interval = BOARD_INTERVAL
        #: An unchanged board is looked up this often (seconds); tests shorten it.
        self.board_check_interval = BOARD_CHECK_INTERVAL
        self._boards_seen: dict[int, _Seen] = {}
        self._boards_lock = asyncio.Lock()

    async def cog_load(self) -> None:
        self.refresh_loop.start()

    async def cog_unload(self) -> None:
        task = self.refresh_loop.get_task()
        self.refresh_loop.cancel()
        if task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    @app_commands.command(name="board")
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.guild_only()
    @app_commands.describe(provider="Only this provider (default: every provider)")
    async def board(self, interaction: discord.Interaction, provider: str | None = None) -> None:
        """Post a status board here that the bot keeps up to date."""
        try:
            provider = self._provider(provider)
        except InputError as exc:
            await self._refuse(interaction, exc)
            return
        channel = interaction.channel
        if (
            not isinstance(channel, discord.TextChannel | discord.Thread)
            or interaction.channel_id is None
        ):
            await interaction.response.send_message(
                "A board goes in a text channel or thread.", ephemeral=True
            )
            return
        await interaction.response.send_message("Posting the board…", ephemeral=True)
        async with self._boards_lock:
            embed, sig = self._board_embed(provider)
            message = await channel.send(embed=embed)
            old = await self.bot.store.set_board(
                interaction.channel_id, provider, message.id, guild_id=interaction.guild_id
            )
            now = time.monotonic()
            self._boards_seen[message.id] = _Seen(sig, now, now)
            if old is not None:  # this board replaces the channel's previous one
                self._boards_seen.pop(old, None)
                with contextlib.suppress(discord.HTTPException):
                    await channel.get_partial_message(old).delete()

    def _board_embed(self, provider: str | None) -> tuple[discord.Embed, str]:
        names = [provider] if provider else sorted(self.bot.providers)
        snaps = [s for n in names if (s := self.bot.state(n).snapshot) is not None]
        statuses = [s for s in self.bot.provider_statuses() if s.provider in names]
        signature = repr(
            [
                (
                    s.provider,
                    len(s.jobs),
                    tuple((a.account, a.executing, a.max_jobs) for a in s.accounts),
                )
                for s in snaps
            ]
            + [(s.provider, s.last_error) for s in statuses]
        )
        embed = embeds.board_embed(
            snaps,
            now=self.bot.clock(),
            titles=self.bot.titles(),
            redact=self.bot.settings.redact_accounts,
            statuses=statuses,
        )
        return embed, hashlib.sha256(signature.encode()).hexdigest()

    @tasks.loop(seconds=BOARD_INTERVAL)
    async def refresh_loop(self) -> None:
        try:  # tasks.loop would end on an exception it was not told about
            await self.refresh_boards()
        except Exception:
            log.exception("board refresh failed")

    @refresh_loop.before_loop
    async def _refresh_when_ready(self) -> None:
        await self.bot.wait_until_ready()

    async def refresh_boards(self) -> int:
        """Edit each board whose content changed, at most once per `board_interval`; look an
        unchanged one up every `board_check_interval`; re-post a board that was deleted.
        Returns how many boards were edited or re-posted."""
        async with self._boards_lock:
            done = 0
            for board in await self.bot.store.boards():
                if board.provider is not None and board.provider not in self.bot.providers:
                    continue
                try:
                    done += await self._refresh(board)
                except discord.HTTPException as exc:
                    log.warning("could not update board %s: %s", board.message_id, exc)
            return done

    async def _refresh(self, board: Board) -> int:
        channel = self.bot.get_channel(board.channel_id)
        if not isinstance(channel, discord.TextChannel | discord.Thread):
            return 0  # not (yet) in the cache, or gone: leave the record alone
        names = [board.provider] if board.provider else list(self.bot.providers)
        if not any(
            self.bot.state(n).snapshot is not None or self.bot.state(n).ticks for n in names
        ):
            return 0  # just started: keep what the board showed until the first tick
        embed, sig = self._board_embed(board.provider)
        now = time.monotonic()
        seen = self._boards_seen.get(board.message_id)
        message = channel.get_partial_message(board.message_id)
        try:
            if seen is not None and seen.signature == sig:
                if now - seen.checked < self.board_check_interval:
                    return 0
                await message.fetch()
                seen.checked = now
                return 0
            if seen is not None and now - seen.edited < self.board_interval:
                return 0
            await message.edit(embed=embed)
        except discord.NotFound:
            new = await channel.send(embed=embed)
            await self.bot.store.set_board(
                board.channel_id, board.provider, new.id, guild_id=board.guild_id
            )
            self._boards_seen.pop(board.message_id, None)
            self._boards_seen[new.id] = _Seen(sig, now, now)
            log.info("board %s was deleted; posted %s", board.message_id, new.id)
            return 1
        self._boards_seen[board.message_id] = _Seen(sig, now, now)
        return 1


async def setup(bot: OpsBot) -> None:
    await bot.add_cog(BoardCog(bot))
