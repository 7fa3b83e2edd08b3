"""A small HTTP side door: /healthz for orchestrators, /metrics for Prometheus, and the replyUrl
receiver (`bot.hooks.web`) when it is on."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web
from prometheus_client.aiohttp import make_aiohttp_handler

from bot.hooks.web import MAX_BODY


def make_app(
    health: Callable[[], tuple[bool, dict[str, Any]]],
    *,
    routes: Callable[[web.Application], None] | None = None,
) -> web.Application:
    """`health()` returns (ok, details); /healthz answers 200 or 503 with the details.
    `routes` adds more (the receiver's)."""

    async def healthz(_: web.Request) -> web.Response:
        ok, details = health()
        return web.json_response({"ok": ok, **details}, status=200 if ok else 503)

    # No route takes a body over the receiver's 1 MiB: aiohttp refuses longer ones (413).
    app = web.Application(client_max_size=MAX_BODY)
    app.router.add_get("/healthz", healthz)
    # prometheus-client's own handler: content negotiation (OpenMetrics when asked), `name[]`
    # filtering and gzip, none of it ours to maintain.
    app.router.add_get("/metrics", make_aiohttp_handler())
    if routes is not None:
        routes(app)
    return app


async def start(app: web.Application, host: str, port: int) -> web.AppRunner:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner
