"""The receiver's HTTP side: `POST /hooks/useapi/{secret}[/{provider}]`.

Answers, in the order checked: 404 for a wrong secret (compared in constant time, and the same
404 as any path that does not exist), 413 for a body over `MAX_BODY`, 400 when it is not JSON,
422 when it names no job (`bot.hooks.shape`), else 202 at once: the job is re-read after the
answer (`Receiver`), so the answer never waits on useapi. The secret is never logged.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Mapping
from typing import Final

from aiohttp import web

from bot import fastjson, metrics
from bot.hooks.receiver import Receiver
from bot.hooks.shape import Unrecognised, find_job
from bot.providers.base import Provider

#: The largest body taken: 1 MiB (useapi's job bodies are a few KiB).
MAX_BODY: Final = 1024 * 1024
#: The receiver's path, without the secret.
PREFIX: Final = "/hooks/useapi/"


def add_routes(
    app: web.Application,
    secret: str,
    receiver: Receiver,
    providers: Callable[[], Mapping[str, Provider]],
) -> None:
    """Serve the receiver on `app`, whose `client_max_size` must be `MAX_BODY` (`bot.http`
    makes it so): aiohttp itself refuses a longer body."""
    expected = secret.encode()

    async def hook(request: web.Request) -> web.StreamResponse:
        given = request.match_info["secret"].encode("utf-8", "replace")
        if not hmac.compare_digest(given, expected):
            metrics.CALLBACKS_REJECTED.labels("secret").inc()
            raise web.HTTPNotFound()  # exactly what a path that does not exist gets
        try:  # aiohttp stops reading past `client_max_size`, Content-Length or not
            raw = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return _refuse(413, "too_large", f"the body is over {MAX_BODY} bytes")
        try:
            body = fastjson.loads(raw)
        except ValueError:  # also bad UTF-8 and nesting too deep
            return _refuse(400, "not_json", "the body is not JSON")
        try:
            named = find_job(body, providers(), request.match_info.get("provider"))
        except Unrecognised as exc:
            return _refuse(422, "unknown_shape", str(exc))
        metrics.CALLBACKS.labels(named.provider).inc()
        queued = receiver.offer(named)
        return web.json_response(
            {"accepted": True, "queued": queued, "provider": named.provider, "job": named.job_id},
            status=202,
        )

    app.router.add_post(PREFIX + "{secret}", hook)
    app.router.add_post(PREFIX + "{secret}/{provider}", hook)


def _refuse(status: int, reason: str, message: str) -> web.Response:
    metrics.CALLBACKS_REJECTED.labels(reason).inc()
    return web.json_response({"error": message}, status=status)
