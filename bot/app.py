"""The Discord bot: a `commands.Bot` that is handed its resources, and `opsbot run`'s start-up."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import signal
import socket
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import discord
import yarl
from aiohttp import web
from discord import app_commands
from discord.ext import commands
from pydantic import SecretStr

from bot import http
from bot.accounts.check import AccountChecker
from bot.health import ProviderStatus
from bot.hooks import Receiver, ReceiverConfig
from bot.hooks.web import add_routes
from bot.live import LiveState
from bot.providers import Provider
from bot.runtime import display_database_url, tune_gc
from bot.settings import ConfigError, Settings
from bot.store import Store, StoreError
from bot.text import redact_email
from bot.tree import TimedTree, observe
from bot.useapi import UseapiClient
from bot.watch import ProviderWatcher

log = logging.getLogger(__name__)

#: /healthz: each provider's last tick must be younger than this many poll intervals.
READY_INTERVALS = 3
#: /healthz: an alert due this long and not delivered means the outbox is stuck.
OUTBOX_STUCK = timedelta(minutes=5)

#: Cogs every bot loads besides the provider cogs.
SHARED_COGS = (
    "cogs.status",
    "cogs.history",
    "cogs.digest",
    "cogs.alerts",
    "cogs.board",
    "cogs.delivery",
    "cogs.cancel",
    "cogs.health",
    "cogs.help",
)


class OpsBot(commands.Bot):
    """opsbot's bot. Each provider's cog registers its watcher here when it loads; what the bot
    knows of a provider now is that watcher's `state`, read by every view."""

    def __init__(
        self,
        settings: Settings,
        useapi: UseapiClient,
        store: Store,
        *,
        guild_ready_timeout: float = 2.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        discord.VoiceClient.warn_nacl = False  # no voice here; don't warn about it
        intents = discord.Intents.none()
        intents.guilds = True  # channels and roles for /alerts; nothing privileged
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=intents,
            help_command=None,
            allowed_mentions=discord.AllowedMentions.none(),
            guild_ready_timeout=guild_ready_timeout,
            max_messages=None,
            chunk_guilds_at_startup=False,
            tree_cls=TimedTree,
        )
        self.settings = settings
        self.useapi = useapi
        self.store = store
        self.clock = clock
        self.watchers: dict[str, ProviderWatcher] = {}
        #: The shared cogs it loads (a test rig may leave one out).
        self.shared_cogs: tuple[str, ...] = SHARED_COGS
        #: The account checks (set by cogs.health while it is loaded).
        self.account_checker: AccountChecker | None = None
        self.synced = asyncio.Event()
        self._http: web.AppRunner | None = None
        #: When the longest-waiting due alert fell due, as cogs.delivery last read it.
        self.outbox_due_since: datetime | None = None
        #: The replyUrl receiver's re-reads (None: the receiver is off).
        self.receiver: Receiver | None = None

    # -- providers ---------------------------------------------------------------------------
    def add_watcher(self, watcher: ProviderWatcher) -> None:
        self.watchers[watcher.name] = watcher

    def remove_watcher(self, name: str) -> None:
        self.watchers.pop(name, None)

    @property
    def providers(self) -> dict[str, Provider]:
        """The loaded providers' adapters, by name."""
        return {name: w.provider for name, w in self.watchers.items()}

    async def on_app_command_completion(
        self,
        interaction: discord.Interaction[Any],
        command: app_commands.Command[Any, ..., Any] | app_commands.ContextMenu,
    ) -> None:
        observe(interaction)  # how long the command took (bot.tree.TimedTree)

    def state(self, provider: str) -> LiveState:
        """What the bot knows of a loaded provider now (its watcher's, the one owner)."""
        return self.watchers[provider].state

    def titles(self) -> dict[str, str]:
        return {name: w.provider.title for name, w in self.watchers.items()}

    def provider_statuses(self) -> list[ProviderStatus]:
        """What /status, the board and /healthz show per provider, from memory only."""
        now = self.clock()
        out: list[ProviderStatus] = []
        for name in sorted(self.watchers):
            state = self.state(name)
            out.append(
                ProviderStatus.of(
                    name,
                    state.snapshot,
                    last_ok=state.last_ok,
                    last_error=state.last_error,
                    watcher_ok=state.loop_running(now),
                )
            )
        return out

    def _set_provider_choices(self) -> None:
        """Every `provider` option offers exactly the loaded providers (before each sync)."""
        choices: list[app_commands.Choice[str | int | float]] = [
            app_commands.Choice(name=w.provider.title, value=name)
            for name, w in sorted(self.watchers.items())
        ]
        for command in self.tree.walk_commands():
            if (
                isinstance(command, app_commands.Command)
                and command.get_parameter("provider") is not None
            ):
                app_commands.choices(provider=list(choices))(command)

    # -- start-up ----------------------------------------------------------------------------
    def _state_of(self, provider: str) -> LiveState | None:
        watcher = self.watchers.get(provider)
        return watcher.state if watcher is not None else None

    def _receiver_routes(self, app: web.Application) -> None:
        """The replyUrl receiver, when REPLY_SECRET is set (bot.hooks)."""
        secret = self.settings.reply_secret
        if secret is None:
            return
        self.receiver = Receiver(
            lambda: self.providers,
            self.store,
            ReceiverConfig(default_channel=self.settings.alert_channel_id),
            state=self._state_of,
            # the delivery cog's listener wakes its deliverer (as after a tick)
            wake=lambda: self.dispatch("opsbot_outbox_ready"),
            clock=lambda: self.clock(),
        )
        add_routes(app, secret.get_secret_value(), self.receiver, lambda: self.providers)

    async def setup_hook(self) -> None:
        if self.settings.http_port:
            try:
                self._http = await http.start(
                    http.make_app(self.healthz, routes=self._receiver_routes),
                    self.settings.http_host,
                    self.settings.http_port,
                )
            except socket.gaierror as exc:  # the host name, not the port, is the problem
                raise ConfigError(
                    f"HTTP_HOST: cannot resolve {self.settings.http_host} ({exc.strerror})"
                ) from None
            except OSError as exc:
                raise ConfigError(
                    f"HTTP_PORT: cannot listen on {self.settings.http_host}:"
                    f"{self.settings.http_port} ({exc.strerror})"
                ) from None
            log.info(
                "serving /healthz and /metrics%s on %s:%s",
                " and the replyUrl receiver" if self.receiver is not None else "",
                self.settings.http_host,
                self.settings.http_port,
            )
            if self.receiver is not None:
                self.receiver.start()
        # Shared cogs first: `close` unloads extensions in load order, so delivery and the
        # board stop while every provider is still registered (a pass run after would post
        # alerts without their provider's name).
        for ext in self.shared_cogs:
            await self.load_extension(ext)
        for name in self.settings.providers:
            await self.load_extension(f"cogs.{name}")
        await self.sync_commands()

    async def close(self) -> None:
        if self._http is not None:
            await self._http.cleanup()
            self._http = None
        if self.receiver is not None:
            await self.receiver.stop()
        await super().close()

    def not_ready(self) -> list[str]:
        """Why the bot is not ready, one line per part (none: ready): the gateway must be
        connected, each provider's last tick younger than `READY_INTERVALS` poll intervals,
        the database there, and no alert due for longer than `OUTBOX_STUCK` (the delivery
        loop would have taken it). Upstream outages are not here: a restart would not fix them."""
        now = self.clock()
        out = [] if self.is_ready() and not self.is_closed() else ["discord: not connected"]
        limit = READY_INTERVALS * self.settings.poll_interval_seconds
        for name in sorted(self.watchers):
            ended = self.state(name).last_tick_at()
            if ended is None:
                out.append(f"{name}: no tick yet")
            elif (age := (now - ended).total_seconds()) > limit:
                out.append(f"{name}: last tick {age:.0f} s ago (over {limit:g} s)")
        database = self.store.problem()
        if database is not None:
            out.append(f"database: {database}")
        due = self.outbox_due_since
        if due is not None and now - due > OUTBOX_STUCK:
            waited = (now - due).total_seconds()
            out.append(f"outbox: an alert due {waited:.0f} s ago is not delivered")
        return out

    def healthz(self) -> tuple[bool, dict[str, Any]]:
        """Ready (200) when `not_ready()` names nothing; else 503, and `not_ready` says which
        part. An upstream outage is reported in the details but is not unreadiness: restarting
        the bot would not fix it."""
        statuses = self.provider_statuses()
        redact = self.settings.redact_accounts
        providers = {
            s.provider: {
                "last_ok": s.last_ok.isoformat() if s.last_ok else None,
                "last_error": (
                    redact_email(s.last_error) if redact and s.last_error else s.last_error
                ),
                "running": s.running,
                "watcher_ok": s.watcher_ok,
            }
            for s in statuses
        }
        database = self.store.problem()
        not_ready = self.not_ready()
        upstream_ok = all(s.last_error is None for s in statuses)
        return not not_ready, {
            "not_ready": not_ready,
            "discord": self.is_ready(),
            "upstream_ok": upstream_ok,
            "database": {"ok": database is None, "error": database},
            "providers": providers,
        }

    async def sync_commands(self) -> None:
        """Sync to GUILD_IDS (instant) when set, else globally (Discord may take an hour)."""
        self._set_provider_choices()
        if self.settings.guild_ids:
            reached = 0
            for guild_id in self.settings.guild_ids:
                guild = discord.Object(id=guild_id)
                self.tree.copy_global_to(guild=guild)
                try:
                    synced = await self.tree.sync(guild=guild)
                except (discord.Forbidden, discord.NotFound) as exc:
                    # A guild the bot is not in (403 Missing Access from Discord, 404 for an
                    # id that is no guild): one wrong id must not keep the others from working.
                    self.tree.clear_commands(guild=guild)
                    log.warning(
                        "GUILD_IDS: cannot sync commands to guild %s (%s %s): the bot "
                        "is not in it, or was invited without the "
                        "applications.commands scope; carrying on without it",
                        guild_id,
                        exc.status,
                        exc.text or "",
                    )
                    continue
                log.info("synced %d commands to guild %s", len(synced), guild_id)
                reached += 1
            if not reached:
                log.error(
                    "GUILD_IDS: no listed guild took the commands; slash commands are "
                    "unavailable until GUILD_IDS names a guild the bot is in"
                )
        else:
            synced = await self.tree.sync()
            log.info("synced %d global commands", len(synced))
        self.synced.set()

    async def reload_provider(self, name: str, *, load: bool) -> None:
        """Load or unload a provider cog at run time and re-sync the choices."""
        if load:
            await self.load_extension(f"cogs.{name}")
        else:
            await self.unload_extension(f"cogs.{name}")
        if self.is_ready():
            await self.sync_commands()


