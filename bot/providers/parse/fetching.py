"""The one non-pure helper: two upstream calls side by side, the first failure raised as is."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

_A = TypeVar("_A")
_B = TypeVar("_B")


async def both(first: Coroutine[Any, Any, _A], second: Coroutine[Any, Any, _B]) -> tuple[_A, _B]:
    """Await two calls concurrently; if one fails, cancel the other and raise its error as is.

    Unlike a bare `TaskGroup` this raises the `UpstreamError` itself (not an ExceptionGroup),
    and unlike `gather` it does not leave the other request running. (The one non-pure
    helper here: every adapter's `snapshot()` needs it.)
    """
    try:
        async with asyncio.TaskGroup() as group:
            a = group.create_task(first)
            b = group.create_task(second)
    except BaseExceptionGroup as failed:
        raise failed.exceptions[0] from None
    return a.result(), b.result()
