"""The tables, and the one INSERT that speaks both dialects. Every change to them is also a
revision in `bot/store/migrations/versions/` (tests/test_migrations.py compares the two).

* `watch_snapshots` – the last committed snapshot per provider (+ the ids reported stuck)
* `watch_pending`   – jobs that left the executing list and still await an outcome
* `alert_states`    – flap-damping / announced state per provider and scope
* `alert_outbox`    – every event ever decided (key unique), with its delivery state
* `alert_routes`, `alert_mentions`, `alert_mutes` – the `/alerts` configuration
* `board_messages`  – the `/board` messages the bot edits every tick
* `leases`          – who leads a named job (one watcher per provider across replicas)
* `job_untracks`    – jobs untracked from Discord (`/cancel`): who and when
* `account_health`  – the account checks: per account its error state, expiry and the expiry
                      warned about; the subscription under provider `useapi` (account "")
* `alert_notify`    – `/alerts notify`: per Discord user how they are told of their own jobs;
                      and `alert_outbox.dm` marks a direct message to that user
* `history_samples` – capacity over time per provider (account "") and account: 1-minute
                      points (`step` 60) and 15-minute buckets (`step` 900); an account's
                      row only where its values changed (`bot.store.history`)
* `history_finished` – every job that reached a final outcome, once (provider + id)
* `alembic_version` – the schema's revision (Alembic's own table)
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.dml import Insert

from bot.store.codecs import Snowflake

_ID = BigInteger().with_variant(Integer(), "sqlite")  # autoincrement on both

#: Keys per `IN (...)`: well inside every driver's limit on bound parameters.
IN_CHUNK = 500

metadata = MetaData()

snapshots_table = Table(
    "watch_snapshots",
    metadata,
    Column("provider", String(64), primary_key=True),
    Column("taken_at", DateTime, nullable=False),
    Column("data", Text, nullable=False),
    Column("stuck", Text, nullable=False, default="[]"),
    Column("updated_at", DateTime, nullable=False),
)

pending_table = Table(
    "watch_pending",
    metadata,
    Column("provider", String(64), nullable=False),
    Column("job_id", Text, nullable=False),
    Column("job", Text, nullable=False),
    Column("left_at", DateTime, nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_error", Text),
    PrimaryKeyConstraint("provider", "job_id"),
)

states_table = Table(
    "alert_states",
    metadata,
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
    "alert_outbox",
    metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("key", Text, nullable=False),
    Column("provider", String(64), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("batch", String(128), nullable=False),
    Column("channel_id", Snowflake),
    Column("mention_role_id", Snowflake),
    Column("event", Text, nullable=False),
    Column("state", String(16), nullable=False),  # a `bot.alerts.OutboxState`
    Column("attempts", Integer, nullable=False, default=0),
    Column("created_at", DateTime, nullable=False),
    Column("next_attempt_at", DateTime, nullable=False),
    Column("claimed_by", String(128)),
    Column("claimed_until", DateTime),
    Column("last_error", Text),
    Column("sent_message_id", Snowflake),
    Column("sent_at", DateTime),
    # 1: a direct message to user `channel_id` (schema 4; older rows are channel posts)
    Column("dm", Integer, nullable=False, default=0, server_default="0"),
    UniqueConstraint("key", name="uq_alert_outbox_key"),
    Index("ix_alert_outbox_due", "state", "next_attempt_at"),
    Index("ix_alert_outbox_batch", "batch"),
    Index("ix_alert_outbox_claim", "claimed_by"),
)

routes_table = Table(
    "alert_routes",
    metadata,
    Column("kind", String(16), nullable=False),
    Column("provider", String(64), nullable=False),
    Column("channel_id", Snowflake, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    PrimaryKeyConstraint("kind", "provider"),
)

mutes_table = Table(
    "alert_mutes",
    metadata,
    Column("provider", String(64), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("until", DateTime),
    Column("reason", Text),
    Column("created_at", DateTime, nullable=False),
    PrimaryKeyConstraint("provider", "kind"),
)

mentions_table = Table(
    "alert_mentions",
    metadata,
    Column("kind", String(16), nullable=False),
    Column("provider", String(64), nullable=False),
    Column("role_id", Snowflake, nullable=False),
    PrimaryKeyConstraint("kind", "provider"),
)

boards_table = Table(
    "board_messages",
    metadata,
    Column("message_id", Snowflake, primary_key=True, autoincrement=False),
    Column("channel_id", Snowflake, nullable=False),
    Column("guild_id", Snowflake),
    Column("provider", String(64), nullable=False),
    Column("created_at", DateTime, nullable=False),
    UniqueConstraint("channel_id", "provider", name="uq_board_channel_provider"),
)

leases_table = Table(
    "leases",
    metadata,
    Column("name", String(128), primary_key=True),
    Column("holder", String(128), nullable=False),
    Column("until", DateTime, nullable=False),
)

untracks_table = Table(
    "job_untracks",
    metadata,
    Column("provider", String(64), nullable=False),
    Column("job_id", Text, nullable=False),
    Column("by_user", Snowflake, nullable=False),
    Column("at", DateTime, nullable=False),
    PrimaryKeyConstraint("provider", "job_id"),
    Index("ix_job_untracks_at", "at"),
)

account_health_table = Table(
    "account_health",
    metadata,
    Column("provider", String(64), nullable=False),
    Column("account", Text, nullable=False),
    Column("raw", String(64), nullable=False),
    Column("streak", Integer, nullable=False),
    Column("since", DateTime),
    Column("announced", String(64)),
    Column("episode", Integer, nullable=False),
    Column("error", Text),
    Column("expires", DateTime),
    Column("warned", DateTime),
    Column("data", Text),  # the subscription's reading, JSON
    Column("checked_at", DateTime),
    PrimaryKeyConstraint("provider", "account"),
)


notify_table = Table(
    "alert_notify",
    metadata,
    Column("user_id", Snowflake, primary_key=True, autoincrement=False),
    Column("how", String(16), nullable=False),  # a `bot.alerts.Notify`
    Column("updated_at", DateTime, nullable=False),
)


history_samples_table = Table(
    "history_samples",
    metadata,
    Column("provider", String(64), nullable=False),
    Column("step", Integer, nullable=False),  # seconds: 60 (points) or 900 (buckets)
    Column("account", Text, nullable=False),  # "": the provider's total
    Column("at", DateTime, nullable=False),  # the minute / the bucket's start
    Column("running", Float),  # NULL: the account is gone from here on
    Column("max_jobs", Float),
    Column("free", Float),
    Column("exhausted", Integer, nullable=False, default=0),
    Column("full_seconds", Float, nullable=False, default=0.0),
    PrimaryKeyConstraint("provider", "step", "account", "at"),
    Index("ix_history_samples_at", "step", "at"),
    # SQLite: the primary key is the table (no rowid, no second copy of the key): a third
    # smaller (README, History).
    sqlite_with_rowid=False,
)

history_finished_table = Table(
    "history_finished",
    metadata,
    Column("provider", String(64), nullable=False),
    Column("job_id", Text, nullable=False),
    Column("account", Text),
    Column("kind", String(16)),
    Column("model", Text),
    Column("outcome", String(16), nullable=False),
    Column("run_seconds", Float),
    Column("via", String(16), nullable=False),  # a `bot.history.Via`
    Column("at", DateTime, nullable=False),
    Column("reason", Text),
    PrimaryKeyConstraint("provider", "job_id"),
    Index("ix_history_finished_at", "at"),
    Index("ix_history_finished_provider_at", "provider", "at"),
)


def insert(conn: AsyncConnection, table: Table) -> Any:
    """`INSERT` that understands `on_conflict_do_nothing/_update` on the connection's dialect
    (the one place where the two dialects differ)."""
    ins: Insert
    if conn.dialect.name == "postgresql":
        ins = postgresql.insert(table)
    elif conn.dialect.name == "sqlite":
        ins = sqlite.insert(table)
    else:  # pragma: no cover
        raise RuntimeError(f"unsupported database dialect {conn.dialect.name!r}")
    return ins
