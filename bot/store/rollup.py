"""History's roll-up and retention (`bot.store.history` explains the rows): the 15-minute
buckets computed from the 1-minute points, the days from the buckets, and the samples past
their keep deleted in bounded chunks. Run by the watcher that holds a provider's lease."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.history.records import HOLDS_AT_MOST
from bot.store.codecs import from_db, req, to_db
from bot.store.history import (
    BUCKET,
    DAY,
    GONE,
    LOOKBACK,
    MINUTE,
    REFRESH,
    ROLL_UP,
    TOTAL,
    Values,
    accounts_before,
    floor_to,
    latest_total,
    sample_row,
    upsert_samples,
)
from bot.store.schema import history_samples_table

_t = history_samples_table.c


def _mean(xs: Sequence[float | None]) -> float | None:
    known = [x for x in xs if x is not None]
    return round(sum(known) / len(known), 3) if known else None


def _bucket(points: Sequence[Values], full: float, step: int, instants: int) -> Values:
    """One `step` row's values from the source rows within it (at least one): the means, and
    `full` seconds of it exhausted (at most `step`); exhausted when that is more than none.

    A day's `running` is the mean over all its `instants` (the total's rows), an account
    absent from some counting 0 there: a day row is what a long chart ranks accounts by
    (`read_use` holds it the whole day), and an hour's burst must not count as a day of it."""
    full = min(full, step)
    running = (
        _mean([v[0] for v in points])
        if step != DAY
        else round(sum(v[0] or 0.0 for v in points) / max(instants, 1), 3)
    )
    return (
        running,
        _mean([v[1] for v in points]),
        _mean([v[2] for v in points]),
        int(full > 0),
        float(full),
    )


def _spans(times: Sequence[datetime], end: datetime) -> list[float]:
    """Seconds each point of a bucket stands for: until the next point, the last until the
    bucket's `end`. A tick may come every 5 s to every hour (POLL_INTERVAL_SECONDS), so a
    point is not one minute: at 2-minute ticks a full quarter hour is 8 points, not 15."""
    return [
        ((times[k + 1] if k + 1 < len(times) else end) - t).total_seconds()
        for k, t in enumerate(times)
    ]


def _full(v: Values, span: float | None) -> float:
    """How long a source row says it was exhausted: a minute point its whole `span` when it
    says exhausted; a rolled-up row (`span` None) its own `full_seconds`."""
    return v[4] if span is None else (span if v[3] else 0.0)


async def _due(
    conn: AsyncConnection, provider: str, step: int, now: datetime
) -> tuple[datetime, datetime] | None:
    """The next stretch of completed `step` rows to compute: after the last one stored, from
    the first source row (skipping a stretch without any in one go: the bot was down), at
    most `ROLL_UP[step]` of them; None when none is due."""
    source, most = ROLL_UP[step]

    async def first_total(*where: Any) -> datetime | None:
        return from_db(
            (
                await conn.execute(
                    select(func.min(_t.at)).where(
                        _t.provider == provider, _t.step == source, _t.account == TOTAL, *where
                    )
                )
            ).scalar()
        )

    last = await latest_total(conn, provider, step)
    if last is not None:
        start = last + timedelta(seconds=step)
    else:
        first = await first_total()
        if first is None:
            return None
        start = floor_to(first, step)
    end = floor_to(now, step)
    if start >= end:
        return None
    nxt = await first_total(_t.at >= to_db(start), _t.at < to_db(end))
    if nxt is None:
        return None
    start = floor_to(nxt, step)
    return start, min(end, start + timedelta(seconds=step * most))


#: The source point before a stretch, with each account's values then: (when, the total's
#: values, the accounts' values).
Held = tuple[datetime, Values, dict[str, Values]]


def _rolled(
    provider: str,
    step: int,
    totals: Sequence[tuple[datetime, Values]],
    changes: Sequence[Any],
    carried: dict[str, tuple[datetime, Values]],
    prev: dict[str, tuple[datetime, Values]],
    held: Held | None,
) -> list[dict[str, Any]]:
    """The `step` rows of the source totals (oldest first) and account `changes` (oldest
    first, from the first total on; each account's values before it: `carried`): per row the
    total and its accounts' rows (`_account_rows`).

    Time exhausted: a minute point holds until the next one (the last until the bucket's
    end), and the point before a bucket (`held`) from its start to its first point when it is
    at most a bucket older (not over a gap); a rolled-up row brings its own `full_seconds`."""
    source = ROLL_UP[step][0]
    by_row: dict[datetime, list[tuple[datetime, Values]]] = {}
    for t, v in totals:
        by_row.setdefault(floor_to(t, step), []).append((t, v))
    current = {a: v for a, (_, v) in carried.items()}  # each account's values, carried forward
    rows: list[dict[str, Any]] = []
    i = 0
    for b in sorted(by_row):
        sources = by_row[b]
        times = [t for t, _ in sources]
        spans: Sequence[float | None] = (
            _spans(times, b + timedelta(seconds=step)) if source == MINUTE else [None] * len(times)
        )
        if held is not None and (source != MINUTE or held[0] < b - timedelta(seconds=step)):
            held = None  # a gap: what came before it is not known to have held
        per_account: dict[str, list[Values]] = {}
        account_full: dict[str, float] = {}
        for k, (t, _) in enumerate(sources):
            while i < len(changes) and req(changes[i].at) <= t:
                account, _, *c = changes[i]
                i += 1
                current[account] = (c[0], c[1], c[2], c[3], c[4])
            for account, v in current.items():
                if v[0] is not None:
                    per_account.setdefault(account, []).append(v)
                    account_full[account] = account_full.get(account, 0.0) + _full(v, spans[k])
        total_full = sum(_full(v, span) for (_, v), span in zip(sources, spans, strict=True))
        if held is not None:  # from the quarter's start to its first point, at most as
            # long as the point holds (`HOLDS_AT_MOST`), as a read of the points counts it
            lead = max(0.0, (min(times[0], held[0] + HOLDS_AT_MOST) - b).total_seconds())
            if held[1][3]:
                total_full += lead
            for account, v in held[2].items():
                if v[0] is not None and v[3] and account in per_account:
                    account_full[account] = account_full.get(account, 0.0) + lead
        values = [v for _, v in sources]
        n = len(sources)
        rows.append(sample_row(provider, step, TOTAL, b, _bucket(values, total_full, step, n)))
        rows += _account_rows(provider, step, b, per_account, account_full, n, prev)
        held = (times[-1], sources[-1][1], dict(current))
    return rows


