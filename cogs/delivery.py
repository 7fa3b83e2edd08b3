"""Alert delivery: posts the outbox to Discord, and forgets delivered alerts after a while.

Background jobs, each a `tasks.loop`: delivery passes (woken early when a tick queued alerts or
a route released held ones), pruning and the outbox depth. On unload (the bot stopping) the
posts in flight finish, bounded, and the alerts still claimed are given back.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import aiohttp
import discord
from discord.ext import commands, tasks

from bot import embeds, metrics
from bot.delivery import Deliverer, DeliveryFailed, nonce_for
from bot.embeds.stats import stats_embed
from bot.events import Event, EventKind
from bot.history import digest, render
from bot.history.query import period_stats
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
#: How long a stop lets the alerts being posted finish (SIGTERM: Discord's answer is awaited,
#: so a post that lands is marked sent, not sent again by the next start).
DRAIN_TIMEOUT = 4.0
#: How long a stop waits to give claimed alerts back before leaving them to their lease.
RELEASE_TIMEOUT = 3.0
#: Network failures of a post: retried from the outbox like a 5xx.
_SEND_ERRORS = (discord.HTTPException, aiohttp.ClientError, OSError, TimeoutError)


async def _end(loop: tasks.Loop[Any]) -> None:
    """Cancel a background loop and wait until it has ended."""
    task = loop.get_task()
    loop.cancel()
    if task is not None:
        with contextlib.suppress(asyncio.CancelledError):
            await task


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
            bot.store,
            self.send,
            clock=bot.clock,
            send_dm=self.send_dm,
            worker_id=delivery_worker(),
        )

    async def cog_load(self) -> None:
        self.deliver.start()
        self.prune_loop.start()
        self.depth_loop.start()

    async def cog_unload(self) -> None:
        """Stop: claim nothing more, let the posts in flight finish (up to `DRAIN_TIMEOUT`),
        then give back what is still claimed (up to `RELEASE_TIMEOUT`)."""
        self.deliverer.stop()
        for loop in (self.prune_loop, self.depth_loop):
            await _end(loop)
        try:
            await asyncio.wait_for(self.deliverer.idle(), DRAIN_TIMEOUT)
        except TimeoutError:
            log.warning(
                "alerts still being posted after %g s; stopping, and giving them back",
                DRAIN_TIMEOUT,
            )
        await _end(self.deliver)
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
        guild = getattr(channel, "guild", None)
        if role_id is not None and guild is not None and role_id == guild.id:
            # @everyone, stored before /alerts mention refused it: post without the ping.
            log.warning("not mentioning @everyone (role %s) in channel %s", role_id, channel_id)
            role_id = None
        content, allowed = mentions(role_id, events)
        try:
            if any(e.kind is EventKind.DIGEST for e in events):
                message = await self._send_digest(channel, events, content, allowed)
            else:
                message = await self._send_alerts(channel, events, content, allowed)
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

    async def _send_alerts(
        self,
        channel: discord.abc.Messageable,
        events: Sequence[Event],
        content: str | None,
        allowed: discord.AllowedMentions,
    ) -> discord.Message:
        batch = embeds.alert_batch(
            events,
            titles=self.bot.titles(),
            redact=self.bot.settings.redact_accounts,
            previews=self.bot.settings.show_previews,
        )
        untrackable = {n for n, p in self.bot.providers.items() if p.can_untrack}
        view = alert_view(events, untrackable, redact=self.bot.settings.redact_accounts)
        # discord.py sends enforce_nonce with every nonce.
        return await channel.send(
            content=content,
            embeds=batch,
            allowed_mentions=allowed,
            nonce=nonce_for(events),
            view=view or discord.utils.MISSING,
        )

    async def _send_digest(
        self,
        channel: discord.abc.Messageable,
        events: Sequence[Event],
        content: str | None,
        allowed: discord.AllowedMentions,
    ) -> discord.Message:
        """The daily digest (a group of its own, `bot.history.digest`): the day's /stats
        drawn now, the chart attached. A repeat after a crash carries the same nonce."""
        day = digest.day_of(events[0])
        since, until = digest.bounds(day)
        figures = await period_stats(
            self.bot.store,
            since=since,
            until=until,
            providers=sorted(self.bot.providers),
            now=self.bot.clock(),
        )
        titles = self.bot.titles()
        png = await render.stats_png_or_none(figures, titles=titles, what=f"daily digest of {day}")
        embed = stats_embed(
            figures,
            title=f"Daily digest · {day:%A %d %B %Y} (UTC)",
            titles=titles,
            image=render.STATS_PNG if png is not None else None,
        )
        files = (
            [discord.File(io.BytesIO(png), filename=render.STATS_PNG, description=embed.title)]
            if png is not None
            else discord.utils.MISSING
        )
        return await channel.send(
            content=content,
            embed=embed,
            files=files,
            allowed_mentions=allowed,
            nonce=nonce_for(events),
        )

    async def send_dm(self, user_id: int, events: Sequence[Event]) -> int:
        """Send one group of a member's job alerts to them as a direct message; raise
        DeliveryFailed when Discord won't (a user who closed their DMs: 403, code 50007, not
        retried). Its nonce differs from the channel post's of the same events."""
        try:
            channel = await self.bot.create_dm(discord.Object(id=user_id))
            message = await channel.send(
                embeds=embeds.alert_batch(
                    events,
                    titles=self.bot.titles(),
                    redact=self.bot.settings.redact_accounts,
                    previews=self.bot.settings.show_previews,
                ),
                allowed_mentions=discord.AllowedMentions.none(),
                nonce=nonce_for(f"{e.key}#dm" for e in events),
            )
        except _SEND_ERRORS as exc:
            failure = _failure(exc)
            metrics.ALERT_FAILURES.labels(str(failure.retryable).lower()).inc()
            raise failure from None
        return int(message.id)


#: The most users one message mentions: each `<@id> ` is up to 24 characters, and the content
#: holds 2,000 (Discord also takes at most 100 users in `allowed_mentions`). A tick that
#: finishes more people's jobs at once pings the first this many; every embed still names its
#: person.
MAX_USER_MENTIONS = 50


def mentions(
    role_id: int | None, events: Sequence[Event]
) -> tuple[str | None, discord.AllowedMentions]:
    """A message's content and what it may ping: the configured role, and the users whose own
    jobs are among `events` (`Event.mention_user_id`, decided by the alert policy; at most
    `MAX_USER_MENTIONS`), exactly those and never everyone."""
    users = list(dict.fromkeys(e.mention_user_id for e in events if e.mention_user_id))
    users = users[:MAX_USER_MENTIONS]
    parts = ([f"<@&{role_id}>"] if role_id is not None else []) + [f"<@{u}>" for u in users]
    if not parts:
        return None, discord.AllowedMentions.none()
    return " ".join(parts), discord.AllowedMentions(
        everyone=False,
        users=[discord.Object(id=u) for u in users] if users else False,
        roles=[discord.Object(id=role_id)] if role_id is not None else False,
        replied_user=False,
    )


async def setup(bot: OpsBot) -> None:
    await bot.add_cog(DeliveryCog(bot))
