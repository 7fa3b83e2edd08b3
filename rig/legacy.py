"""A database as an older opsbot left it, for the migration test.

`fill(store)` puts one of everything the store keeps into a database (a snapshot with a stuck
job, a job awaiting its outcome, alert states, outbox rows in each state, routes, a mute, a
mention, a board, an untrack, the account checks' health, a lease); `summary(store)` reads it
all back through the store's API as plain JSON.

`python -m rig.legacy DIR` (run with the opsbot of the schema to be kept; see
`tests/data/schema3/README.md`) fills a SQLite and a PostgreSQL database, dumps both as SQL to
`DIR` and writes what that opsbot read back to `DIR/expected.json`. The migration test loads a
dump, upgrades it with today's opsbot and compares today's `summary` with that file: what the
old code read, the new one must read too.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.accounts.policy import AccountState, SubscriptionState
from bot.accounts.subscription import ProviderAccounts, Subscription
from bot.alerts import AlertState, OutboxItem
from bot.events import Event, EventKind
from bot.models import Account, Job, Snapshot
from bot.store import PendingJob, Store

T0 = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
PROVIDER = "pixverse"
JOBS = (
    Job(PROVIDER, "user:1-pixverse:a@b.c-video:7", "video", "a@b.c", T0 - timedelta(hours=1), 3600),
    Job(PROVIDER, "user:1-pixverse:a@b.c-image:8", "image", "a@b.c", None, 42, "v4"),
)
SNAPSHOT = Snapshot(PROVIDER, T0, JOBS, (Account("a@b.c", 2, 2, 0), Account("x@y.z", 5, 0, None)))
PENDING = PendingJob(
    job=Job(PROVIDER, "user:1-pixverse:x@y.z-video:3", "video", "x@y.z", T0, 5),
    left_at=T0 - timedelta(minutes=2),
    attempts=2,
    last_error="HTTP 503",
)
STATES = (
    AlertState("capacity:a@b.c", raw="full", since=T0, announced="full", episode=3),
    AlertState("upstream", raw="ok", streak=2, since=T0 - timedelta(days=1), episode=1),
)
CHANNEL, OTHER, ROLE, GUILD, USER = (1200000000000000101 + n for n in range(5))


def _event(key: str, word: str, kind: EventKind = EventKind.JOB) -> Event:
    return Event(
        key=key,
        kind=kind,
        provider=PROVIDER,
        word=word,
        at=T0,
        job_id=JOBS[0].id if kind is EventKind.JOB else None,
        account="a@b.c",
        detail=f"{word} detail",
        urls=("https://media.example/7.mp4",),
        extra={"kind": "video"},
    )


OUTBOX = (
    OutboxItem(_event("job:pixverse:sent:completed", "completed"), CHANNEL, None, "pending"),
    OutboxItem(_event("job:pixverse:pending:failed", "failed"), CHANNEL, ROLE, "pending"),
    OutboxItem(
        _event("capacity:pixverse:a@b.c:3:exhausted", "exhausted", EventKind.CAPACITY),
        OTHER,
        None,
        "pending",
    ),
    OutboxItem(_event("job:pixverse:muted:moderated", "moderated"), None, None, "muted"),
    OutboxItem(_event("job:pixverse:unrouted:unknown", "unknown"), None, None, "unrouted"),
)


async def fill(store: Store) -> None:
    """One of everything the store keeps."""
    await store.commit_tick(
        PROVIDER,
        now=T0,
        batch=f"{PROVIDER}:{T0.isoformat()}",
        snapshot=SNAPSHOT,
        stuck_ids=[JOBS[0].id],
        pending_add=[PENDING],
        states=STATES,
        outbox=OUTBOX,
    )
    await store.mark_sent(["job:pixverse:sent:completed"], 1200000000000000999, now=T0)
    await store.hold(["capacity:pixverse:a@b.c:3:exhausted"], "403 Missing Permissions")
    await store.set_route(EventKind.JOB, None, CHANNEL)
    await store.set_route(EventKind.CAPACITY, PROVIDER, OTHER)
    await store.mute(PROVIDER, EventKind.CAPACITY, T0 + timedelta(days=400), "noisy")
    await store.set_mention(EventKind.UPSTREAM, ROLE)
    await store.set_board(CHANNEL, None, 1200000000000000555, guild_id=GUILD)
    await store.record_untrack(PROVIDER, JOBS[1].id, USER, T0)
    await store.commit_health(
        now=T0,
        batch="accounts:1",
        subscription=SubscriptionState(
            subscription=Subscription(True, (ProviderAccounts("PixVerse API", 2, 1),)),
            checked_at=T0,
        ),
        write=[
            AccountState(
                PROVIDER,
                "a@b.c",
                error="re-add the account",
                expires=T0 + timedelta(days=2),
                checked_at=T0,
            )
        ],
    )
    await store.acquire_lease("watch:pixverse", "replica-1", now=T0, ttl=timedelta(days=400))


def _t(t: datetime | None) -> str | None:
    return None if t is None else t.astimezone(UTC).isoformat()


async def summary(store: Store) -> dict[str, Any]:
    """Everything `fill` wrote, read back through the store's API, as plain JSON."""
    watch = await store.load_watch(PROVIDER, now=T0)
    snap = watch.snapshot
    health = await store.load_health()
    rows = {item.event.key: await store.outbox_row(item.event.key) for item in OUTBOX}
    return {
        "snapshot": None
        if snap is None
        else {
            "taken_at": _t(snap.taken_at),
            "jobs": [
                [j.id, j.kind, j.account, _t(j.started), j.elapsed_seconds, j.model]
                for j in snap.jobs
            ],
            "accounts": [[a.account, a.max_jobs, a.executing, a.available] for a in snap.accounts],
        },
        "stuck": sorted(watch.stuck_ids),
        "pending": [
            [p.job.id, p.job.account, _t(p.left_at), p.attempts, p.last_error]
            for p in watch.pending
        ],
        "states": sorted(
            [s.scope, s.raw, s.streak, _t(s.since), s.announced, s.episode]
            for s in watch.states.values()
        ),
        "outbox": {
            key: None
            if row is None
            else {
                k: (_t(v) if isinstance(v, datetime) else v)
                for k, v in row.items()
                if k
                in (
                    "key",
                    "provider",
                    "kind",
                    "batch",
                    "channel_id",
                    "mention_role_id",
                    "state",
                    "attempts",
                    "last_error",
                    "sent_message_id",
                    "event",
                )
            }
            for key, row in rows.items()
        },
        "routes": sorted([r.kind.value, r.provider, r.channel_id] for r in await store.routes()),
        "mutes": [
            [m.provider, m.kind and m.kind.value, _t(m.until), m.reason]
            for m in await store.mutes()
        ],
        "mentions": [[m.kind.value, m.provider, m.role_id] for m in await store.mentions()],
        "boards": [
            [b.message_id, b.channel_id, b.guild_id, b.provider] for b in await store.boards()
        ],
        "untracks": {
            k: [u.provider, u.job_id, u.by, _t(u.at)]
            for k, u in (await store.untracked(PROVIDER, [j.id for j in JOBS])).items()
        },
        "accounts": [
            [a.provider, a.account, a.error, _t(a.expires), _t(a.checked_at), a.alert.scope]
            for a in health.accounts.values()
        ],
        "subscription": None
        if (sub := health.subscription.subscription) is None
        else [sub.active, [[p.name, p.total, p.active, p.error] for p in sub.providers]],
        "lease": await store.lease_holder("watch:pixverse"),
    }