def _account_rows(
    provider: str,
    step: int,
    b: datetime,
    per_account: dict[str, list[Values]],
    account_full: dict[str, float],
    instants: int,
    prev: dict[str, tuple[datetime, Values]],
) -> list[dict[str, Any]]:
    """The account rows of the `step` row at `b`: each account present whose values changed
    from `prev` (its last row, updated here) or whose last row is `REFRESH` old, and a gone
    row for each account that was in `prev` and is not now."""
    rows = []
    for account, points in per_account.items():
        v = _bucket(points, account_full.get(account, 0.0), step, instants)
        before = prev.get(account)
        if before is None or before[1] != v or b - before[0] >= REFRESH[step]:
            rows.append(sample_row(provider, step, account, b, v))
            prev[account] = (b, v)
    for account in [a for a in prev if a not in per_account]:
        rows.append(sample_row(provider, step, account, b, GONE))
        del prev[account]
    return rows


async def roll_up(conn: AsyncConnection, provider: str, now: datetime, step: int = BUCKET) -> int:
    """Compute the next completed `step` rows (15-minute buckets from the minute points, days
    from the buckets) of `provider` after the last one stored, at most `ROLL_UP[step]`.
    Returns how many were written (0: none due)."""
    due = await _due(conn, provider, step, now)
    if due is None:
        return 0
    start, end = due
    source = ROLL_UP[step][0]
    within = (_t.provider == provider, _t.step == source, _t.at < to_db(end))
    totals_q = select(_t.at, _t.running, _t.max_jobs, _t.free, _t.exhausted, _t.full_seconds)
    totals = [
        (req(at), (x[0], x[1], x[2], x[3], x[4]))
        for at, *x in await conn.execute(
            totals_q.where(*within, _t.account == TOTAL, _t.at >= to_db(start)).order_by(_t.at)
        )
    ]
    changes = list(
        await conn.execute(
            select(
                _t.account, _t.at, _t.running, _t.max_jobs, _t.free, _t.exhausted, _t.full_seconds
            )
            .where(*within, _t.account != TOTAL, _t.at >= to_db(start))
            .order_by(_t.at)
        )
    )
    carried = await accounts_before(conn, provider, source, start)  # each account's values
    prev = await accounts_before(conn, provider, step, start)  # each account's last row
    held: Held | None = None
    if source == MINUTE:  # the point before the stretch, when at most a bucket older
        before = (
            await conn.execute(
                totals_q.where(
                    _t.provider == provider,
                    _t.step == source,
                    _t.account == TOTAL,
                    _t.at >= to_db(start - timedelta(seconds=step)),
                    _t.at < to_db(start),
                )
                .order_by(_t.at.desc())
                .limit(1)
            )
        ).first()
        if before is not None:
            t0, *x = before
            # (the accounts' rows come with the totals': their last before `start` is at t0)
            held = (
                req(t0),
                (x[0], x[1], x[2], x[3], x[4]),
                {a: v for a, (_, v) in carried.items()},
            )
    # A day of 500 accounts is ~50,000 values to average: in a thread, not on the event loop.
    rows = await asyncio.to_thread(_rolled, provider, step, totals, changes, carried, prev, held)
    await upsert_samples(conn, rows)
    return len({floor_to(t, step) for t, _ in totals})


async def prune_samples_chunk(
    conn: AsyncConnection, provider: str, step: int, before: datetime, chunk: int
) -> int:
    """Delete up to `chunk` rows of `step` past their keep: totals before `before`, accounts
    before `before - LOOKBACK` (a read at `before` still finds their values). Returns how
    many."""
    old = history_samples_table.alias("old").c
    key = (old.provider, old.step, old.account, old.at)
    doomed = (
        select(*key)
        .where(
            old.provider == provider,
            old.step == step,
            ((old.account == TOTAL) & (old.at < to_db(before)))
            | ((old.account != TOTAL) & (old.at < to_db(before - LOOKBACK[step]))),
        )
        .limit(chunk)
    )
    res = await conn.execute(
        delete(history_samples_table).where(
            tuple_(_t.provider, _t.step, _t.account, _t.at).in_(doomed)
        )
    )
    return int(res.rowcount or 0)
