"""`opsbot check`'s Discord lines: log in with DISCORD_TOKEN, then, over one short gateway
session, whether the bot can post alerts (embeds) in every channel it would post to, and which
of the invite's permissions its roles lack in each server it works in.

Permissions are computed by discord.py itself (`permissions_for(guild.me)`: roles, channel
overwrites, a thread's parent), from the guilds the gateway sends; nothing is ever posted.
The whole check is bounded by `DISCORD_CHECK_TIMEOUT`: a Discord that hangs is one line.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import aiohttp
import discord

from bot.alerts import Route
from bot.app import apply_discord_urls
from bot.settings import Settings
from bot.store.boards import Board
from bot.text import printable

#: Seconds the whole Discord part of `opsbot check` may take (login, gateway, channels).
DISCORD_CHECK_TIMEOUT = 20.0
#: Seconds discord.py waits after the last guild arrived before it calls itself ready (the
#: check goes on sooner once every guild READY listed has come: `_Client`).
GUILD_READY_TIMEOUT = 2.0
#: Seconds closing the check's connection may take.
CLOSE_TIMEOUT = 5.0

#: What the invite asks for (README, "Running it for real"), in the Developer Portal's words.
PERMISSION_WORDS: Final = {
    "view_channel": "View Channels",
    "send_messages": "Send Messages",
    "send_messages_in_threads": "Send Messages in Threads",
    "embed_links": "Embed Links",
    "read_message_history": "Read Message History",
}
INVITE_PERMISSIONS: Final = discord.Permissions(**dict.fromkeys(PERMISSION_WORDS, True))
INVITE_SCOPES: Final = ("bot", "applications.commands")
#: An alert is a message with embeds; a board is edited later, so its history is read.
CHANNEL_NEEDS: Final = ("view_channel", "send_messages", "embed_links", "read_message_history")
#: In a thread, Send Messages in Threads stands for Send Messages.
THREAD_NEEDS: Final = (
    "view_channel",
    "send_messages_in_threads",
    "embed_links",
    "read_message_history",
)
#: Guild channels a message can be posted in (a voice or stage channel's own chat included).
_POSTABLE = (discord.TextChannel, discord.VoiceChannel, discord.StageChannel)


@dataclass
class Target:
    """A channel the bot would post to, and why (each use in words)."""

    channel_id: int
    uses: list[str] = field(default_factory=list)


def targets(
    alert_channel_id: int | None, routes: Iterable[Route], boards: Iterable[Board]
) -> list[Target]:
    """Every channel to check, once each, in the order: ALERT_CHANNEL_ID, routes, boards."""
    found: dict[int, Target] = {}

    def add(channel_id: int, use: str) -> None:
        target = found.setdefault(channel_id, Target(channel_id))
        if use not in target.uses:
            target.uses.append(use)

    if alert_channel_id is not None:
        add(alert_channel_id, "ALERT_CHANNEL_ID")
    for r in sorted(routes, key=lambda r: (r.kind.value, r.provider or "")):
        add(r.channel_id, f"route {r.kind.value}" + (f" of {r.provider}" if r.provider else ""))
    for b in sorted(boards, key=lambda b: (b.channel_id, b.provider or "")):
        add(b.channel_id, "board" + (f" of {b.provider}" if b.provider else ""))
    return list(found.values())


def words(names: Iterable[str]) -> str:
    return ", ".join(PERMISSION_WORDS[n] for n in names)


class _Client(discord.Client):
    """A client that also says when every guild READY listed has arrived: discord.py calls
    itself ready only `GUILD_READY_TIMEOUT` after the last one, in case more come."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.guilds_arrived = asyncio.Event()

    async def on_guild_available(self, guild: discord.Guild) -> None:
        if not any(g.unavailable for g in self.guilds):
            self.guilds_arrived.set()


