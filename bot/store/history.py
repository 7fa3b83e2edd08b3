"""History (issue 14): capacity samples and finished jobs, as SQL.

**Samples** (`history_samples`), two resolutions of the same shape: 1-minute points (`step` 60,
kept `POINTS_KEEP`) and 15-minute buckets (`step` 900, kept `HISTORY_DAYS`).

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
more than none), its account rows again only where changed; then rows
past their keep are deleted `PRUNE_CHUNK` at a time, each chunk a transaction of its own.

**Finished jobs** (`history_finished`): one row per provider and job id; the first writer (the
poll or the callback) stands, the second is ignored.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta
from types import MemberDescriptorType
from typing import Any, Final

from sqlalchemy import delete, func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.history.capture import samples_of
from bot.history.records import Finished, Sample, Via
from bot.models import Snapshot
from bot.store.codecs import from_db, refused_text, req, to_db
from bot.store.schema import history_finished_table, history_samples_table, insert

#: `step` of the 1-minute points and of the 15-minute buckets, in seconds.
MINUTE: Final = 60
BUCKET: Final = 900
#: How long the 1-minute points are kept (then only the buckets).
POINTS_KEEP: Final = timedelta(days=2)
#: Per `step`: an unchanged account's row is written again once its last is this old ...
REFRESH: Final = {MINUTE: timedelta(hours=3), BUCKET: timedelta(days=1)}
#: ... so that a read finds each account's values at its start within this look-back.
LOOKBACK: Final = {MINUTE: timedelta(hours=6), BUCKET: timedelta(days=2)}
#: Unchanged accounts written again per tick, at most.
REFRESH_PER_TICK: Final = 25
#: Rows deleted per transaction by the retention.
PRUNE_CHUNK: Final = 2000
#: Buckets computed per transaction by the roll-up (4 hours).
ROLL_UP_CHUNK: Final = 16
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
    """Each account's last row of `step` in [before - LOOKBACK, before), gone ones left out."""
    last: dict[str, tuple[datetime, Values]] = {}
    rows = await conn.execute(
        select(_t.account, _t.at, _t.running, _t.max_jobs, _t.free, _t.exhausted, _t.full_seconds)
        .where(
            _t.provider == provider,
            _t.step == step,
            _t.account != TOTAL,
            _t.at >= to_db(before - LOOKBACK[step]),
            _t.at < to_db(before),
        )
        .order_by(_t.at)
    )
    for account, at, *v in rows:
        last[account] = (req(at), (v[0], v[1], v[2], v[3], v[4]))
    return {a: w for a, w in last.items() if w[1][0] is not None}


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
) -> list[Sample]:
    """The samples of `step` at `since` … `until` (both included), oldest first: at each
    instant the provider's total, then (`per_account`) its accounts by name, carried forward."""
    where = [_t.step == step, _t.at <= to_db(until)]
    if provider is not None:
        where.append(_t.provider == provider)
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
    changes = list(
        await conn.execute(
            select(*cols, _t.full_seconds)
            .where(*where, _t.account != TOTAL, _t.at >= to_db(since - LOOKBACK[step]))
            .order_by(_t.at)
        )
    )
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


def _bucket(points: Sequence[Values], full: float) -> Values:
    """One bucket's values from its minute points (at least one): the means, and `full`
    seconds of it exhausted (`_full_spans`)."""
    full = min(full, BUCKET)
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


