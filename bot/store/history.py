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

**Roll-up and retention** (`bot.store.rollup`), run every few minutes by the watcher that
holds the provider's lease: each completed 15-minute bucket is computed from the minute points
(mean running, max and free over the minutes that have a total; `full_seconds`: how long it
was exhausted, each point holding until the next as a read of the points holds it, the one
before the quarter hour too when it is at most a quarter hour older; exhausted when that is
more than none), its account rows again only where changed; each completed day likewise from
its buckets (`step` 86,400: one row per account a day, what a long chart ranks its accounts
by); then rows past their keep are deleted `PRUNE_CHUNK` at a time, each chunk a transaction of
its own.

**Finished jobs** (`history_finished`, `bot.store.jobhistory`): one row per provider and job
id; the first writer (the poll or the callback) stands, the second is ignored.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta
from types import MemberDescriptorType
from typing import Any, Final

from sqlalchemy import case, extract, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.history.capture import samples_of
from bot.history.records import Sample
from bot.models import Snapshot
from bot.store.codecs import from_db, refused_text, req, to_db
from bot.store.schema import history_samples_table, insert

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


def unkeyable(dialect: str, text: str) -> bool:
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


GONE: Final[Values] = (None, None, None, 0, 0.0)


def sample_row(provider: str, step: int, account: str, at: datetime, v: Values) -> dict[str, Any]:
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


async def upsert_samples(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
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


async def latest_total(conn: AsyncConnection, provider: str, step: int) -> datetime | None:
    return from_db(
        (
            await conn.execute(
                select(func.max(_t.at)).where(
                    _t.provider == provider, _t.step == step, _t.account == TOTAL
                )
            )
        ).scalar()
    )


async def accounts_before(
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
    stored = await latest_total(conn, provider, MINUTE)
    force = False
    refresh = REFRESH[MINUTE]
    if written is None or stored != written.at or minute - written.at >= refresh:
        # Not what this store wrote last, or too long ago: read it back. After a gap of
        # REFRESH or more every account present is written again (a read must find it within
        # LOOKBACK), and each one read back that is not present any more is marked gone.
        force = stored is None or minute - stored >= refresh
        written = Written(
            at=stored or minute, accounts=await accounts_before(conn, provider, MINUTE, minute)
        )
    samples = samples_of(snapshot, minute)
    rows = [sample_row(provider, MINUTE, TOTAL, minute, _values(samples[0]))]
    last = written.accounts
    now_accounts: dict[str, tuple[datetime, Values]] = {}
    due: list[tuple[datetime, str, Values]] = []
    for s in samples[1:]:
        name = s.account
        if not name or name in now_accounts or unkeyable(dialect, name):
            continue  # no name, a repeat, or a name the database cannot hold
        v = _values(s)
        before = last.get(name)
        if force or before is None or before[1] != v:
            rows.append(sample_row(provider, MINUTE, name, minute, v))
            now_accounts[name] = (minute, v)
        else:
            now_accounts[name] = before
            if minute - before[0] >= refresh:
                due.append((before[0], name, v))
    for name, (_, v) in last.items():
        if name not in now_accounts and v[0] is not None:
            rows.append(sample_row(provider, MINUTE, name, minute, GONE))  # gone from here on
    for _, name, v in sorted(due)[:REFRESH_PER_TICK]:
        rows.append(sample_row(provider, MINUTE, name, minute, v))
        now_accounts[name] = (minute, v)
    await upsert_samples(conn, rows)
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
