"""Opening a database: the engine for a URL, the SQLite file behind it, the schema's version.

Creating or bringing the schema up to date (`migrate`) is safe when another replica does the
same at the same moment.
"""

from __future__ import annotations

import logging
import os
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import inspect, select, update
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import StaticPool

from bot.store.errors import SchemaTooNew
from bot.store.schema import (
    SCHEMA_VERSION,
    account_health_table,
    insert,
    metadata,
    schema_table,
    untracks_table,
)

log = logging.getLogger(__name__)

#: version → step that brings a schema at `version - 1` to `version` (run inside one transaction).
MIGRATIONS: dict[int, Callable[[Connection], None]] = {
    # 2: `job_untracks` (create_all made it already; kept for a schema built by hand)
    2: lambda conn: untracks_table.create(conn, checkfirst=True),
    # 3: the account checks' table (create_all has made it already; this says so).
    3: lambda conn: account_health_table.create(conn, checkfirst=True),
}


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


async def migrate(engine: AsyncEngine) -> None:
    """Create the tables that are missing, then bring the schema to `SCHEMA_VERSION`."""
    for attempt in range(3):
        try:
            async with engine.begin() as conn:
                await conn.run_sync(metadata.create_all, checkfirst=True)
            break
        except (IntegrityError, DBAPIError):
            # Another replica created the same tables between our check and our CREATE.
            if attempt == 2:
                raise
    async with engine.begin() as conn:
        await conn.execute(
            insert(conn, schema_table)
            .values(id=1, version=SCHEMA_VERSION)
            .on_conflict_do_nothing(index_elements=["id"])
        )
        version = (
            await conn.execute(select(schema_table.c.version).where(schema_table.c.id == 1))
        ).scalar_one()
        if version > SCHEMA_VERSION:
            raise SchemaTooNew(version)
        while version < SCHEMA_VERSION:
            version += 1
            log.info("migrating database schema to version %d", version)
            await conn.run_sync(MIGRATIONS[version])
            await conn.execute(
                update(schema_table).where(schema_table.c.id == 1).values(version=version)
            )


async def schema_version(conn: AsyncConnection) -> int:
    return int((await conn.execute(select(schema_table.c.version))).scalar_one())


async def stored_schema(database_url: str) -> int | None:
    """The schema version of the database at `database_url`, read without creating or
    changing anything (None: no opsbot database there yet). Raises SchemaTooNew when this
    opsbot cannot use it, and what the driver raises when it cannot be read."""
    url = readonly_url(database_url)
    if url is None:
        return None
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            if not await conn.run_sync(lambda c: inspect(c).has_table(schema_table.name)):
                return None
            version = (
                await conn.execute(select(schema_table.c.version).where(schema_table.c.id == 1))
            ).scalar()
    finally:
        await engine.dispose()
    if version is not None and version > SCHEMA_VERSION:
        raise SchemaTooNew(version)
    return None if version is None else int(version)


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
