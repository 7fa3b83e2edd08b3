"""Persistent state, and the only module that knows SQL.

SQLAlchemy 2 Core over an async engine: SQLite through aiosqlite by default, PostgreSQL through
asyncpg by the same code (dialect differences are confined to `_insert`). Tables:

* `opsbot_schema`   – one row: the schema version (created or migrated at `Store.open`)
* `watch_snapshots` – the last committed snapshot per provider (+ the ids reported stuck)
* `watch_pending`   – jobs that left the executing list and still await an outcome
* `alert_states`    – flap-damping / announced state per provider and scope
* `alert_outbox`    – every event ever decided (key unique), with its delivery state
* `alert_routes`, `alert_mutes`, `alert_mentions` – the `/alerts` configuration
* `board_messages`  – the `/board` messages the bot edits every tick
* `leases`          – who leads a named job (one watcher per provider across replicas)

Times are stored as naive UTC and handed out as aware UTC.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import os
import urllib.parse
import uuid
from collections.abc import Callable, Coroutine, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    and_,
    bindparam,
    delete,
    event,
    func,
    inspect,
    literal,
    null,
    or_,
    select,
    type_coerce,
    union_all,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import StaticPool
from sqlalchemy.sql.dml import Insert

from bot.alerts import AlertConfig, AlertState, Mention, Mute, OutboxItem, OutboxState, Route
from bot.events import Event, EventKind
from bot.fastjson import dumps, loads
from bot.models import MAX_ELAPSED_SECONDS, Account, Job, Snapshot, make_job
from bot.snowflake import RANGE_TEXT, is_snowflake

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1

_ID = BigInteger().with_variant(Integer(), "sqlite")  # autoincrement on both
_TWO_64 = 1 << 64
_INT64 = range(-(1 << 63), 1 << 63)


class Snowflake(TypeDecorator[int]):
    """A Discord id (unsigned 64-bit, never 0) in a signed 64-bit BIGINT column: ids from 2**63
    up are stored as their two's complement (negative), so the whole range fits on both
    backends and ids below 2**63 are stored as they always were (no migration).

    Writing anything else raises ValueError (the store's methods check first, to name the
    argument). A stored value that maps to no Discord id (0, or on SQLite a real or a text
    someone put there) reads as None, and the readers skip or retire that row."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: int | None, dialect: Any) -> int | None:
        if value is None:
            return None
        _check_id("Discord id", value)
        return value - _TWO_64 if value >= 1 << 63 else value

    def process_result_value(self, value: Any, dialect: Any) -> int | None:
        if type(value) is not int or value not in _INT64 or value == 0:
            return None
        return value + _TWO_64 if value < 0 else value


def _check_id(name: str, value: object, *, optional: bool = False) -> None:
    """Refuse what is not a Discord id before it reaches SQL (where an int beyond 64 bits
    fails as "Python int too large" in the middle of a transaction)."""
    if (value is None and optional) or is_snowflake(value):
        return
    raise ValueError(f"{name}: {value!r} is not {RANGE_TEXT}")

_ANY = ""  # stored in place of None in key columns ("any provider", "any kind")

metadata = MetaData()

schema_table = Table(
    "opsbot_schema", metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("version", Integer, nullable=False),
)

snapshots_table = Table(
    "watch_snapshots", metadata,
    Column("provider", String(64), primary_key=True),
    Column("taken_at", DateTime, nullable=False),
    Column("data", Text, nullable=False),
    Column("stuck", Text, nullable=False, default="[]"),
    Column("updated_at", DateTime, nullable=False),
)