async def _make(url: str) -> dict[str, Any]:
    store = await Store.open(url)
    try:
        await fill(store)
        return await summary(store)
    finally:
        await store.close()


def main(out: Path, pg_admin: str) -> None:
    """Fill a SQLite and a PostgreSQL database, dump both as SQL to `out`, write what this
    opsbot read back to `out/expected.json` (the same from both)."""
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        file = Path(tmp) / "legacy.db"
        got = asyncio.run(_make(f"sqlite+aiosqlite:///{file}"))
        with sqlite3.connect(file) as conn:
            (out / "sqlite.sql").write_text("\n".join(conn.iterdump()) + "\n", encoding="utf-8")
    name = f"opsbot_legacy_{os.getpid()}"
    subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", name], check=True)
    try:
        pg = asyncio.run(_make(f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"))
        if pg != got:
            sys.exit(f"SQLite and PostgreSQL read back differently:\n{got}\n{pg}")
        dump = subprocess.run(
            [
                "pg_dump",
                "-h",
                "127.0.0.1",
                "-U",
                "postgres",
                "--no-owner",
                "--no-privileges",
                "--inserts",
                name,
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        (out / "postgresql.sql").write_text(dump, encoding="utf-8")
    finally:
        subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", name], check=True)
    (out / "expected.json").write_text(json.dumps(got, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main(Path(sys.argv[1]), "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres")
