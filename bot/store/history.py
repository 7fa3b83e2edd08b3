"""History (issue 14): capacity samples and finished jobs, as SQL.

**Samples** (`history_samples`), three resolutions of the same shape: 1-minute points (`step` 60,
kept `POINTS_KEEP`), 15-minute buckets (`step` 900) and days (`step` 86,400), kept `HISTORY_DAYS`.

* The provider's total (account "") has a row for every minute a tick stored a snapshot in
  (and every bucket that had one): where it has none, nothing was known (the bot was down, or
  upstream was), and no account is shown there either.
* An account has a row only where its values changed from its previous row, so a steady tick
  at 10,000 jobs and 500 accounts writes the total's row and the few accounts that changed,
  not 500 rows. Read, an account's last row holds until its next one ("carried forward"), at
  each instant its provider's total has a row. An account that left the snapshot gets a row
  with `running` NULL (gone).
* So that a read never has to look further back than `LOOKBACK` (points 6 hours, buckets 2
  days) for an account's current values, an unchanged account's row is written again once its
  last is `REFRESH` old (3 hours, 1 day); a tick writes at most `REFRESH_PER_TICK` of them (the
  oldest first): a bounded trickle, not 500 rows at once. An account's rows are kept
  `LOOKBACK` longer than the totals for the same reason.

The writer remembers what it last wrote per provider (`Written`, held by the `Store`): a tick
compares against it instead of reading 500 rows back. It is trusted only while the newest
stored total is the one it wrote (another replica may have written since) and is younger
than `REFRESH`; otherwise it is read back from the last `LOOKBACK` of rows.

**Roll-up and retention** (`roll_up`, `prune_*`), run every few minutes by the watcher that
holds the provider's lease: each completed 15-minute bucket is computed from the minute points
(mean running, max and free over the minutes that have a total; `full_seconds`: how long it
was exhausted, each point holding until the next as a read of the points holds it, the one
before the quarter hour too when it is at most a quarter hour older; exhausted when that is
more than none), its account rows again only where changed; each completed day likewise from
its buckets (`step` 86,400: one row per account a day, what a long chart ranks its accounts
by); then rows past their keep are deleted `PRUNE_CHUNK` at a time, each chunk a transaction of
its own.

**Finished jobs** (`history_finished`): one row per provider and job id; the first writer (the
poll or the callback) stands, the second is ignored.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta
from types import MemberDescriptorType
from typing import Any, Final

from sqlalchemy import case, delete, extract, func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.history.capture import samples_of
from bot.history.records import Finished, Sample, Via
from bot.history.stats import ModelStats
from bot.models import Outcome, Snapshot
from bot.store.codecs import from_db, refused_text, req, to_db
from bot.store.schema import history_finished_table, history_samples_table, insert

#: `step` of the 1-minute points, the 15-minute buckets and the days, in seconds.
MINUTE: Final = 60
BUCKET: Final = 900
DAY: Final = 86_400
#: How long the 1-minute points are kept (then only the buckets).
POINTS_KEEP: Final = timedelta(days=2)
#: Per `step`: an unchanged account's row is written again once its last is this old ...
#: (a day: every day, so each account has one row a day)
REFRESH: Final = {MINUTE: timedelta(hours=3), BUCKET: timedelta(days=1), DAY: timedelta(days=1)}
#: ... so that a read finds each account's values at its start within this look-back.
LOOKBACK: Final = {MINUTE: timedelta(hours=6), BUCKET: timedelta(days=2), DAY: timedelta(days=2)}
#: Unchanged accounts written again per tick, at most.
REFRESH_PER_TICK: Final = 25
#: Rows deleted per transaction by the retention.
PRUNE_CHUNK: Final = 2000
#: Per rolled-up step: the step it is computed from, and how many rows of it one transaction
#: computes at most (4 hours of buckets; one day).
ROLL_UP: Final = {BUCKET: (MINUTE, 16), DAY: (BUCKET, 1)}
#: The `account` of a provider's total.
TOTAL: Final = ""
#: The longest account name or job id (UTF-8 bytes) kept: they are part of a primary key, and
#: PostgreSQL refuses an index entry past ~2,700 bytes (no data error: the tick would fail
#: every time). A longer one (hostile, not a name) is left out of the history.
MAX_KEY_BYTES: Final = 1000


def _unkeyable(dialect: str, text: str) -> bool:
    return refused_text(dialect, text) or len(text.encode()) > MAX_KEY_BYTES


#: What a row holds: running (None: gone), max_jobs, free, exhausted (0/1), full_seconds.
Values = tuple[float | None, float | None, float | None, int, float]

_t = history_samples_table.c
_VALUE_COLUMNS: Final = ("running", "max_jobs", "free", "exhausted", "full_seconds")


@dataclass(slots=True)
class Written:
    """What the store last wrote for one provider's 1-minute points: the minute of its total,
    and each account's last row (when, values)."""

    at: datetime
    accounts: dict[str, tuple[datetime, Values]] = field(default_factory=dict)


