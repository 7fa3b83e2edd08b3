"""Opening a database: the engine for a URL, the SQLite file behind it, and its schema.

The schema is Alembic's: hand-written revisions in `bot/store/migrations/versions/`. Opening a
database (`prepare`: `opsbot run`, `demo`, the tests) creates a new one at the newest revision,
uses one that is at it, and refuses any other in one line (`SchemaOutOfDate`: run `opsbot
migrate`; `SchemaTooNew`). `upgrade` is `opsbot migrate`: it also adopts a database from before
the revisions (a hand-versioned `opsbot_schema` table). Creating is safe when another replica
does the same at the same moment.
"""

from __future__ import annotations

import asyncio
import logging
import os
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from weakref import WeakKeyDictionary

from alembic import command, util
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Column, Integer, MetaData, Table, inspect, select, text
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import StaticPool

from bot.store.errors import SchemaOutOfDate, SchemaTooNew, StoreError
from bot.store.schema import account_health_table, metadata, untracks_table

log = logging.getLogger(__name__)

#: Alembic's environment and the revisions (`bot/store/migrations/`).
MIGRATIONS = Path(__file__).with_name("migrations")
#: The table in which opsbot kept its schema version by hand, before Alembic; and the
#: revision a database at its last version (3) is stamped with.
LEGACY_TABLE = "opsbot_schema"
LEGACY_LAST = 3
LEGACY_REVISION = "0001"
_legacy = Table(
    LEGACY_TABLE,
    MetaData(),
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("version", Integer, nullable=False),
)
#: The steps that brought a hand-versioned schema from version - 1 to version.
_LEGACY_STEPS: dict[int, Callable[[Connection], None]] = {
    2: lambda conn: untracks_table.create(conn, checkfirst=True),
    3: lambda conn: account_health_table.create(conn, checkfirst=True),
}


@dataclass(frozen=True, slots=True)
class Schema:
    """What a database holds: nothing of opsbot's (`empty`), a hand-versioned schema
    (`legacy`: its version), or an Alembic revision (`revision`). `head` is this opsbot's."""

    head: str
    empty: bool = False
    legacy: int | None = None
    revision: str | None = None

    @property
    def current(self) -> bool:
        return self.revision == self.head

    @property
    def known(self) -> bool:
        """Whether this opsbot knows the revision (an older one, or the head)."""
        return self.empty or self.legacy is not None or _known(self.revision)

    def describe(self) -> str:
        if self.empty:
            return "no opsbot tables yet"
        if self.legacy is not None:
            return f"schema version {self.legacy} (before revisions)"
        return f"schema revision {self.revision}"


def create_engine(database_url: str, *, echo: bool = False) -> tuple[AsyncEngine, str | None]:
    """The engine for `database_url`, and the absolute path of its SQLite file (None: another
    backend, or in memory). The file's directory is created."""
    url = make_url(database_url)
    kwargs: dict[str, Any] = {"echo": echo}
    file = sqlite_file(database_url)
    if url.get_backend_name() == "sqlite":
        if file is not None:
            _make_parent(file)
        else:  # one shared in-memory database
            kwargs["poolclass"] = StaticPool
        kwargs["connect_args"] = {"timeout": 30}
    else:
        kwargs["pool_pre_ping"] = True
    return create_async_engine(url, **kwargs), file


@cache
def _script() -> ScriptDirectory:
    return ScriptDirectory(str(MIGRATIONS))


def head() -> str:
    """The newest revision: what this opsbot's tables are."""
    revision = _script().get_current_head()
    assert revision is not None
    return revision


def _known(revision: str | None) -> bool:
    if revision is None:
        return False
    try:
        return _script().get_revision(revision) is not None
    except util.CommandError:  # (alembic: "No such revision")
        return False


