"""The daily digest's clock: once `DIGEST_HOUR` (UTC) has come, queue yesterday's digest in
the outbox (`bot.history.digest`); delivery draws and posts it (`cogs.delivery`). Off when
`DIGEST_HOUR` is empty.

Every replica may queue it: the outbox keeps the first row of a key and ignores the rest, so
the team gets one digest a day however many bots run and however often they restart."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import date, datetime
from typing import TYPE_CHECKING

from discord.ext import commands, tasks

from bot import alerts
from bot.history import digest

if TYPE_CHECKING:
    from bot.app import OpsBot

log = logging.getLogger(__name__)

#: How often the clock is looked at (the digest goes out within this of the hour).
CHECK_SECONDS = 60.0


class DigestCog(commands.Cog, name="Digest"):
    """Queues yesterday's /stats once a day at DIGEST_HOUR."""

    def __init__(self, bot: OpsBot) -> None:
        self.bot = bot
        self.hour = bot.settings.digest_hour
        #: The last day this process queued (or found queued): no store call until the next.
        self.queued: date | None = None
        self.loop = tasks.loop(seconds=CHECK_SECONDS)(self._check)
        self.loop.before_loop(self._settle)

    async def cog_load(self) -> None:
        if self.hour is not None:
            self.loop.start()

    async def cog_unload(self) -> None:
        task = self.loop.get_task()
        self.loop.cancel()
        if task is not None and task is not asyncio.current_task():
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _settle(self) -> None:
        # The first look one interval after start-up: the digest is not urgent, and a start
        # is busy enough (tests drive `queue_due` themselves within that minute).
        await self.bot.wait_until_ready()
        await asyncio.sleep(CHECK_SECONDS)

    async def _check(self) -> None:
        # tasks.loop ends on any exception it was not told about: nothing may escape here.
        try:
            await self.queue_due(self.bot.clock())
        except Exception:
            log.exception("could not queue the daily digest")

    async def queue_due(self, now: datetime) -> int:
        """Queue the digest due at `now`, if any and not queued yet; how many rows were new
        (0: not due, or already queued by this or another bot)."""
        if self.hour is None:
            return 0
        day = digest.due_day(now, self.hour)
        if day is None or day == self.queued:
            return 0
        config = await self.bot.store.alert_config(now)
        items = alerts.plan(
            [digest.event(day, now)],
            config,
            default_channel=self.bot.settings.alert_channel_id,
            now=now,
        )
        # Its own batch: a digest is always a message of its own.
        new = await self.bot.store.enqueue(items, batch=digest.key(day), now=now)
        self.queued = day
        if new:
            log.info("daily digest of %s queued", day.isoformat())
            self.bot.dispatch("opsbot_outbox_ready")
        return new


async def setup(bot: OpsBot) -> None:
    await bot.add_cog(DigestCog(bot))
