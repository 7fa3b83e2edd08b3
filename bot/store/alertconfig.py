"""The `/alerts` configuration: routes (kind/provider → channel), mutes, role mentions, and
each member's `/alerts notify` choice.

A None provider or kind ("any") is stored as `ANY` in its key column.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import DateTime, Text, delete, literal, null, select, type_coerce, union_all
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.alerts import NOTIFY_CHOICES, AlertConfig, Mention, Mute, Notify, Route
from bot.events import EventKind
from bot.store.codecs import ANY, from_db, opt, to_db
from bot.store.schema import insert, mentions_table, mutes_table, notify_table, routes_table

log = logging.getLogger(__name__)


async def read_config(conn: AsyncConnection, now: datetime) -> AlertConfig:
    """Routes, the mutes active at `now`, and mentions. A route or mention that holds no
    Discord id is logged and left out."""
    # The three small tables in one statement: every tick of every provider reads them,
    # and each statement costs about a millisecond of CPU (four trips to aiosqlite's
    # thread). Column `n` is a route's channel or a mention's role.
    r, m, n, u = routes_table.c, mutes_table.c, mentions_table.c, notify_table.c
    rows = await conn.execute(
        union_all(
            select(
                literal("r").label("t"),
                r.kind,
                r.provider,
                r.channel_id.label("n"),
                type_coerce(null(), DateTime).label("until"),
                type_coerce(null(), Text).label("reason"),
            ),
            select(literal("m"), m.kind, m.provider, null(), m.until, m.reason),
            select(literal("n"), n.kind, n.provider, n.role_id, null(), null()),
            # a notify choice: its `how` in the kind column, its user in `n`
            select(literal("u"), u.how, literal(ANY), u.user_id, null(), null()),
        )
    )
    routes: list[Route] = []
    mutes: list[Mute] = []
    mentions: list[Mention] = []
    notify: dict[int, Notify] = {}
    for table, kind, provider, number, until, reason in rows:
        if table == "u":
            if number is not None and kind in NOTIFY_CHOICES:
                notify[number] = kind
            continue
        if table != "m" and number is None:
            log.error(
                "a stored alert %s for %s/%s holds no Discord id; ignored",
                "route" if table == "r" else "mention",
                kind,
                provider or "any",
            )
            continue
        if table == "r":
            routes.append(Route(kind=EventKind(kind), provider=opt(provider), channel_id=number))
        elif table == "m":
            mute = Mute(
                provider=opt(provider),
                kind=EventKind(kind) if kind else None,
                until=from_db(until),
                reason=reason,
            )
            if mute.active(now):
                mutes.append(mute)
        else:
            mentions.append(Mention(kind=EventKind(kind), provider=opt(provider), role_id=number))
    return AlertConfig(
        routes=tuple(routes), mutes=tuple(mutes), mentions=tuple(mentions), notify=notify
    )


# --------------------------------------------------------------------------- routes


async def set_route(
    conn: AsyncConnection, kind: EventKind, provider: str | None, channel_id: int, now: datetime
) -> None:
    ins = insert(conn, routes_table).values(
        kind=kind.value, provider=provider or ANY, channel_id=channel_id, updated_at=to_db(now)
    )
    await conn.execute(
        ins.on_conflict_do_update(
            index_elements=["kind", "provider"],
            set_={"channel_id": ins.excluded.channel_id, "updated_at": ins.excluded.updated_at},
        )
    )


async def remove_route(conn: AsyncConnection, kind: EventKind, provider: str | None) -> bool:
    res = await conn.execute(
        delete(routes_table).where(
            routes_table.c.kind == kind.value, routes_table.c.provider == (provider or ANY)
        )
    )
    return bool(res.rowcount)


# --------------------------------------------------------------------------- mutes


async def mute(
    conn: AsyncConnection,
    provider: str | None,
    kind: EventKind | None,
    until: datetime | None,
    reason: str | None,
    now: datetime,
) -> None:
    """Replaces an existing mute of the same provider and kind."""
    ins = insert(conn, mutes_table).values(
        provider=provider or ANY,
        kind=kind.value if kind else ANY,
        until=to_db(until),
        reason=reason,
        created_at=to_db(now),
    )
    await conn.execute(
        ins.on_conflict_do_update(
            index_elements=["provider", "kind"],
            set_={
                "until": ins.excluded.until,
                "reason": ins.excluded.reason,
                "created_at": ins.excluded.created_at,
            },
        )
    )


async def unmute(conn: AsyncConnection, provider: str | None, kind: EventKind | None) -> int:
    """Remove every mute of `provider` and/or `kind` (a given value matches that column;
    None matches any). Returns rows removed."""
    q = delete(mutes_table)
    if provider is not None:
        q = q.where(mutes_table.c.provider == provider)
    if kind is not None:
        q = q.where(mutes_table.c.kind == kind.value)
    return int((await conn.execute(q)).rowcount or 0)


async def clear_mutes(conn: AsyncConnection) -> int:
    return int((await conn.execute(delete(mutes_table))).rowcount or 0)


async def read_mutes(conn: AsyncConnection) -> list[Mute]:
    """Every stored mute, expired ones included."""
    return [
        Mute(
            provider=opt(r.provider),
            kind=EventKind(r.kind) if r.kind else None,
            until=from_db(r.until),
            reason=r.reason,
        )
        for r in await conn.execute(select(mutes_table))
    ]


async def prune_mutes(conn: AsyncConnection, now: datetime) -> int:
    """Delete the mutes that have ended by `now`."""
    res = await conn.execute(
        delete(mutes_table).where(
            mutes_table.c.until.is_not(None), mutes_table.c.until <= to_db(now)
        )
    )
    return int(res.rowcount or 0)


# --------------------------------------------------------------------------- mentions


async def set_mention(
    conn: AsyncConnection, kind: EventKind, role_id: int | None, provider: str | None
) -> None:
    """Mention `role_id` in alerts of `kind` (None: stop mentioning)."""
    if role_id is None:
        await conn.execute(
            delete(mentions_table).where(
                mentions_table.c.kind == kind.value, mentions_table.c.provider == (provider or ANY)
            )
        )
        return
    ins = insert(conn, mentions_table).values(
        kind=kind.value, provider=provider or ANY, role_id=role_id
    )
    await conn.execute(
        ins.on_conflict_do_update(
            index_elements=["kind", "provider"], set_={"role_id": ins.excluded.role_id}
        )
    )


# --------------------------------------------------------------------------- notify


async def set_notify(conn: AsyncConnection, user_id: int, how: Notify, now: datetime) -> None:
    """Record how `user_id` is told of their own jobs (replaces an earlier choice)."""
    ins = insert(conn, notify_table).values(user_id=user_id, how=how, updated_at=to_db(now))
    await conn.execute(
        ins.on_conflict_do_update(
            index_elements=["user_id"],
            set_={"how": ins.excluded.how, "updated_at": ins.excluded.updated_at},
        )
    )


async def read_notify(conn: AsyncConnection, user_id: int) -> Notify | None:
    """`user_id`'s choice, None when they never made one (or it is not one this opsbot knows)."""
    how = await conn.scalar(select(notify_table.c.how).where(notify_table.c.user_id == user_id))
    return how if how in NOTIFY_CHOICES else None
