"""The databases the store tests run on, the rows they put in them, and the outbox claim as
it was before the GROUP BY (the reference the claim is compared with).

Every test runs on SQLite and on PostgreSQL. `OPSBOT_TEST_PG` names the PostgreSQL server by
an admin URL (default `postgresql+asyncpg://postgres@127.0.0.1:5432/postgres`; the older
`OPSBOT_TEST_POSTGRES_URL` is read when it is not set). Each xdist worker creates a database of
its own there (dropped at the worker's exit) and empties it before each of its tests
(`pg_database`), so that a test finds it empty and parallel workers never see each other's
rows. tests/conftest.py stops the run at once, naming the server, when it cannot be reached.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import dataclasses
import os
import re
import threading
import uuid
from collections.abc import Awaitable, Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import and_, literal, or_, select, text, update
from sqlalchemy.engine import make_url

from bot.alerts import DecidedState, OutboxItem
from bot.events import Event, EventKind
from bot.models import Account, Job, Snapshot
from bot.store import OutboxRow, Store, _req, _to_db, decode_event, outbox_table
from bot.store.schema import history_samples_table

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
LEASE = timedelta(seconds=30)

#: The variable that names the PostgreSQL server the tests create their databases on.
PG_VARIABLE = "OPSBOT_TEST_PG"
#: Its value when unset: the server every machine of the project runs (trust authentication).
PG_DEFAULT = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
PG_ADMIN_URL = (
    os.environ.get(PG_VARIABLE) or os.environ.get("OPSBOT_TEST_POSTGRES_URL") or PG_DEFAULT
)
#: Both backends, every time.
BACKENDS = ["sqlite", "postgresql"]
#: Seconds to wait for the server before the run is stopped (it is local: it answers at once).
PG_CONNECT_TIMEOUT = 5.0
#: Prefix of the databases the tests create (and nothing else is named so).
PG_PREFIX = "opsbot_t_"

_T = TypeVar("_T")


def pg_server() -> str:
    """The server of `PG_ADMIN_URL`, as a message names it (no password)."""
    url = make_url(PG_ADMIN_URL)
    return f"{url.host or 'localhost'}:{url.port or 5432}"


def _dsn(url: str) -> str:
    """An asyncpg DSN for a SQLAlchemy URL (`postgresql+asyncpg://…` → `postgresql://…`)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _off_loop(make: Callable[[], Awaitable[_T]]) -> _T:
    """Run `make()` on an event loop of its own in a thread: callable from a sync fixture
    and from inside a running loop alike, without touching the caller's loop."""
    out: list[_T] = []
    err: list[BaseException] = []

    async def main() -> None:
        out.append(await make())

    def run() -> None:
        try:
            asyncio.run(main())
        except BaseException as exc:
            err.append(exc)

    t = threading.Thread(target=run, name="pg-admin")
    t.start()
    t.join()
    if err:
        raise err[0]
    return out[0]


async def _admin(sql: str, url: str = PG_ADMIN_URL) -> None:
    import asyncpg

    conn = await asyncpg.connect(_dsn(url), timeout=PG_CONNECT_TIMEOUT)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def pg_unreachable() -> str | None:
    """Why the tests cannot use the PostgreSQL server (None: they can)."""
    try:
        import asyncpg  # noqa: F401  (the `test` extra installs it)
    except ModuleNotFoundError:
        return "asyncpg is not installed: pip install -e '.[test]'"
    try:
        _off_loop(lambda: _admin("SELECT 1"))
    except Exception as exc:
        return (
            f"PostgreSQL at {pg_server()} is not reachable ({PG_VARIABLE}={PG_ADMIN_URL}): "
            f"{type(exc).__name__}: {exc}; start it, or point {PG_VARIABLE} at one"
        )
    return None


