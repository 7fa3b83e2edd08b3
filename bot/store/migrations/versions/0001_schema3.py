"""The schema as opsbot versioned it by hand up to version 3 (before Alembic).

A database made by that opsbot (it has `opsbot_schema` at version 3) is stamped at this
revision by `opsbot migrate`, not created again (`bot.store.database.adopt_legacy`).

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # autoincrement on both
#: A Discord id (`bot.store.codecs.Snowflake`: a signed 64-bit column).
_SNOWFLAKE = sa.BigInteger()


def upgrade() -> None:
    op.create_table(
        "watch_snapshots",
        sa.Column("provider", sa.String(64), primary_key=True),
        sa.Column("taken_at", sa.DateTime, nullable=False),
        sa.Column("data", sa.Text, nullable=False),
        sa.Column("stuck", sa.Text, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "watch_pending",
        sa.Column("provider", sa.String(64), nullable=False),
        sa.Column("job_id", sa.Text, nullable=False),
        sa.Column("job", sa.Text, nullable=False),
        sa.Column("left_at", sa.DateTime, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("last_error", sa.Text),
        sa.PrimaryKeyConstraint("provider", "job_id"),
    )
    op.create_table(
        "alert_states",
        sa.Column("provider", sa.String(64), nullable=False),
        sa.Column("scope", sa.Text, nullable=False),
        sa.Column("raw", sa.String(64), nullable=False),
        sa.Column("streak", sa.Integer, nullable=False),
        sa.Column("since", sa.DateTime),
        sa.Column("announced", sa.String(64)),
        sa.Column("episode", sa.Integer, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
        sa.PrimaryKeyConstraint("provider", "scope"),
    )
    op.create_table(
        "alert_outbox",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("key", sa.Text, nullable=False),
        sa.Column("provider", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("batch", sa.String(128), nullable=False),
        sa.Column("channel_id", _SNOWFLAKE),
        sa.Column("mention_role_id", _SNOWFLAKE),
        sa.Column("event", sa.Text, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("next_attempt_at", sa.DateTime, nullable=False),
        sa.Column("claimed_by", sa.String(128)),
        sa.Column("claimed_until", sa.DateTime),
        sa.Column("last_error", sa.Text),
        sa.Column("sent_message_id", _SNOWFLAKE),
        sa.Column("sent_at", sa.DateTime),
        sa.UniqueConstraint("key", name="uq_alert_outbox_key"),
    )
    op.create_index("ix_alert_outbox_due", "alert_outbox", ["state", "next_attempt_at"])
    op.create_index("ix_alert_outbox_batch", "alert_outbox", ["batch"])
    op.create_index("ix_alert_outbox_claim", "alert_outbox", ["claimed_by"])
    op.create_table(
        "alert_routes",
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("provider", sa.String(64), nullable=False),
        sa.Column("channel_id", _SNOWFLAKE, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
        sa.PrimaryKeyConstraint("kind", "provider"),
    )
    op.create_table(
        "alert_mutes",
        sa.Column("provider", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("until", sa.DateTime),
        sa.Column("reason", sa.Text),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.PrimaryKeyConstraint("provider", "kind"),
    )
    op.create_table(
        "alert_mentions",
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("provider", sa.String(64), nullable=False),
        sa.Column("role_id", _SNOWFLAKE, nullable=False),
        sa.PrimaryKeyConstraint("kind", "provider"),
    )
    op.create_table(
        "board_messages",
        sa.Column("message_id", _SNOWFLAKE, primary_key=True, autoincrement=False),
        sa.Column("channel_id", _SNOWFLAKE, nullable=False),
        sa.Column("guild_id", _SNOWFLAKE),
        sa.Column("provider", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("channel_id", "provider", name="uq_board_channel_provider"),
    )
    op.create_table(
        "leases",
        sa.Column("name", sa.String(128), primary_key=True),
        sa.Column("holder", sa.String(128), nullable=False),
        sa.Column("until", sa.DateTime, nullable=False),
    )
    op.create_table(
        "job_untracks",
        sa.Column("provider", sa.String(64), nullable=False),
        sa.Column("job_id", sa.Text, nullable=False),
        sa.Column("by_user", _SNOWFLAKE, nullable=False),
        sa.Column("at", sa.DateTime, nullable=False),
        sa.PrimaryKeyConstraint("provider", "job_id"),
    )
    op.create_index("ix_job_untracks_at", "job_untracks", ["at"])
    op.create_table(
        "account_health",
        sa.Column("provider", sa.String(64), nullable=False),
        sa.Column("account", sa.Text, nullable=False),
        sa.Column("raw", sa.String(64), nullable=False),
        sa.Column("streak", sa.Integer, nullable=False),
        sa.Column("since", sa.DateTime),
        sa.Column("announced", sa.String(64)),
        sa.Column("episode", sa.Integer, nullable=False),
        sa.Column("error", sa.Text),
        sa.Column("expires", sa.DateTime),
        sa.Column("warned", sa.DateTime),
        sa.Column("data", sa.Text),
        sa.Column("checked_at", sa.DateTime),
        sa.PrimaryKeyConstraint("provider", "account"),
    )


def downgrade() -> None:
    raise NotImplementedError("opsbot's migrations only go forward")
