"""History's finished jobs (`history_finished`): one row per provider and job id, the first
writer (the poll or the callback) standing; read back filtered, or summed per provider and
model by the database; deleted past their keep in bounded chunks."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, Final

from sqlalchemy import case, delete, func, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.history.records import Finished, Via
from bot.history.stats import ModelStats
from bot.models import Outcome
from bot.store.codecs import refused_text, req, to_db
from bot.store.history import unkeyable
from bot.store.schema import history_finished_table, insert


def storable(dialect: str, records: Iterable[Finished]) -> list[dict[str, Any]]:
    """The rows of `records`: one whose id the database cannot hold (or is past
    `MAX_KEY_BYTES`) is left out, a text field it cannot hold is None."""

    def text(v: str | None) -> str | None:
        return None if refused_text(dialect, v) else v

    return [
        {
            "provider": r.provider,
            "job_id": r.job_id,
            "account": text(r.account),
            "kind": text(r.kind),
            "model": text(r.model),
            "outcome": r.outcome,
            "run_seconds": r.run_seconds,
            "via": r.via,
            "at": to_db(r.at),
            "reason": text(r.reason),
        }
        for r in records
        if not unkeyable(dialect, r.job_id)
    ]


async def write_finished(conn: AsyncConnection, dialect: str, records: Sequence[Finished]) -> None:
    """Record finished jobs; one already recorded (by either path) is ignored."""
    rows = storable(dialect, records)
    if rows:
        await conn.execute(
            insert(conn, history_finished_table).on_conflict_do_nothing(
                index_elements=["provider", "job_id"]
            ),
            rows,
        )


async def read_finished(
    conn: AsyncConnection,
    *,
    provider: str | None,
    account: str | None,
    model: str | None,
    since: datetime | None,
    limit: int | None,
) -> list[Finished]:
    """Finished jobs, newest first (then by id, newest-looking last), filtered."""
    f = history_finished_table.c
    q = select(history_finished_table).order_by(f.at.desc(), f.job_id.desc())
    if provider is not None:
        q = q.where(f.provider == provider)
    if account is not None:
        q = q.where(f.account == account)
    if model is not None:
        q = q.where(f.model == model)
    if since is not None:
        q = q.where(f.at >= to_db(since))
    if limit is not None:
        q = q.limit(max(limit, 0))
    via: Via
    out: list[Finished] = []
    for r in await conn.execute(q):
        via = "callback" if r.via == "callback" else "poll"
        out.append(
            Finished(
                provider=r.provider,
                job_id=r.job_id,
                account=r.account,
                kind=r.kind,
                model=r.model,
                outcome=r.outcome,
                run_seconds=r.run_seconds,
                via=via,
                at=req(r.at),
                reason=r.reason,
            )
        )
    return out


_f = history_finished_table.c
#: The percentiles /stats shows, picked by nearest rank.
_PERCENTILES: Final = (50, 95)


async def read_model_stats(
    conn: AsyncConnection, *, since: datetime, until: datetime, provider: str | None
) -> list[ModelStats]:
    """The figures of each provider and model over the jobs finished in [since, until) (as
    `bot.history.stats.model_stats` counts them), summed by the database: a month at a few
    jobs a minute is 130,000 rows, which sent to the bot would cost it seconds. Ordered by
    provider, then model."""
    where = [_f.at >= to_db(since), _f.at < to_db(until)]
    if provider is not None:
        where.append(_f.provider == provider)

    def count(*outcomes: Outcome) -> Any:
        return func.sum(case((_f.outcome.in_([o.value for o in outcomes]), 1), else_=0))

    decided = (Outcome.COMPLETED, Outcome.FAILED, Outcome.MODERATED)
    counts = await conn.execute(
        select(
            _f.provider,
            _f.model,
            count(Outcome.COMPLETED),
            count(Outcome.FAILED),
            count(Outcome.MODERATED),
            func.count() - count(*decided),
        )
        .where(*where)
        .group_by(_f.provider, _f.model)
    )
    picked = await _run_percentiles(conn, where)
    out = [
        ModelStats(
            provider=p,
            model=model,
            completed=int(done or 0),
            failed=int(failed or 0),
            moderated=int(moderated or 0),
            other=int(other or 0),
            p50_seconds=picked.get((p, model), {}).get(50),
            p95_seconds=picked.get((p, model), {}).get(95),
        )
        for p, model, done, failed, moderated, other in counts
    ]
    return sorted(out, key=lambda m: (m.provider, m.model or ""))


def _rank(q: int, n: Any) -> Any:
    """Nearest rank ⌈q·n/100⌉ in integer arithmetic (the same on both databases and here)."""
    return (q * n + 99) // 100


async def _run_percentiles(
    conn: AsyncConnection, where: Sequence[Any]
) -> dict[tuple[str, str | None], dict[int, float]]:
    """Per provider and model, the `_PERCENTILES` of the completed jobs' run times: the
    values at their ranks (`ROW_NUMBER`), picked by the database."""
    key = (_f.provider, _f.model)
    runs = (
        select(
            _f.provider,
            _f.model,
            _f.run_seconds,
            func.row_number().over(partition_by=key, order_by=_f.run_seconds).label("rank"),
            func.count().over(partition_by=key).label("n"),
        )
        .where(
            *where,
            _f.outcome == Outcome.COMPLETED.value,
            _f.run_seconds.is_not(None),
            _f.run_seconds >= 0,
        )
        .subquery()
    )
    r = runs.c
    picked: dict[tuple[str, str | None], dict[int, float]] = {}
    ranked = select(r.provider, r.model, r.run_seconds, r.rank, r.n).where(
        or_(*(r.rank == _rank(q, r.n) for q in _PERCENTILES))
    )
    for p, model, seconds, rank, n in await conn.execute(ranked):
        at = picked.setdefault((p, model), {})
        for q in _PERCENTILES:
            if rank == _rank(q, n):
                at[q] = seconds
    return picked


async def prune_finished_chunk(
    conn: AsyncConnection, provider: str, before: datetime, chunk: int
) -> int:
    """Delete up to `chunk` finished jobs of `provider` recorded before `before`."""
    f = history_finished_table.c
    old = history_finished_table.alias("old").c
    doomed = (
        select(old.provider, old.job_id)
        .where(old.provider == provider, old.at < to_db(before))
        .limit(chunk)
    )
    res = await conn.execute(
        delete(history_finished_table).where(tuple_(f.provider, f.job_id).in_(doomed))
    )
    return int(res.rowcount or 0)
