"""The `/board` messages the bot edits every tick: one per channel and provider."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store.codecs import ANY, opt, to_db
from bot.store.schema import boards_table, insert

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Board:
    message_id: int
    channel_id: int
    guild_id: int | None
    provider: str | None  # None: every provider


async def set_board(conn: AsyncConnection, board: Board, now: datetime) -> int | None:
    """Remember `board` in place of the board of its channel and provider. Returns the id
    of the message it replaces, if any."""
    p = board.provider or ANY
    b = boards_table.c
    # (None as well when the stored id is no Discord id: the row goes all the same.)
    old = (
        await conn.execute(
            select(b.message_id).where(b.channel_id == board.channel_id, b.provider == p)
        )
    ).scalar()
    await conn.execute(
        delete(boards_table).where(b.channel_id == board.channel_id, b.provider == p)
    )
    await conn.execute(
        insert(conn, boards_table)
        .values(
            message_id=board.message_id,
            channel_id=board.channel_id,
            guild_id=board.guild_id,
            provider=p,
            created_at=to_db(now),
        )
        .on_conflict_do_nothing(index_elements=["message_id"])
    )
    return None if old == board.message_id else old


async def read_boards(conn: AsyncConnection) -> list[Board]:
    """Every board, oldest first. A row that holds no Discord id is logged and left out."""
    rows = (await conn.execute(select(boards_table).order_by(boards_table.c.created_at))).all()
    boards = []
    for r in rows:
        if r.message_id is None or r.channel_id is None:
            log.error(
                "a stored /board row holds no Discord id (channel %s, message %s); ignored",
                r.channel_id,
                r.message_id,
            )
            continue
        boards.append(
            Board(
                message_id=r.message_id,
                channel_id=r.channel_id,
                guild_id=r.guild_id,
                provider=opt(r.provider),
            )
        )
    return boards


async def remove_board(conn: AsyncConnection, message_id: int) -> bool:
    res = await conn.execute(delete(boards_table).where(boards_table.c.message_id == message_id))
    return bool(res.rowcount)
