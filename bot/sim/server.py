"""The simulator behind real HTTP (aiohttp), plus its `/_sim/` control API.

Every request except `/_sim/…` goes: log → bring churn up to now → bearer auth (401) →
faults → pins → the provider's route. The control API needs no auth and is not logged:

=======  ====================  ===============================================================
GET      /_sim/state           accounts, running jobs, legacy jobs, counters, faults, pins
GET      /_sim/history         `{"total", "since", "events":[…]}`; `?since=N` skips N events
GET      /_sim/requests        `{"total", "since", "requests":[…]}`; `?since=N`
GET      /_sim/faults          active faults
POST     /_sim/faults          `{pattern, kind, count?, probability?, seconds?, status?, body?,
                               size?}`
DELETE   /_sim/faults          all, or `?pattern=` / `{"pattern"}` only
GET      /_sim/pins            pinned paths
POST     /_sim/pin             `{path, body, status?, contentType?}`
DELETE   /_sim/pin             all, or `?path=` / `{"path"}` only
POST     /_sim/advance         `{seconds}` → `{"now", "events"}`
POST     /_sim/jobs            `{provider, account?, kind?, duration?, outcome?, legacy?,
                               elapsed?}` → the job (201)
GET      /_sim/jobs/{id}       one job, ground truth (404 if unknown)
POST     /_sim/finish          `{job_id, outcome?}` → the job
POST     /_sim/fill            `{provider, account}` → `{"ids":[…]}`
POST     /_sim/free            `{provider, account, outcome?}` → `{"ids":[…]}`
=======  ====================  ===============================================================
"""

from __future__ import annotations

import asyncio
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

from bot.sim import hostile
from bot.sim.clock import iso_ms
from bot.sim.faults import GARBAGE_BODY, Fault
from bot.sim.model import CapacityError, SimRequest
from bot.sim.providers import PROVIDERS, SPECS
from bot.sim.reasons import html_page, reason_for
from bot.sim.render import Reply, error, route
from bot.sim.state import Simulator

log = logging.getLogger(__name__)

