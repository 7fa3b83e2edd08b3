"""Run-time faults a test switches on: error answers (429s with Discord's rate-limit headers,
5xx, 403 …) and slow answers, for the REST requests that match a pattern."""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass
from typing import Any, Unpack

from aiohttp import web

from rig.fakediscord import wire
from rig.fakediscord.records import RecordedRequest
from rig.fakediscord.world import Options, World


@dataclass
class Fault:
    pattern: re.Pattern[str]
    status: int
    remaining: int | None
    retry_after: float
    is_global: bool
    body: Any
    hits: int = 0


@dataclass
class Delay:
    pattern: re.Pattern[str]
    seconds: float
    remaining: int | None
    hits: int = 0
    gate: asyncio.Event | None = None  # held until it is set (then `seconds` is unused)


class Controls(World):
    def __init__(self, **options: Unpack[Options]) -> None:
        super().__init__(**options)
        self.faults: list[Fault] = []
        self.delays: list[Delay] = []

    def fail(
        self,
        pattern: str | re.Pattern[str],
        status: int = 500,
        count: int | None = 1,
        retry_after: float = 1.0,
        *,
        is_global: bool = False,
        body: Any = None,
    ) -> Fault:
        """Answer the next ``count`` (None = all) requests matching ``pattern`` with ``status``.

        ``pattern`` is a regex searched in ``"METHOD /path"`` (path relative to the API base,
        no query), e.g. ``r"POST /channels/\\d+/messages$"``. 429 answers carry
        ``retry_after`` in the body plus ``Via`` and ``X-RateLimit-*`` headers (without
        ``Via`` discord.py assumes a Cloudflare ban and raises instead of retrying).
        """
        fault = Fault(wire.pattern(pattern), status, count, retry_after, is_global, body)
        self.faults.append(fault)
        return fault

    def delay(
        self, pattern: str | re.Pattern[str], seconds: float, count: int | None = None
    ) -> Delay:
        """Delay answers to matching requests (same pattern syntax as :meth:`fail`)."""
        d = Delay(wire.pattern(pattern), seconds, count)
        self.delays.append(d)
        return d

    def hold(self, pattern: str | re.Pattern[str], count: int | None = 1) -> asyncio.Event:
        """Hold the answers to the next ``count`` matching requests until the returned event
        is set; the request is then handled as usual (a held POST creates its message only
        then). For a test that must act while a client waits on Discord."""
        gate = asyncio.Event()
        self.delays.append(Delay(wire.pattern(pattern), 0.0, count, gate=gate))
        return gate

    def clear_faults(self) -> None:
        self.faults.clear()
        self.delays.clear()

    async def _controlled(self, rec: RecordedRequest, route: str) -> web.Response | None:
        """Sleep through the first matching delay; then the first matching fault's answer,
        or None when no fault applies."""
        key = rec.key
        for d in self.delays:
            if (d.remaining is None or d.remaining > 0) and d.pattern.search(key):
                d.hits += 1
                if d.remaining is not None:
                    d.remaining -= 1
                if d.gate is not None:
                    await d.gate.wait()
                else:
                    await asyncio.sleep(d.seconds)
                break
        for f in self.faults:
            if (f.remaining is None or f.remaining > 0) and f.pattern.search(key):
                f.hits += 1
                if f.remaining is not None:
                    f.remaining -= 1
                rec.fault = f.status
                return _fault_response(f, route)
        return None


def _fault_response(f: Fault, route: str) -> web.Response:
    if f.status == 429:
        body = f.body or {
            "message": "You are being rate limited.",
            "retry_after": f.retry_after,
            "global": f.is_global,
        }
        bucket = format(abs(hash(route)) % (1 << 48), "x")
        headers = {
            "Via": "1.1 google",
            "Retry-After": str(max(1, int(f.retry_after + 0.999))),
            "X-RateLimit-Limit": "5",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": f"{time.time() + f.retry_after:.3f}",
            "X-RateLimit-Reset-After": f"{f.retry_after:.3f}",
            "X-RateLimit-Bucket": bucket,
            "X-RateLimit-Scope": "shared" if not f.is_global else "global",
        }
        if f.is_global:
            headers["X-RateLimit-Global"] = "true"
        return wire.json_response(body, 429, headers)
    if f.body is not None:
        return wire.json_response(f.body, f.status)
    return wire.error(f.status)