def apply_discord_urls(settings: Settings) -> None:
    """Point discord.py at DISCORD_API_BASE_URL / DISCORD_GATEWAY_URL when they are set."""
    if settings.discord_api_base_url is not None:
        discord.http.Route.BASE = str(settings.discord_api_base_url).rstrip("/")
    if settings.discord_gateway_url is not None:
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(
            str(settings.discord_gateway_url)
        )


@contextlib.asynccontextmanager
async def resources(
    settings: Settings, *, simulate: bool = False, sim_seed: int = 7
) -> AsyncIterator[tuple[UseapiClient, Store]]:
    """The useapi client (against the simulator when `simulate`) and the opened store."""
    async with contextlib.AsyncExitStack() as stack:
        if simulate:
            from bot.sim import SimServer, Simulator

            token = "sim-" + secrets.token_hex(8)
            server = await stack.enter_async_context(
                SimServer(Simulator(seed=sim_seed, token=token))
            )
            client = UseapiClient(server.url, SecretStr(token))
        else:
            settings.require("useapi_token")
            client = UseapiClient(settings.base_url, settings.useapi_token)
        stack.push_async_callback(client.aclose)
        try:
            store = await Store.open(settings.database_url)
        except StoreError as exc:  # e.g. a newer schema: it says so in its own line
            raise ConfigError(str(exc)) from None
        except Exception as exc:  # unreachable server, bad path, wrong password…
            raise ConfigError(
                f"DATABASE_URL: cannot open "
                f"{display_database_url(settings.database_url)} "
                f"({type(exc).__name__})"
            ) from None
        stack.push_async_callback(store.close)
        yield client, store


