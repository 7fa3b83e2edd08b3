"""What every provider cog is: register its watcher, own the watcher's loop, clean up on unload.

A provider's cog file subclasses this, names the cog and its adapter (see cogs/pixverse.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, ClassVar

from discord.ext import commands, tasks

from bot import metrics
from bot.providers import Provider
from bot.runtime import holder_gone, watch_holder
from bot.watch import ProviderWatcher, WatchConfig

if TYPE_CHECKING:
    from bot.app import OpsBot

log = logging.getLogger(__name__)


class ProviderCog(commands.Cog):
    """Registers one provider's watcher with the bot and polls it every POLL_INTERVAL_SECONDS.
    Each provider subclasses it in its own extension, so that unloading that extension
    removes the cog: `class PixVerseCog(ProviderCog, name=PixVerse.title)`."""

    #: The provider's adapter class.
    provider_cls: ClassVar[type[Provider]]

    def __init__(self, bot: OpsBot) -> None:
        self.bot = bot
        self.provider = self.provider_cls(bot.useapi)
        self.interval = bot.settings.poll_interval_seconds
        # With several replicas on one database only the lease holder polls; the others serve
        # commands from the stored snapshot. A bot restarted after a crash takes its dead
        # predecessor's lease at once instead of waiting it out.
        self.watcher = ProviderWatcher(
            self.provider,
            bot.store,
            WatchConfig.from_settings(bot.settings),
            clock=bot.clock,
            holder=watch_holder(self.provider.name),
            holder_gone=holder_gone,
        )
        self.poll = tasks.loop(seconds=self.interval)(self._tick)

    async def cog_load(self) -> None:
        self.bot.add_watcher(self.watcher)
        self.poll.start()

    async def cog_unload(self) -> None:
        task = self.poll.get_task()
        self.poll.cancel()
        if task is not None and task is not asyncio.current_task():
            # Wait for the loop to end so no request of this provider is sent after unload.
            with contextlib.suppress(asyncio.CancelledError):
                await task
        try:
            await self.bot.store.release_lease(f"watch:{self.provider.name}", self.watcher.holder)
        except Exception:  # the store may already be closing at shutdown; the lease expires
            log.debug("could not release the watch lease", exc_info=True)
        self.bot.remove_watcher(self.provider.name)

    async def _tick(self) -> None:
        # tasks.loop ends on any exception it was not told about, so nothing may escape here
        # (watcher.tick() already catches and updates its state; this is for the metrics and
        # the event around it).
        name = self.provider.name
        try:
            report = await self.watcher.tick()
            metrics.TICKS.labels(name, "ok" if report.error is None else "error").inc()
            metrics.TICK_SECONDS.labels(name).observe(report.duration_ms / 1000)
            metrics.JOBS_RUNNING.labels(name).set(report.jobs)
            self.bot.dispatch("opsbot_tick", name, report)
        except Exception as exc:
            log.exception("%s: watcher tick failed", name)
            self.watcher.state.failed(exc, at=self.bot.clock())
        self.poll.change_interval(seconds=self.watcher.next_delay())
