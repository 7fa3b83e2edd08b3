"""The last snapshot of each provider as rows (`watch_jobs`, `watch_accounts`) instead of one
JSON text rewritten whole every tick; `watch_snapshots` keeps when it was taken. The stored
snapshots are carried over: each job's elapsed figure becomes its anchor (`taken_at −
elapsed`), and the ids in the `stuck` list become the jobs' `stuck` flags.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

from bot.fastjson import loads

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

#: As `bot.models.MAX_ELAPSED_SECONDS` was when this was written (the old reader's bound).
_MAX_ELAPSED = 365 * 86_400
#: As `bot.models.MAX_COUNT` was: a count beyond it (older code stored any) does not fit.
_MAX_COUNT = 100_000
_CHUNK = 500


def _count(n: int | None) -> int | None:
    return None if n is None else min(max(n, 0), _MAX_COUNT)


def upgrade() -> None:
    jobs = op.create_table(
        "watch_jobs",
        sa.Column("provider", sa.String(64), nullable=False),
        sa.Column("job_id", sa.Text, nullable=False),
        sa.Column("kind", sa.String(16)),
        sa.Column("account", sa.Text),
        sa.Column("started", sa.Float),
        sa.Column("anchor", sa.Float),
        sa.Column("model", sa.Text),
        sa.Column("seen", sa.Integer, nullable=False),
        sa.Column("reply_ref", sa.Text),
        sa.Column("stuck", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("provider", "job_id"),
    )
    accounts = op.create_table(
        "watch_accounts",
        sa.Column("provider", sa.String(64), nullable=False),
        sa.Column("account", sa.Text, nullable=False),
        sa.Column("max_jobs", sa.Integer),
        sa.Column("executing", sa.Integer, nullable=False),
        sa.Column("available", sa.Integer),
        sa.PrimaryKeyConstraint("provider", "account"),
    )
    bind = op.get_bind()
    old = sa.table(
        "watch_snapshots",
        sa.column("provider", sa.String),
        sa.column("data", sa.Text),
        sa.column("stuck", sa.Text),
    )
    for provider, data, stuck in bind.execute(sa.select(old.c.provider, old.c.data, old.c.stuck)):
        job_rows, account_rows = _rows(provider, data, stuck)
        for i in range(0, len(job_rows), _CHUNK):
            bind.execute(jobs.insert(), job_rows[i : i + _CHUNK])
        for i in range(0, len(account_rows), _CHUNK):
            bind.execute(accounts.insert(), account_rows[i : i + _CHUNK])
    with op.batch_alter_table("watch_snapshots") as batch:
        batch.drop_column("data")
        batch.drop_column("stuck")


def _rows(provider: str, data: str, stuck: str | None) -> tuple[list[dict[str, Any]], ...]:
    """One stored snapshot (format 1: `{"t", "j": [[id, kind, account, started, elapsed,
    model, seen?, reply_ref?]], "a": [[account, max, executing, available]]}`) as rows."""
    d = loads(data)
    t = float(d["t"])
    flagged = set(loads(stuck or "[]"))
    jobs: dict[str, dict[str, Any]] = {}
    for r in d["j"]:
        elapsed = r[4]
        if elapsed is not None:
            elapsed = min(elapsed, _MAX_ELAPSED)
        jobs[r[0]] = {
            "provider": provider,
            "job_id": r[0],
            "kind": r[1],
            "account": r[2],
            "started": r[3],
            "anchor": None if elapsed is None else t - elapsed,
            "model": r[5],
            "seen": 1 if len(r) > 6 and r[6] == 1 else 0,
            "reply_ref": r[7] if len(r) > 7 and isinstance(r[7], str) else None,
            "stuck": 1 if r[0] in flagged else 0,
        }
    accounts = {
        a[0]: {
            "provider": provider,
            "account": a[0],
            "max_jobs": _count(a[1]),
            "executing": _count(a[2]) or 0,
            "available": _count(a[3]),
        }
        for a in d["a"]
    }
    return list(jobs.values()), list(accounts.values())


def downgrade() -> None:
    raise NotImplementedError("opsbot's migrations only go forward")
