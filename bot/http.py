"""A small HTTP side door: /healthz for orchestrators, /metrics for Prometheus."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web
from prometheus_client.aiohttp import make_aiohttp_handler


def make_app(health: Callable[[], tuple[bool, dict[str, Any]]]) -> web.Application:
    """`health()` returns (ok, details); /healthz answers 200 or 503 with the details."""

    async def healthz(_: web.Request) -> web.Response:
        ok, details = health()
        return web.json_response({"ok": ok, **details}, status=200 if ok else 503)

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    # prometheus-client's own handler: content negotiation (OpenMetrics when asked), `name[]`
    # filtering and gzip, none of it ours to maintain.
    app.router.add_get("/metrics", make_aiohttp_handler())
    return app


async def start(app: web.Application, host: str, port: int) -> web.AppRunner:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner
