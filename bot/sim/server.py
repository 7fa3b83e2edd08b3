"""The simulator behind real HTTP (aiohttp), plus its control API (`bot.sim.control`).

Every request except the control API's goes: log → bring churn up to now → bearer auth
(401) → faults → pins → the provider's route (`bot.sim.render`). The control API needs no
auth and is not logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from http import HTTPStatus
from types import TracebackType
from typing import Any
from urllib.parse import unquote

from aiohttp import web

from bot.sim import control, hostile
from bot.sim.clock import iso_ms
from bot.sim.faults import GARBAGE_BODY, Fault
from bot.sim.model import SimRequest
from bot.sim.providers import PROVIDERS, provider_at
from bot.sim.reasons import html_page, reason_for
from bot.sim.render import Reply, error, route
from bot.sim.state import Simulator

log = logging.getLogger(__name__)


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return reason_for(status).split(",")[0][:60]


def _dumps(value: Any) -> bytes:
    try:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
    except UnicodeEncodeError:  # a lone surrogate (the `surrogate` fault): escape it
        return json.dumps(value, separators=(",", ":")).encode()


def _body_bytes(reply: Reply) -> bytes:
    if isinstance(reply.body, bytes):
        return reply.body
    if isinstance(reply.body, str):
        return reply.body.encode()
    return _dumps(reply.body)


def _bodiless(reply: Reply) -> bool:
    return reply.status == 204 or (reply.body is None and reply.status >= 300)


def _response(reply: Reply) -> web.Response:
    reason = _reason(reply.status)
    if _bodiless(reply):
        return web.Response(status=reply.status, reason=reason)
    charset = "utf-8" if reply.content_type.startswith("text/") else None
    return web.Response(
        status=reply.status,
        reason=reason,
        body=_body_bytes(reply),
        content_type=reply.content_type,
        charset=charset,
    )


@dataclass(slots=True)
class _Streamed:
    """An answer written piece by piece (`dribble`, `oversized`); `length` is sent as
    Content-Length when known, else the body goes chunked."""

    status: int
    chunks: AsyncIterator[bytes]
    length: int | None = None
    content_type: str = "application/json"


class SimServer:
    """Serves a `Simulator` over HTTP: `async with SimServer(sim) as server: server.url`.

    `port=0` picks a free port. Stopping wakes requests hung by a `timeout` fault and drops
    their connections without an answer; a client that gives up on a hung request cancels its
    handler at once.
    """

    def __init__(
        self,
        sim: Simulator,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        shutdown_timeout: float = 1.0,
    ) -> None:
        self.sim = sim
        self.host = host
        self.port = port
        self.shutdown_timeout = shutdown_timeout
        self._runner: web.AppRunner | None = None
        self._stopping = asyncio.Event()

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._runner is not None

    def make_app(self) -> web.Application:
        app = web.Application(client_max_size=256 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        return app

    async def start(self) -> SimServer:
        if self._runner is not None:
            raise RuntimeError("SimServer already started")
        self._stopping = asyncio.Event()
        runner = web.AppRunner(
            self.make_app(),
            handler_cancellation=True,
            access_log=None,
            shutdown_timeout=self.shutdown_timeout,
        )
        await runner.setup()
        try:
            site = web.TCPSite(runner, self.host, self.port)
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        address = runner.addresses[0]
        self.port = int(address[1])
        log.info("useapi simulator listening on %s", self.url)
        return self

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is None:
            return
        self._stopping.set()
        await asyncio.sleep(0)
        await runner.cleanup()

    async def __aenter__(self) -> SimServer:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    def __repr__(self) -> str:
        return f"<SimServer {self.url if self.running else 'stopped'} {self.sim!r}>"

    # ------------------------------------------------------------------ provider API

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        raw_path, _, raw_query = request.raw_path.partition("?")
        if raw_path == control.PREFIX or raw_path.startswith(control.PREFIX + "/"):
            return await self._control(request, raw_path)
        sim = self.sim
        sim.step()
        entry = sim.log_request(request.method, raw_path, raw_query)
        started = time.perf_counter()
        try:
            reply = await self._answer(request, raw_path, raw_query, entry)
            entry.status = reply.status
            if isinstance(reply, _Streamed):
                return await self._stream(request, reply)
            return _response(reply)
        finally:
            entry.seconds = round(time.perf_counter() - started, 6)

    async def _stream(self, request: web.Request, reply: _Streamed) -> web.StreamResponse:
        response = web.StreamResponse(status=reply.status, reason=_reason(reply.status))
        response.content_type = reply.content_type
        if reply.length is not None:
            response.content_length = reply.length
        await response.prepare(request)
        try:
            async for chunk in reply.chunks:
                await response.write(chunk)
            await response.write_eof()
        except ConnectionError:  # the client stopped reading (a size cap) and hung up
            pass
        return response

    async def _dribble(
        self, request: web.Request, body: bytes, seconds: float
    ) -> AsyncIterator[bytes]:
        """`body` one byte at a time, each after `seconds`; cut off when the server stops."""
        for i in range(len(body)):
            if await self._wait_stop(seconds):
                if request.transport is not None:
                    request.transport.close()
                raise asyncio.CancelledError
            yield body[i : i + 1]

    async def _answer(
        self, request: web.Request, raw_path: str, raw_query: str, entry: SimRequest
    ) -> Reply | _Streamed:
        sim = self.sim
        segs = [unquote(s) for s in raw_path.split("/")[1:]]
        if segs and segs[-1] == "":
            segs.pop()
        path = unquote(raw_path)
        provider = provider_at(segs[1]) if len(segs) > 1 and segs[0] in ("v1", "v2") else None
        if not self._authorized(request):
            return error(provider, 401, "Unauthorized")
        delay, fault = sim.faults.pick(raw_path, path, provider)
        if delay > 0:
            await self._wait_stop(delay)
        if fault is not None:
            entry.fault = fault.kind
            if fault.kind == "oversized":
                return _Streamed(fault.status, _aiter(hostile.filler(fault.size)))
            if fault.kind == "deep":
                return Reply(fault.status, hostile.nested(fault.size))
            if fault.kind not in _SHAPING:
                return await self._fault_reply(fault, provider, request)
        candidates = [raw_path, path]
        if raw_query:
            candidates = [f"{raw_path}?{raw_query}", f"{path}?{unquote(raw_query)}", *candidates]
        pin = sim.pinned(*candidates)
        if pin is not None:
            reply = Reply(pin.status, pin.body, pin.content_type)
        else:
            sim.step()
            query = {key: request.query[key] for key in request.query}
            reply = route(sim, request.method, segs, query)
        if fault is None or _bodiless(reply):
            return reply
        if fault.kind == "dribble":
            body = _body_bytes(reply)
            return _Streamed(
                reply.status,
                self._dribble(request, body, fault.seconds),
                len(body),
                reply.content_type,
            )
        if reply.status < 300 and not isinstance(reply.body, bytes | str):
            started = iso_ms(sim.now_ts() - 5)
            reply.body = hostile.distort(fault.kind, provider, reply.body, started=started)
        return reply

    def _authorized(self, request: web.Request) -> bool:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(
            token.strip().encode(), self.sim.token.encode()
        )

    async def _wait_stop(self, seconds: float) -> bool:
        """Sleep `seconds`; True if the server started stopping meanwhile."""
        try:
            async with asyncio.timeout(seconds):
                await self._stopping.wait()
        except TimeoutError:
            return False
        return True

    async def _fault_reply(self, fault: Fault, provider: str | None, request: web.Request) -> Reply:
        if fault.kind == "status":
            if fault.body is not None:
                return Reply(fault.status, fault.body)
            return error(provider, fault.status)
        if fault.kind == "garbage":
            body = fault.body if fault.body is not None else GARBAGE_BODY
            return Reply(fault.status, body)
        if fault.kind == "html":
            return Reply(fault.status, html_page(fault.status), "text/html")
        # timeout: hang without answering; a 504 if the client is still there afterwards
        if await self._wait_stop(fault.seconds):
            if request.transport is not None:
                request.transport.close()
            raise asyncio.CancelledError
        return error(provider, 504, "Gateway timeout")

    # ------------------------------------------------------------------ control API

    async def _control(self, request: web.Request, raw_path: str) -> web.Response:
        sub = raw_path[len(control.PREFIX) :].strip("/")
        return _response(await control.answer(self.sim, request, sub))


#: Fault kinds that shape the endpoint's own answer (the others answer in its place).
_SHAPING = frozenset({"dribble", "surrogate", "huge_numbers", "duplicates"})


async def _aiter(chunks: Iterable[bytes]) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


async def serve(
    host: str = "127.0.0.1",
    port: int = 8765,
    *,
    seed: int = 1,
    accounts: int = 30,
    jobs: int = 60,
    token: str = "sim-token",
    churn: bool = True,
    providers: Iterable[str] = PROVIDERS,
    announce: Callable[[str], None] | None = None,
    reply_to: str | None = None,
) -> None:
    """Run a simulator on real time until cancelled (what `opsbot simulate` runs).

    Announces `useapi simulator listening on <url> …` through `announce` (default: print to
    stdout, flushed) once the port is bound, so a parent process can read the URL.
    `reply_to`: POST every ending job's callback there (a bot's replyUrl receiver).
    """
    from bot.sim.callbacks import CallbackSender

    sim = Simulator(
        seed=seed, accounts=accounts, jobs=jobs, token=token, providers=providers, churn=churn
    )
    async with SimServer(sim, host, port) as server:
        line = (
            f"useapi simulator listening on {server.url} (seed {seed}, "
            f"{accounts} accounts, {jobs} jobs, churn {'on' if churn else 'off'}, "
            f"providers {','.join(sim.providers)})"
        )
        if reply_to is not None:
            line += "; callbacks to the replyUrl given"  # (it holds the receiver's secret)
        if announce is None:
            print(line, flush=True)
        else:
            announce(line)
        async with contextlib.AsyncExitStack() as stack:
            if reply_to is not None:
                await stack.enter_async_context(CallbackSender(sim, reply_to))
            await asyncio.Event().wait()