async def serve(
    settings: Settings,
    *,
    simulate: bool = False,
    on_ready: Callable[[OpsBot], Any] | None = None,
    guild_ready_timeout: float = 2.0,
) -> None:
    """Run the bot until it is closed or cancelled: `opsbot run`'s whole start-up path."""
    settings.require("discord_token")
    assert settings.discord_token is not None
    apply_discord_urls(settings)
    tune_gc()  # before any connection exists: see there
    async with resources(settings, simulate=simulate) as (client, store):
        bot = OpsBot(settings, client, store, guild_ready_timeout=guild_ready_timeout)
        if on_ready is not None:
            on_ready(bot)
        async with bot:
            try:
                await bot.login(settings.discord_token.get_secret_value())
            except discord.LoginFailure:
                raise ConfigError("DISCORD_TOKEN: Discord rejected the token") from None
            except (aiohttp.ClientError, OSError, discord.HTTPException) as exc:
                # Once logged in, discord.py reconnects by itself; before, nothing retries.
                raise CannotStart(
                    f"cannot reach Discord at {discord.http.Route.BASE} "
                    f"({_reason(exc)}); check the network, or "
                    f"DISCORD_API_BASE_URL"
                ) from None
            await bot.connect()


class CannotStart(Exception):
    """`opsbot run` cannot begin for a reason outside the settings (Discord unreachable)."""


def _reason(exc: BaseException) -> str:
    if isinstance(exc, discord.HTTPException):
        return f"HTTP {exc.status}"
    return type(exc).__name__


def run_bot(settings: Settings, *, simulate: bool = False) -> int:
    """`opsbot run`: serve until SIGINT/SIGTERM, then close cleanly (exit 0).

    A stop ends within 10 s (Docker's grace before SIGKILL): the delivery cog claims nothing
    more, lets the posts in flight finish within 4 s (cogs.delivery.DRAIN_TIMEOUT), gives back
    what is still claimed within 3 s (cogs.delivery.RELEASE_TIMEOUT), and the store waits for
    operations in flight (at most bot.store.CLOSE_GRACE_SECONDS, each is short:
    bench/flood.py). A second signal cuts the stop short: what is claimed then waits for its
    lease (seconds)."""

    async def main() -> None:
        task = asyncio.create_task(serve(settings, simulate=simulate))
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, task.cancel)
        with contextlib.suppress(asyncio.CancelledError):
            await task

    asyncio.run(main())
    return 0
