"""Start the real bot (through `opsbot run`'s own start-up path, `bot.app.serve`) against the
fake Discord and the simulator, both on loopback. Loaded as a pytest plugin by conftest."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, cast

import pytest_asyncio

from bot.app import OpsBot, serve
from bot.settings import Settings, load_settings
from bot.sim import ManualClock, SimServer, Simulator
from cogs.alerts import AlertsCog
from cogs.base import ProviderCog
from cogs.board import BoardCog
from cogs.delivery import DeliveryCog
from tests.fakediscord import FakeDiscord

_CogT = TypeVar("_CogT")
TOKEN = "sim-token-E2E-abcdef123456"
DISCORD_TOKEN = "discord-token-E2E-XYZ.987654321"


@dataclass
class Harness:
    bot: OpsBot
    fake: FakeDiscord
    sim: Simulator
    server: SimServer
    settings: Settings
    task: asyncio.Task[None]

    @property
    def alert_channel(self) -> int:
        return self.fake.channel_ids[0]

    def cog(self, provider: str) -> ProviderCog:
        cog = self.bot.get_cog(self.bot.providers[provider].title)
        assert isinstance(cog, ProviderCog)
        return cog

    def _shared_cog(self, name: str, cls: type[_CogT]) -> _CogT:
        # load_extension imports a cog's module afresh, so isinstance against this module's
        # import of it would fail: compare by name.
        cog = self.bot.get_cog(name)
        assert cog is not None and type(cog).__name__ == cls.__name__
        return cast(_CogT, cog)

    @property
    def alerts(self) -> AlertsCog:
        return self._shared_cog("Alerts", AlertsCog)

    @property
    def board(self) -> BoardCog:
        return self._shared_cog("Board", BoardCog)

    @property
    def delivery(self) -> DeliveryCog:
        return self._shared_cog("Delivery", DeliveryCog)

    async def tick(self, *providers: str) -> None:
        """One watcher tick for each provider (all when none given), as the loop would."""
        for name in providers or tuple(self.bot.providers):
            await self.cog(name)._tick()

    async def deliver(self) -> Any:
        return await self.delivery.deliverer.run_once()

    async def stop(self) -> None:
        if not self.task.done():
            await self.bot.close()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(self.task, 10)


StartBot = Callable[..., Awaitable[Harness]]


async def launch(settings: Settings, *, on_ready: Callable[[OpsBot], None] | None = None,
                 wait_seconds: float = 15.0) -> tuple[OpsBot, asyncio.Task[None]]:
    """Run `bot.app.serve` (`opsbot run`'s start-up path) as a task and wait until the bot is
    connected and its commands are synced. Raises what start-up raised, or TimeoutError."""
    created: asyncio.Future[OpsBot] = asyncio.get_running_loop().create_future()

    def handed(bot: OpsBot) -> None:
        if on_ready is not None:
            on_ready(bot)
        created.set_result(bot)

    task = asyncio.create_task(serve(settings, on_ready=handed, guild_ready_timeout=0.05))
    try:
        bot = await asyncio.wait_for(created, wait_seconds)
        ready = asyncio.create_task(bot.wait_until_ready())
        done, _ = await asyncio.wait({ready, task}, timeout=wait_seconds,
                                     return_when=asyncio.FIRST_COMPLETED)
        if task in done:
            ready.cancel()
            task.result()  # raises what start-up raised
            raise RuntimeError("the bot stopped during start-up")
        if ready not in done:
            ready.cancel()
            raise TimeoutError("the bot did not become ready")
        await asyncio.wait_for(bot.synced.wait(), wait_seconds)
    except BaseException:
        task.cancel()
        with contextlib.suppress(BaseException):
            await task
        raise
    return bot, task


@pytest_asyncio.fixture
async def start_bot(fake_discord: FakeDiscord, tmp_path: Path) -> AsyncIterator[StartBot]:
    """Factory: `await start_bot(**settings_overrides, sim=…, manual_ticks=True)`."""
    harnesses: list[Harness] = []
    servers: list[SimServer] = []

    async def start(*, sim: Simulator | None = None, manual_ticks: bool = True,
                    db: Path | None = None, **overrides: Any) -> Harness:
        if sim is None:
            sim = Simulator(seed=3, accounts=6, jobs=9, token=TOKEN, clock=ManualClock(),
                            churn=False)
        server = SimServer(sim)
        await server.start()
        servers.append(server)
        values: dict[str, Any] = dict(
            discord_token=DISCORD_TOKEN, useapi_token=TOKEN, useapi_base_url=server.url,
            discord_api_base_url=fake_discord.api_base,
            discord_gateway_url=fake_discord.gateway_url,
            guild_ids=[fake_discord.guild_id], alert_channel_id=fake_discord.channel_ids[0],
            poll_interval_seconds=30,
            database_url=f"sqlite+aiosqlite:///{db or tmp_path / 'opsbot.db'}")
        values.update(overrides)
        settings = load_settings(**values)
        bot, task = await launch(settings)
        if manual_ticks:
            # Tests drive ticks themselves (`Harness.tick`); the loop's own timing is not
            # what they test. The loop's first tick at start-up has already run or is running.
            for cog in bot.cogs.values():
                if isinstance(cog, ProviderCog):
                    cog.poll.cancel()
                    async with cog.watcher._lock:
                        pass
        h = Harness(bot, fake_discord, sim, server, settings, task)
        harnesses.append(h)
        return h

    yield start
    for h in harnesses:
        await h.stop()
    for s in servers:
        await s.stop()
