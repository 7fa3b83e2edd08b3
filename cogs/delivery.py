"""Alert delivery: posts the outbox to Discord, and forgets delivered alerts after a while.

Two background jobs, each a `tasks.loop`: delivery passes (woken early when a tick queued
alerts or a route released held ones) and pruning. On unload the claimed alerts are given back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING

import aiohttp
import discord
from discord.ext import commands, tasks

from bot import embeds, metrics
from bot.delivery import Deliverer, DeliveryFailed, nonce_for
from bot.events import Event
from bot.runtime import delivery_worker
from bot.untrack import alert_view
from bot.watch import TickReport

if TYPE_CHECKING:
    from bot.app import OpsBot

log = logging.getLogger(__name__)

#: Seconds between delivery passes when nothing wakes the deliverer sooner.
DELIVER_INTERVAL = 2.0
#: Delivered alerts are kept this long (their keys stop a restart from repeating them).
KEEP_ALERTS = timedelta(days=30)
#: How often delivered alerts and expired mutes are pruned.
PRUNE_INTERVAL = timedelta(hours=1)
#: How long a stop waits to give claimed alerts back before leaving them to their lease.
RELEASE_TIMEOUT = 3.0
#: Network failures of a post: retried from the outbox like a 5xx.
_SEND_ERRORS = (discord.HTTPException, aiohttp.ClientError, OSError, TimeoutError)


def _retry_after(exc: discord.HTTPException) -> float | None:
    """Discord's Retry-After header of a 429 that discord.py gave up on, if it is there."""
    with contextlib.suppress(AttributeError, TypeError, ValueError):
        value = exc.response.headers.get("Retry-After")
        return None if value is None else float(value)
    return None


def _failure(exc: Exception) -> DeliveryFailed:
    """What a failed post means for the outbox: retry later, or hold until a route is fixed."""
    if isinstance(exc, discord.RateLimited):  # longer than discord.py was willing to wait
        return DeliveryFailed(
            "rate limited", retryable=True, status=429, retry_after=exc.retry_after
        )
    if isinstance(exc, discord.HTTPException):
        retryable = exc.status == 429 or exc.status >= 500
        return DeliveryFailed(
            exc.text or str(exc),
            retryable=retryable,
            status=exc.status,
            retry_after=_retry_after(exc) if exc.status == 429 else None,
        )
    return DeliveryFailed(f"{type(exc).__name__}: {exc}", retryable=True)


#: Seconds between two readings of the outbox depth (one indexed count).
DEPTH_INTERVAL = 15.0