def _config(conn: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = conn
    return config


def read_schema(conn: Connection) -> Schema:
    """What `conn`'s database holds (see `Schema`); reads only."""
    tables = set(inspect(conn).get_table_names())
    if "alembic_version" in tables:
        revision = MigrationContext.configure(conn).get_current_revision()
        return Schema(
            head(), revision=revision, empty=revision is None and not tables - {"alembic_version"}
        )
    if LEGACY_TABLE in tables:
        version = conn.execute(select(_legacy.c.version).where(_legacy.c.id == 1)).scalar()
        return Schema(head(), legacy=int(version) if version is not None else 0)
    if tables & set(metadata.tables):
        raise StoreError(
            "the database holds opsbot's tables but no schema version: point DATABASE_URL "
            "at opsbot's own database"
        )
    return Schema(head(), empty=True)


def _check(schema: Schema) -> None:
    if not schema.known or (schema.legacy is not None and schema.legacy > LEGACY_LAST):
        raise SchemaTooNew(schema.describe(), schema.head)


def _create(conn: Connection) -> Schema:
    """Open's step, in one transaction: a database without opsbot's tables gets them at the
    newest revision; one at the newest revision is used as it is; any other is refused."""
    schema = read_schema(conn)
    _check(schema)
    if schema.empty:
        command.upgrade(_config(conn), "head")
        return read_schema(conn)
    if not schema.current:
        raise SchemaOutOfDate(schema.describe(), schema.head)
    return schema


#: One migration at a time per event loop: Alembic's `context` is one global, so two run side
#: by side in one process (stores opened at once) would run in each other's; replicas are
#: processes of their own, and the database serialises them.
_locks: WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = WeakKeyDictionary()


def _one_at_a_time() -> asyncio.Lock:
    loop = asyncio.get_running_loop()
    lock = _locks.get(loop)
    if lock is None:
        lock = _locks[loop] = asyncio.Lock()
    return lock


async def prepare(engine: AsyncEngine) -> Schema:
    """Create a new database's tables at the newest revision, or check that an existing one is
    at it (`SchemaOutOfDate`: run `opsbot migrate`; `SchemaTooNew`). Safe when another replica
    does the same at the same moment."""
    for attempt in range(3):
        try:
            async with _one_at_a_time(), engine.begin() as conn:
                return await conn.run_sync(_create)
        except (IntegrityError, DBAPIError):
            # Another replica created the same tables between our look and our CREATE.
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _upgrade(conn: Connection) -> tuple[Schema, Schema]:
    before = read_schema(conn)
    _check(before)
    if before.legacy is not None:
        adopt_legacy(conn, before.legacy)
    command.upgrade(_config(conn), "head")
    return before, read_schema(conn)


def adopt_legacy(conn: Connection, version: int) -> None:
    """A hand-versioned database: bring it to its last version (3) by its own steps, stamp it
    at the revision that stands for that version, and drop the old version table."""
    for step in range(version + 1, LEGACY_LAST + 1):
        log.info("migrating the hand-versioned schema to version %d", step)
        _LEGACY_STEPS[step](conn)
    command.stamp(_config(conn), LEGACY_REVISION)
    conn.execute(text(f"DROP TABLE {LEGACY_TABLE}"))


async def upgrade(engine: AsyncEngine) -> tuple[Schema, Schema]:
    """`opsbot migrate`: bring the database to the newest revision, in one transaction (on
    PostgreSQL; SQLite commits some DDL as it goes). Returns (before, after)."""
    async with _one_at_a_time(), engine.begin() as conn:
        return await conn.run_sync(_upgrade)


async def schema_of(conn: AsyncConnection) -> Schema:
    return await conn.run_sync(read_schema)


async def stored_schema(database_url: str) -> Schema | None:
    """What the database at `database_url` holds, read without creating or changing anything
    (None: there is no database there yet). Raises SchemaTooNew when this opsbot cannot use
    it, and what the driver raises when it cannot be read."""
    url = readonly_url(database_url)
    if url is None:
        return None
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            schema = await conn.run_sync(read_schema)
    finally:
        await engine.dispose()
    _check(schema)
    return schema


def readonly_url(database_url: str) -> URL | None:
    """`database_url` opened so that nothing is created or changed (SQLite: its file in
    read-only mode); None when there is no SQLite file there yet."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        file = sqlite_file(database_url)
        if file is None or not _exists(file):
            return None
        url = url.set(
            database=f"file:{urllib.parse.quote(file)}",
            query={**url.query, "mode": "ro", "uri": "true"},
        )
    return url


def sqlite_file(database_url: str) -> str | None:
    """The absolute path of a SQLite database file (None: another backend, or in memory)."""
    url = make_url(database_url)
    db = url.database
    if url.get_backend_name() != "sqlite" or not db or db == ":memory:" or db.startswith("file:"):
        return None
    return os.path.abspath(os.path.expanduser(db))


def file_identity(file: str) -> tuple[int, int]:
    """What tells a file from another put at the same path: its (device, inode)."""
    st = os.stat(file)
    return st.st_dev, st.st_ino


def file_problem(file: str, identity: tuple[int, int]) -> str | None:
    """Why the SQLite file opened as `identity` cannot be used any more (None: it is still
    at its path). One stat: microseconds."""
    try:
        what = None if file_identity(file) == identity else "was replaced by another file"
    except FileNotFoundError:
        what = "was deleted"
    except OSError as exc:
        what = f"cannot be looked at ({exc.strerror})"
    if what is None:
        return None
    return (
        f"the database file {file} {what} while opsbot was running: nothing more is "
        f"written (a new empty database would forget which alerts were sent); put the "
        f"file back, or restart opsbot to start a new database"
    )


def _exists(file: str) -> bool:
    """(One stat: microseconds, fine on the loop.)"""
    return os.path.exists(file)


def _make_parent(db: str) -> None:
    """Create the directory of a SQLite file (a few microseconds; fine on the loop at start)."""
    Path(db).expanduser().parent.mkdir(parents=True, exist_ok=True)


def sqlite_pragmas(dbapi_connection: Any, connection_record: Any) -> None:
    """Set on every new SQLite connection."""
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
    finally:
        cursor.close()
