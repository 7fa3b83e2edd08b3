"""Waiting for what the bot does, without polling: every recorded request, gateway frame and
dispatch notifies the world's condition, and each waiter re-checks on it until its deadline
(then `WaitTimeout`, naming what it waited for and the last requests)."""

# The waiters take ``timeout=`` arguments on purpose (they are test helpers).
# ruff: noqa: ASYNC109
from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from typing import TypeVar

from rig.fakediscord import wire
from rig.fakediscord.records import (
    JSON,
    FakeInteraction,
    GatewayFrame,
    RecordedRequest,
    WaitTimeout,
)
from rig.fakediscord.rest import Rest

T = TypeVar("T")


class Waiters(Rest):
    async def _wait_until(self, check: Callable[[], T | None], timeout: float, what: str) -> T:
        if self._cond is None:
            raise RuntimeError("FakeDiscord is not started")
        try:
            async with asyncio.timeout(timeout):
                async with self._cond:
                    while True:
                        result = check()
                        if result is not None:
                            return result
                        await self._cond.wait()
        except TimeoutError:
            recent = ", ".join(f"{r.key}->{r.status}" for r in self.requests[-8:])
            raise WaitTimeout(
                f"timed out after {timeout}s waiting for {what}; last requests: [{recent}]"
            ) from None

    def mark(self) -> int:
        """Index to pass as ``start=`` to only consider requests made from now on."""
        return len(self.requests)

    async def wait_for(
        self,
        predicate: Callable[[RecordedRequest], bool],
        timeout: float = 5.0,
        *,
        start: int = 0,
        answered: bool = True,
    ) -> RecordedRequest:
        """Wait until a recorded request (from index ``start``) matches ``predicate``.

        With ``answered`` (default) the request must also have been answered, so its
        ``status``/``response`` are filled in.
        """

        def check() -> RecordedRequest | None:
            for rec in self.requests[start:]:
                if (not answered or rec.status is not None) and predicate(rec):
                    return rec
            return None

        return await self._wait_until(check, timeout, f"request matching {predicate!r}")

    async def wait_for_request(
        self,
        method: str,
        path_pattern: str | re.Pattern[str],
        timeout: float = 5.0,
        *,
        start: int = 0,
        status: int | None = None,
    ) -> RecordedRequest:
        """Wait for ``method`` + path regex (searched), optionally with a response status."""
        rx = wire.pattern(path_pattern)
        return await self.wait_for(
            lambda r: (
                r.method == method
                and bool(rx.search(r.path))
                and (status is None or r.status == status)
            ),
            timeout,
            start=start,
        )

    async def wait_ready(self, timeout: float = 5.0, *, identifies: int = 1) -> None:
        """Until a client has IDENTIFYed (``identifies`` times in total) and been sent READY
        + its GUILD_CREATEs. (discord.py's own ``wait_until_ready`` fires a bit later, after
        its ``guild_ready_timeout``.)"""
        await self._wait_until(
            lambda: True if self.identify_count >= identifies and self.connected else None,
            timeout,
            f"IDENTIFY #{identifies} + READY",
        )

    async def wait_resumed(self, count: int = 1, timeout: float = 5.0) -> None:
        """Until at least ``count`` successful RESUMEs happened in total."""
        await self._wait_until(
            lambda: True if self.resume_count >= count and self.connected else None,
            timeout,
            f"{count} RESUME(s)",
        )

    async def wait_for_gateway(
        self, predicate: Callable[[GatewayFrame], bool], timeout: float = 5.0, *, start: int = 0
    ) -> GatewayFrame:
        """Wait for a frame the client sent (e.g. ``lambda f: f.op == 6`` for RESUME)."""

        def check() -> GatewayFrame | None:
            return next((f for f in self.gateway_frames[start:] if predicate(f)), None)

        return await self._wait_until(check, timeout, "gateway frame")

    async def wait_for_interaction_response(
        self, interaction: FakeInteraction, timeout: float = 5.0
    ) -> JSON:
        """The body (``{"type": ..., "data": ...}``) of the interaction's callback."""
        return await self._wait_until(
            lambda: interaction.callback, timeout, f"callback of interaction {interaction.id}"
        )

    @staticmethod
    def _webhook_requests(
        interaction: FakeInteraction, method: str, original: bool
    ) -> Callable[[RecordedRequest], bool]:
        def pred(r: RecordedRequest) -> bool:
            if r.method != method or r.params.get("token") != interaction.token:
                return False
            is_original = r.path.endswith("/messages/@original")
            if method == "POST":
                return r.route == "POST /webhooks/{app_id}/{token}" and 200 <= (r.status or 0) < 300
            return is_original == original and 200 <= (r.status or 0) < 300

        return pred

    async def wait_for_original_edit(
        self, interaction: FakeInteraction, timeout: float = 5.0, *, start: int = 0
    ) -> JSON:
        """Body of the first successful ``PATCH .../messages/@original`` for the interaction
        (how discord.py completes a deferred response via ``edit_original_response``)."""
        rec = await self.wait_for(
            self._webhook_requests(interaction, "PATCH", True), timeout, start=start
        )
        body: JSON = rec.json
        return body

    async def wait_for_followup(
        self, interaction: FakeInteraction, timeout: float = 5.0, *, start: int = 0
    ) -> JSON:
        """Body of the first successful followup ``POST /webhooks/{app}/{token}``."""
        rec = await self.wait_for(
            self._webhook_requests(interaction, "POST", False), timeout, start=start
        )
        body: JSON = rec.json
        return body

    async def wait_for_message(
        self,
        channel_id: int | None = None,
        predicate: Callable[[JSON], bool] | None = None,
        timeout: float = 5.0,
        *,
        start: int = 0,
    ) -> JSON:
        """A message created by ``POST /channels/{id}/messages`` (current state)."""

        def check() -> JSON | None:
            for msg in self.messages(channel_id)[start:]:
                if predicate is None or predicate(msg):
                    return msg
            return None

        return await self._wait_until(check, timeout, f"message in channel {channel_id}")
