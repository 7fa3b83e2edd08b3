"""Alert delivery to Discord, `/alerts` (routes, mentions, mutes) and `/board`."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Literal

import aiohttp
import discord
from discord import app_commands
from discord.ext import commands

from bot import embeds, metrics
from bot.delivery import Deliverer, DeliveryFailed, nonce_for, reroute_held
from bot.events import Event, EventKind
from bot.store import Board
from bot.text import escape

if TYPE_CHECKING:
    from bot.app import OpsBot

log = logging.getLogger(__name__)

KindName = Literal["job", "capacity", "upstream"]
MANAGE_GUILD = discord.Permissions(manage_guild=True)
_DURATION = re.compile(r"^\s*(\d{1,5})\s*([mhd]?)\s*$", re.IGNORECASE)
_UNIT = {"": 60, "m": 60, "h": 3600, "d": 86400}
MAX_MUTE = timedelta(days=30)
#: Delivered alerts are kept this long (their keys stop a restart from repeating them).
KEEP_ALERTS = timedelta(days=30)
PRUNE_EVERY = 3600.0
#: How long a stop waits to give claimed alerts back before leaving them to their lease.
RELEASE_TIMEOUT = 3.0
NOT_ALLOWED = "You need the **Manage Server** permission for this."
#: /alerts mention refuses @everyone (a role whose id is the server's) rather than warn: an
#: alert that pings the whole server is never what a moderator picking "a role" meant.
NO_EVERYONE = ("`@everyone` cannot be mentioned in alerts: it would ping the whole server. "
               "Pick a role made for this, such as an on-call role.")


def parse_duration(text: str) -> timedelta:
    """`90`, `90m`, `2h`, `1d` → a timedelta (minutes when no unit), at most 30 days."""
    match = _DURATION.match(text)
    if not match:
        raise ValueError("Give a duration like `30m`, `2h` or `1d`.")
    delta = timedelta(seconds=int(match.group(1)) * _UNIT[match.group(2).lower()])
    if not timedelta(0) < delta <= MAX_MUTE:
        raise ValueError("A mute lasts from one minute to 30 days.")
    return delta


def _retry_after(exc: discord.HTTPException) -> float | None:
    """Discord's Retry-After header of a 429 that discord.py gave up on, if it is there."""
    with contextlib.suppress(AttributeError, TypeError, ValueError):
        value = exc.response.headers.get("Retry-After")
        return None if value is None else float(value)
    return None


def _failure(exc: Exception) -> DeliveryFailed:
    """What a failed post means for the outbox: retry later, or hold until a route is fixed."""
    if isinstance(exc, discord.RateLimited):  # longer than discord.py was willing to wait
        return DeliveryFailed("rate limited", retryable=True, status=429,
                              retry_after=exc.retry_after)
    if isinstance(exc, discord.HTTPException):
        retryable = exc.status == 429 or exc.status >= 500
        return DeliveryFailed(exc.text or str(exc), retryable=retryable, status=exc.status,
                              retry_after=_retry_after(exc) if exc.status == 429 else None)
    return DeliveryFailed(f"{type(exc).__name__}: {exc}", retryable=True)


@dataclass(slots=True)
class _Seen:
    """What the bot last knew of one board message (monotonic seconds)."""

    signature: str
    edited: float
    checked: float


