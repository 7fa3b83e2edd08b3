"""Jobs untracked from Discord (`/cancel`, the *Untrack* button): who asked and when, so that
the watcher reports such a job `cancelled` when it leaves the queue instead of asking useapi,
whose job endpoint may still say running or completed (the generation may go on upstream)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store.codecs import req, to_db
from bot.store.schema import IN_CHUNK, insert, untracks_table

#: Rows older than this are dropped when a new one is written: a job left the queue long
#: before (and its `cancelled` alert key in the outbox keeps it from being told twice).
KEEP_UNTRACKS = timedelta(days=30)


@dataclass(frozen=True, slots=True)
class Untrack:
    """`job_id` of `provider` was untracked by Discord user `by` at `at`."""

    provider: str
    job_id: str
    by: int
    at: datetime


async def record(conn: AsyncConnection, u: Untrack) -> None:
    """Remember `u` (the first record of a job stands); forget the rows past KEEP_UNTRACKS."""
    t = untracks_table.c
    await conn.execute(delete(untracks_table).where(t.at < to_db(u.at - KEEP_UNTRACKS)))
    await conn.execute(
        insert(conn, untracks_table)
        .values(provider=u.provider, job_id=u.job_id, by_user=u.by, at=to_db(u.at))
        .on_conflict_do_nothing(index_elements=["provider", "job_id"])
    )


async def read(conn: AsyncConnection, provider: str, job_ids: Sequence[str]) -> dict[str, Untrack]:
    """The records of those of `job_ids` that were untracked, by job id."""
    t = untracks_table.c
    found: dict[str, Untrack] = {}
    ids = list(dict.fromkeys(job_ids))
    for i in range(0, len(ids), IN_CHUNK):
        rows = await conn.execute(
            select(t.job_id, t.by_user, t.at).where(
                t.provider == provider, t.job_id.in_(ids[i : i + IN_CHUNK])
            )
        )
        for r in rows:
            if r.by_user is None:  # not a Discord id (a hand-edited row): who is unknown
                continue
            found[r.job_id] = Untrack(provider, r.job_id, r.by_user, req(r.at))
    return found
