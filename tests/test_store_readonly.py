"""`Store.open_readonly` (what `opsbot check` reads the routes and boards with): nothing is
created or migrated, on every configured backend."""

from __future__ import annotations

import asyncio
import os

from bot.alerts import Route
from bot.events import EventKind
from bot.store import Store
from bot.store.boards import Board
from bot.store.database import sqlite_file


async def test_no_database_yet_is_none_and_stays_absent(url: str) -> None:
    file = sqlite_file(url)
    assert await Store.open_readonly(url) is None
    if file is not None:  # SQLite: not even the file was made
        assert not await asyncio.to_thread(os.path.exists, file)


async def test_reads_routes_and_boards_as_they_are(url: str) -> None:
    store = await Store.open(url)
    try:
        await store.set_route(EventKind.JOB, "pixverse", 1200000000000000201)
        await store.set_board(1200000000000000202, None, 1200000000000000401, guild_id=7)
    finally:
        await store.close()
    file = sqlite_file(url)
    before = os.stat(file).st_mtime_ns if file is not None else None
    readonly = await Store.open_readonly(url)
    assert readonly is not None
    try:
        assert await readonly.routes() == [Route(EventKind.JOB, "pixverse", 1200000000000000201)]
        assert await readonly.boards() == [Board(1200000000000000401, 1200000000000000202, 7, None)]
    finally:
        await readonly.close()
    if file is not None:
        assert os.stat(file).st_mtime_ns == before
