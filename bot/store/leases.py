"""Named leases: who leads a job across replicas (one watcher per provider)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store.codecs import to_db
from bot.store.schema import insert, leases_table


async def acquire(
    conn: AsyncConnection,
    name: str,
    holder: str,
    *,
    now: datetime,
    until: datetime,
    replacing: str | None,
) -> bool:
    """Take or renew lease `name` for `holder` until `until`. False: someone else holds it.
    `replacing`: take it from that holder even before it expires (it is known gone)."""
    t = to_db(now)
    lc = leases_table.c
    mine = or_(lc.holder == holder, lc.until < t)
    if replacing is not None:
        mine = or_(mine, lc.holder == replacing)
    await conn.execute(
        insert(conn, leases_table)
        .values(name=name, holder=holder, until=to_db(until))
        .on_conflict_do_nothing(index_elements=["name"])
    )
    res = await conn.execute(
        update(leases_table).where(lc.name == name, mine).values(holder=holder, until=to_db(until))
    )
    return bool(res.rowcount)


async def holds(conn: AsyncConnection, name: str, holder: str) -> bool:
    """The fence of a write made as the lease's holder, inside the write's transaction:
    whether `holder` still holds lease `name`. On PostgreSQL the lease row stays locked
    until the transaction ends, so a takeover waits for this write instead of racing it (on
    SQLite the write lock does the same)."""
    current = (
        await conn.execute(
            select(leases_table.c.holder).where(leases_table.c.name == name).with_for_update()
        )
    ).scalar()
    return current == holder


async def holder(conn: AsyncConnection, name: str) -> str | None:
    return (
        await conn.execute(select(leases_table.c.holder).where(leases_table.c.name == name))
    ).scalar()


async def release(conn: AsyncConnection, name: str, holder: str) -> None:
    await conn.execute(
        delete(leases_table).where(leases_table.c.name == name, leases_table.c.holder == holder)
    )
