"""The outbox: every event ever decided, one row per key, with its delivery state.

A row starts where the policy put it (`pending`, `muted`, `unrouted`); delivery takes a pending
one to `sent`, `held` (its channel refused it, until the route is fixed) or `failed` (given up).
Claiming rows for delivery is `bot.store.claims`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.alerts import OutboxItem, OutboxState
from bot.events import Event
from bot.store.codecs import check_id, decode_event, encode_event, from_db, to_db
from bot.store.schema import IN_CHUNK, insert, outbox_table

#: Outbox rows deleted per transaction when pruning.
PRUNE_CHUNK = 5000
#: The states of a row that is done with: never sent again, pruned once old.
FINISHED: tuple[OutboxState, ...] = ("sent", "failed", "muted", "unrouted")
#: The longest error text kept on a row.
ERROR_CHARS = 2000


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """A claimed outbox row, as the deliverer sees it."""

    id: int
    key: str
    batch: str
    channel_id: int
    mention_role_id: int | None
    event: Event
    attempts: int
    created_at: datetime
    claim: str = ""  # the claim token (see `Store.renew_claim`)
    dm: bool = False  # a direct message to user `channel_id` (`OutboxItem.dm`)


@dataclass(frozen=True, slots=True)
class HeldRow:
    key: str
    channel_id: int | None
    event: Event
    last_error: str | None


def check_items(items: Sequence[OutboxItem]) -> None:
    """Refuse an item whose channel or role is no Discord id, naming it."""
    for it in items:
        check_id(f"channel_id of {it.key!r}", it.channel_id, optional=True)
        check_id(f"mention_role_id of {it.key!r}", it.mention_role_id, optional=True)


async def queue(
    conn: AsyncConnection, items: Sequence[OutboxItem], *, batch: str, now: datetime
) -> int:
    """Insert the items whose key is new (a key already there, or twice in `items`, is
    ignored), due at `now`. Returns how many rows were new."""
    t = to_db(now)
    keys = [it.key for it in items]
    seen: set[str] = set()
    for i in range(0, len(keys), IN_CHUNK):
        seen.update(
            k
            for (k,) in await conn.execute(
                select(outbox_table.c.key).where(outbox_table.c.key.in_(keys[i : i + IN_CHUNK]))
            )
        )
    rows = []
    for it in items:
        if it.key in seen:
            continue
        seen.add(it.key)
        state: OutboxState = (
            "unrouted" if it.state == "pending" and it.channel_id is None else it.state
        )
        rows.append(
            {
                "key": it.key,
                "provider": it.event.provider,
                "kind": it.event.kind.value,
                "batch": batch,
                "channel_id": it.channel_id,
                "mention_role_id": it.mention_role_id,
                "event": encode_event(it.event),
                "state": state,
                "attempts": 0,
                "created_at": t,
                "next_attempt_at": t,
                "dm": int(it.dm),
            }
        )
    if not rows:
        return 0
    # A concurrent writer (another replica) may have inserted a key since: ignore it, and
    # count only the rows this statement inserted (two replicas queuing the same digest both
    # counted it as theirs).
    inserted = await conn.execute(
        insert(conn, outbox_table)
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(outbox_table.c.key),
        rows,
    )
    return len(inserted.all())


async def _update_keys(
    conn: AsyncConnection,
    keys: Sequence[str],
    *,
    state: OutboxState | None = None,
    claim: str | None = None,
    **values: Any,
) -> int:
    """Set `state` (when given) and `values` on the rows of these keys; with `claim`, only on
    those that claim still holds (a worker whose claim was taken over writes nothing).
    Returns how many rows changed."""
    if state is not None:
        values["state"] = state
    keys = list(keys)
    changed = 0
    for i in range(0, len(keys), IN_CHUNK):
        q = update(outbox_table).where(outbox_table.c.key.in_(keys[i : i + IN_CHUNK]))
        if claim is not None:
            q = q.where(outbox_table.c.claimed_by == claim)
        changed += int((await conn.execute(q.values(**values))).rowcount or 0)
    return changed


async def mark_sent(
    conn: AsyncConnection,
    keys: Sequence[str],
    message_id: int | None,
    now: datetime,
    claim: str | None = None,
) -> int:
    return await _update_keys(
        conn,
        keys,
        claim=claim,
        state="sent",
        sent_message_id=message_id,
        sent_at=to_db(now),
        claimed_by=None,
        claimed_until=None,
        last_error=None,
    )


async def mark_failed(
    conn: AsyncConnection,
    keys: Sequence[str],
    error: str,
    retry_at: datetime | None,
    claim: str | None = None,
) -> int:
    """Count the attempt; retry at `retry_at`, or give up for good when it is None."""
    values: dict[str, Any] = {
        "attempts": outbox_table.c.attempts + 1,
        "last_error": error[:ERROR_CHARS],
        "claimed_by": None,
        "claimed_until": None,
    }
    if retry_at is None:
        return await _update_keys(conn, keys, state="failed", claim=claim, **values)
    return await _update_keys(conn, keys, next_attempt_at=to_db(retry_at), claim=claim, **values)


async def release(
    conn: AsyncConnection,
    keys: Sequence[str],
    next_attempt_at: datetime | None,
    claim: str | None = None,
) -> int:
    """Give back claimed rows untried (optionally not before `next_attempt_at`)."""
    values: dict[str, Any] = {"claimed_by": None, "claimed_until": None}
    if next_attempt_at is not None:
        values["next_attempt_at"] = to_db(next_attempt_at)
    return await _update_keys(conn, keys, claim=claim, **values)


async def hold(
    conn: AsyncConnection, keys: Sequence[str], reason: str, claim: str | None = None
) -> int:
    return await _update_keys(
        conn,
        keys,
        claim=claim,
        state="held",
        last_error=reason[:ERROR_CHARS],
        claimed_by=None,
        claimed_until=None,
    )


async def read_held(conn: AsyncConnection, channel_id: int | None) -> list[HeldRow]:
    # Direct messages are never held (a refused one fails), so none is rerouted to a channel.
    q = select(outbox_table).where(outbox_table.c.state == "held", outbox_table.c.dm == 0)
    if channel_id is not None:
        q = q.where(outbox_table.c.channel_id == channel_id)
    rows = (await conn.execute(q.order_by(outbox_table.c.id))).all()
    return [
        HeldRow(
            key=r.key, channel_id=r.channel_id, event=decode_event(r.event), last_error=r.last_error
        )
        for r in rows
    ]


async def release_held(
    conn: AsyncConnection, channel_id: int | None, *, moves: Mapping[str, int], now: datetime
) -> int:
    """Put held rows (of `channel_id`, or all) back in the queue, due at `now`, moving the
    keys of `moves` to their new channel. Returns how many rows were released."""
    q = select(outbox_table.c.key).where(outbox_table.c.state == "held")
    if channel_id is not None:
        q = q.where(outbox_table.c.channel_id == channel_id)
    keys = [k for (k,) in await conn.execute(q)]
    # One statement per target channel and IN_CHUNK keys, not one per key: a flood held
    # for a closed channel is 10,000s of rows.
    by_channel: dict[int, list[str]] = {}
    for key in keys:
        if key in moves:
            by_channel.setdefault(moves[key], []).append(key)
    for channel, moved in by_channel.items():
        await _update_keys(conn, moved, channel_id=channel)
    for i in range(0, len(keys), IN_CHUNK):
        await conn.execute(
            update(outbox_table)
            .where(outbox_table.c.key.in_(keys[i : i + IN_CHUNK]), outbox_table.c.state == "held")
            .values(
                state="pending", next_attempt_at=to_db(now), claimed_by=None, claimed_until=None
            )
        )
    return len(keys)


async def counts(conn: AsyncConnection, states: Sequence[str] | None = None) -> dict[str, int]:
    """Rows per state; only `states` when given (then the state index answers, whatever the
    number of delivered rows kept)."""
    query = select(outbox_table.c.state, func.count()).group_by(outbox_table.c.state)
    if states is not None:
        query = query.where(outbox_table.c.state.in_(states))
    return {state: int(n) for state, n in await conn.execute(query)}


async def oldest_due(conn: AsyncConnection, now: datetime) -> datetime | None:
    """When the longest-waiting pending row fell due (its `next_attempt_at`), among those due
    at `now`; None when none is (rows backing off after a failure are not due yet)."""
    t = outbox_table.c
    found = await conn.scalar(
        select(func.min(t.next_attempt_at)).where(
            t.state == "pending", t.next_attempt_at <= to_db(now)
        )
    )
    return from_db(found)


async def present(conn: AsyncConnection, keys: Sequence[str]) -> set[str]:
    """Those of `keys` that have a row (whatever its state)."""
    t = outbox_table.c
    found: set[str] = set()
    for i in range(0, len(keys), IN_CHUNK):
        rows = await conn.execute(select(t.key).where(t.key.in_(keys[i : i + IN_CHUNK])))
        found.update(r.key for r in rows)
    return found


async def read_row(conn: AsyncConnection, key: str) -> dict[str, Any] | None:
    r = (await conn.execute(select(outbox_table).where(outbox_table.c.key == key))).first()
    if r is None:
        return None
    d = dict(r._mapping)
    for c in ("created_at", "next_attempt_at", "claimed_until", "sent_at"):
        d[c] = from_db(d[c])
    return d


async def prune_chunk(conn: AsyncConnection, before: datetime, chunk: int) -> int:
    """Delete up to `chunk` finished rows created before `before`. Returns how many."""
    old = outbox_table.alias("old").c
    oldest = (
        select(old.id).where(old.state.in_(FINISHED), old.created_at < to_db(before)).limit(chunk)
    )
    res = await conn.execute(delete(outbox_table).where(outbox_table.c.id.in_(oldest)))
    return int(res.rowcount or 0)
