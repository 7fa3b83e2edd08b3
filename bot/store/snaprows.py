"""The last snapshot of each provider as rows (`watch_snapshots` + `watch_jobs` +
`watch_accounts`), written as the difference from what is stored: a steady tick at 10,000
running jobs writes the handful that started, ended or changed, not 10,000.

Upstream's elapsed figure grows every tick, so a job row does not hold it: it holds `anchor`,
the instant that figure implies the job started (`taken_at − elapsed`), and a read gives back
`taken_at − anchor`. The anchor of a running job moves only by the jitter of upstream's
rounding and of our clock, so it is rewritten only when it moves by more than `ANCHOR_SLACK`
seconds: a snapshot read back (after a restart, or by another replica) shows each job's elapsed
within that of what was committed, and everything else exactly.

What the store last wrote for a provider is kept in memory (`Image`) so that finding the
difference reads nothing back. It is trusted only while the stored `taken_at` is the one it was
written with (checked inside the writing transaction): after another replica's write, a failed
commit or a restart, the rows are read once and the difference taken from them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.fastjson import healed
from bot.models import MAX_ELAPSED_SECONDS, Account, Job, Snapshot, bound_count, make_job
from bot.store.codecs import from_db, to_db
from bot.store.schema import IN_CHUNK, accounts_table, insert, jobs_table, snapshots_table

#: Seconds an anchor may move before its row is rewritten (so a read-back elapsed is within
#: this of the committed one).
ANCHOR_SLACK = 2.0

#: A job row's columns but its id and anchor, as the model holds them: kind, account, started
#: (an aware datetime), model, seen, reply_ref, stuck (bools). (Compared every tick for every
#: job: the values the model already holds compare cheaper than columns made of them.)
JobFields = tuple[Any, ...]
AccountFields = tuple[int | None, int, int | None]


@dataclass(slots=True)
class Image:
    """What the rows of one provider hold, as of the snapshot taken at `taken_at` (naive UTC, as
    stored): per job id its fields and its anchor, per account its counts."""

    taken_at: datetime
    jobs: dict[str, tuple[JobFields, float | None]] = field(default_factory=dict)
    accounts: dict[str, AccountFields] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Change:
    """What storing a snapshot changes: the new image, the job ids and account names whose
    rows are new or changed, and those whose rows go."""

    image: Image
    put_jobs: list[str]
    put_accounts: list[str]
    gone_jobs: list[str]
    gone_accounts: list[str]


@dataclass(frozen=True, slots=True)
class Written:
    """How many rows a commit wrote (inserted or updated) and deleted, header included."""

    rows: int = 0
    deleted: int = 0


def _epoch(dt: datetime) -> float:
    return dt.timestamp() if dt.tzinfo else dt.replace(tzinfo=UTC).timestamp()


def _utc(dt: datetime) -> datetime:
    """`dt` as an aware UTC datetime (naive = UTC), as it reads back."""
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


# --------------------------------------------------------------------------- reading


async def stored_taken_at(conn: AsyncConnection, provider: str) -> datetime | None:
    """The `taken_at` column as stored (naive), None when nothing is."""
    c = snapshots_table.c
    value: datetime | None = (
        await conn.execute(select(c.taken_at).where(c.provider == provider))
    ).scalar()
    return value


async def read_image(conn: AsyncConnection, provider: str) -> Image | None:
    """Every row of `provider`, as stored; None when it has no snapshot."""
    taken_at = await stored_taken_at(conn, provider)
    if taken_at is None:
        return None
    j, a = jobs_table.c, accounts_table.c
    jobs = {
        r[0]: (
            (
                r[1],
                r[2],
                None if r[3] is None else datetime.fromtimestamp(r[3], UTC),
                r[4],
                bool(r[5]),
                r[6],
                bool(r[7]),
            ),
            r[8],
        )
        for r in await conn.execute(
            select(
                j.job_id,
                j.kind,
                j.account,
                j.started,
                j.model,
                j.seen,
                j.reply_ref,
                j.stuck,
                j.anchor,
            )
            .where(j.provider == provider)
            .order_by(j.job_id)  # (a snapshot's order means nothing; a stable one helps)
        )
    }
    accounts = {
        r[0]: (r[1], r[2], r[3])
        for r in await conn.execute(
            select(a.account, a.max_jobs, a.executing, a.available)
            .where(a.provider == provider)
            .order_by(a.account)
        )
    }
    return Image(taken_at, jobs, accounts)


async def read_stuck(conn: AsyncConnection, provider: str) -> frozenset[str]:
    """The ids of the stored jobs reported stuck."""
    j = jobs_table.c
    return frozenset(
        (await conn.execute(select(j.job_id).where(j.provider == provider, j.stuck == 1)))
        .scalars()
        .all()
    )


def image_snapshot(provider: str, image: Image) -> tuple[Snapshot, frozenset[str]]:
    """The snapshot the rows stand for, and the ids reported stuck."""
    at = from_db(image.taken_at)
    assert at is not None
    t = at.timestamp()
    jobs: list[Job] = []
    stuck: list[str] = []
    for job_id, (
        (kind, account, started, model, seen, ref, is_stuck),
        anchor,
    ) in image.jobs.items():
        elapsed: int | None = None
        if anchor is not None:
            elapsed = min(max(round(t - anchor), 0), MAX_ELAPSED_SECONDS)
        jobs.append(
            make_job(
                provider,
                job_id,
                kind,
                account,
                started,
                elapsed,
                model,
                seen,
                ref,
            )
        )
        if is_stuck:
            stuck.append(job_id)
    accounts = tuple(
        Account(account=name, max_jobs=m, executing=e, available=av)
        for name, (m, e, av) in image.accounts.items()
    )
    return Snapshot(provider, at, tuple(jobs), accounts), frozenset(stuck)


# --------------------------------------------------------------------------- writing


def change(snapshot: Snapshot, stuck: frozenset[str], before: Image | None) -> Change:
    """How to store `snapshot` given what is stored (`before`). A pure function.

    An unchanged job keeps its stored anchor (which is within `ANCHOR_SLACK` of its own)."""
    at = to_db(snapshot.taken_at)
    assert at is not None
    t = _epoch(snapshot.taken_at)
    old_jobs = before.jobs if before is not None else {}
    slack = ANCHOR_SLACK
    jobs: dict[str, tuple[JobFields, float | None]] = {}
    put: list[str] = []
    for j in snapshot.jobs:
        st = j.started
        fields: JobFields = (
            j.kind,
            j.account,
            st if st is None or st.tzinfo is UTC else _utc(st),
            j.model,
            j.seen,
            j.reply_ref,
            j.id in stuck,
        )
        e = j.elapsed_seconds
        # (bounded again: a Job built by hand, not by an adapter, may hold any int)
        anchor = None if e is None else t - (e if e <= MAX_ELAPSED_SECONDS else MAX_ELAPSED_SECONDS)
        old = old_jobs.get(j.id)
        if old is not None and old[0] == fields:
            kept = old[1]
            if kept is None if anchor is None else kept is not None and abs(kept - anchor) <= slack:
                jobs[j.id] = old
                continue
        # A new or changed row: its text is made storable (decoding already heals upstream's,
        # so this is for a job built otherwise). A job whose id had to be healed is stored,
        # and so found in the image, under the healed id: it is written again every tick,
        # harmlessly, and reads back as decoding would have given it.
        jid = healed(j.id)
        if jid is not j.id or any(isinstance(f, str) and healed(f) is not f for f in fields):
            fields = tuple(healed(f) if isinstance(f, str) else f for f in fields)
        jobs[jid] = (fields, anchor)
        put.append(jid)
    gone = [jid for jid in old_jobs if jid not in jobs]
    old_accounts = before.accounts if before is not None else {}
    # (bounded again, as the elapsed figure above: the columns are 32-bit)
    accounts = {
        healed(a.account): (
            None if a.max_jobs is None else bound_count(a.max_jobs),
            bound_count(a.executing),
            None if a.available is None else bound_count(a.available),
        )
        for a in snapshot.accounts
    }
    put_accounts = [n for n, v in accounts.items() if old_accounts.get(n) != v]
    gone_accounts = [n for n in old_accounts if n not in accounts]
    return Change(Image(at, jobs, accounts), put, put_accounts, gone, gone_accounts)


async def write(
    conn: AsyncConnection,
    provider: str,
    snapshot: Snapshot,
    stuck: Iterable[str] | None,
    now: datetime,
    before: Image | None,
) -> tuple[Image, Written]:
    """Store `snapshot` as the difference from what the rows hold. `before`: what the caller
    believes they hold (its last write); used only if the stored `taken_at` says it is so, else
    the rows are read. Returns the new image (to pass as `before` next time) and the counts."""
    stored_at = await stored_taken_at(conn, provider)
    if before is None or stored_at is None or before.taken_at != stored_at:
        before = await read_image(conn, provider) if stored_at is not None else None
    ch = change(snapshot, frozenset(stuck or ()), before)
    image = ch.image
    ins = insert(conn, snapshots_table).values(
        provider=provider, taken_at=image.taken_at, updated_at=to_db(now)
    )
    await conn.execute(
        ins.on_conflict_do_update(
            index_elements=["provider"],
            set_={"taken_at": ins.excluded.taken_at, "updated_at": ins.excluded.updated_at},
        )
    )
    await _delete(conn, jobs_table, jobs_table.c.job_id, provider, ch.gone_jobs)
    await _delete(conn, accounts_table, accounts_table.c.account, provider, ch.gone_accounts)
    if ch.put_jobs:
        await _upsert(conn, jobs_table, ["provider", "job_id"], _job_rows(provider, ch))
    if ch.put_accounts:
        await _upsert(conn, accounts_table, ["provider", "account"], _account_rows(provider, ch))
    return image, Written(
        1 + len(ch.put_jobs) + len(ch.put_accounts), len(ch.gone_jobs) + len(ch.gone_accounts)
    )


def _job_rows(provider: str, ch: Change) -> list[dict[str, Any]]:
    rows = []
    for jid in ch.put_jobs:
        (kind, account, started, model, seen, ref, is_stuck), anchor = ch.image.jobs[jid]
        rows.append(
            {
                "provider": provider,
                "job_id": jid,
                "kind": kind,
                "account": account,
                "started": None if started is None else started.timestamp(),
                "anchor": anchor,
                "model": model,
                "seen": int(seen),
                "reply_ref": ref,
                "stuck": int(is_stuck),
            }
        )
    return rows


def _account_rows(provider: str, ch: Change) -> list[dict[str, Any]]:
    return [
        {
            "provider": provider,
            "account": n,
            "max_jobs": ch.image.accounts[n][0],
            "executing": ch.image.accounts[n][1],
            "available": ch.image.accounts[n][2],
        }
        for n in ch.put_accounts
    ]


async def _upsert(
    conn: AsyncConnection, table: Any, keys: list[str], rows: list[dict[str, Any]]
) -> None:
    """INSERT `rows`, each replacing the row of its key (`keys`) where there is one."""
    ins = insert(conn, table)
    await conn.execute(
        ins.on_conflict_do_update(
            index_elements=keys,
            set_={c: ins.excluded[c] for c in rows[0] if c not in keys},
        ),
        rows,
    )


async def _delete(
    conn: AsyncConnection, table: Any, key: Any, provider: str, values: list[str]
) -> None:
    for i in range(0, len(values), IN_CHUNK):
        await conn.execute(
            delete(table).where(table.c.provider == provider, key.in_(values[i : i + IN_CHUNK]))
        )