async def roll_up(conn: AsyncConnection, provider: str, now: datetime) -> int:
    """Compute up to `ROLL_UP_CHUNK` completed 15-minute buckets of `provider` after the last
    one stored. Returns how many buckets were written (0: none due)."""
    last = await _latest_total(conn, provider, BUCKET)
    if last is not None:
        start = last + timedelta(seconds=BUCKET)
    else:
        first = from_db(
            (
                await conn.execute(
                    select(func.min(_t.at)).where(
                        _t.provider == provider, _t.step == MINUTE, _t.account == TOTAL
                    )
                )
            ).scalar()
        )
        if first is None:
            return 0
        start = floor_to(first, BUCKET)
    end = floor_to(now, BUCKET)
    if start >= end:
        return 0
    # Skip a stretch with no points at all (the bot was down) in one step.
    nxt = from_db(
        (
            await conn.execute(
                select(func.min(_t.at)).where(
                    _t.provider == provider,
                    _t.step == MINUTE,
                    _t.account == TOTAL,
                    _t.at >= to_db(start),
                    _t.at < to_db(end),
                )
            )
        ).scalar()
    )
    if nxt is None:
        return 0
    start = floor_to(nxt, BUCKET)
    end = min(end, start + timedelta(seconds=BUCKET * ROLL_UP_CHUNK))
    totals = await conn.execute(
        select(_t.at, _t.running, _t.max_jobs, _t.free, _t.exhausted, _t.full_seconds)
        .where(
            _t.provider == provider,
            _t.step == MINUTE,
            _t.account == TOTAL,
            _t.at >= to_db(start),
            _t.at < to_db(end),
        )
        .order_by(_t.at)
    )
    by_bucket: dict[datetime, list[tuple[datetime, Values]]] = {}
    for at, *x in totals:
        t = req(at)
        by_bucket.setdefault(floor_to(t, BUCKET), []).append((t, (x[0], x[1], x[2], x[3], x[4])))
    changes = list(
        await conn.execute(
            select(
                _t.account, _t.at, _t.running, _t.max_jobs, _t.free, _t.exhausted, _t.full_seconds
            )
            .where(
                _t.provider == provider,
                _t.step == MINUTE,
                _t.account != TOTAL,
                _t.at >= to_db(start - LOOKBACK[MINUTE]),
                _t.at < to_db(end),
            )
            .order_by(_t.at)
        )
    )
    current: dict[str, Values] = {}  # each account's minute values, carried forward
    i = 0

    def carry_to(t: datetime) -> None:
        nonlocal i
        while i < len(changes) and req(changes[i].at) <= t:
            account, _, *c = changes[i]
            i += 1
            current[account] = (c[0], c[1], c[2], c[3], c[4])

    # The point before the first bucket holds into it until that bucket's first point (as a
    # read of the points holds it); one further back than a bucket is not carried over the gap.
    held: tuple[datetime, Values, dict[str, Values]] | None = None
    before_start = (
        await conn.execute(
            select(_t.at, _t.running, _t.max_jobs, _t.free, _t.exhausted, _t.full_seconds)
            .where(
                _t.provider == provider,
                _t.step == MINUTE,
                _t.account == TOTAL,
                _t.at >= to_db(start - timedelta(seconds=BUCKET)),
                _t.at < to_db(start),
            )
            .order_by(_t.at.desc())
            .limit(1)
        )
    ).first()
    if before_start is not None:
        t0, *x = before_start
        carry_to(req(t0))
        held = (req(t0), (x[0], x[1], x[2], x[3], x[4]), dict(current))
    prev = await _accounts_before(conn, provider, BUCKET, start)  # its last bucket row
    rows: list[dict[str, Any]] = []
    buckets = 0
    for b in sorted(by_bucket):
        minutes = by_bucket[b]
        times = [t for t, _ in minutes]
        spans = _spans(times, b + timedelta(seconds=BUCKET))
        if held is not None and held[0] < b - timedelta(seconds=BUCKET):
            held = None  # a gap: what came before it is not known to have held
        per_account: dict[str, list[Values]] = {}
        account_full: dict[str, float] = {}
        for (t, _), span in zip(minutes, spans, strict=True):
            carry_to(t)
            for account, v in current.items():
                if v[0] is not None:
                    per_account.setdefault(account, []).append(v)
                    if v[3]:
                        account_full[account] = account_full.get(account, 0.0) + span
        total_full = sum(span for (_, v), span in zip(minutes, spans, strict=True) if v[3])
        if held is not None:  # from the quarter's start to its first point
            lead = (times[0] - b).total_seconds()
            if held[1][3]:
                total_full += lead
            for account, v in held[2].items():
                if v[0] is not None and v[3] and account in per_account:
                    account_full[account] = account_full.get(account, 0.0) + lead
        rows.append(_row(provider, BUCKET, TOTAL, b, _bucket([v for _, v in minutes], total_full)))
        for account, points in per_account.items():
            v = _bucket(points, account_full.get(account, 0.0))
            before = prev.get(account)
            if before is None or before[1] != v or b - before[0] >= REFRESH[BUCKET]:
                rows.append(_row(provider, BUCKET, account, b, v))
                prev[account] = (b, v)
        for account in [a for a in prev if a not in per_account]:
            rows.append(_row(provider, BUCKET, account, b, _GONE))
            del prev[account]
        held = (times[-1], minutes[-1][1], dict(current))
        buckets += 1
    await _upsert(conn, rows)
    return buckets


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