class DeliveryCog(commands.Cog, name="Delivery"):
    """Posts the outbox: each group of alerts as one message, each exactly once."""

    def __init__(self, bot: OpsBot) -> None:
        self.bot = bot
        self.deliverer = Deliverer(
            bot.store, self.send, clock=bot.clock, worker_id=delivery_worker()
        )

    async def cog_load(self) -> None:
        self.deliver.start()
        self.prune_loop.start()
        self.depth_loop.start()

    async def cog_unload(self) -> None:
        for loop in (self.deliver, self.prune_loop, self.depth_loop):
            task = loop.get_task()
            loop.cancel()
            if task is not None:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        try:  # a send cut short may have landed: its nonce makes Discord drop the repeat
            # Bounded: a stop must not hang on a locked database; unreleased claims simply
            # expire with their lease.
            await asyncio.wait_for(self.deliverer.release(), RELEASE_TIMEOUT)
        except Exception:
            log.exception("could not give back the claimed alerts")

    # -- background jobs ---------------------------------------------------------------------
    @tasks.loop(seconds=0)  # each round waits itself: for a wake-up, or DELIVER_INTERVAL
    async def deliver(self) -> None:
        await self.deliverer.deliver_and_wait(DELIVER_INTERVAL)

    @deliver.before_loop
    async def _deliver_when_ready(self) -> None:
        await self.bot.wait_until_ready()

    @tasks.loop(seconds=PRUNE_INTERVAL.total_seconds())
    async def prune_loop(self) -> None:
        try:  # tasks.loop would end on an exception it was not told about
            await self.prune()
        except Exception:
            log.exception("pruning old alerts failed")

    @prune_loop.before_loop
    async def _prune_when_ready(self) -> None:
        await self.bot.wait_until_ready()

    @tasks.loop(seconds=DEPTH_INTERVAL)
    async def depth_loop(self) -> None:
        try:  # tasks.loop would end on an exception it was not told about
            await self.measure_depth()
        except Exception:
            log.debug("could not read the outbox depth", exc_info=True)

    async def measure_depth(self) -> dict[str, int]:
        """Set `opsbot_outbox_depth` from the store: the alerts still waiting for Discord; and
        the bot's `outbox_due_since` (/healthz: an outbox nobody delivers is stuck)."""
        depth = await self.bot.store.outbox_depth()
        for state in ("pending", "held"):
            metrics.OUTBOX_DEPTH.labels(state).set(depth.get(state, 0))
        self.bot.outbox_due_since = await self.bot.store.outbox_oldest_due(self.bot.clock())
        return depth

    async def prune(self) -> tuple[int, int]:
        """Forget delivered (or dropped) alerts older than KEEP_ALERTS and expired mutes."""
        now = self.bot.clock()
        return (
            await self.bot.store.prune_outbox(now - KEEP_ALERTS),
            await self.bot.store.prune_mutes(now),
        )

    @commands.Cog.listener()
    async def on_opsbot_tick(self, provider: str, report: TickReport) -> None:
        if report.queued:
            self.deliverer.wake()

    @commands.Cog.listener()
    async def on_opsbot_outbox_ready(self) -> None:
        """Held alerts were released (e.g. by /alerts route): send them now."""
        self.deliverer.wake()

    # -- one post ----------------------------------------------------------------------------
    async def send(self, channel_id: int, events: Sequence[Event], role_id: int | None) -> int:
        """Post one group of alerts as one message; raise DeliveryFailed when Discord won't.

        The nonce is derived from the events' keys, so a repeat after a crash between "sent"
        and "marked sent" is dropped by Discord (enforce_nonce) instead of posted twice.
        """
        try:
            channel = self.bot.get_channel(channel_id) or await self.bot.fetch_channel(channel_id)
        except _SEND_ERRORS as exc:
            raise _failure(exc) from None
        if not isinstance(channel, discord.abc.Messageable):
            raise DeliveryFailed(
                f"channel {channel_id} cannot hold messages", retryable=False, status=404
            )
        batch = embeds.alert_batch(
            events, titles=self.bot.titles(), redact=self.bot.settings.redact_accounts
        )
        guild = getattr(channel, "guild", None)
        if role_id is not None and guild is not None and role_id == guild.id:
            # @everyone, stored before /alerts mention refused it: post without the ping.
            log.warning("not mentioning @everyone (role %s) in channel %s", role_id, channel_id)
            role_id = None
        if role_id is not None:
            content: str | None = f"<@&{role_id}>"
            allowed = discord.AllowedMentions(
                everyone=False, users=False, roles=[discord.Object(id=role_id)], replied_user=False
            )
        else:
            content, allowed = None, discord.AllowedMentions.none()
        untrackable = {n for n, p in self.bot.providers.items() if p.can_untrack}
        view = alert_view(events, untrackable, redact=self.bot.settings.redact_accounts)
        try:
            # discord.py sends enforce_nonce with every nonce.
            message = await channel.send(
                content=content,
                embeds=batch,
                allowed_mentions=allowed,
                nonce=nonce_for(events),
                view=view or discord.utils.MISSING,
            )
        except _SEND_ERRORS as exc:
            failure = _failure(exc)
            metrics.ALERT_FAILURES.labels(str(failure.retryable).lower()).inc()
            raise failure from None
        metrics.ALERTS_SENT.inc(len(events))
        now = self.bot.clock()
        for e in events:
            metrics.ALERTS_POSTED.labels(e.kind.value, e.word).inc()
            metrics.DELIVERY_SECONDS.observe(max((now - e.at).total_seconds(), 0.0))
        return int(message.id)


async def setup(bot: OpsBot) -> None:
    await bot.add_cog(DeliveryCog(bot))
