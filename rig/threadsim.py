"""A simulator served from a background thread, for tests that call synchronous entry points
(`bot.cli.main`, which runs its own event loop) against a real HTTP server."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from bot.sim import ManualClock, SimServer, Simulator

TOKEN = "sim-token-THREADED-0123456789"


@contextmanager
def threaded_sim(**kwargs: Any) -> Iterator[tuple[str, Simulator]]:
    """Serve a Simulator on 127.0.0.1 from its own thread; yields (url, simulator).

    Pins and faults may be set on the simulator from the test thread between requests.
    """
    kwargs.setdefault("seed", 1)
    kwargs.setdefault("token", TOKEN)
    kwargs.setdefault("clock", ManualClock())
    sim = Simulator(**kwargs)
    loop = asyncio.new_event_loop()
    server = SimServer(sim)
    started = threading.Event()
    stop: asyncio.Event | None = None

    async def main() -> None:
        nonlocal stop
        stop = asyncio.Event()
        async with server:
            started.set()
            await stop.wait()

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    if not started.wait(10):
        raise RuntimeError("simulator did not start")
    try:
        yield server.url, sim
    finally:
        assert stop is not None
        loop.call_soon_threadsafe(stop.set)
        thread.join(10)
        loop.close()