class AlertsCog(commands.Cog, name="Alerts"):
    """Posts the outbox to Discord and lets moderators decide where it goes."""

    alerts = app_commands.Group(name="alerts", description="Where alerts go, who is pinged, "
                                "what is muted", default_permissions=MANAGE_GUILD,
                                guild_only=True)

    def __init__(self, bot: OpsBot) -> None:
        self.bot = bot
        self.deliverer = Deliverer(bot.store, self.send, clock=bot.clock)
        #: Boards are looked at this often (seconds); each is edited at most this often, and
        #: only when what it shows changed.
        self.board_interval = 60.0
        #: An unchanged board is looked up this often, to re-post it if someone deleted it.
        self.board_check_interval = 600.0
        self._boards_seen: dict[int, _Seen] = {}
        self._boards_lock = asyncio.Lock()
        self._tasks: list[asyncio.Task[None]] = []

    async def cog_load(self) -> None:
        self._tasks = [asyncio.create_task(self._deliver(), name="opsbot-delivery"),
                       asyncio.create_task(self._boards(), name="opsbot-boards")]

    async def cog_unload(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        try:  # a send cut short may have landed: its nonce makes Discord drop the repeat
            # Bounded: a stop must not hang on a locked database; unreleased claims simply
            # expire with their lease.
            await asyncio.wait_for(self.deliverer.release(), RELEASE_TIMEOUT)
        except Exception:
            log.exception("could not give back the claimed alerts")

    # -- delivery ----------------------------------------------------------------------------
    async def _deliver(self) -> None:
        await self.bot.wait_until_ready()
        await self.deliverer.run(interval=2.0)

    @commands.Cog.listener()
    async def on_opsbot_tick(self, provider: str, report: object) -> None:
        if getattr(report, "queued", 0):
            self.deliverer.wake()

    async def send(self, channel_id: int, events: Sequence[Event], role_id: int | None) -> int:
        """Post one group of alerts as one message; raise DeliveryFailed when Discord won't.

        The nonce is derived from the events' keys, so a repeat after a crash between "sent"
        and "marked sent" is dropped by Discord (enforce_nonce) instead of posted twice.
        """
        try:
            channel = self.bot.get_channel(channel_id) or await self.bot.fetch_channel(channel_id)
        except (discord.HTTPException, aiohttp.ClientError, OSError, TimeoutError) as exc:
            raise _failure(exc) from None
        if not isinstance(channel, discord.abc.Messageable):
            raise DeliveryFailed(f"channel {channel_id} cannot hold messages", retryable=False,
                                 status=404)
        batch = embeds.alert_batch(events, titles=self.bot.titles(),
                                   redact=self.bot.settings.redact_accounts)
        guild = getattr(channel, "guild", None)
        if role_id is not None and guild is not None and role_id == guild.id:
            # @everyone, stored before /alerts mention refused it: post without the ping.
            log.warning("not mentioning @everyone (role %s) in channel %s", role_id, channel_id)
            role_id = None
        if role_id is not None:
            content: str | None = f"<@&{role_id}>"
            allowed = discord.AllowedMentions(everyone=False, users=False,
                                              roles=[discord.Object(id=role_id)],
                                              replied_user=False)
        else:
            content, allowed = None, discord.AllowedMentions.none()
        try:
            # discord.py sends enforce_nonce with every nonce.
            message = await channel.send(content=content, embeds=batch, allowed_mentions=allowed,
                                         nonce=nonce_for(events))
        except (discord.HTTPException, aiohttp.ClientError, OSError, TimeoutError) as exc:
            failure = _failure(exc)
            metrics.ALERT_FAILURES.labels(str(failure.retryable).lower()).inc()
            raise failure from None
        metrics.ALERTS_SENT.inc(len(events))
        return int(message.id)

    # -- permission gate ---------------------------------------------------------------------
    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        """Manage Server is the commands' default permission *and* checked here, so a member
        whose access was widened on the command alone is still refused."""
        if interaction.guild is None or not interaction.permissions.manage_guild:
            await interaction.response.send_message(NOT_ALLOWED, ephemeral=True)
            return False
        home = self._home_guilds()
        if home and interaction.guild.id not in home:
            # Alert settings are the team's, not per server: a moderator of some other server
            # the bot was invited to must not reroute or mute them.
            await interaction.response.send_message(
                "Alerts are managed from the team's own server.", ephemeral=True)
            return False
        return True

    def _home_guilds(self) -> set[int]:
        """GUILD_IDS, else the server of ALERT_CHANNEL_ID; empty when neither is known."""
        if self.bot.settings.guild_ids:
            return set(self.bot.settings.guild_ids)
        channel_id = self.bot.settings.alert_channel_id
        channel = self.bot.get_channel(channel_id) if channel_id else None
        guild = getattr(channel, "guild", None)
        return {guild.id} if guild is not None else set()

    async def cog_app_command_error(self, interaction: discord.Interaction,
                                    error: app_commands.AppCommandError) -> None:
        if isinstance(error, app_commands.CheckFailure):
            return  # already answered by interaction_check
        log.error("alerts command failed", exc_info=error)
        if not interaction.response.is_done():
            await interaction.response.send_message("Something went wrong; see the bot's log.",
                                                    ephemeral=True)

    # -- /alerts -----------------------------------------------------------------------------
    def _provider(self, provider: str | None) -> str | None:
        if provider is not None and provider not in self.bot.providers:
            raise ValueError(f"Provider {provider} is not enabled here.")
        return provider

    @alerts.command(name="show")
    async def show(self, interaction: discord.Interaction) -> None:
        """Show where each kind of alert goes, who is mentioned and what is muted."""
        now = self.bot.clock()
        config = await self.bot.store.alert_config(now)
        counts = await self.bot.store.outbox_counts()
        default = self.bot.settings.alert_channel_id
        embed = discord.Embed(title="Alert configuration", colour=embeds.NEUTRAL)
        embed.add_field(name="Default channel",
                        value=f"<#{default}>" if default else "none (set ALERT_CHANNEL_ID)",
                        inline=False)
        routes = [f"{r.kind.value}{' · ' + r.provider if r.provider else ''} → <#{r.channel_id}>"
                  for r in config.routes]
        embed.add_field(name="Routes", value="\n".join(routes)[:1024] or "none", inline=False)
        mentions = [f"{m.kind.value}{' · ' + m.provider if m.provider else ''} → <@&{m.role_id}>"
                    for m in config.mentions]
        embed.add_field(name="Mentions", value="\n".join(mentions)[:1024] or "none",
                        inline=False)
        mutes = [f"{m.provider or 'every provider'} · {m.kind.value if m.kind else 'every kind'}"
                 f" until {discord.utils.format_dt(m.until, 'f') if m.until else 'unmuted'}"
                 for m in config.mutes if m.active(now)]
        embed.add_field(name="Mutes", value="\n".join(mutes)[:1024] or "none", inline=False)
        embed.add_field(name="Outbox", value=", ".join(f"{k}: {v}" for k, v in
                                                        sorted(counts.items())) or "empty",
                        inline=False)
        held = await self.bot.store.held()
        if held:
            reason = held[0].last_error or "held"
            embed.add_field(name=f"Held ({len(held)})", value=escape(reason)[:1024],
                            inline=False)
        await interaction.response.send_message(embed=embed, ephemeral=True)

    @alerts.command(name="route")
    @app_commands.describe(kind="Which alerts", channel="Where they go",
                           provider="Only this provider's (default: every provider)")
    async def route(self, interaction: discord.Interaction, kind: KindName,
                    channel: discord.TextChannel, provider: str | None = None) -> None:
        """Send one kind of alert (optionally one provider's) to a channel."""
        try:
            provider = self._provider(provider)
        except ValueError as exc:
            await interaction.response.send_message(str(exc), ephemeral=True)
            return
        await self.bot.store.set_route(EventKind(kind), provider, channel.id)
        released = await reroute_held(self.bot.store, self.bot.settings.alert_channel_id,
                                      now=self.bot.clock())
        if released:
            self.deliverer.wake()
        note = f" {released} held alert(s) will be sent again." if released else ""
        await interaction.response.send_message(
            f"{kind} alerts{' for ' + provider if provider else ''} now go to "
            f"{channel.mention}.{note}", ephemeral=True)

    @alerts.command(name="mention")
    @app_commands.describe(kind="Which alerts",
                           role="Role to mention (leave out to stop; @everyone is refused)",
                           provider="Only this provider's (default: every provider)")
    async def mention(self, interaction: discord.Interaction, kind: KindName,
                      role: discord.Role | None = None, provider: str | None = None) -> None:
        """Mention a role in one kind of alert (or stop mentioning)."""
        try:
            provider = self._provider(provider)
        except ValueError as exc:
            await interaction.response.send_message(str(exc), ephemeral=True)
            return
        if role is not None and role.is_default():
            await interaction.response.send_message(
                NO_EVERYONE, ephemeral=True, allowed_mentions=discord.AllowedMentions.none())
            return
        await self.bot.store.set_mention(EventKind(kind), role.id if role else None,
                                         provider=provider)
        what = f"{role.mention} is mentioned in" if role else "No role is mentioned in"
        await interaction.response.send_message(f"{what} {kind} alerts.", ephemeral=True,
                                                allowed_mentions=discord.AllowedMentions.none())

    @alerts.command(name="mute")
    @app_commands.describe(provider="Only this provider (default: every provider)",
                           kind="Only this kind (default: every kind)",
                           duration="How long: 30m, 2h, 1d (default 1h)")
    async def mute(self, interaction: discord.Interaction, provider: str | None = None,
                   kind: KindName | None = None, duration: str = "1h") -> None:
        """Silence alerts for a while. Muted alerts are dropped, not saved for later."""
        try:
            provider = self._provider(provider)
            delta = parse_duration(duration)
        except ValueError as exc:
            await interaction.response.send_message(str(exc), ephemeral=True)
            return
        until = self.bot.clock() + delta
        await self.bot.store.mute(provider, EventKind(kind) if kind else None, until,
                                  reason=f"by {interaction.user.id}")
        await interaction.response.send_message(
            f"Muted {kind or 'all'} alerts for {provider or 'every provider'} until "
            f"{discord.utils.format_dt(until, 'f')}.", ephemeral=True)

    @alerts.command(name="unmute")
    @app_commands.describe(provider="Only this provider", kind="Only this kind")
    async def unmute(self, interaction: discord.Interaction, provider: str | None = None,
                     kind: KindName | None = None) -> None:
        """Lift mutes (all of them, or those for a provider / kind)."""
        if provider is None and kind is None:
            removed = await self.bot.store.clear_mutes()
        else:
            removed = await self.bot.store.unmute(provider, EventKind(kind) if kind else None)
        await interaction.response.send_message(f"Lifted {removed} mute(s).", ephemeral=True)

    # -- /board ------------------------------------------------------------------------------
    @app_commands.command(name="board")
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.guild_only()
    @app_commands.describe(provider="Only this provider (default: every provider)")
    async def board(self, interaction: discord.Interaction, provider: str | None = None) -> None:
        """Post a status board here that the bot keeps up to date."""
        try:
            provider = self._provider(provider)
        except ValueError as exc:
            await interaction.response.send_message(str(exc), ephemeral=True)
            return
        channel = interaction.channel
        if not isinstance(channel, discord.TextChannel | discord.Thread) \
                or interaction.channel_id is None:
            await interaction.response.send_message("A board goes in a text channel or thread.",
                                                    ephemeral=True)
            return
        await interaction.response.send_message("Posting the board…", ephemeral=True)
        async with self._boards_lock:
            embed, sig = self._board_embed(provider)
            message = await channel.send(embed=embed)
            old = await self.bot.store.set_board(interaction.channel_id, provider, message.id,
                                                 guild_id=interaction.guild_id)
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
        signature = repr([(s.provider, len(s.jobs), tuple((a.account, a.executing, a.max_jobs)
                                                           for a in s.accounts))
                          for s in snaps] + [(s.provider, s.last_error) for s in statuses])
        embed = embeds.board_embed(snaps, now=self.bot.clock(), titles=self.bot.titles(),
                                   redact=self.bot.settings.redact_accounts, statuses=statuses)
        return embed, hashlib.sha256(signature.encode()).hexdigest()

    async def _boards(self) -> None:
        await self.bot.wait_until_ready()
        last_prune = -PRUNE_EVERY
        loop = asyncio.get_running_loop()
        while True:
            try:
                await self.refresh_boards()
            except Exception:
                log.exception("board refresh failed")
            if loop.time() - last_prune >= PRUNE_EVERY:
                last_prune = loop.time()
                try:
                    await self.prune()
                except Exception:
                    log.exception("pruning old alerts failed")
            await asyncio.sleep(max(self.board_interval, 1.0))

    async def prune(self) -> tuple[int, int]:
        """Forget delivered (or dropped) alerts older than KEEP_ALERTS and expired mutes."""
        now = self.bot.clock()
        return (await self.bot.store.prune_outbox(now - KEEP_ALERTS),
                await self.bot.store.prune_mutes(now))

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
        if not any(self.bot.state(n).snapshot is not None or self.bot.state(n).ticks
                   for n in names):
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
            await self.bot.store.set_board(board.channel_id, board.provider, new.id,
                                           guild_id=board.guild_id)
            self._boards_seen.pop(board.message_id, None)
            self._boards_seen[new.id] = _Seen(sig, now, now)
            log.info("board %s was deleted; posted %s", board.message_id, new.id)
            return 1
        self._boards_seen[board.message_id] = _Seen(sig, now, now)
        return 1


async def setup(bot: OpsBot) -> None:
    await bot.add_cog(AlertsCog(bot))
