"""History (issue 14): capacity samples per provider and account (1-minute points, 15-minute
buckets) and every finished job.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "history_samples",
        sa.Column("provider", sa.String(64), nullable=False),
        sa.Column("step", sa.Integer, nullable=False),
        sa.Column("account", sa.Text, nullable=False),
        sa.Column("at", sa.DateTime, nullable=False),
        sa.Column("running", sa.Float),
        sa.Column("max_jobs", sa.Float),
        sa.Column("free", sa.Float),
        sa.Column("exhausted", sa.Integer, nullable=False),
        sa.Column("full_seconds", sa.Float, nullable=False),
        sa.PrimaryKeyConstraint("provider", "step", "account", "at"),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_history_samples_at", "history_samples", ["step", "at"])
    op.create_table(
        "history_finished",
        sa.Column("provider", sa.String(64), nullable=False),
        sa.Column("job_id", sa.Text, nullable=False),
        sa.Column("account", sa.Text),
        sa.Column("kind", sa.String(16)),
        sa.Column("model", sa.Text),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("run_seconds", sa.Float),
        sa.Column("via", sa.String(16), nullable=False),
        sa.Column("at", sa.DateTime, nullable=False),
        sa.Column("reason", sa.Text),
        sa.PrimaryKeyConstraint("provider", "job_id"),
    )
    op.create_index("ix_history_finished_at", "history_finished", ["at"])
    op.create_index("ix_history_finished_provider_at", "history_finished", ["provider", "at"])


def downgrade() -> None:
    raise NotImplementedError("opsbot's migrations only go forward")