class _Check:
    """One run: the lines so far (kept when the time runs out) and whether all passed."""

    def __init__(self, settings: Settings, channels: Sequence[Target]) -> None:
        self.settings = settings
        self.channels = channels
        self.lines: list[str] = []
        self.ok = True
        self.stage = "log in"
        intents = discord.Intents.none()
        intents.guilds = True  # channels, roles, overwrites and the bot's member: no more
        discord.VoiceClient.warn_nacl = False  # no voice here; don't warn about it
        discord.VoiceClient.warn_dave = False
        self.client = _Client(
            intents=intents,
            guild_ready_timeout=GUILD_READY_TIMEOUT,
            chunk_guilds_at_startup=False,
            max_messages=None,
        )
        self.connection: asyncio.Task[None] | None = None

    def fail(self, line: str) -> None:
        self.ok = False
        self.lines.append(f"✗ {line}")

    async def run(self, token: str) -> None:
        client = self.client
        try:
            await client.login(token)
        except discord.LoginFailure:
            self.fail(
                "Discord: the token was rejected (401 Unauthorized): reset it in the "
                "Developer Portal (Bot tab) and set DISCORD_TOKEN"
            )
            return
        except (aiohttp.ClientError, OSError, discord.HTTPException) as exc:
            self.fail(
                f"Discord: cannot reach {discord.http.Route.BASE} ({_reason(exc)}); check "
                "the network, or DISCORD_API_BASE_URL"
            )
            return
        user = client.user
        assert user is not None  # set by login
        try:
            app = await client.application_info()
        except (aiohttp.ClientError, OSError, discord.HTTPException) as exc:
            self.fail(
                f"Discord: logged in as {_name(user.name)}, but the application: {_reason(exc)}"
            )
            return
        self.lines.append(
            f"✓ Discord: logged in as {_name(user.name)} (id {user.id}), application "
            f"{_name(app.name)} (id {app.id})"
        )
        self.stage = "connect to the gateway"
        if not await self._connect():
            return
        self.stage = "look at the servers and channels"
        seen_guilds: list[discord.Guild] = []
        for target in self.channels:
            guild = await self._channel(target)
            if guild is not None and guild not in seen_guilds:
                seen_guilds.append(guild)
        self._guilds(seen_guilds, app.id)

    async def _connect(self) -> bool:
        """A gateway session until discord.py is ready (its guilds have arrived)."""
        client = self.client
        self.connection = asyncio.create_task(client.connect(reconnect=False))
        ready = asyncio.create_task(client.wait_until_ready())
        arrived = asyncio.create_task(client.guilds_arrived.wait())
        try:
            await asyncio.wait(
                {self.connection, ready, arrived}, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            ready.cancel()
            arrived.cancel()
        if client.is_ready() or client.guilds_arrived.is_set():
            return True
        # (the session ended before the guilds came: `asyncio.wait` returned for it)
        exc = self.connection.exception()
        if exc is None:
            why = "ended the session before the servers arrived"
        else:
            code = getattr(exc, "code", None)
            closed = f", close code {code}" if code is not None else ""
            why = f"refused the session ({type(exc).__name__}{closed})"
        gateway = discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
        self.fail(f"Discord: the gateway {gateway} {why}; check DISCORD_GATEWAY_URL")
        return False

    async def _channel(self, target: Target) -> discord.Guild | None:
        """One channel's line; returns its guild (None: it could not be looked at)."""
        uses = ", ".join(target.uses)
        where = f"{target.channel_id} ({uses})"
        channel = self.client.get_channel(target.channel_id)
        if channel is None:  # not cached: a thread, or a channel of another server
            try:
                channel = await self.client.fetch_channel(target.channel_id)
            except discord.NotFound:
                self.fail(f"channel {where}: no such channel (404 Unknown Channel)")
                return None
            except discord.Forbidden:
                self.fail(
                    f"channel {where}: the bot cannot see it (403 Missing Access): it is "
                    "in a server the bot is not in, or View Channels is denied"
                )
                return None
            except (discord.HTTPException, discord.InvalidData) as exc:
                self.fail(f"channel {where}: Discord would not say what it is ({_reason(exc)})")
                return None
        guild = getattr(channel, "guild", None)
        name = _name(str(getattr(channel, "name", "") or ""))
        label = "thread" if isinstance(channel, discord.Thread) else "channel"
        where = f"#{name} ({target.channel_id}, {uses})"
        if isinstance(channel, discord.Thread):
            needs = THREAD_NEEDS
        elif isinstance(channel, _POSTABLE):
            needs = CHANNEL_NEEDS
        else:
            kind = str(getattr(channel, "type", "private")).replace("_", " ")
            self.fail(f"channel {where}: a {kind} channel; alerts need a text channel or thread")
            return guild if isinstance(guild, discord.Guild) else None
        assert isinstance(guild, discord.Guild)
        me = guild.me
        try:
            if me is None:
                raise discord.ClientException("the bot's own member did not arrive")
            permissions = channel.permissions_for(me)
        except discord.ClientException as exc:  # e.g. a thread whose parent is not cached
            self.fail(f"{label} {where}: cannot work out the permissions ({exc})")
            return guild
        missing = [n for n in needs if not getattr(permissions, n)]
        if missing:
            self.fail(f"{label} {where}: missing {words(missing)}")
        else:
            self.lines.append(f"✓ {label} {where}: can post alerts ({words(needs)})")
        return guild

    def _guilds(self, seen: list[discord.Guild], app_id: int) -> None:
        """One line per server the bot works in: GUILD_IDS and those of the checked channels
        (or, with neither, every server it is in)."""
        client = self.client
        guilds: list[discord.Guild] = []
        for guild_id in self.settings.guild_ids:
            guild = client.get_guild(guild_id)
            if guild is None:
                self.fail(
                    f"server {guild_id} (GUILD_IDS): the bot is not in it; invite it there "
                    "(with the applications.commands scope), or correct GUILD_IDS"
                )
            elif guild not in guilds:
                guilds.append(guild)
        guilds += [g for g in seen if g not in guilds]
        if not self.settings.guild_ids and not seen:
            guilds = sorted(client.guilds, key=lambda g: g.id)
            if not guilds:
                self.lines.append("⚠ Discord: the bot is in no server yet; invite it")
        for guild in guilds:
            where = f"server {_name(guild.name)} ({guild.id})"
            me = guild.me
            if guild.unavailable or me is None:
                self.lines.append(f"⚠ {where}: unavailable (a Discord outage?); not checked")
                continue
            have = me.guild_permissions
            lacking = [n for n in PERMISSION_WORDS if not getattr(have, n)]
            if not lacking:
                self.lines.append(f"✓ {where}: the bot's roles give every invite permission")
                continue
            url = discord.utils.oauth_url(
                app_id, permissions=INVITE_PERMISSIONS, guild=guild, scopes=INVITE_SCOPES
            )
            # A warning: channel overwrites may grant what the roles lack (the channel lines
            # above say whether they do).
            self.lines.append(
                f"⚠ {where}: the bot's roles lack {words(lacking)} (invite permissions); "
                f"invite it again with {url}"
            )

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            async with asyncio.timeout(CLOSE_TIMEOUT):
                await self.client.close()
                if self.connection is not None:
                    with contextlib.suppress(Exception):
                        await self.connection


async def check_discord(settings: Settings, channels: Sequence[Target]) -> tuple[bool, list[str]]:
    """(all passed, the lines) of the Discord part of `opsbot check`. Without a token it says
    it skipped them: that is not a failure, so a useapi-only check can pass (`run` needs it)."""
    if settings.discord_token is None:
        return True, [
            "• Discord: DISCORD_TOKEN is not set; the Discord checks are skipped "
            "(`opsbot run` needs it)"
        ]
    # Pointed at DISCORD_API_BASE_URL / DISCORD_GATEWAY_URL for the check only (a caller in
    # the same process keeps its own).
    urls = discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    apply_discord_urls(settings)
    # discord.py's INFO lines (logging in, gateway connected) are noise beside the check's
    # own; a DEBUG log level keeps them.
    library = logging.getLogger("discord")
    level = library.level
    if logging.getLogger().getEffectiveLevel() >= logging.INFO:
        library.setLevel(logging.WARNING)
    check = _Check(settings, channels)
    try:
        async with asyncio.timeout(DISCORD_CHECK_TIMEOUT):
            await check.run(settings.discord_token.get_secret_value())
    except TimeoutError:
        check.fail(
            f"Discord: no answer within {DISCORD_CHECK_TIMEOUT:g} s (trying to {check.stage}) "
            f"from {discord.http.Route.BASE}; check the network, or DISCORD_API_BASE_URL and "
            "DISCORD_GATEWAY_URL"
        )
    finally:
        await check.close()
        library.setLevel(level)
        discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = urls
    return check.ok, check.lines


def _name(text: str) -> str:
    """A name Discord returned (a server's or channel's: anyone's text), shown on one line:
    every control character, line breaks included, as a visible marker."""
    return printable(text).replace("\n", "<U+000A>").replace("\t", "<U+0009>")


def _reason(exc: BaseException) -> str:
    if isinstance(exc, discord.HTTPException):
        return f"HTTP {exc.status}"
    return type(exc).__name__
