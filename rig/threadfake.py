"""A fake Discord served from a background thread, for tests that call synchronous entry
points (`bot.cli.main`, which runs its own event loop): `opsbot check` logs in to it."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rig.fakediscord import FakeDiscord


@contextmanager
def threaded_fake_discord(**options: Any) -> Iterator[FakeDiscord]:
    """Serve a `FakeDiscord` on 127.0.0.1 from its own thread and loop; yields it (point
    DISCORD_API_BASE_URL and DISCORD_GATEWAY_URL at its `api_base` and `gateway_url`).
    Set it up (roles, threads, token) before anything connects; its controls are its loop's."""
    fake = FakeDiscord(**options)
    loop = asyncio.new_event_loop()
    started = threading.Event()
    stop: asyncio.Event | None = None

    async def main() -> None:
        nonlocal stop
        stop = asyncio.Event()
        async with fake:
            started.set()
            await stop.wait()

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    if not started.wait(10):
        raise RuntimeError("fake Discord did not start")
    try:
        yield fake
    finally:
        assert stop is not None
        loop.call_soon_threadsafe(stop.set)
        thread.join(10)
        loop.close()
