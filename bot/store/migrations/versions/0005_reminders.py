"""Reminders (issue 14): when each announced alert state's episode was announced
(`alert_states.announced_at`, `account_health.announced_at`) and how many reminders of it were
posted (`reminded`); and the two indexes the history-based alerts read `history_finished` by
(one account's newest jobs, one model's).

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A state announced before this revision has no announcement time: its reminders count
    # from `since` (when its condition began), and none was posted yet.
    inspector = sa.inspect(op.get_bind())
    for table in ("alert_states", "account_health"):
        # A database from before the revisions got `account_health` from the model as it is
        # now (`bot.store.database`'s old steps), these columns included.
        have = {c["name"] for c in inspector.get_columns(table)}
        if "announced_at" not in have:
            op.add_column(table, sa.Column("announced_at", sa.DateTime))
        if "reminded" not in have:
            op.add_column(
                table, sa.Column("reminded", sa.Integer, nullable=False, server_default="0")
            )
    op.create_index(
        "ix_history_finished_account_at", "history_finished", ["provider", "account", "at"]
    )
    op.create_index("ix_history_finished_model_at", "history_finished", ["provider", "model", "at"])


def downgrade() -> None:
    raise NotImplementedError("opsbot's migrations only go forward")
