"""Claiming outbox rows for delivery: whole batches, a channel's rows in order, never one row
to two workers.

The claim is a conditional UPDATE (only rows nobody holds a live claim on), so two workers
never get the same row; a crashed worker's claims come back when its lease expires.

A channel's alerts go out in the order they were decided: a row is not claimed while an
earlier row of its channel waits for a retry or is out with another worker, so an "exhausted"
that failed once is not overtaken by the "restored" that followed it.

Each channel's first such row is found once (a GROUP BY), not once per row: a claim costs in
proportion to the pending rows, where the correlated NOT EXISTS it replaces grew with their
square (10,000 pending rows took 50-100 s, holding SQLite's write lock all along). Claims are
taken one at a time on PostgreSQL (a transaction-scoped advisory lock), so that a second
replica's claim sees the first one's rows as out and keeps their channel's order; on SQLite
the UPDATE runs under the write lock.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store.codecs import decode_event, req, to_db
from bot.store.outbox import OutboxRow
from bot.store.schema import outbox_table

log = logging.getLogger(__name__)

#: Key of the PostgreSQL advisory lock that takes outbox claims one at a time.
CLAIM_LOCK = 0x6F70_7362_6F74  # "opsbot"
#: How much of a worker id a claim token keeps (the column holds 128 characters).
_WORKER_CHARS = 90


def _free(t: datetime | None, c: Any = outbox_table.c) -> Any:
    """Nobody holds a live claim on the row."""
    return or_(c.claimed_until.is_(None), c.claimed_until < t)


def _claimable(t: datetime | None, token: str, batches: Sequence[str] | None = None) -> Any:
    """Subquery (id, batch, channel_id) of the rows a claim at `t` may take: pending, due,
    free, and before their channel's first blocking row.

    A blocking row is a pending row that waits for a retry or is out with a worker (a claim
    other than `token`: rows this very claim takes are not in the way of later rows of the
    same claim). Each channel's first one comes from one GROUP BY, joined once. `batches`:
    only rows of these batches (read through their index). Built on
    aliases only, so that inside an UPDATE of the table nothing is correlated to the row
    being updated (which would make it one query per row again)."""
    e = outbox_table.alias("blocking").c
    blocking = (
        select(e.channel_id, func.min(e.id).label("first_id"))
        .where(
            e.state == "pending",
            e.channel_id.is_not(None),
            or_(
                e.next_attempt_at > t,
                and_(e.claimed_until >= t, or_(e.claimed_by.is_(None), e.claimed_by != token)),
            ),
        )
        .group_by(e.channel_id)
        .subquery("first_blocking")
    )
    candidate = outbox_table.alias("candidate")
    c = candidate.c
    q = (
        select(c.id, c.batch, c.channel_id)
        .select_from(candidate.outerjoin(blocking, blocking.c.channel_id == c.channel_id))
        .where(
            c.state == "pending",
            c.next_attempt_at <= t,
            _free(t, c),
            or_(blocking.c.first_id.is_(None), c.id < blocking.c.first_id),
        )
    )
    if batches is not None:
        q = q.where(c.batch.in_(batches))
    return q.subquery("claimable")


async def claim(
    conn: AsyncConnection, *, limit: int, now: datetime, until: datetime, worker_id: str
) -> list[OutboxRow]:
    """Claim due pending rows for `worker_id` until `until`: every claimable row of each
    batch among the first `limit` claimable rows, ordered by id. A row that cannot be sent
    is retired (`failed`) in the same claim."""
    t = to_db(now)
    token = f"{worker_id[:_WORKER_CHARS]}#{uuid.uuid4().hex[:12]}"
    o = outbox_table.c
    if conn.dialect.name == "postgresql":
        await conn.execute(select(func.pg_advisory_xact_lock(CLAIM_LOCK)))
    first = _claimable(t, token)
    batches = sorted(
        {b for (b,) in await conn.execute(select(first.c.batch).order_by(first.c.id).limit(limit))}
    )
    if not batches:
        return []
    chosen = _claimable(t, token, batches)
    await conn.execute(
        update(outbox_table)
        .where(
            o.id.in_(select(chosen.c.id)),
            # Checked again on the row itself: on PostgreSQL a row another claim just
            # took is re-read here after that claim commits.
            o.state == "pending",
            _free(t),
        )
        .values(claimed_by=token, claimed_until=to_db(until))
    )
    rows = (
        await conn.execute(select(outbox_table).where(o.claimed_by == token).order_by(o.id))
    ).all()
    claimed, unusable = _outbox_rows(rows, token)
    if unusable:
        # Retired in the same claim: kept pending, they would come back every pass.
        await conn.execute(
            update(outbox_table)
            .where(o.id.in_(unusable))
            .values(
                state="failed",
                claimed_by=None,
                claimed_until=None,
                last_error="the stored row cannot be sent (see the log)",
            )
        )
    return claimed


def _outbox_rows(rows: Sequence[Any], claim: str) -> tuple[list[OutboxRow], list[int]]:
    """Claimed table rows as `OutboxRow`s, and the ids of those that cannot be sent: no
    Discord id in `channel_id` (a mention that holds none is dropped), or an event that does
    not decode. Logged here, so that one bad row neither stops the delivery of the others
    nor goes unnoticed."""
    out: list[OutboxRow] = []
    unusable: list[int] = []
    for r in rows:
        try:
            if r.channel_id is None:
                raise ValueError("its channel_id is not a Discord id")
            out.append(
                OutboxRow(
                    id=r.id,
                    key=r.key,
                    batch=r.batch,
                    channel_id=r.channel_id,
                    mention_role_id=r.mention_role_id,
                    event=decode_event(r.event),
                    attempts=r.attempts,
                    created_at=req(r.created_at),
                    claim=claim,
                    dm=bool(r.dm),
                )
            )
        except (ValueError, TypeError, KeyError, AssertionError) as exc:
            log.error("outbox row %r cannot be sent and is given up: %s", r.key, exc)
            unusable.append(r.id)
    return out, unusable


async def renew(conn: AsyncConnection, claim: str, until: datetime) -> int:
    """Extend a live claim so nobody else takes its rows. Returns the rows still held."""
    res = await conn.execute(
        update(outbox_table)
        .where(outbox_table.c.claimed_by == claim, outbox_table.c.state == "pending")
        .values(claimed_until=to_db(until))
    )
    return int(res.rowcount or 0)


async def fence(
    conn: AsyncConnection, claim: str, keys: Sequence[str], *, now: datetime, until: datetime
) -> bool:
    """The fence before a send: True when `claim` still holds every row of `keys` live at
    `now` (pending, its lease not lapsed), and then renewed until `until`. False when another
    worker took any of them over (this worker was paused or cut off from the database past
    its lease): it must not post them, whatever Discord's nonce window."""
    o = outbox_table.c
    res = await conn.execute(
        update(outbox_table)
        .where(
            o.key.in_(list(keys)),
            o.claimed_by == claim,
            o.state == "pending",
            o.claimed_until >= to_db(now),
        )
        .values(claimed_until=to_db(until))
    )
    return int(res.rowcount or 0) == len(set(keys))


async def release_claims(conn: AsyncConnection, worker_id: str) -> int:
    """Give back every row `worker_id` still holds. Returns how many."""
    prefix = f"{worker_id[:_WORKER_CHARS]}#"
    res = await conn.execute(
        update(outbox_table)
        .where(func.substr(outbox_table.c.claimed_by, 1, len(prefix)) == prefix)
        .values(claimed_by=None, claimed_until=None)
    )
    return int(res.rowcount or 0)
