"""`/alerts notify`: how each Discord user is told of their own jobs (`alert_notify`), and
`alert_outbox.dm`, which marks a row that goes to that user as a direct message.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alert_notify",
        sa.Column("user_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("how", sa.String(16), nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
    )
    # Rows already there were all posted to channels: 0.
    op.add_column("alert_outbox", sa.Column("dm", sa.Integer, nullable=False, server_default="0"))


def downgrade() -> None:
    raise NotImplementedError("opsbot's migrations only go forward")