_CONTROL = "/_sim"


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
    return web.Response(status=reply.status, reason=reason, body=_body_bytes(reply),
                        content_type=reply.content_type, charset=charset)


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

    def __init__(self, sim: Simulator, host: str = "127.0.0.1", port: int = 0, *,
                 shutdown_timeout: float = 1.0) -> None:
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
        runner = web.AppRunner(self.make_app(), handler_cancellation=True, access_log=None,
                               shutdown_timeout=self.shutdown_timeout)
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

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.stop()

    def __repr__(self) -> str:
        return f"<SimServer {self.url if self.running else 'stopped'} {self.sim!r}>"

    # ------------------------------------------------------------------ provider API

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        raw_path, _, raw_query = request.raw_path.partition("?")
        if raw_path == _CONTROL or raw_path.startswith(_CONTROL + "/"):
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

    async def _dribble(self, request: web.Request, body: bytes,
                       seconds: float) -> AsyncIterator[bytes]:
        """`body` one byte at a time, each after `seconds`; cut off when the server stops."""
        for i in range(len(body)):
            if await self._wait_stop(seconds):
                if request.transport is not None:
                    request.transport.close()
                raise asyncio.CancelledError
            yield body[i:i + 1]

    async def _answer(self, request: web.Request, raw_path: str, raw_query: str,
                      entry: SimRequest) -> Reply | _Streamed:
        sim = self.sim
        segs = [unquote(s) for s in raw_path.split("/")[1:]]
        if segs and segs[-1] == "":
            segs.pop()
        path = unquote(raw_path)
        provider = (segs[1] if len(segs) > 1 and segs[0] in ("v1", "v2") and segs[1] in SPECS
                    else None)
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
            return _Streamed(reply.status, self._dribble(request, body, fault.seconds),
                             len(body), reply.content_type)
        if reply.status < 300 and not isinstance(reply.body, bytes | str):
            started = iso_ms(sim.now_ts() - 5)
            reply.body = hostile.distort(fault.kind, provider, reply.body, started=started)
        return reply

    def _authorized(self, request: web.Request) -> bool:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(
            token.strip().encode(), self.sim.token.encode())

    async def _wait_stop(self, seconds: float) -> bool:
        """Sleep `seconds`; True if the server started stopping meanwhile."""
        try:
            async with asyncio.timeout(seconds):
                await self._stopping.wait()
        except TimeoutError:
            return False
        return True

    async def _fault_reply(self, fault: Fault, provider: str | None,
                           request: web.Request) -> Reply:
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
        sub = raw_path[len(_CONTROL):].strip("/")
        try:
            reply = await self._control_reply(request, request.method, sub)
        except CapacityError as exc:
            reply = Reply(409, {"error": str(exc), "code": 409})
        except KeyError as exc:
            reply = Reply(404, {"error": str(exc.args[0]) if exc.args else "Not found",
                                "code": 404})
        except (ValueError, TypeError) as exc:
            reply = Reply(400, {"error": str(exc), "code": 400})
        return _response(reply)

    async def _control_reply(self, request: web.Request, method: str, sub: str) -> Reply:
        sim = self.sim
        query = request.query
        if method == "GET" and sub == "":
            return Reply(200, {"endpoints": [line.strip() for line in
                                             (__doc__ or "").splitlines() if "/_sim/" in line]})
        if method == "GET" and sub == "state":
            return Reply(200, sim.state())
        if method == "GET" and sub in ("history", "requests"):
            sim.step()
            since = int(query.get("since", "0"))
            items: list[Any] = sim.history if sub == "history" else list(sim.requests)
            return Reply(200, {"total": len(items), "since": since,
                               ("events" if sub == "history" else "requests"):
                                   [item.to_dict() for item in items[since:]]})
        if sub == "faults":
            if method == "GET":
                return Reply(200, [f.to_dict() for f in sim.faults.active()])
            if method == "POST":
                data = await _json(request)
                fault = sim.faults.set(
                    str(_need(data, "pattern")), str(_need(data, "kind")),
                    count=_opt_int(data.get("count")),
                    probability=float(data.get("probability", 1.0)),
                    seconds=None if data.get("seconds") is None else float(data["seconds"]),
                    status=_opt_int(data.get("status")), body=data.get("body"),
                    size=_opt_int(data.get("size")))
                return Reply(201, fault.to_dict())
            if method == "DELETE":
                data = await _json(request)
                pattern = query.get("pattern") or data.get("pattern")
                return Reply(200, {"cleared": sim.faults.clear(pattern)})
        if sub in ("pin", "pins"):
            if method == "GET":
                return Reply(200, {path: {"status": pin.status, "contentType": pin.content_type}
                                   for path, pin in sim.pins.items()})
            if method == "POST":
                data = await _json(request)
                if "body" not in data:
                    raise ValueError("missing 'body'")
                sim.pin(str(_need(data, "path")), data["body"], int(data.get("status", 200)),
                        content_type=str(data.get("contentType", "application/json")))
                return Reply(201, {"pinned": data["path"]})
            if method == "DELETE":
                data = await _json(request)
                path = query.get("path") or data.get("path")
                return Reply(200, {"removed": sim.unpin(path)})
        if method == "POST" and sub == "advance":
            data = await _json(request)
            before = len(sim.history)
            now = sim.advance(float(_need(data, "seconds")))
            return Reply(200, {"now": now.isoformat().replace("+00:00", "Z"),
                               "events": len(sim.history) - before})
        if method == "POST" and sub == "step":
            return Reply(200, {"events": sim.step()})
        if method == "POST" and sub == "jobs":
            data = await _json(request)
            duration = data.get("duration")
            job_id = sim.start_job(
                str(_need(data, "provider")), data.get("account"),
                str(data.get("kind", "video")),
                None if duration is None else float(duration),
                data.get("outcome", "completed"), bool(data.get("legacy", False)),
                elapsed=float(data.get("elapsed", 0.0)))
            return Reply(201, _job_dict(sim, job_id))
        if method == "GET" and sub.startswith("jobs/"):
            return Reply(200, _job_dict(sim, unquote(sub[len("jobs/"):])))
        if method == "POST" and sub == "finish":
            data = await _json(request)
            job = sim.finish_job(str(_need(data, "job_id")), str(data.get("outcome",
                                                                          "completed")))
            return Reply(200, job.to_dict(sim.now_ts()))
        if method == "POST" and sub in ("fill", "free"):
            data = await _json(request)
            provider, account = str(_need(data, "provider")), str(_need(data, "account"))
            if sub == "fill":
                ids = sim.fill_account(provider, account)
            else:
                ids = sim.free_account(provider, account, str(data.get("outcome",
                                                                       "completed")))
            return Reply(200, {"ids": ids})
        return Reply(404, {"error": f"no control endpoint {method} /_sim/{sub}", "code": 404})


#: Fault kinds that shape the endpoint's own answer (the others answer in its place).
_SHAPING = frozenset({"dribble", "surrogate", "huge_numbers", "duplicates"})


async def _aiter(chunks: Iterable[bytes]) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


def _job_dict(sim: Simulator, job_id: str) -> dict[str, Any]:
    job = sim.job(job_id)
    if job is None:
        raise KeyError(f"no job {job_id!r}")
    return job.to_dict(sim.now_ts())


async def _json(request: web.Request) -> dict[str, Any]:
    if not request.can_read_body:
        return {}
    try:
        data = await request.json()
    except ValueError:
        raise ValueError("request body is not JSON") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ValueError("request body must be a JSON object")
    return data


def _need(data: dict[str, Any], key: str) -> Any:
    if data.get(key) is None:
        raise ValueError(f"missing {key!r}")
    return data[key]


def _opt_int(value: Any) -> int | None:
    return None if value is None else int(value)


async def serve(host: str = "127.0.0.1", port: int = 8765, *, seed: int = 1,
                accounts: int = 30, jobs: int = 60, token: str = "sim-token",
                churn: bool = True, providers: Iterable[str] = PROVIDERS,
                announce: Callable[[str], None] | None = None) -> None:
    """Run a simulator on real time until cancelled (what `opsbot simulate` runs).

    Announces `useapi simulator listening on <url> …` through `announce` (default: print to
    stdout, flushed) once the port is bound, so a parent process can read the URL.
    """
    sim = Simulator(seed=seed, accounts=accounts, jobs=jobs, token=token,
                    providers=providers, churn=churn)
    async with SimServer(sim, host, port) as server:
        line = (f"useapi simulator listening on {server.url} (seed {seed}, "
                f"{accounts} accounts, {jobs} jobs, churn {'on' if churn else 'off'}, "
                f"providers {','.join(sim.providers)})")
        if announce is None:
            print(line, flush=True)
        else:
            announce(line)
        await asyncio.Event().wait()
