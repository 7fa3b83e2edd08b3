"""Helpers for tests that run the bot as a process (`python -m bot run`) or read state it
keeps elsewhere (its database): a free port, an environment without opsbot's settings, and a
bounded wait for a condition nothing notifies about."""

from __future__ import annotations

import asyncio
import inspect
import os
import socket
import time
from collections.abc import Callable
from pathlib import Path

from bot.settings import Settings

#: The checkout (or install) `bot` is imported from: put it on a child process's PYTHONPATH.
ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def base_env() -> dict[str, str]:
    """This process's environment without any of opsbot's settings (a developer's
    DISCORD_TOKEN or DATABASE_URL must not reach the bot under test)."""
    names = {name.upper() for name in Settings.model_fields}
    return {k: v for k, v in os.environ.items() if k.upper() not in names}


async def wait_until(
    what: str, check: Callable[[], object], deadline: float, *, every: float = 0.05
) -> None:
    """Poll `check` (sync, or async returning an awaitable: state in another process or a
    database, which notifies nobody) every `every` seconds until it gives something true;
    AssertionError naming `what` once `deadline` seconds have passed."""
    end = time.monotonic() + deadline
    while True:
        result = check()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return
        if time.monotonic() > end:
            raise AssertionError(f"timed out after {deadline:g}s waiting for {what}")
        await asyncio.sleep(every)