def create_pg_database() -> str:
    """Create an empty database on the test server; returns its SQLAlchemy URL."""
    worker = re.sub(r"\W", "", os.environ.get("PYTEST_XDIST_WORKER", "main"))[:12]
    name = f"{PG_PREFIX}{worker}_{uuid.uuid4().hex[:16]}"
    _off_loop(lambda: _admin(f'CREATE DATABASE "{name}"'))
    return make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def drop_pg_database(url: str) -> None:
    """Drop a database `create_pg_database` made, whoever is still connected to it."""
    name = make_url(url).database
    assert name is not None and name.startswith(PG_PREFIX), name
    _off_loop(lambda: _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


#: This process's (this xdist worker's) database: created at its first test, dropped at exit.
_worker_url: str | None = None

#: Empties the worker's database for the next test: whoever is still connected is cut off
#: (a bot process a failed test left behind, a store it did not close), then every table goes
#: with the schema. Milliseconds, where a CREATE DATABASE per test waited ~0.25 s on the disk.
_RESET = """
SELECT pg_terminate_backend(pid) FROM pg_stat_activity
 WHERE datname = current_database() AND pid <> pg_backend_pid();
DROP SCHEMA public CASCADE;
CREATE SCHEMA public;
"""


@contextlib.contextmanager
def pg_database() -> Iterator[str]:
    """An empty database that is this test's alone: its worker's, emptied first (tests of
    one worker run one after the other; workers have a database each)."""
    global _worker_url
    if _worker_url is None:
        _worker_url = create_pg_database()
        atexit.register(drop_pg_database, _worker_url)
    url = _worker_url
    _off_loop(lambda: _admin(_RESET, url))
    yield url


@contextlib.contextmanager
def database(backend: str, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty database: a SQLite file under tmp_path, or a PostgreSQL database of
    its own (dropped at the end)."""
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path}/data/opsbot.db"
        return
    with pg_database() as url:
        yield url


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


def by_id(snapshot: Snapshot | None) -> Snapshot | None:
    """`snapshot` with its jobs and accounts in the order the store reads them back in (by id
    and by name): a snapshot's order means nothing, and the rows keep none."""
    if snapshot is None:
        return None
    return dataclasses.replace(
        snapshot,
        jobs=tuple(sorted(snapshot.jobs, key=lambda j: j.id)),
        accounts=tuple(sorted(snapshot.accounts, key=lambda a: a.account)),
    )


def through_rows(snapshot: Snapshot, stuck: frozenset[str] = frozenset()) -> Snapshot:
    """`snapshot` as a read-back of its rows would give it (`bot.store.snaprows`, no database:
    the pure halves of the write and the read)."""
    from bot.store import snaprows

    image = snaprows.change(snapshot, stuck, None).image
    return snaprows.image_snapshot(snapshot.provider, image)[0]


def legacy_snapshot_rows(
    provider: str, data: str, stuck: str | None
) -> tuple[list[dict[str, Any]], ...]:
    """The rows revision 0003 makes of a snapshot stored whole (as JSON) by older opsbots."""
    import importlib

    revision = importlib.import_module("bot.store.migrations.versions.0003_snapshot_rows")
    rows: Callable[[str, str, str | None], tuple[list[dict[str, Any]], ...]] = revision._rows
    return rows(provider, data, stuck)


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


#: A history row as `put_history` takes it: (account, at, running); account "" is the total.
HistoryRow = tuple[str, datetime, float | None]


async def put_history(
    store: Store, step: int, rows: Sequence[HistoryRow], clear: bool = True
) -> None:
    """History rows of `step` as the writer or the roll-up leaves them: (account, at, running)
    of 4 slots; account "" is the total. `clear`: the table emptied first."""
    async with store.engine.begin() as conn:
        if clear:
            await conn.execute(history_samples_table.delete())
        if rows:
            await conn.execute(
                history_samples_table.insert(),
                [
                    {
                        "provider": "pixverse",
                        "step": step,
                        "account": a,
                        "at": at.replace(tzinfo=None),
                        "running": r,
                        "max_jobs": None if r is None else 4.0,
                        "free": None if r is None else 4.0 - r,
                        "exhausted": int(r == 4.0),
                        "full_seconds": 0.0,
                    }
                    for a, at, r in rows
                ],
            )
