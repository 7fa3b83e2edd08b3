"""Persistent state, and the only package that knows SQL.

SQLAlchemy 2 Core over an async engine: SQLite through aiosqlite by default, PostgreSQL through
asyncpg by the same code (the dialects differ only in `schema.insert` and the claim's lock).
Everything goes through one `Store` (`facade`), so that a tick is one transaction; behind it,
one module per concern, each a set of functions over an open connection:

* `schema`      – the tables (each change also a revision in `migrations/versions/`)
* `database`    – the engine for a URL, the SQLite file behind it, the schema's revision:
                  create, check, upgrade (Alembic, `migrations/`)
* `codecs`      – times, Discord ids, snapshots, jobs and events as columns and back
* `errors`      – `StoreError` and its kinds; `unstorable` tells a bad value from a bad database
* `watchstate`  – the last snapshot, the jobs awaiting an outcome, the alert states
* `leases`      – who leads a named job across replicas
* `outbox`      – every decided event and its delivery state; `claims`: taking rows to deliver
* `alertconfig` – routes, mutes, mentions
* `boards`      – the `/board` messages
* `untracks`    – jobs untracked from Discord, for their `cancelled` alert
* `history`     – capacity over time and finished jobs (issue 14): written with the tick,
                  rolled up and pruned by the leader, read by stats, charts and alerts

Times are stored as naive UTC and handed out as aware UTC.
"""

from bot.store.boards import Board
from bot.store.claims import CLAIM_LOCK as _CLAIM_LOCK
from bot.store.codecs import (
    Snowflake,
    decode_event,
    decode_snapshot,
    encode_event,
    encode_snapshot,
    refused_text,
)
from bot.store.codecs import req as _req
from bot.store.codecs import stuck_ids as _stuck_ids
from bot.store.codecs import to_db as _to_db
from bot.store.database import Schema
from bot.store.errors import (
    DatabaseGone,
    LeaseLost,
    SchemaOutOfDate,
    SchemaTooNew,
    StoreError,
    unstorable,
)
from bot.store.facade import CLOSE_GRACE_SECONDS, Store
from bot.store.outbox import PRUNE_CHUNK, HeldRow, OutboxRow
from bot.store.schema import (
    boards_table,
    leases_table,
    mentions_table,
    metadata,
    mutes_table,
    outbox_table,
    pending_table,
    routes_table,
    snapshots_table,
    states_table,
)
from bot.store.untracks import Untrack
from bot.store.watchstate import PendingJob, WatchState

__all__ = [
    "CLOSE_GRACE_SECONDS",
    "PRUNE_CHUNK",
    "_CLAIM_LOCK",
    "Board",
    "DatabaseGone",
    "HeldRow",
    "LeaseLost",
    "OutboxRow",
    "PendingJob",
    "Schema",
    "SchemaOutOfDate",
    "SchemaTooNew",
    "Snowflake",
    "Store",
    "StoreError",
    "Untrack",
    "WatchState",
    "_req",
    "_stuck_ids",
    "_to_db",
    "boards_table",
    "decode_event",
    "decode_snapshot",
    "encode_event",
    "encode_snapshot",
    "leases_table",
    "mentions_table",
    "metadata",
    "mutes_table",
    "outbox_table",
    "pending_table",
    "refused_text",
    "routes_table",
    "snapshots_table",
    "states_table",
    "unstorable",
]