_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


def floor_to(t: datetime, step: int) -> datetime:
    """`t` (aware; naive is UTC) down to a multiple of `step` seconds since the epoch, in UTC.
    Whole microseconds: a float timestamp is off by a few at today's dates."""
    since = (t if t.tzinfo else t.replace(tzinfo=UTC)) - _EPOCH
    micro = (since.days * 86_400 + since.seconds) * 1_000_000 + since.microseconds
    return _EPOCH + timedelta(microseconds=micro - micro % (step * 1_000_000))


def _values(s: Sample) -> Values:
    return (s.running, s.max_jobs, s.free, int(s.exhausted), s.full_seconds)


_GONE: Final[Values] = (None, None, None, 0, 0.0)


def _row(provider: str, step: int, account: str, at: datetime, v: Values) -> dict[str, Any]:
    return {
        "provider": provider,
        "step": step,
        "account": account,
        "at": to_db(at),
        "running": v[0],
        "max_jobs": v[1],
        "free": v[2],
        "exhausted": v[3],
        "full_seconds": v[4],
    }


async def _upsert(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    ins = insert(conn, history_samples_table)
    await conn.execute(
        ins.on_conflict_do_update(
            index_elements=["provider", "step", "account", "at"],
            set_={
                c: ins.excluded[c]
                for c in ("running", "max_jobs", "free", "exhausted", "full_seconds")
            },
        ),
        rows,
    )


async def _latest_total(conn: AsyncConnection, provider: str, step: int) -> datetime | None:
    return from_db(
        (
            await conn.execute(
                select(func.max(_t.at)).where(
                    _t.provider == provider, _t.step == step, _t.account == TOTAL
                )
            )
        ).scalar()
    )


async def _accounts_before(
    conn: AsyncConnection, provider: str, step: int, before: datetime
) -> dict[str, tuple[datetime, Values]]:
    """Each account's last row of `step` in [before - LOOKBACK, before), gone ones left out.
    Picked by the database (`ROW_NUMBER`): a day's roll-up would otherwise read two days of
    every account's bucket rows to keep the last of each."""
    newest = (
        select(
            _t.account,
            _t.at,
            _t.running,
            _t.max_jobs,
            _t.free,
            _t.exhausted,
            _t.full_seconds,
            func.row_number().over(partition_by=_t.account, order_by=_t.at.desc()).label("n"),
        )
        .where(
            _t.provider == provider,
            _t.step == step,
            _t.account != TOTAL,
            _t.at >= to_db(before - LOOKBACK[step]),
            _t.at < to_db(before),
        )
        .subquery()
    )
    n = newest.c
    rows = await conn.execute(
        select(n.account, n.at, n.running, n.max_jobs, n.free, n.exhausted, n.full_seconds).where(
            n.n == 1, n.running.is_not(None)
        )
    )
    return {account: (req(at), (v[0], v[1], v[2], v[3], v[4])) for account, at, *v in rows}


# --------------------------------------------------------------------------- the tick's points


async def write_points(
    conn: AsyncConnection, dialect: str, snapshot: Snapshot, written: Written | None
) -> tuple[Written, int]:
    """This tick's 1-minute points of `snapshot`'s provider: its total, and each account whose
    values changed since its last row (or that is new, or gone, or due for a refresh). Returns
    what is now written (for the next tick) and how many rows this wrote."""
    provider = snapshot.provider
    minute = floor_to(snapshot.taken_at, MINUTE)
    stored = await _latest_total(conn, provider, MINUTE)
    force = False
    refresh = REFRESH[MINUTE]
    if written is None or stored != written.at or minute - written.at >= refresh:
        # Not what this store wrote last, or too long ago: read it back. After a gap of
        # REFRESH or more every account present is written again (a read must find it within
        # LOOKBACK), and each one read back that is not present any more is marked gone.
        force = stored is None or minute - stored >= refresh
        written = Written(
            at=stored or minute, accounts=await _accounts_before(conn, provider, MINUTE, minute)
        )
    samples = samples_of(snapshot, minute)
    rows = [_row(provider, MINUTE, TOTAL, minute, _values(samples[0]))]
    last = written.accounts
    now_accounts: dict[str, tuple[datetime, Values]] = {}
    due: list[tuple[datetime, str, Values]] = []
    for s in samples[1:]:
        name = s.account
        if not name or name in now_accounts or _unkeyable(dialect, name):
            continue  # no name, a repeat, or a name the database cannot hold
        v = _values(s)
        before = last.get(name)
        if force or before is None or before[1] != v:
            rows.append(_row(provider, MINUTE, name, minute, v))
            now_accounts[name] = (minute, v)
        else:
            now_accounts[name] = before
            if minute - before[0] >= refresh:
                due.append((before[0], name, v))
    for name, (_, v) in last.items():
        if name not in now_accounts and v[0] is not None:
            rows.append(_row(provider, MINUTE, name, minute, _GONE))  # gone from here on
    for _, name, v in sorted(due)[:REFRESH_PER_TICK]:
        rows.append(_row(provider, MINUTE, name, minute, v))
        now_accounts[name] = (minute, v)
    await _upsert(conn, rows)
    return Written(at=minute, accounts=now_accounts), len(rows)


# --------------------------------------------------------------------------- reading samples


async def read_samples(
    conn: AsyncConnection,
    *,
    step: int,
    since: datetime,
    until: datetime,
    provider: str | None,
    per_account: bool,
    accounts: Collection[str] | None = None,
) -> list[Sample]:
    """The samples of `step` at `since` … `until` (both included), oldest first: at each
    instant the provider's total, then (`per_account`) its accounts by name, carried forward;
    only those named in `accounts` when given."""
    where = [_t.step == step, _t.at <= to_db(until)]
    if provider is not None:
        where.append(_t.provider == provider)
    if accounts is not None:
        where.append(_t.account.in_([TOTAL, *accounts]))
    cols = (_t.provider, _t.account, _t.at, _t.running, _t.max_jobs, _t.free, _t.exhausted)
    totals = await conn.execute(
        select(*cols, _t.full_seconds)
        .where(*where, _t.account == TOTAL, _t.at >= to_db(since))
        .order_by(_t.at, _t.provider)
    )
    out: list[Sample] = []
    if not per_account:
        for p, _, at, running, mx, free, ex, full in totals:
            out.append(Sample(p, None, req(at), running, mx, free, bool(ex), full))
        return out
    changes_q = select(*cols, _t.full_seconds).where(
        *where, _t.account != TOTAL, _t.at >= to_db(since - LOOKBACK[step])
    )
    if accounts is None:
        changes = list(await conn.execute(changes_q.order_by(_t.at)))
    else:
        # a few accounts' rows, ordered here: asked to order them, SQLite walks its time
        # index through every account's rows (a week of 500: 140,000) instead of the key's
        changes = sorted(await conn.execute(changes_q), key=lambda r: r.at)
    Row = tuple[str, float, float | None, float | None, bool, float]
    state: dict[str, dict[str, Row]] = {}  # provider → account → its values (carried)
    order: dict[str, list[Row]] = {}  # provider → its accounts' values by name, while unchanged
    make = _make_sample
    i = 0
    for p, _, at_db, running, mx, free, ex, full in totals:
        at = req(at_db)
        while i < len(changes) and changes[i].at <= at_db:
            cp, ca, _, cr, cm, cf, ce, cfull = changes[i]
            i += 1
            accounts = state.setdefault(cp, {})
            if cr is None:
                accounts.pop(ca, None)
            else:
                accounts[ca] = (ca, cr, cm, cf, bool(ce), cfull)
            order.pop(cp, None)
        out.append(make(p, None, at, running, mx, free, bool(ex), full))
        rows = order.get(p)
        if rows is None:
            accounts = state.get(p, {})
            rows = order[p] = [accounts[name] for name in sorted(accounts)]
        out += [make(p, a, at, r, m, f, e, fs) for a, r, m, f, e, fs in rows]
    return out


async def read_use(
    conn: AsyncConnection, *, step: int, since: datetime, until: datetime, provider: str
) -> list[tuple[str, float]]:
    """Each account of `provider` present in [since, until) at `step`, with the job-seconds
    it ran there (each row's `running` held until the account's next row, or `until`; a
    gone row runs nothing), busiest first, ties by name.

    Summed by the database (one window function over the rows, none of them sent): the chart
    draws only the busiest few, and a week of 500 accounts is 140,000 rows."""
    lo, hi = since.timestamp(), until.timestamp()
    t = extract("epoch", _t.at)
    rows = (
        select(
            _t.account,
            _t.running,
            t.label("t"),
            func.lead(t).over(partition_by=_t.account, order_by=_t.at).label("next"),
        )
        .where(
            _t.provider == provider,
            _t.step == step,
            _t.account != TOTAL,
            _t.at >= to_db(since - LOOKBACK[step]),
            _t.at <= to_db(until),
        )
        .subquery()
    )
    r = rows.c
    start = case((r.t < lo, lo), else_=r.t)
    end = func.coalesce(r.next, hi)  # (the rows end at `until`)
    held = case((end > start, end - start), else_=0)
    present = case((r.running.is_not(None) & (end > start), 1), else_=0)
    result = await conn.execute(
        select(r.account, func.sum(func.coalesce(r.running, 0) * held))
        .group_by(r.account)
        .having(func.max(present) == 1)
    )
    # ordered here, not by the database: PostgreSQL's collation would order ties otherwise
    return sorted(((a, float(u or 0)) for a, u in result), key=lambda x: (-x[1], x[0]))


def _sample_maker() -> Callable[..., Sample]:
    """`Sample(...)` with every field given, built by writing its slots directly: a 7-day
    read at 500 accounts makes 300,000 of them, and the frozen dataclass's `__init__` (one
    `object.__setattr__` per field) takes twice as long. `Sample` itself should it ever
    stop being a plain slotted class."""
    names = [f.name for f in fields(Sample)]
    slots = [Sample.__dict__.get(n) for n in names]
    if (
        names
        != ["provider", "account", "at", "running", "max_jobs", "free", "exhausted", "full_seconds"]
        or hasattr(Sample, "__post_init__")
        or not all(isinstance(d, MemberDescriptorType) for d in slots)
    ):
        return Sample  # pragma: no cover
    new = object.__new__
    p_, a_, at_, r_, m_, f_, e_, fs_ = (d.__set__ for d in slots)  # type: ignore[union-attr]

    def make(
        provider: str,
        account: str | None,
        at: datetime,
        running: float,
        max_jobs: float | None,
        free: float | None,
        exhausted: bool,
        full_seconds: float,
    ) -> Sample:
        s: Sample = new(Sample)
        p_(s, provider)
        a_(s, account)
        at_(s, at)
        r_(s, running)
        m_(s, max_jobs)
        f_(s, free)
        e_(s, exhausted)
        fs_(s, full_seconds)
        return s

    return make


_make_sample: Final = _sample_maker()


# --------------------------------------------------------------------------- roll-up, retention


def _mean(xs: Sequence[float | None]) -> float | None:
    known = [x for x in xs if x is not None]
    return round(sum(known) / len(known), 3) if known else None


def _bucket(points: Sequence[Values], full: float, step: int) -> Values:
    """One `step` row's values from the source rows within it (at least one): the means, and
    `full` seconds of it exhausted (at most `step`); exhausted when that is more than none."""
    full = min(full, step)
    return (
        _mean([v[0] for v in points]),
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

    last = await _latest_total(conn, provider, step)
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
    total, and each account present in it whose values changed from `prev` (its last row,
    updated here) or whose last row is `REFRESH` old; an account gone since gets a gone row.

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
        if source == MINUTE:
            spans = _spans(times, b + timedelta(seconds=step))
            full = [span if v[3] else 0.0 for (_, v), span in zip(sources, spans, strict=True)]
        else:
            full = [v[4] for _, v in sources]
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
                    mine = (spans[k] if v[3] else 0.0) if source == MINUTE else v[4]
                    account_full[account] = account_full.get(account, 0.0) + mine
        total_full = sum(full)
        if held is not None:  # from the quarter's start to its first point
            lead = (times[0] - b).total_seconds()
            if held[1][3]:
                total_full += lead
            for account, v in held[2].items():
                if v[0] is not None and v[3] and account in per_account:
                    account_full[account] = account_full.get(account, 0.0) + lead
        values = [v for _, v in sources]
        rows.append(_row(provider, step, TOTAL, b, _bucket(values, total_full, step)))
        for account, points in per_account.items():
            v = _bucket(points, account_full.get(account, 0.0), step)
            before = prev.get(account)
            if before is None or before[1] != v or b - before[0] >= REFRESH[step]:
                rows.append(_row(provider, step, account, b, v))
                prev[account] = (b, v)
        for account in [a for a in prev if a not in per_account]:
            rows.append(_row(provider, step, account, b, _GONE))
            del prev[account]
        held = (times[-1], sources[-1][1], dict(current))
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
    carried = await _accounts_before(conn, provider, source, start)  # each account's values
    prev = await _accounts_before(conn, provider, step, start)  # each account's last row
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
    await _upsert(conn, rows)
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


# --------------------------------------------------------------------------- finished jobs


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
        if not _unkeyable(dialect, r.job_id)
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


async def read_model_stats(
    conn: AsyncConnection, *, since: datetime, until: datetime, provider: str | None
) -> list[ModelStats]:
    """The figures of each provider and model over the jobs finished in [since, until) (as
    `bot.history.stats.model_stats` counts them), summed by the database: a month at a few
    jobs a minute is 130,000 rows, which sent to the bot would cost it seconds. The p50 and
    p95 run times of the completed jobs are picked by rank (`ROW_NUMBER`): nearest rank
    ⌈p·n/100⌉, in integer arithmetic on both databases. Ordered by provider, then model."""
    f = history_finished_table.c
    where = [f.at >= to_db(since), f.at < to_db(until)]
    if provider is not None:
        where.append(f.provider == provider)

    def count(*outcomes: Outcome) -> Any:
        return func.sum(case((f.outcome.in_([o.value for o in outcomes]), 1), else_=0))

    decided = (Outcome.COMPLETED, Outcome.FAILED, Outcome.MODERATED)
    counts = await conn.execute(
        select(
            f.provider,
            f.model,
            count(Outcome.COMPLETED),
            count(Outcome.FAILED),
            count(Outcome.MODERATED),
            func.count() - count(*decided),
        )
        .where(*where)
        .group_by(f.provider, f.model)
    )
    key = (f.provider, f.model)
    runs = (
        select(
            f.provider,
            f.model,
            f.run_seconds,
            func.row_number().over(partition_by=key, order_by=f.run_seconds).label("rank"),
            func.count().over(partition_by=key).label("n"),
        )
        .where(
            *where,
            f.outcome == Outcome.COMPLETED.value,
            f.run_seconds.is_not(None),
            f.run_seconds >= 0,
        )
        .subquery()
    )
    r = runs.c
    picked: dict[tuple[str, str | None], dict[int, float]] = {}
    for p, model, seconds, rank, n in await conn.execute(
        select(r.provider, r.model, r.run_seconds, r.rank, r.n).where(
            (r.rank == (50 * r.n + 99) // 100) | (r.rank == (95 * r.n + 99) // 100)
        )
    ):
        at = picked.setdefault((p, model), {})
        for q in (50, 95):
            if rank == (q * n + 99) // 100:
                at[q] = seconds
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
