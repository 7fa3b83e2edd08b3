"""What a provider's watcher keeps between ticks: the last snapshot (with the ids reported
stuck; as rows, `bot.store.snaprows`), the jobs awaiting an outcome, and the alert states.
Read at the start of a tick, written at its end inside the facade's one transaction
(`Store.commit_tick`)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.alerts import AlertConfig, AlertState
from bot.fastjson import loads
from bot.models import Job, Snapshot
from bot.store import snaprows
from bot.store.alertconfig import read_config
from bot.store.codecs import encode_job, from_db, req, row_job, to_db
from bot.store.schema import IN_CHUNK, insert, pending_table, states_table


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


# --------------------------------------------------------------------------- reading


async def read_snapshot(conn: AsyncConnection, provider: str) -> Snapshot | None:
    image = await snaprows.read_image(conn, provider)
    return None if image is None else snaprows.image_snapshot(provider, image)[0]


async def snapshot_taken_at(conn: AsyncConnection, provider: str) -> datetime | None:
    return from_db(await snaprows.stored_taken_at(conn, provider))


async def read_watch(
    conn: AsyncConnection,
    provider: str,
    *,
    now: datetime,
    cached: Snapshot | None,
    cached_stuck: frozenset[str] | None,
) -> WatchState:
    """Everything a tick starts from (see `Store.load_watch`)."""
    taken_at = await snaprows.stored_taken_at(conn, provider)
    snapshot: Snapshot | None = None
    stuck: frozenset[str] = frozenset()
    if taken_at is not None:
        if (
            cached is not None
            and cached.provider == provider
            and to_db(cached.taken_at) == taken_at
        ):
            # The watcher's own last commit: not read again.
            snapshot = cached
            stuck = (
                cached_stuck
                if cached_stuck is not None
                else await snaprows.read_stuck(conn, provider)
            )
        else:
            image = await snaprows.read_image(conn, provider)
            if image is not None:
                snapshot, stuck = snaprows.image_snapshot(provider, image)
    return WatchState(
        snapshot=snapshot,
        stuck_ids=stuck,
        pending=await read_pending(conn, provider),
        states=await _read_states(conn, provider),
        config=await read_config(conn, now),
    )


async def _read_states(conn: AsyncConnection, provider: str) -> dict[str, AlertState]:
    # Read every tick, one row per account: the columns it needs, as plain tuples.
    c = states_table.c
    return {
        scope: AlertState(
            scope, raw, streak, from_db(since), announced, episode, from_db(at), reminded
        )
        for scope, raw, streak, since, announced, episode, at, reminded in await conn.execute(
            select(
                c.scope,
                c.raw,
                c.streak,
                c.since,
                c.announced,
                c.episode,
                c.announced_at,
                c.reminded,
            ).where(c.provider == provider)
        )
    }


async def read_pending(conn: AsyncConnection, provider: str) -> tuple[PendingJob, ...]:
    return tuple(
        PendingJob(
            job=row_job(provider, loads(r.job)),
            left_at=req(r.left_at),
            attempts=r.attempts,
            last_error=r.last_error,
        )
        for r in await conn.execute(
            select(pending_table)
            .where(pending_table.c.provider == provider)
            .order_by(pending_table.c.left_at, pending_table.c.job_id)
        )
    )


# --------------------------------------------------------------------------- writing


async def write_pending(
    conn: AsyncConnection,
    provider: str,
    *,
    add: Sequence[PendingJob],
    change: Sequence[PendingJob],
    remove: Iterable[str],
) -> None:
    """Pending jobs: `remove` these ids, `add` new ones (an id already there is kept), and
    `change` the attempts and last error of others."""
    gone = list(remove)
    for i in range(0, len(gone), IN_CHUNK):
        await conn.execute(
            delete(pending_table).where(
                pending_table.c.provider == provider,
                pending_table.c.job_id.in_(gone[i : i + IN_CHUNK]),
            )
        )
    if add:
        await conn.execute(
            insert(conn, pending_table).on_conflict_do_nothing(
                index_elements=["provider", "job_id"]
            ),
            [
                {
                    "provider": provider,
                    "job_id": p.job.id,
                    "job": encode_job(p.job),
                    "left_at": to_db(p.left_at),
                    "attempts": p.attempts,
                    "last_error": p.last_error,
                }
                for p in add
            ],
        )
    if change:
        await conn.execute(
            update(pending_table)
            .where(
                pending_table.c.provider == bindparam("b_provider"),
                pending_table.c.job_id == bindparam("b_job_id"),
            )
            .values(attempts=bindparam("b_attempts"), last_error=bindparam("b_last_error")),
            [
                {
                    "b_provider": provider,
                    "b_job_id": p.job.id,
                    "b_attempts": p.attempts,
                    "b_last_error": p.last_error,
                }
                for p in change
            ],
        )


async def write_states(
    conn: AsyncConnection, provider: str, states: Sequence[AlertState], now: datetime
) -> None:
    t = to_db(now)
    ins = insert(conn, states_table)
    await conn.execute(
        ins.on_conflict_do_update(
            index_elements=["provider", "scope"],
            set_={
                c: ins.excluded[c]
                for c in (
                    "raw",
                    "streak",
                    "since",
                    "announced",
                    "episode",
                    "updated_at",
                    "announced_at",
                    "reminded",
                )
            },
        ),
        [
            {
                "provider": provider,
                "scope": s.scope,
                "raw": s.raw,
                "streak": s.streak,
                "since": to_db(s.since),
                "announced": s.announced,
                "episode": s.episode,
                "updated_at": t,
                "announced_at": to_db(s.announced_at),
                "reminded": s.reminded,
            }
            for s in states
        ],
    )
