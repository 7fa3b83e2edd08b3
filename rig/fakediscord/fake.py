"""`FakeDiscord`: the layers of the fake stacked into one server, and its lifecycle."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from aiohttp import web

from rig.fakediscord.callbacks import Callbacks
from rig.fakediscord.commands import CommandSync
from rig.fakediscord.interactions import Interactions
from rig.fakediscord.waiters import Waiters

#: Request bodies up to this size are read (uploads included).
_MAX_BODY = 64 * 1024 * 1024


class FakeDiscord(Interactions, Callbacks, CommandSync, Waiters):
    """Fake Discord REST + gateway server. See the package docstring."""

    _runner: web.AppRunner | None = None
    _restore: Callable[[], None] | None = None

    async def start(self) -> FakeDiscord:
        self._cond = asyncio.Condition()
        app = web.Application(client_max_size=_MAX_BODY)
        app.router.add_route("GET", "/gateway", self._gateway_handler)
        app.router.add_route("*", "/{tail:.*}", self._rest_handler)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        addresses = self._runner.addresses
        self._port = int(addresses[0][1])
        return self

    async def stop(self) -> None:
        self.restore_discord()
        await self._close_sockets()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeDiscord:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def patch_discord(self) -> Callable[[], None]:
        """Point discord.py at this fake; returns a callable restoring the originals.

        discord.py 2.7 builds every REST URL from ``discord.http.Route.BASE`` (webhooks and
        interaction responses too) and ``Client.connect`` uses
        ``DiscordWebSocket.DEFAULT_GATEWAY`` (it does not call ``GET /gateway``); after READY
        it reconnects/resumes to READY's ``resume_gateway_url``, which points back here.
        ``AutoShardedClient`` calls ``GET /gateway/bot``, also served.
        """
        import discord.gateway
        import discord.http
        import yarl

        if self._restore is not None:
            return self._restore
        old_base = discord.http.Route.BASE
        old_gateway = discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
        discord.http.Route.BASE = self.api_base
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(self.gateway_url)

        def restore() -> None:
            discord.http.Route.BASE = old_base
            discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = old_gateway
            self._restore = None

        self._restore = restore
        return restore

    def restore_discord(self) -> None:
        if self._restore is not None:
            self._restore()
