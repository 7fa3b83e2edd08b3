"""The real bot, started through `opsbot run`'s own start-up path (`bot.app.serve`), against the
fake Discord (`tests/fakediscord.py`) and the simulator, all three on loopback in this process
and on one event loop (as `tests/botharness.py` does)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import DISCORD_TOKEN, SIM_TOKEN, settings
from bot.app import OpsBot
from bot.sim import SimServer, Simulator
from cogs.base import ProviderCog
from rig.fakediscord import FakeDiscord, RecordedRequest
from tests.botharness import launch

CALLBACK_ROUTE = "POST /interactions/{interaction_id}/{token}/callback"


@dataclass
class Rig:
    bot: OpsBot
    fake: FakeDiscord
    sim: Simulator
    server: SimServer

    def provider_cogs(self) -> list[ProviderCog]:
        return [c for c in self.bot.cogs.values() if isinstance(c, ProviderCog)]

    async def tick_all(self) -> None:
        """One watcher tick per provider, as the cog's loop runs it (fills the cache)."""
        for cog in self.provider_cogs():
            await cog._tick()

    def callback_of(self, token: str, start: int = 0) -> RecordedRequest | None:
        """The recorded interaction callback request of the interaction with `token`."""
        for rec in reversed(self.fake.requests[start:]):
            if rec.route == CALLBACK_ROUTE and rec.params.get("token") == token:
                return rec
        return None


@contextlib.asynccontextmanager
async def running_bot(sim: Simulator, db_dir: Path, *, poll_interval: float = 600,
                      manual_ticks: bool = True, **overrides: Any) -> AsyncIterator[Rig]:
    """Start fake Discord, serve `sim`, run the bot until ready with commands synced.

    `manual_ticks`: stop the cogs' tick loops once started (the caller ticks); otherwise the
    loops keep running every `poll_interval` seconds, as in production."""
    fake = FakeDiscord()
    await fake.start()
    restore = fake.patch_discord()
    server = SimServer(sim)
    await server.start()
    task: asyncio.Task[None] | None = None
    bot: OpsBot | None = None
    try:
        values: dict[str, Any] = dict(
            discord_token=DISCORD_TOKEN, useapi_token=SIM_TOKEN, useapi_base_url=server.url,
            discord_api_base_url=fake.api_base, discord_gateway_url=fake.gateway_url,
            guild_ids=[fake.guild_id], alert_channel_id=fake.channel_ids[0],
            poll_interval_seconds=poll_interval,
            database_url=f"sqlite+aiosqlite:///{db_dir / 'opsbot.db'}")
        values.update(overrides)
        bot, task = await launch(settings(**values), wait_seconds=30)
        rig = Rig(bot, fake, sim, server)
        if manual_ticks:
            for cog in rig.provider_cogs():
                cog.poll.cancel()
                async with cog.watcher._lock:
                    pass
        yield rig
    finally:
        if bot is not None and task is not None and not task.done():
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(bot.close(), 15)
                await asyncio.wait_for(task, 15)
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await server.stop()
        restore()
        await fake.stop()
