"""The databases the store tests run on, the rows they put in them, and the outbox claim as
it was before the GROUP BY (the reference the claim is compared with).

SQLite always; PostgreSQL too when OPSBOT_TEST_POSTGRES_URL names a database (for example
postgresql+asyncpg://postgres@127.0.0.1:5432/test): its opsbot tables are dropped first, so
point it at a database of your own.
"""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import and_, literal, or_, select, text, update

from bot.alerts import DecidedState, OutboxItem
from bot.events import Event, EventKind
from bot.models import Account, Job, Snapshot
from bot.store import OutboxRow, Store, _req, _to_db, decode_event, metadata, outbox_table

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
LEASE = timedelta(seconds=30)

PG_URL = os.environ.get("OPSBOT_TEST_POSTGRES_URL")
#: PostgreSQL runs only when configured (no skip noise otherwise).
BACKENDS = ["sqlite", *(["postgresql"] if PG_URL else [])]


async def fresh_url(backend: str, tmp_path: Path) -> str:
    """A URL for an empty database: a SQLite file under tmp_path, or the PostgreSQL test
    database with the opsbot tables dropped."""
    if backend == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path}/data/opsbot.db"
    if not PG_URL:
        raise LookupError("no PostgreSQL database: set OPSBOT_TEST_POSTGRES_URL")
    from sqlalchemy.ext.asyncio import create_async_engine

    try:
        engine = create_async_engine(PG_URL)
    except ModuleNotFoundError as exc:  # asyncpg: the `postgres` extra
        raise LookupError(
            f"OPSBOT_TEST_POSTGRES_URL is set but {exc.name} is not installed: "
            "pip install -e '.[postgres]'"
        ) from None
    async with engine.begin() as conn:
        await conn.run_sync(metadata.drop_all)
        # Alembic's version table, and the hand-kept one of older databases (rig.legacy).
        await conn.execute(text("DROP TABLE IF EXISTS alembic_version, opsbot_schema"))
    await engine.dispose()
    return PG_URL


#: A database as opsbot left it before the revisions: hand-versioned schema 3, with one of
#: everything in it (`rig.legacy`; tests/data/schema3/README.md).
LEGACY_DUMPS = Path(__file__).resolve().parent.parent / "tests" / "data" / "schema3"


async def load_legacy(url: str) -> None:
    """Load the schema-3 dump of `url`'s backend into its (empty) database."""
    from bot.store.database import create_engine

    sql_file = "postgresql.sql" if url.startswith("postgresql") else "sqlite.sql"
    script = (LEGACY_DUMPS / sql_file).read_text(encoding="utf-8")
    engine, _ = create_engine(url)  # its own: the dump changes the session's settings
    try:
        async with engine.begin() as conn:
            raw: Any = (await conn.get_raw_connection()).driver_connection
            if url.startswith("postgresql"):
                # pg_dump's psql meta-commands (`\restrict …`) are psql's, not SQL
                sql = "\n".join(s for s in script.splitlines() if not s.startswith("\\"))
                await raw.execute(sql)  # asyncpg: many statements, no parameters
            else:
                await raw.executescript(script)
    finally:
        await engine.dispose()


async def stamp(store: Store, revision: str) -> None:
    """Make the store's database say it is at `revision` (a newer opsbot's, say)."""
    async with store.engine.begin() as conn:
        await conn.execute(text("UPDATE alembic_version SET version_num = :r"), {"r": revision})


def event(key: str, kind: EventKind = EventKind.JOB, provider: str = "pixverse") -> Event:
    return Event(
        key=key,
        kind=kind,
        provider=provider,
        word="completed",
        at=T0,
        job_id=key,
        urls=("https://x/y.mp4",),
        extra={"kind": "video"},
    )


def item(
    key: str, channel: int | None = 100, state: DecidedState = "pending", mention: int | None = None
) -> OutboxItem:
    return OutboxItem(event(key), channel, mention, state)


def big_snapshot(n: int) -> Snapshot:
    """A PixVerse snapshot of `n` jobs on 500 accounts, as a busy team's."""
    jobs = tuple(
        Job(
            "pixverse",
            f"user:1-pixverse:acct{i % 500}@example.com-video:{i}",
            kind="video",
            account=f"acct{i % 500}@example.com",
            started=T0 - timedelta(seconds=i),
            elapsed_seconds=i,
            model="v4.5",
        )
        for i in range(n)
    )
    accounts = tuple(Account(f"acct{i}@example.com", 5, 4, 1) for i in range(500))
    return Snapshot("pixverse", T0, jobs, accounts)


async def reference_claim(
    store: Store, *, limit: int, now: datetime, worker_id: str, lease: timedelta
) -> list[OutboxRow]:
    """`Store.claim_outbox` as it was before the GROUP BY (commit 39332a3): quadratic in the
    pending rows of a channel, but the definition of what a claim takes."""
    t, until = _to_db(now), _to_db(now + lease)
    token = f"{worker_id[:90]}#{uuid.uuid4().hex[:12]}"
    o = outbox_table.c
    free = or_(o.claimed_until.is_(None), o.claimed_until < t)
    e = outbox_table.alias("earlier").c
    blocking = select(literal(1)).where(
        e.state == "pending",
        e.channel_id == o.channel_id,
        e.id < o.id,
        or_(
            e.next_attempt_at > t,
            and_(e.claimed_until >= t, or_(e.claimed_by.is_(None), e.claimed_by != token)),
        ),
    )
    due = and_(o.state == "pending", o.next_attempt_at <= t, free, ~blocking.exists())
    async with store.engine.begin() as conn:
        batches = sorted(
            {
                b
                for (b,) in await conn.execute(
                    select(outbox_table.c.batch).where(due).order_by(outbox_table.c.id).limit(limit)
                )
            }
        )
        if not batches:
            return []
        await conn.execute(
            update(outbox_table)
            .where(due, outbox_table.c.batch.in_(batches))
            .values(claimed_by=token, claimed_until=until)
        )
        rows = (
            await conn.execute(
                select(outbox_table)
                .where(outbox_table.c.claimed_by == token)
                .order_by(outbox_table.c.id)
            )
        ).all()
    return [
        OutboxRow(
            id=r.id,
            key=r.key,
            batch=r.batch,
            channel_id=r.channel_id,
            mention_role_id=r.mention_role_id,
            event=decode_event(r.event),
            attempts=r.attempts,
            created_at=_req(r.created_at),
            claim=token,
        )
        for r in rows
    ]