pending_table = Table(
    "watch_pending", metadata,
    Column("provider", String(64), nullable=False),
    Column("job_id", Text, nullable=False),
    Column("job", Text, nullable=False),
    Column("left_at", DateTime, nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_error", Text),
    PrimaryKeyConstraint("provider", "job_id"),
)

states_table = Table(
    "alert_states", metadata,
    Column("provider", String(64), nullable=False),
    Column("scope", Text, nullable=False),
    Column("raw", String(64), nullable=False),
    Column("streak", Integer, nullable=False),
    Column("since", DateTime),
    Column("announced", String(64)),
    Column("episode", Integer, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    PrimaryKeyConstraint("provider", "scope"),
)

outbox_table = Table(
    "alert_outbox", metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("key", Text, nullable=False),
    Column("provider", String(64), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("batch", String(128), nullable=False),
    Column("channel_id", Snowflake),
    Column("mention_role_id", Snowflake),
    Column("event", Text, nullable=False),
    Column("state", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("created_at", DateTime, nullable=False),
    Column("next_attempt_at", DateTime, nullable=False),
    Column("claimed_by", String(128)),
    Column("claimed_until", DateTime),
    Column("last_error", Text),
    Column("sent_message_id", Snowflake),
    Column("sent_at", DateTime),
    UniqueConstraint("key", name="uq_alert_outbox_key"),
    Index("ix_alert_outbox_due", "state", "next_attempt_at"),
    Index("ix_alert_outbox_batch", "batch"),
    Index("ix_alert_outbox_claim", "claimed_by"),
)

routes_table = Table(
    "alert_routes", metadata,
    Column("kind", String(16), nullable=False),
    Column("provider", String(64), nullable=False),
    Column("channel_id", Snowflake, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    PrimaryKeyConstraint("kind", "provider"),
)

mutes_table = Table(
    "alert_mutes", metadata,
    Column("provider", String(64), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("until", DateTime),
    Column("reason", Text),
    Column("created_at", DateTime, nullable=False),
    PrimaryKeyConstraint("provider", "kind"),
)

mentions_table = Table(
    "alert_mentions", metadata,
    Column("kind", String(16), nullable=False),
    Column("provider", String(64), nullable=False),
    Column("role_id", Snowflake, nullable=False),
    PrimaryKeyConstraint("kind", "provider"),
)

boards_table = Table(
    "board_messages", metadata,
    Column("message_id", Snowflake, primary_key=True, autoincrement=False),
    Column("channel_id", Snowflake, nullable=False),
    Column("guild_id", Snowflake),
    Column("provider", String(64), nullable=False),
    Column("created_at", DateTime, nullable=False),
    UniqueConstraint("channel_id", "provider", name="uq_board_channel_provider"),
)

leases_table = Table(
    "leases", metadata,
    Column("name", String(128), primary_key=True),
    Column("holder", String(128), nullable=False),
    Column("until", DateTime, nullable=False),
)

#: version → step that brings a schema at `version - 1` to `version` (run inside one transaction).
_MIGRATIONS: dict[int, Callable[[Connection], None]] = {}


# --------------------------------------------------------------------------- errors

class StoreError(Exception):
    """The database cannot be used as it is. The message is one line for a human."""


class SchemaTooNew(StoreError):
    """The database was written by a newer opsbot (its schema version is higher than ours)."""

    def __init__(self, found: int, supported: int = SCHEMA_VERSION) -> None:
        super().__init__(f"database schema version {found} is newer than this opsbot "
                         f"({supported}): upgrade opsbot or point DATABASE_URL at another "
                         f"database")
        self.found = found
        self.supported = supported


class DatabaseGone(StoreError):
    """The SQLite file the store opened was deleted or replaced while the bot ran. Nothing is
    written any more: SQLite would go on writing into the deleted file (lost at exit), and a
    new connection would start a new empty database that has forgotten every alert it sent."""


# --------------------------------------------------------------------------- plain data

@dataclass(frozen=True, slots=True)
class PendingJob:
    """A job that left the executing list at `left_at` and still awaits its outcome."""

    job: Job
    left_at: datetime
    attempts: int = 0
    last_error: str | None = None


@dataclass(frozen=True, slots=True)
class WatchState:
    """What one provider's watcher needs from the store at the start of a tick."""

    snapshot: Snapshot | None
    stuck_ids: frozenset[str]
    pending: tuple[PendingJob, ...]
    states: dict[str, AlertState]
    config: AlertConfig


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
    claim: str = ""  # the claim token (see `renew_claim`)


@dataclass(frozen=True, slots=True)
class HeldRow:
    key: str
    channel_id: int | None
    event: Event
    last_error: str | None


@dataclass(frozen=True, slots=True)
class Board:
    message_id: int
    channel_id: int
    guild_id: int | None
    provider: str | None  # None: every provider


# --------------------------------------------------------------------------- codecs

def _to_db(dt: datetime | None) -> datetime | None:
    if dt is None:
        return None
    if dt.tzinfo is not None:
        dt = dt.astimezone(UTC).replace(tzinfo=None)
    return dt


def _from_db(dt: datetime | None) -> datetime | None:
    if dt is None:
        return None
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def _req(dt: datetime | None) -> datetime:
    out = _from_db(dt)
    assert out is not None
    return out


def _ts(dt: datetime | None) -> float | None:
    if dt is None:
        return None
    return (dt if dt.tzinfo else dt.replace(tzinfo=UTC)).timestamp()


def _dt(ts: float | None) -> datetime | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC)


def _job_row(j: Job) -> list[Any]:
    started = j.started
    return [j.id, j.kind, j.account, None if started is None else _ts(started),
            j.elapsed_seconds, j.model]


def _row_job(provider: str, r: Sequence[Any]) -> Job:
    # Elapsed bounded again on the way back: a snapshot stored by older code may not be.
    elapsed = r[4] if r[4] is None or r[4] <= MAX_ELAPSED_SECONDS else MAX_ELAPSED_SECONDS
    return make_job(provider, r[0], r[1], r[2], _dt(r[3]), elapsed, r[5])


def encode_snapshot(s: Snapshot) -> str:
    """Compact JSON: jobs and accounts as arrays, times as epoch seconds."""
    return dumps({
        "v": 1,
        "t": _ts(s.taken_at),
        # `_job_row` inlined: every job of every provider, every tick
        "j": [[j.id, j.kind, j.account,
               None if (t := j.started) is None else t.timestamp() if t.tzinfo else _ts(t),
               j.elapsed_seconds, j.model] for j in s.jobs],
        "a": [[a.account, a.max_jobs, a.executing, a.available] for a in s.accounts],
    })


def decode_snapshot(provider: str, text: str) -> Snapshot:
    d = loads(text)
    return Snapshot(
        provider=provider,
        taken_at=datetime.fromtimestamp(d["t"], UTC),
        jobs=tuple(_row_job(provider, r) for r in d["j"]),
        accounts=tuple(Account(account=a[0], max_jobs=a[1], executing=a[2], available=a[3])
                       for a in d["a"]),
    )


def encode_event(e: Event) -> str:
    return json.dumps({
        "key": e.key, "kind": e.kind.value, "provider": e.provider, "word": e.word,
        "at": e.at.isoformat(), "job_id": e.job_id, "account": e.account, "detail": e.detail,
        "urls": list(e.urls), "extra": e.extra,
    }, separators=(",", ":"))


def decode_event(text: str) -> Event:
    d = loads(text)
    at = datetime.fromisoformat(d["at"])
    return Event(key=d["key"], kind=EventKind(d["kind"]), provider=d["provider"], word=d["word"],
                 at=at if at.tzinfo else at.replace(tzinfo=UTC), job_id=d.get("job_id"),
                 account=d.get("account"), detail=d.get("detail"),
                 urls=tuple(d.get("urls") or ()), extra=dict(d.get("extra") or {}))


def _stuck_ids(text: str) -> frozenset[str]:
    """The `stuck` column: a JSON array of job ids."""
    return frozenset(loads(text))


def _opt(value: str) -> str | None:
    return None if value == _ANY else value


# --------------------------------------------------------------------------- the store

_P = ParamSpec("_P")
_T = TypeVar("_T")
#: How long `Store.close` waits for operations whose callers were cancelled.
CLOSE_GRACE_SECONDS = 5.0
#: Outbox rows deleted per transaction when pruning.
PRUNE_CHUNK = 5000


def _uncancelled(
    fn: Callable[Concatenate[Store, _P], Coroutine[Any, Any, _T]],
) -> Callable[Concatenate[Store, _P], Coroutine[Any, Any, _T]]:
    """Run a store operation to its end even when its caller is cancelled (the caller stops
    waiting at once).

    A transaction cut at an `await` makes SQLAlchemy invalidate its connection, and with
    aiosqlite that was seen to leave SQLite's write lock held (in CI, and in about one run in
    three of a start-then-stop test under load here) until the garbage collector happened to
    free the connection: every other writer waited out the busy timeout, "database is
    locked". Letting the few milliseconds of SQL finish keeps every transaction whole."""

    @functools.wraps(fn)
    async def run(self: Store, /, *args: _P.args, **kwargs: _P.kwargs) -> _T:
        self.check_file()
        task = asyncio.ensure_future(fn(self, *args, **kwargs))
        self._inflight.add(task)
        task.add_done_callback(self._settled)
        return await asyncio.shield(task)

    return run


class Store:
    """All persistent state. Open with `await Store.open(url)`; `await store.close()`."""

    def __init__(self, engine: AsyncEngine, *, file: str | None = None) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        self._inflight: set[asyncio.Future[Any]] = set()
        #: The SQLite file (absolute path), and the (device, inode) it had once opened.
        self.file = file
        self._identity: tuple[int, int] | None = None

    @classmethod
    async def open(cls, database_url: str, *, echo: bool = False) -> Store:
        """Connect, create or migrate the schema. Safe when another replica does the same."""
        url = make_url(database_url)
        kwargs: dict[str, Any] = {"echo": echo}
        file = _sqlite_file(database_url)
        if url.get_backend_name() == "sqlite":
            if file is not None:
                _make_parent(file)
            else:  # one shared in-memory database
                kwargs["poolclass"] = StaticPool
            kwargs["connect_args"] = {"timeout": 30}
        else:
            kwargs["pool_pre_ping"] = True
        engine = create_async_engine(url, **kwargs)
        store = cls(engine, file=file)
        if url.get_backend_name() == "sqlite":
            event.listen(engine.sync_engine, "connect", store._on_sqlite_connect)
        try:
            await store._migrate()
            if file is not None:
                st = os.stat(file)
                store._identity = (st.st_dev, st.st_ino)
        except BaseException:
            await engine.dispose()
            raise
        return store

    @classmethod
    async def stored_schema(cls, database_url: str) -> int | None:
        """The schema version of the database at `database_url`, read without creating or
        changing anything (None: no opsbot database there yet). Raises SchemaTooNew when this
        opsbot cannot use it, and what the driver raises when it cannot be read."""
        url = make_url(database_url)
        if url.get_backend_name() == "sqlite":
            file = _sqlite_file(database_url)
            if file is None or not _exists(file):
                return None
            url = url.set(database=f"file:{urllib.parse.quote(file)}",
                          query={**url.query, "mode": "ro", "uri": "true"})
        engine = create_async_engine(url)
        try:
            async with engine.connect() as conn:
                if not await conn.run_sync(
                        lambda c: inspect(c).has_table(schema_table.name)):
                    return None
                version = (await conn.execute(select(schema_table.c.version)
                                              .where(schema_table.c.id == 1))).scalar()
        finally:
            await engine.dispose()
        if version is not None and version > SCHEMA_VERSION:
            raise SchemaTooNew(version)
        return None if version is None else int(version)

    def problem(self) -> str | None:
        """Why the database cannot be used any more, as far as can be told without a query
        (None: nothing known). SQLite: the file the store opened must still be at its path."""
        if self.file is None or self._identity is None:
            return None
        try:
            st = os.stat(self.file)
        except FileNotFoundError:
            what = "was deleted"
        except OSError as exc:
            what = f"cannot be looked at ({exc.strerror})"
        else:
            if (st.st_dev, st.st_ino) == self._identity:
                return None
            what = "was replaced by another file"
        return (f"the database file {self.file} {what} while opsbot was running: nothing more "
                f"is written (a new empty database would forget which alerts were sent); put "
                f"the file back, or restart opsbot to start a new database")

    def check_file(self) -> None:
        """Raise DatabaseGone when `problem()` says so (one stat: microseconds)."""
        problem = self.problem()
        if problem is not None:
            raise DatabaseGone(problem)

    def _on_sqlite_connect(self, dbapi_connection: Any, connection_record: Any) -> None:
        # A new pooled connection opens whatever is at the path now: not a stranger's file.
        if self._identity is not None:
            self.check_file()
        _sqlite_pragmas(dbapi_connection, connection_record)

    async def close(self) -> None:
        """Let operations whose callers were cancelled finish (bounded), then disconnect."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(CLOSE_GRACE_SECONDS):
                await self.settle()
        await self.engine.dispose()

    async def settle(self) -> None:
        """Wait until no operation is running, those of cancelled callers included."""
        while self._inflight:
            await asyncio.wait(set(self._inflight))

    def _settled(self, task: asyncio.Future[Any]) -> None:
        self._inflight.discard(task)
        # Retrieved here so that a failure nobody waited for any more (its caller was
        # cancelled) is logged once instead of as "exception was never retrieved".
        if not task.cancelled() and (exc := task.exception()) is not None:
            log.debug("store operation failed: %s", exc, exc_info=exc)

    async def __aenter__(self) -> Store:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _migrate(self) -> None:
        for attempt in range(3):
            try:
                async with self.engine.begin() as conn:
                    await conn.run_sync(metadata.create_all, checkfirst=True)
                break
            except (IntegrityError, DBAPIError):
                # Another replica created the same tables between our check and our CREATE.
                if attempt == 2:
                    raise
        async with self.engine.begin() as conn:
            await conn.execute(self._insert(schema_table).values(id=1, version=SCHEMA_VERSION)
                               .on_conflict_do_nothing(index_elements=["id"]))
            version = (await conn.execute(
                select(schema_table.c.version).where(schema_table.c.id == 1))).scalar_one()
            if version > SCHEMA_VERSION:
                raise SchemaTooNew(version)
            while version < SCHEMA_VERSION:
                version += 1
                log.info("migrating database schema to version %d", version)
                await conn.run_sync(_MIGRATIONS[version])
                await conn.execute(update(schema_table).where(schema_table.c.id == 1)
                                   .values(version=version))

    @_uncancelled
    async def schema_version(self) -> int:
        async with self.engine.connect() as conn:
            v = (await conn.execute(select(schema_table.c.version))).scalar_one()
        return int(v)

    def refuses(self, text: str | None) -> bool:
        """Whether this database cannot hold `text` in a text column (see `refused_text`)."""
        return refused_text(self.dialect, text)

    def _insert(self, table: Table) -> Any:
        """`INSERT` that understands `on_conflict_do_nothing/_update` on both dialects."""
        ins: Insert
        if self.dialect == "postgresql":
            ins = postgresql.insert(table)
        elif self.dialect == "sqlite":
            ins = sqlite.insert(table)
        else:  # pragma: no cover
            raise RuntimeError(f"unsupported database dialect {self.dialect!r}")
        return ins

    # ------------------------------------------------------------------ watcher state

    @_uncancelled
    async def load_snapshot(self, provider: str) -> Snapshot | None:
        async with self.engine.connect() as conn:
            row = (await conn.execute(select(snapshots_table.c.data)
                                      .where(snapshots_table.c.provider == provider))).first()
        return None if row is None else decode_snapshot(provider, row.data)

    @_uncancelled
    async def snapshot_taken_at(self, provider: str) -> datetime | None:
        """When the stored snapshot was taken (cheap: does not read the jobs)."""
        async with self.engine.connect() as conn:
            v = (await conn.execute(select(snapshots_table.c.taken_at)
                                    .where(snapshots_table.c.provider == provider))).scalar()
        return _from_db(v)

    @_uncancelled
    async def load_watch(self, provider: str, *, now: datetime,
                         cached: Snapshot | None = None,
                         cached_stuck: frozenset[str] | None = None) -> WatchState:
        """Everything a tick starts from. `cached` is reused instead of decoding the stored
        snapshot when it was taken at the same instant (the watcher's own last commit), and
        with it `cached_stuck`, the stuck ids committed with it, when given."""
        async with self.engine.connect() as conn:
            taken_at = (await conn.execute(
                select(snapshots_table.c.taken_at)
                .where(snapshots_table.c.provider == provider))).scalar()
            snapshot: Snapshot | None = None
            stuck: frozenset[str] = frozenset()
            if taken_at is not None:
                if cached is not None and cached.provider == provider \
                        and _to_db(cached.taken_at) == taken_at:
                    snapshot = cached
                    if cached_stuck is not None:
                        stuck = cached_stuck
                    else:
                        stuck = _stuck_ids((await conn.execute(
                            select(snapshots_table.c.stuck)
                            .where(snapshots_table.c.provider == provider))).scalar_one())
                else:
                    row = (await conn.execute(
                        select(snapshots_table.c.data, snapshots_table.c.stuck)
                        .where(snapshots_table.c.provider == provider))).one()
                    snapshot = decode_snapshot(provider, row.data)
                    stuck = _stuck_ids(row.stuck)
            pending = await self._pending(conn, provider)
            states = await self._states(conn, provider)
            config = await self._config(conn, now)
        return WatchState(snapshot=snapshot, stuck_ids=stuck, pending=pending, states=states,
                          config=config)

    @staticmethod
    async def _states(conn: AsyncConnection, provider: str) -> dict[str, AlertState]:
        # Read every tick, one row per account: the columns it needs, as plain tuples.
        c = states_table.c
        return {
            scope: AlertState(scope, raw, streak, _from_db(since), announced, episode)
            for scope, raw, streak, since, announced, episode in await conn.execute(
                select(c.scope, c.raw, c.streak, c.since, c.announced, c.episode)
                .where(c.provider == provider))}

    @staticmethod
    async def _pending(conn: AsyncConnection, provider: str) -> tuple[PendingJob, ...]:
        return tuple(
            PendingJob(job=_row_job(provider, loads(r.job)), left_at=_req(r.left_at),
                       attempts=r.attempts, last_error=r.last_error)
            for r in await conn.execute(
                select(pending_table).where(pending_table.c.provider == provider)
                .order_by(pending_table.c.left_at, pending_table.c.job_id)))

    @_uncancelled
    async def commit_tick(
        self, provider: str, *, now: datetime, batch: str,
        snapshot: Snapshot | None = None, stuck_ids: Iterable[str] | None = None,
        pending_add: Sequence[PendingJob] = (), pending_update: Sequence[PendingJob] = (),
        pending_remove: Iterable[str] = (), states: Sequence[AlertState] = (),
        outbox: Sequence[OutboxItem] = (),
    ) -> int:
        """Write one tick in ONE transaction: the new snapshot (None: keep the stored one),
        pending-job changes, alert states and outbox rows. Outbox rows whose key exists are
        ignored. Returns how many outbox rows were new."""
        _check_items(outbox)
        t = _to_db(now)
        async with self.engine.begin() as conn:
            if snapshot is not None:
                ins = self._insert(snapshots_table).values(
                    provider=provider, taken_at=_to_db(snapshot.taken_at),
                    data=encode_snapshot(snapshot),
                    stuck=dumps(sorted(stuck_ids or ())), updated_at=t)
                await conn.execute(ins.on_conflict_do_update(
                    index_elements=["provider"],
                    set_={"taken_at": ins.excluded.taken_at, "data": ins.excluded.data,
                          "stuck": ins.excluded.stuck, "updated_at": ins.excluded.updated_at}))
            remove = list(pending_remove)
            for i in range(0, len(remove), 500):
                await conn.execute(delete(pending_table).where(
                    pending_table.c.provider == provider,
                    pending_table.c.job_id.in_(remove[i:i + 500])))
            if pending_add:
                await conn.execute(
                    self._insert(pending_table).on_conflict_do_nothing(
                        index_elements=["provider", "job_id"]),
                    [{"provider": provider, "job_id": p.job.id,
                      "job": json.dumps(_job_row(p.job), separators=(",", ":")),
                      "left_at": _to_db(p.left_at), "attempts": p.attempts,
                      "last_error": p.last_error} for p in pending_add])
            if pending_update:
                await conn.execute(
                    update(pending_table).where(
                        pending_table.c.provider == bindparam("b_provider"),
                        pending_table.c.job_id == bindparam("b_job_id"))
                    .values(attempts=bindparam("b_attempts"),
                            last_error=bindparam("b_last_error")),
                    [{"b_provider": provider, "b_job_id": p.job.id, "b_attempts": p.attempts,
                      "b_last_error": p.last_error} for p in pending_update])
            if states:
                ins = self._insert(states_table)
                await conn.execute(
                    ins.on_conflict_do_update(
                        index_elements=["provider", "scope"],
                        set_={c: ins.excluded[c] for c in ("raw", "streak", "since",
                                                           "announced", "episode",
                                                           "updated_at")}),
                    [{"provider": provider, "scope": s.scope, "raw": s.raw, "streak": s.streak,
                      "since": _to_db(s.since), "announced": s.announced,
                      "episode": s.episode, "updated_at": t} for s in states])
            new = 0
            if outbox:
                new = await self._queue(conn, outbox, batch=batch, now=t)
        return new

    async def _queue(self, conn: AsyncConnection, items: Sequence[OutboxItem], *, batch: str,
                     now: datetime | None) -> int:
        keys = [it.event.key for it in items]
        seen: set[str] = set()
        for i in range(0, len(keys), 500):
            seen.update(k for (k,) in await conn.execute(
                select(outbox_table.c.key).where(outbox_table.c.key.in_(keys[i:i + 500]))))
        rows = []
        for it in items:
            if it.event.key in seen:
                continue
            seen.add(it.event.key)
            state: OutboxState = ("unrouted" if it.state == "pending" and it.channel_id is None
                                  else it.state)
            rows.append({
                "key": it.event.key, "provider": it.event.provider,
                "kind": it.event.kind.value, "batch": batch, "channel_id": it.channel_id,
                "mention_role_id": it.mention_role_id, "event": encode_event(it.event),
                "state": state, "attempts": 0, "created_at": now, "next_attempt_at": now})
        if rows:
            # A concurrent writer (another replica) may have inserted a key since: ignore it.
            await conn.execute(self._insert(outbox_table).on_conflict_do_nothing(
                index_elements=["key"]), rows)
        return len(rows)

    @_uncancelled
    async def enqueue(self, items: Sequence[OutboxItem], *, batch: str, now: datetime) -> int:
        """Queue events outside a tick (tests, one-off notices). Duplicate keys are ignored."""
        _check_items(items)
        async with self.engine.begin() as conn:
            return await self._queue(conn, items, batch=batch, now=_to_db(now))

    @_uncancelled
    async def pending_jobs(self, provider: str) -> list[PendingJob]:
        async with self.engine.connect() as conn:
            return list(await self._pending(conn, provider))

    # ------------------------------------------------------------------ leases

    @_uncancelled
    async def acquire_lease(self, name: str, holder: str, *, now: datetime,
                            ttl: timedelta, replacing: str | None = None) -> bool:
        """Take or renew lease `name` for `holder` until now+ttl. False: someone else holds it.
        `replacing`: take it from that holder even before it expires (it is known gone)."""
        t, until = _to_db(now), _to_db(now + ttl)
        lc = leases_table.c
        mine = or_(lc.holder == holder, lc.until < t)
        if replacing is not None:
            mine = or_(mine, lc.holder == replacing)
        async with self.engine.begin() as conn:
            await conn.execute(self._insert(leases_table)
                               .values(name=name, holder=holder, until=until)
                               .on_conflict_do_nothing(index_elements=["name"]))
            res = await conn.execute(update(leases_table).where(lc.name == name, mine)
                                     .values(holder=holder, until=until))
            return bool(res.rowcount)

    @_uncancelled
    async def lease_holder(self, name: str) -> str | None:
        async with self.engine.connect() as conn:
            return (await conn.execute(select(leases_table.c.holder)
                                       .where(leases_table.c.name == name))).scalar()

    @_uncancelled
    async def release_lease(self, name: str, holder: str) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(delete(leases_table).where(leases_table.c.name == name,
                                                          leases_table.c.holder == holder))

    # ------------------------------------------------------------------ outbox delivery

    @_uncancelled
    async def claim_outbox(self, *, limit: int, now: datetime, worker_id: str,
                           lease: timedelta = timedelta(seconds=90)) -> list[OutboxRow]:
        """Claim due pending rows for `worker_id` until now+lease, whole batches at a time:
        every claimable row of each batch among the first `limit` claimable rows.

        The claim is a conditional UPDATE (only rows nobody holds a live claim on), so two
        workers never get the same row; a crashed worker's claims come back when its lease
        expires. Rows come back ordered by id.

        A channel's alerts go out in the order they were decided: a row is not claimed while
        an earlier row of its channel waits for a retry or is out with another worker, so an
        "exhausted" that failed once is not overtaken by the "restored" that followed it.

        Each channel's first such row is found once (a GROUP BY), not once per row: a claim
        costs in proportion to the pending rows, where the correlated NOT EXISTS it replaces
        grew with their square (10,000 pending rows took 50-100 s, holding SQLite's write
        lock all along). Claims are taken one at a time on PostgreSQL (a transaction-scoped
        advisory lock), so that a second replica's claim sees the first one's rows as out
        and keeps their channel's order; on SQLite the UPDATE runs under the write lock."""
        t, until = _to_db(now), _to_db(now + lease)
        token = f"{worker_id[:90]}#{uuid.uuid4().hex[:12]}"
        o = outbox_table.c
        async with self.engine.begin() as conn:
            if self.dialect == "postgresql":
                await conn.execute(select(func.pg_advisory_xact_lock(_CLAIM_LOCK)))
            first = _claimable(t, token)
            batches = sorted({b for (b,) in await conn.execute(
                select(first.c.batch).order_by(first.c.id).limit(limit))})
            if not batches:
                return []
            chosen = _claimable(t, token, batches)
            await conn.execute(update(outbox_table).where(
                o.id.in_(select(chosen.c.id)),
                # Checked again on the row itself: on PostgreSQL a row another claim just
                # took is re-read here after that claim commits.
                o.state == "pending", _free(t)).values(claimed_by=token, claimed_until=until))
            rows = (await conn.execute(select(outbox_table)
                                       .where(outbox_table.c.claimed_by == token)
                                       .order_by(outbox_table.c.id))).all()
            claimed, unusable = _outbox_rows(rows, token)
            if unusable:
                # Retired in the same claim: kept pending, they would come back every pass.
                await conn.execute(update(outbox_table).where(o.id.in_(unusable)).values(
                    state="failed", claimed_by=None, claimed_until=None,
                    last_error="the stored row cannot be sent (see the log)"))
        return claimed

    @_uncancelled
    async def renew_claim(self, claim: str, until: datetime) -> int:
        """Extend a live claim (a send is taking long) so nobody else takes its rows."""
        async with self.engine.begin() as conn:
            res = await conn.execute(update(outbox_table).where(
                outbox_table.c.claimed_by == claim, outbox_table.c.state == "pending")
                .values(claimed_until=_to_db(until)))
            return int(res.rowcount or 0)

    @_uncancelled
    async def release_claims(self, worker_id: str) -> int:
        """Give back every row `worker_id` still holds (it is stopping). A row whose message
        Discord did accept goes out again with the same nonce, which Discord drops."""
        prefix = f"{worker_id[:90]}#"
        async with self.engine.begin() as conn:
            res = await conn.execute(update(outbox_table).where(
                func.substr(outbox_table.c.claimed_by, 1, len(prefix)) == prefix)
                .values(claimed_by=None, claimed_until=None))
            return int(res.rowcount or 0)

    async def mark_sent(self, keys: Sequence[str], message_id: int | None, *,
                        now: datetime | None = None) -> None:
        """Discord accepted the message holding these rows."""
        _check_id("message_id", message_id, optional=True)
        t = _to_db(now or datetime.now(UTC))
        await self._update_keys(keys, state="sent", sent_message_id=message_id, sent_at=t,
                                claimed_by=None, claimed_until=None, last_error=None)

    async def mark_failed(self, keys: Sequence[str], error: str,
                          retry_at: datetime | None) -> None:
        """Sending failed: count the attempt and retry at `retry_at`, or give up for good
        (state `failed`) when it is None."""
        values: dict[str, Any] = {"attempts": outbox_table.c.attempts + 1,
                                  "last_error": error[:2000],
                                  "claimed_by": None, "claimed_until": None}
        if retry_at is None:
            values["state"] = "failed"
        else:
            values["next_attempt_at"] = _to_db(retry_at)
        await self._update_keys(keys, **values)

    async def release(self, keys: Sequence[str], *,
                      next_attempt_at: datetime | None = None) -> None:
        """Give back claimed rows untried (optionally not before `next_attempt_at`)."""
        values: dict[str, Any] = {"claimed_by": None, "claimed_until": None}
        if next_attempt_at is not None:
            values["next_attempt_at"] = _to_db(next_attempt_at)
        await self._update_keys(keys, **values)

    async def hold(self, keys: Sequence[str], reason: str) -> None:
        """Keep rows aside (403/404 on the channel) until `release_held` after a route fix."""
        await self._update_keys(keys, state="held", last_error=reason[:2000], claimed_by=None,
                                claimed_until=None)

    @_uncancelled
    async def held(self, channel_id: int | None = None) -> list[HeldRow]:
        _check_id("channel_id", channel_id, optional=True)
        q = select(outbox_table).where(outbox_table.c.state == "held")
        if channel_id is not None:
            q = q.where(outbox_table.c.channel_id == channel_id)
        async with self.engine.connect() as conn:
            rows = (await conn.execute(q.order_by(outbox_table.c.id))).all()
        return [HeldRow(key=r.key, channel_id=r.channel_id, event=decode_event(r.event),
                        last_error=r.last_error) for r in rows]

    @_uncancelled
    async def release_held(self, channel_id: int | None = None, *,
                           moves: Mapping[str, int] | None = None,
                           now: datetime | None = None) -> int:
        """Put held rows (of `channel_id`, or all) back in the queue, due now. `moves` maps
        keys to a new channel (the route was changed). Returns how many rows were released."""
        _check_id("channel_id", channel_id, optional=True)
        for key, channel in (moves or {}).items():
            _check_id(f"channel_id for {key}", channel)
        t = _to_db(now or datetime.now(UTC))
        q = select(outbox_table.c.key).where(outbox_table.c.state == "held")
        if channel_id is not None:
            q = q.where(outbox_table.c.channel_id == channel_id)
        moves = moves or {}
        async with self.engine.begin() as conn:
            keys = [k for (k,) in await conn.execute(q)]
            # One statement per target channel and 500 keys, not one per key: a flood held
            # for a closed channel is 10,000s of rows.
            by_channel: dict[int, list[str]] = {}
            for key in keys:
                if key in moves:
                    by_channel.setdefault(moves[key], []).append(key)
            for channel, moved in by_channel.items():
                for i in range(0, len(moved), 500):
                    await conn.execute(update(outbox_table)
                                       .where(outbox_table.c.key.in_(moved[i:i + 500]))
                                       .values(channel_id=channel))
            for i in range(0, len(keys), 500):
                await conn.execute(update(outbox_table).where(
                    outbox_table.c.key.in_(keys[i:i + 500]), outbox_table.c.state == "held")
                    .values(state="pending", next_attempt_at=t, claimed_by=None,
                            claimed_until=None))
        return len(keys)

    @_uncancelled
    async def _update_keys(self, keys: Sequence[str], /, **values: Any) -> None:
        keys = list(keys)
        async with self.engine.begin() as conn:
            for i in range(0, len(keys), 500):
                await conn.execute(update(outbox_table)
                                   .where(outbox_table.c.key.in_(keys[i:i + 500]))
                                   .values(**values))

    @_uncancelled
    async def outbox_counts(self) -> dict[str, int]:
        """Rows per state (an `OutboxState`)."""
        async with self.engine.connect() as conn:
            rows = await conn.execute(select(outbox_table.c.state, func.count())
                                      .group_by(outbox_table.c.state))
            return {state: int(n) for state, n in rows}

    @_uncancelled
    async def outbox_row(self, key: str) -> dict[str, Any] | None:
        """One row by key, as a dict (for `/alerts show`, tests and debugging)."""
        async with self.engine.connect() as conn:
            r = (await conn.execute(select(outbox_table).where(outbox_table.c.key == key))).first()
        if r is None:
            return None
        d = dict(r._mapping)
        for c in ("created_at", "next_attempt_at", "claimed_until", "sent_at"):
            d[c] = _from_db(d[c])
        return d

    async def prune_outbox(self, older_than: datetime, *, chunk: int = PRUNE_CHUNK) -> int:
        """Delete finished rows (sent/failed/muted/unrouted) created before `older_than`,
        `chunk` rows per transaction: a month after a flood there are 10,000s of them, and
        one DELETE of them all would hold SQLite's write lock that long. Returns how many."""
        total = 0
        while True:
            n = await self._prune_chunk(_to_db(older_than), chunk)
            total += n
            if n < chunk:
                return total

    @_uncancelled
    async def _prune_chunk(self, before: datetime | None, chunk: int) -> int:
        old = outbox_table.alias("old").c
        oldest = (select(old.id)
                  .where(old.state.in_(("sent", "failed", "muted", "unrouted")),
                         old.created_at < before)
                  .limit(chunk))
        async with self.engine.begin() as conn:
            res = await conn.execute(delete(outbox_table).where(outbox_table.c.id.in_(oldest)))
            return int(res.rowcount or 0)

    # ------------------------------------------------------------------ routes, mutes, mentions

    async def _config(self, conn: AsyncConnection, now: datetime) -> AlertConfig:
        # The three small tables in one statement: every tick of every provider reads them,
        # and each statement costs about a millisecond of CPU (four trips to aiosqlite's
        # thread). Column `n` is a route's channel or a mention's role.
        r, m, n = routes_table.c, mutes_table.c, mentions_table.c
        rows = await conn.execute(union_all(
            select(literal("r").label("t"), r.kind, r.provider, r.channel_id.label("n"),
                   type_coerce(null(), DateTime).label("until"),
                   type_coerce(null(), Text).label("reason")),
            select(literal("m"), m.kind, m.provider, null(), m.until, m.reason),
            select(literal("n"), n.kind, n.provider, n.role_id, null(), null())))
        routes: list[Route] = []
        mutes: list[Mute] = []
        mentions: list[Mention] = []
        for table, kind, provider, number, until, reason in rows:
            if table != "m" and number is None:
                log.error("a stored alert %s for %s/%s holds no Discord id; ignored",
                          "route" if table == "r" else "mention", kind, provider or "any")
                continue
            if table == "r":
                routes.append(Route(kind=EventKind(kind), provider=_opt(provider),
                                    channel_id=number))
            elif table == "m":
                mute = Mute(provider=_opt(provider), kind=EventKind(kind) if kind else None,
                            until=_from_db(until), reason=reason)
                if mute.active(now):
                    mutes.append(mute)
            else:
                mentions.append(Mention(kind=EventKind(kind), provider=_opt(provider),
                                        role_id=number))
        return AlertConfig(routes=tuple(routes), mutes=tuple(mutes), mentions=tuple(mentions))

    @_uncancelled
    async def alert_config(self, now: datetime | None = None) -> AlertConfig:
        """Routes, active mutes and mentions."""
        async with self.engine.connect() as conn:
            return await self._config(conn, now or datetime.now(UTC))

    @_uncancelled
    async def set_route(self, kind: EventKind, provider: str | None, channel_id: int) -> None:
        _check_id("channel_id", channel_id)
        ins = self._insert(routes_table).values(kind=kind.value, provider=provider or _ANY,
                                                channel_id=channel_id,
                                                updated_at=_to_db(datetime.now(UTC)))
        async with self.engine.begin() as conn:
            await conn.execute(ins.on_conflict_do_update(
                index_elements=["kind", "provider"],
                set_={"channel_id": ins.excluded.channel_id,
                      "updated_at": ins.excluded.updated_at}))

    @_uncancelled
    async def remove_route(self, kind: EventKind, provider: str | None) -> bool:
        async with self.engine.begin() as conn:
            res = await conn.execute(delete(routes_table).where(
                routes_table.c.kind == kind.value, routes_table.c.provider == (provider or _ANY)))
            return bool(res.rowcount)

    async def routes(self) -> list[Route]:
        return list((await self.alert_config()).routes)

    @_uncancelled
    async def mute(self, provider: str | None, kind: EventKind | None, until: datetime | None,
                   reason: str | None = None) -> None:
        """Mute alerts of `provider` and/or `kind` (None: any) until `until` (None: until
        unmuted). Replaces an existing mute of the same provider and kind."""
        if provider is None and kind is None and until is None:
            raise ValueError("muting everything forever: give an end time")
        ins = self._insert(mutes_table).values(
            provider=provider or _ANY, kind=kind.value if kind else _ANY, until=_to_db(until),
            reason=reason, created_at=_to_db(datetime.now(UTC)))
        async with self.engine.begin() as conn:
            await conn.execute(ins.on_conflict_do_update(
                index_elements=["provider", "kind"],
                set_={"until": ins.excluded.until, "reason": ins.excluded.reason,
                      "created_at": ins.excluded.created_at}))

    @_uncancelled
    async def unmute(self, provider: str | None = None, kind: EventKind | None = None) -> int:
        """Remove every mute of `provider` and/or `kind` (a given value matches that column;
        None matches any). Returns rows removed."""
        q = delete(mutes_table)
        if provider is not None:
            q = q.where(mutes_table.c.provider == provider)
        if kind is not None:
            q = q.where(mutes_table.c.kind == kind.value)
        async with self.engine.begin() as conn:
            return int((await conn.execute(q)).rowcount or 0)

    @_uncancelled
    async def clear_mutes(self) -> int:
        async with self.engine.begin() as conn:
            return int((await conn.execute(delete(mutes_table))).rowcount or 0)

    @_uncancelled
    async def mutes(self, now: datetime | None = None) -> list[Mute]:
        """Mutes still active at `now` (default: all stored, expired ones included)."""
        async with self.engine.connect() as conn:
            rows = await conn.execute(select(mutes_table))
            out = [Mute(provider=_opt(r.provider), kind=EventKind(r.kind) if r.kind else None,
                        until=_from_db(r.until), reason=r.reason) for r in rows]
        return [m for m in out if now is None or m.active(now)]

    @_uncancelled
    async def prune_mutes(self, now: datetime) -> int:
        async with self.engine.begin() as conn:
            res = await conn.execute(delete(mutes_table).where(
                mutes_table.c.until.is_not(None), mutes_table.c.until <= _to_db(now)))
            return int(res.rowcount or 0)

    @_uncancelled
    async def set_mention(self, kind: EventKind, role_id: int | None,
                          provider: str | None = None) -> None:
        """Mention `role_id` in alerts of `kind` (None: stop mentioning)."""
        _check_id("role_id", role_id, optional=True)
        async with self.engine.begin() as conn:
            if role_id is None:
                await conn.execute(delete(mentions_table).where(
                    mentions_table.c.kind == kind.value,
                    mentions_table.c.provider == (provider or _ANY)))
                return
            ins = self._insert(mentions_table).values(kind=kind.value, provider=provider or _ANY,
                                                      role_id=role_id)
            await conn.execute(ins.on_conflict_do_update(
                index_elements=["kind", "provider"], set_={"role_id": ins.excluded.role_id}))

    async def mentions(self) -> list[Mention]:
        return list((await self.alert_config()).mentions)

    # ------------------------------------------------------------------ /board messages

    @_uncancelled
    async def set_board(self, channel_id: int, provider: str | None, message_id: int, *,
                        guild_id: int | None = None) -> int | None:
        """Remember the board message of `channel_id`/`provider` (None: all providers).
        Returns the id of the message it replaces, if any, so the caller can delete it."""
        _check_id("channel_id", channel_id)
        _check_id("message_id", message_id)
        _check_id("guild_id", guild_id, optional=True)
        p = provider or _ANY
        b = boards_table.c
        async with self.engine.begin() as conn:
            # (None as well when the stored id is no Discord id: the row goes all the same.)
            old = (await conn.execute(select(b.message_id).where(
                b.channel_id == channel_id, b.provider == p))).scalar()
            await conn.execute(delete(boards_table).where(b.channel_id == channel_id,
                                                          b.provider == p))
            await conn.execute(self._insert(boards_table).values(
                message_id=message_id, channel_id=channel_id, guild_id=guild_id, provider=p,
                created_at=_to_db(datetime.now(UTC))).on_conflict_do_nothing(
                    index_elements=["message_id"]))
        return None if old == message_id else old

    @_uncancelled
    async def boards(self) -> list[Board]:
        async with self.engine.connect() as conn:
            rows = (await conn.execute(select(boards_table)
                                       .order_by(boards_table.c.created_at))).all()
        boards = []
        for r in rows:
            if r.message_id is None or r.channel_id is None:
                log.error("a stored /board row holds no Discord id (channel %s, message %s); "
                          "ignored", r.channel_id, r.message_id)
                continue
            boards.append(Board(message_id=r.message_id, channel_id=r.channel_id,
                                guild_id=r.guild_id, provider=_opt(r.provider)))
        return boards

    @_uncancelled
    async def remove_board(self, message_id: int) -> bool:
        _check_id("message_id", message_id)
        async with self.engine.begin() as conn:
            res = await conn.execute(delete(boards_table)
                                     .where(boards_table.c.message_id == message_id))
            return bool(res.rowcount)


#: Key of the PostgreSQL advisory lock that takes outbox claims one at a time.
_CLAIM_LOCK = 0x6F70_7362_6F74  # "opsbot"


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
        .where(e.state == "pending", e.channel_id.is_not(None),
               or_(e.next_attempt_at > t,
                   and_(e.claimed_until >= t,
                        or_(e.claimed_by.is_(None), e.claimed_by != token))))
        .group_by(e.channel_id)
        .subquery("first_blocking"))
    candidate = outbox_table.alias("candidate")
    c = candidate.c
    q = (select(c.id, c.batch, c.channel_id)
         .select_from(candidate.outerjoin(blocking, blocking.c.channel_id == c.channel_id))
         .where(c.state == "pending", c.next_attempt_at <= t, _free(t, c),
                or_(blocking.c.first_id.is_(None), c.id < blocking.c.first_id)))
    if batches is not None:
        q = q.where(c.batch.in_(batches))
    return q.subquery("claimable")


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
            out.append(OutboxRow(id=r.id, key=r.key, batch=r.batch, channel_id=r.channel_id,
                                 mention_role_id=r.mention_role_id,
                                 event=decode_event(r.event), attempts=r.attempts,
                                 created_at=_req(r.created_at), claim=claim))
        except (ValueError, TypeError, KeyError, AssertionError) as exc:
            log.error("outbox row %r cannot be sent and is given up: %s", r.key, exc)
            unusable.append(r.id)
    return out, unusable


def _check_items(items: Sequence[OutboxItem]) -> None:
    for it in items:
        _check_id(f"channel_id of {it.event.key!r}", it.channel_id, optional=True)
        _check_id(f"mention_role_id of {it.event.key!r}", it.mention_role_id, optional=True)


def _sqlite_file(database_url: str) -> str | None:
    """The absolute path of a SQLite database file (None: another backend, or in memory)."""
    url = make_url(database_url)
    db = url.database
    if url.get_backend_name() != "sqlite" or not db or db == ":memory:" \
            or db.startswith("file:"):
        return None
    return os.path.abspath(os.path.expanduser(db))


def _exists(file: str) -> bool:
    """(One stat: microseconds, fine on the loop.)"""
    return os.path.exists(file)


def _make_parent(db: str) -> None:
    """Create the directory of a SQLite file (a few microseconds; fine on the loop at start)."""
    Path(db).expanduser().parent.mkdir(parents=True, exist_ok=True)


def _sqlite_pragmas(dbapi_connection: Any, connection_record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
    finally:
        cursor.close()


def refused_text(dialect: str, text: str | None) -> bool:
    """Whether a text column of `dialect` cannot hold `text`: no database takes what UTF-8
    cannot encode (a lone surrogate), and PostgreSQL takes no NUL."""
    if text is None:
        return False
    try:
        text.encode()
    except UnicodeEncodeError:
        return True
    return dialect == "postgresql" and "\x00" in text


def unstorable(exc: BaseException) -> BaseException | None:
    """The error behind a write that failed on the *values* (a text the database cannot
    encode, a number it cannot hold), or None when it failed on the database (locked, gone,
    unreachable). The first is the data's fault and fails the same way when retried; the
    second may pass later.

    SQLite's driver raises the value's own error (UnicodeEncodeError, OverflowError);
    PostgreSQL answers SQLSTATE class 22, "data exception" (a NUL in text, a bad encoding),
    which SQLAlchemy wraps in a plain DBAPIError, so the chain of causes is read. What comes
    back is the innermost cause: its text names the value, never the SQL around it."""
    chain: list[BaseException] = []
    seen: BaseException | None = exc
    while seen is not None and len(chain) < 8:  # a cause chain is short; never loop on a cycle
        chain.append(seen)
        seen = seen.__cause__
    for link in chain:
        if isinstance(link, DataError | ValueError | ArithmeticError | TypeError):
            return chain[-1]
        sqlstate = getattr(link, "sqlstate", None) or getattr(link, "pgcode", None)
        if isinstance(sqlstate, str) and sqlstate.startswith("22"):
            return chain[-1]
    return None
