"""The account checks' loop: every ACCOUNT_CHECK_MINUTES, the subscription and each enabled
provider's accounts (`bot.accounts.check.AccountChecker`), told as `account` alerts."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

from discord.ext import commands, tasks

from bot.accounts.check import LEASE, AccountChecker, CheckConfig
from bot.runtime import holder_gone, watch_holder

if TYPE_CHECKING:
    from bot.app import OpsBot

log = logging.getLogger(__name__)


class HealthCog(commands.Cog, name="Account health"):
    """Checks the useapi subscription and every enabled provider's accounts at a slow cadence;
    with several replicas only the holder of the `accounts` lease does."""

    def __init__(self, bot: OpsBot) -> None:
        self.bot = bot
        config = CheckConfig.from_settings(bot.settings)
        self.checker = AccountChecker(
            bot.useapi,
            lambda: bot.providers,
            bot.store,
            config,
            holder=watch_holder(LEASE),
            holder_gone=holder_gone,
            clock=bot.clock,
        )
        self.loop = tasks.loop(seconds=config.interval.total_seconds())(self._check)
        self.loop.before_loop(self._when_ready)

    async def cog_load(self) -> None:
        self.bot.account_checker = self.checker
        self.loop.start()

    async def cog_unload(self) -> None:
        task = self.loop.get_task()
        self.loop.cancel()
        if task is not None and task is not asyncio.current_task():
            with contextlib.suppress(asyncio.CancelledError):
                await task
        try:
            await self.bot.store.release_lease(LEASE, self.checker.holder)
        except Exception:  # the store may already be closing at shutdown; the lease expires
            log.debug("could not release the accounts lease", exc_info=True)
        self.bot.account_checker = None

    async def _when_ready(self) -> None:
        # The provider cogs load after this one: check once they are all there.
        await self.bot.wait_until_ready()

    async def _check(self) -> None:
        # tasks.loop ends on any exception it was not told about: nothing may escape here.
        try:
            report = await self.checker.check()
            if report.queued:
                self.bot.dispatch("opsbot_outbox_ready")
        except Exception:
            log.exception("account check failed")


async def setup(bot: OpsBot) -> None:
    await bot.add_cog(HealthCog(bot))
