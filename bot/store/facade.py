"""`Store`: the one door to the database.

Each method opens one connection or transaction and hands it to the module of its concern
(`watchstate`, `leases`, `outbox`, `claims`, `alertconfig`, `boards`, `accounthealth`,
`untracks`), so that what must be
one transaction is: a tick's snapshot, pending jobs, states and outbox rows commit together.
Two guards sit here, around every operation: a cancelled caller never cuts a transaction
(`_uncancelled`), and nothing is written once the SQLite file has gone (`check_file`).

It is the one module over ~400 lines on purpose (about 520 since the account checks,
untracking and the outbox readings came): one class of some 55 methods of a few lines each,
every one the same shape (guard, open, call the concern's function), the SQL itself in the
concern modules; cutting it would mean two classes for one door, and a base class to share
the guards.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Callable, Collection, Coroutine, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Concatenate, ParamSpec, TypeVar

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bot.accounts.policy import AccountState, Health, SubscriptionState
from bot.alerts import (
    NOTIFY_CHOICES,
    AlertConfig,
    AlertState,
    Mention,
    Mute,
    Notify,
    OutboxItem,
    Route,
    job_key,
)
from bot.events import EventKind
from bot.history.records import Finished, Sample
from bot.history.stats import ModelStats
from bot.models import Outcome, Snapshot
from bot.store import (
    accounthealth,
    alertconfig,
    boards,
    claims,
    database,
    history,
    jobhistory,
    leases,
    outbox,
    rollup,
    snaprows,
    untracks,
    watchstate,
)
from bot.store.boards import Board
from bot.store.codecs import check_id, refused_text
from bot.store.database import Schema
from bot.store.errors import DatabaseGone, LeaseLost
from bot.store.outbox import PRUNE_CHUNK, HeldRow, OutboxRow, check_items, queue
from bot.store.untracks import Untrack
from bot.store.watchstate import PendingJob, WatchState

log = logging.getLogger(__name__)

_P = ParamSpec("_P")
_T = TypeVar("_T")
#: How long `Store.close` waits for operations whose callers were cancelled.
CLOSE_GRACE_SECONDS = 5.0


def _uncancelled(
    fn: Callable[Concatenate[Store, _P], Coroutine[Any, Any, _T]],
) -> Callable[Concatenate[Store, _P], Coroutine[Any, Any, _T]]:
    """Run a store operation to its end even when its caller is cancelled (the caller stops
    waiting at once).

    A transaction cut at an `await` makes SQLAlchemy invalidate its connection, and with
    aiosqlite that was seen to leave SQLite's write lock held (in CI, and in about one run in
    three of a start-then-stop test under load here) until the garbage collector happened to
    free the connection: every other writer waited out the busy timeout, "database is
    locked". Letting the few milliseconds of SQL finish keeps every transaction whole."""

    @functools.wraps(fn)
    async def run(self: Store, /, *args: _P.args, **kwargs: _P.kwargs) -> _T:
        self.check_file()
        task = asyncio.ensure_future(fn(self, *args, **kwargs))
        self._inflight.add(task)
        task.add_done_callback(self._settled)
        return await asyncio.shield(task)

    return run


class Store:
    """All persistent state. Open with `await Store.open(url)`; `await store.close()`."""

    def __init__(self, engine: AsyncEngine, *, file: str | None = None) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        self._inflight: set[asyncio.Future[Any]] = set()
        #: The SQLite file (absolute path), and the (device, inode) it had once opened.
        self.file = file
        self._identity: tuple[int, int] | None = None
        #: Per provider, what this store last wrote of its snapshot (`snaprows.Image`), so
        #: that a tick writes only the difference without reading the rows back.
        self._images: dict[str, snaprows.Image] = {}
        #: Per provider, the rows its last committed tick wrote to the snapshot tables.
        self.last_written: dict[str, snaprows.Written] = {}
        #: Per provider, the 1-minute history points this store last wrote (`history.Written`).
        self._points: dict[str, history.Written] = {}
        #: History sample rows written by ticks since opening (benchmarks, tests).
        self.history_rows = 0

    # ------------------------------------------------------------------ lifecycle

    @classmethod
    async def open(cls, database_url: str, *, echo: bool = False) -> Store:
        """Connect; create a new database's tables at the newest revision, or check that an
        existing one is at it (`SchemaOutOfDate`, `SchemaTooNew` otherwise: see
        `bot.store.database`). Safe when another replica does the same."""
        engine, file = database.create_engine(database_url, echo=echo)
        store = cls(engine, file=file)
        if engine.dialect.name == "sqlite":
            event.listen(engine.sync_engine, "connect", store._on_sqlite_connect)
        try:
            await database.prepare(engine)
            if file is not None:
                store._identity = database.file_identity(file)
        except BaseException:
            await engine.dispose()
            raise
        return store

    @classmethod
    async def stored_schema(cls, database_url: str) -> Schema | None:
        """What the database at `database_url` holds, read without changing anything (None:
        no database there yet). Raises SchemaTooNew when this opsbot cannot use it."""
        return await database.stored_schema(database_url)

    @classmethod
    async def upgrade(cls, database_url: str) -> tuple[Schema, Schema]:
        """`opsbot migrate`: bring the database at `database_url` (created when there is none)
        to the newest revision. Returns what it held before and after."""
        engine, _ = database.create_engine(database_url)
        if engine.dialect.name == "sqlite":
            event.listen(engine.sync_engine, "connect", database.sqlite_pragmas)
        try:
            return await database.upgrade(engine)
        finally:
            await engine.dispose()

    @classmethod
    async def open_readonly(cls, database_url: str) -> Store | None:
        """The database as it is, to read only (`opsbot check`): nothing is created or
        migrated (None: no opsbot database there yet). Raises SchemaTooNew when this opsbot
        cannot use it, and what the driver raises when it cannot be read."""
        schema = await database.stored_schema(database_url)
        if schema is None or schema.empty:
            return None
        url = database.readonly_url(database_url)
        if url is None:  # (the file went between the two looks)
            return None
        return cls(create_async_engine(url))

    def problem(self) -> str | None:
        """Why the database cannot be used any more, as far as can be told without a query
        (None: nothing known). SQLite: the file the store opened must still be at its path."""
        if self.file is None or self._identity is None:
            return None
        return database.file_problem(self.file, self._identity)

    def check_file(self) -> None:
        """Raise DatabaseGone when `problem()` says so (one stat: microseconds)."""
        problem = self.problem()
        if problem is not None:
            raise DatabaseGone(problem)

    def _on_sqlite_connect(self, dbapi_connection: Any, connection_record: Any) -> None:
        # A new pooled connection opens whatever is at the path now: not a stranger's file.
        if self._identity is not None:
            self.check_file()
        database.sqlite_pragmas(dbapi_connection, connection_record)

    async def close(self) -> None:
        """Let operations whose callers were cancelled finish (bounded), then disconnect."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(CLOSE_GRACE_SECONDS):
                await self.settle()
        await self.engine.dispose()

    async def settle(self) -> None:
        """Wait until no operation is running, those of cancelled callers included."""
        while self._inflight:
            await asyncio.wait(set(self._inflight))

    def _settled(self, task: asyncio.Future[Any]) -> None:
        self._inflight.discard(task)
        # Retrieved here so that a failure nobody waited for any more (its caller was
        # cancelled) is logged once instead of as "exception was never retrieved".
        if not task.cancelled() and (exc := task.exception()) is not None:
            log.debug("store operation failed: %s", exc, exc_info=exc)

    @_uncancelled
    async def schema(self) -> Schema:
        """What the database holds now (`Schema.current` once open)."""
        async with self.engine.connect() as conn:
            return await database.schema_of(conn)

    def refuses(self, text: str | None) -> bool:
        """Whether this database cannot hold `text` in a text column (see `refused_text`)."""
        return refused_text(self.dialect, text)

    # ------------------------------------------------------------------ watcher state

    @_uncancelled
    async def load_snapshot(self, provider: str) -> Snapshot | None:
        async with self.engine.connect() as conn:
            return await watchstate.read_snapshot(conn, provider)

    @_uncancelled
    async def snapshot_taken_at(self, provider: str) -> datetime | None:
        """When the stored snapshot was taken (cheap: does not read the jobs)."""
        async with self.engine.connect() as conn:
            return await watchstate.snapshot_taken_at(conn, provider)

    @_uncancelled
    async def load_watch(
        self,
        provider: str,
        *,
        now: datetime,
        cached: Snapshot | None = None,
        cached_stuck: frozenset[str] | None = None,
    ) -> WatchState:
        """Everything a tick starts from. `cached` is reused instead of decoding the stored
        snapshot when it was taken at the same instant (the watcher's own last commit), and
        with it `cached_stuck`, the stuck ids committed with it, when given."""
        async with self.engine.connect() as conn:
            return await watchstate.read_watch(
                conn, provider, now=now, cached=cached, cached_stuck=cached_stuck
            )

    @_uncancelled
    async def pending_jobs(self, provider: str) -> list[PendingJob]:
        async with self.engine.connect() as conn:
            return list(await watchstate.read_pending(conn, provider))

    @_uncancelled
    async def commit_tick(
        self,
        provider: str,
        *,
        now: datetime,
        batch: str,
        snapshot: Snapshot | None = None,
        stuck_ids: Iterable[str] | None = None,
        pending_add: Sequence[PendingJob] = (),
        pending_update: Sequence[PendingJob] = (),
        pending_remove: Iterable[str] = (),
        states: Sequence[AlertState] = (),
        outbox: Sequence[OutboxItem] = (),
        finished: Sequence[Finished] = (),
        lease: tuple[str, str] | None = None,
    ) -> int:
        """Write one tick in ONE transaction: the new snapshot (None: keep the stored one) as
        the rows that changed (`snaprows`) and its history points (`bot.store.history`: the
        total, and the accounts that changed), pending-job changes, alert states, outbox rows,
        and the finished jobs (one already recorded is ignored). Outbox rows whose key exists
        are ignored. Returns how many outbox rows were new. `lease` (name, holder): write only
        while that holder still holds it, else raise LeaseLost and write nothing."""
        check_items(outbox)
        image: snaprows.Image | None = None
        points: history.Written | None = None
        # Forgotten until this commit is known to have landed: a failed one leaves the rows
        # as they were, and the next write reads them back instead of trusting the image.
        before = self._images.pop(provider, None)
        async with self.engine.begin() as conn:
            if lease is not None and not await leases.holds(conn, *lease):
                raise LeaseLost(*lease)
            if snapshot is not None:
                image, written = await snaprows.write(
                    conn, provider, snapshot, stuck_ids, now, before
                )
                points, rows = await history.write_points(
                    conn, self.dialect, snapshot, self._points.get(provider)
                )
            await watchstate.write_pending(
                conn, provider, add=pending_add, change=pending_update, remove=pending_remove
            )
            if states:
                await watchstate.write_states(conn, provider, states, now)
            if finished:
                await jobhistory.write_finished(conn, self.dialect, finished)
            queued = await queue(conn, outbox, batch=batch, now=now) if outbox else 0
        if image is not None:
            self._images[provider] = image
            self.last_written[provider] = written
        elif before is not None:
            self._images[provider] = before
        if points is not None:  # committed: what the next tick compares with
            self._points[provider] = points
            self.history_rows += rows
        return queued

    # ------------------------------------------------------------------ account checks

    @_uncancelled
    async def load_health(self) -> Health:
        """What the account checks stored: the subscription and every account's state."""
        async with self.engine.connect() as conn:
            return await accounthealth.read_health(conn)

    @_uncancelled
    async def commit_health(
        self,
        *,
        now: datetime,
        batch: str,
        subscription: SubscriptionState | None = None,
        write: Sequence[AccountState] = (),
        remove: Iterable[tuple[str, str]] = (),
        outbox: Sequence[OutboxItem] = (),
    ) -> int:
        """Write one account check in ONE transaction: the states and its outbox rows (rows
        whose key exists are ignored). Returns how many outbox rows were new."""
        check_items(outbox)
        async with self.engine.begin() as conn:
            await accounthealth.write_health(conn, subscription, write, remove)
            return await queue(conn, outbox, batch=batch, now=now) if outbox else 0

    # ------------------------------------------------------------------ leases

    @_uncancelled
    async def acquire_lease(
        self, name: str, holder: str, *, now: datetime, ttl: timedelta, replacing: str | None = None
    ) -> bool:
        """Take or renew lease `name` for `holder` until now+ttl. False: someone else holds it.
        `replacing`: take it from that holder even before it expires (it is known gone)."""
        async with self.engine.begin() as conn:
            return await leases.acquire(
                conn, name, holder, now=now, until=now + ttl, replacing=replacing
            )

    @_uncancelled
    async def lease_holder(self, name: str) -> str | None:
        async with self.engine.connect() as conn:
            return await leases.holder(conn, name)

    @_uncancelled
    async def release_lease(self, name: str, holder: str) -> None:
        async with self.engine.begin() as conn:
            await leases.release(conn, name, holder)

    # ------------------------------------------------------------------ outbox

    @_uncancelled
    async def enqueue(
        self,
        items: Sequence[OutboxItem],
        *,
        batch: str,
        now: datetime,
        finished: Sequence[Finished] = (),
    ) -> int:
        """Queue events outside a tick (a callback's outcome, one-off notices), with the
        finished jobs they tell of, in one transaction. Duplicate keys are ignored, and so is
        a job recorded already."""
        check_items(items)
        async with self.engine.begin() as conn:
            if finished:
                await jobhistory.write_finished(conn, self.dialect, finished)
            return await queue(conn, items, batch=batch, now=now) if items else 0

    @_uncancelled
    async def claim_outbox(
        self, *, limit: int, now: datetime, worker_id: str, lease: timedelta = timedelta(seconds=90)
    ) -> list[OutboxRow]:
        """Claim due pending rows for `worker_id` until now+lease, whole batches at a time,
        a channel's rows in the order they were decided (see `bot.store.claims`)."""
        async with self.engine.begin() as conn:
            return await claims.claim(
                conn, limit=limit, now=now, until=now + lease, worker_id=worker_id
            )

    @_uncancelled
    async def renew_claim(self, claim: str, until: datetime) -> int:
        """Extend a live claim (a send is taking long) so nobody else takes its rows."""
        async with self.engine.begin() as conn:
            return await claims.renew(conn, claim, until)

    @_uncancelled
    async def release_claims(self, worker_id: str) -> int:
        """Give back every row `worker_id` still holds (it is stopping). A row whose message
        Discord did accept goes out again with the same nonce, which Discord drops."""
        async with self.engine.begin() as conn:
            return await claims.release_claims(conn, worker_id)

    @_uncancelled
    async def fence_claim(
        self, claim: str, keys: Sequence[str], *, now: datetime, until: datetime
    ) -> bool:
        """Right before a send: True when `claim` still holds these rows (renewed until
        `until`); False when another worker took them over (see `claims.fence`)."""
        async with self.engine.begin() as conn:
            return await claims.fence(conn, claim, keys, now=now, until=until)

    # The writes below take `claim`: then only the rows that claim still holds change (a
    # worker whose claim was taken over must not undo what the new one recorded). Each
    # returns how many rows changed.

    @_uncancelled
    async def mark_sent(
        self,
        keys: Sequence[str],
        message_id: int | None,
        *,
        now: datetime | None = None,
        claim: str | None = None,
    ) -> int:
        """Discord accepted the message holding these rows."""
        check_id("message_id", message_id, optional=True)
        async with self.engine.begin() as conn:
            return await outbox.mark_sent(conn, keys, message_id, now or datetime.now(UTC), claim)

    @_uncancelled
    async def mark_failed(
        self,
        keys: Sequence[str],
        error: str,
        retry_at: datetime | None,
        *,
        claim: str | None = None,
    ) -> int:
        """Sending failed: count the attempt and retry at `retry_at`, or give up for good
        (state `failed`) when it is None."""
        async with self.engine.begin() as conn:
            return await outbox.mark_failed(conn, keys, error, retry_at, claim)

    @_uncancelled
    async def release(
        self,
        keys: Sequence[str],
        *,
        next_attempt_at: datetime | None = None,
        claim: str | None = None,
    ) -> int:
        """Give back claimed rows untried (optionally not before `next_attempt_at`)."""
        async with self.engine.begin() as conn:
            return await outbox.release(conn, keys, next_attempt_at, claim)

    @_uncancelled
    async def hold(self, keys: Sequence[str], reason: str, *, claim: str | None = None) -> int:
        """Keep rows aside (403/404 on the channel) until `release_held` after a route fix."""
        async with self.engine.begin() as conn:
            return await outbox.hold(conn, keys, reason, claim)

    @_uncancelled
    async def held(self, channel_id: int | None = None) -> list[HeldRow]:
        check_id("channel_id", channel_id, optional=True)
        async with self.engine.connect() as conn:
            return await outbox.read_held(conn, channel_id)

    @_uncancelled
    async def release_held(
        self,
        channel_id: int | None = None,
        *,
        moves: Mapping[str, int] | None = None,
        now: datetime | None = None,
    ) -> int:
        """Put held rows (of `channel_id`, or all) back in the queue, due now. `moves` maps
        keys to a new channel (the route was changed). Returns how many rows were released."""
        check_id("channel_id", channel_id, optional=True)
        for key, channel in (moves or {}).items():
            check_id(f"channel_id for {key}", channel)
        async with self.engine.begin() as conn:
            return await outbox.release_held(
                conn, channel_id, moves=moves or {}, now=now or datetime.now(UTC)
            )

    @_uncancelled
    async def outbox_counts(self) -> dict[str, int]:
        """Rows per state (an `OutboxState`)."""
        async with self.engine.connect() as conn:
            return await outbox.counts(conn)

    @_uncancelled
    async def outbox_depth(self) -> dict[str, int]:
        """Rows still waiting for Discord, per state (`pending`, `held`)."""
        async with self.engine.connect() as conn:
            return await outbox.counts(conn, states=("pending", "held"))

    @_uncancelled
    async def outbox_oldest_due(self, now: datetime) -> datetime | None:
        """When the longest-waiting pending alert fell due (None: none is due)."""
        async with self.engine.connect() as conn:
            return await outbox.oldest_due(conn, now)

    @_uncancelled
    async def announced(self, provider: str, job_ids: Iterable[str]) -> set[str]:
        """Those of `job_ids` (of `provider`) whose outcome is in the outbox already, under
        any final word: a callback got there before the poller (`bot.hooks`)."""
        keys = {
            job_key(provider, job_id, outcome.value): job_id
            for job_id in job_ids
            if not self.refuses(job_id)
            for outcome in Outcome
            if outcome.final
        }
        if not keys:
            return set()
        async with self.engine.connect() as conn:
            return {keys[k] for k in await outbox.present(conn, list(keys))}

    @_uncancelled
    async def outbox_row(self, key: str) -> dict[str, Any] | None:
        """One row by key, as a dict (for tests and debugging)."""
        async with self.engine.connect() as conn:
            return await outbox.read_row(conn, key)

    async def prune_outbox(self, older_than: datetime, *, chunk: int = PRUNE_CHUNK) -> int:
        """Delete finished rows (sent/failed/muted/unrouted) created before `older_than`,
        `chunk` rows per transaction: a month after a flood there are 10,000s of them, and
        one DELETE of them all would hold SQLite's write lock that long. Returns how many."""
        total = 0
        while True:
            n = await self._prune_chunk(older_than, chunk)
            total += n
            if n < chunk:
                return total

    @_uncancelled
    async def _prune_chunk(self, before: datetime, chunk: int) -> int:
        async with self.engine.begin() as conn:
            return await outbox.prune_chunk(conn, before, chunk)

    # ------------------------------------------------------------------ history

    @_uncancelled
    async def finished(
        self,
        *,
        provider: str | None = None,
        account: str | None = None,
        model: str | None = None,
        since: datetime | None = None,
        limit: int | None = None,
    ) -> list[Finished]:
        """Finished jobs (each once, by whichever path saw it first), newest first."""
        async with self.engine.connect() as conn:
            return await jobhistory.read_finished(
                conn, provider=provider, account=account, model=model, since=since, limit=limit
            )

    @_uncancelled
    async def model_stats(
        self, *, since: datetime, until: datetime, provider: str | None = None
    ) -> list[ModelStats]:
        """The figures of each provider and model over the jobs finished in [since, until),
        as `bot.history.stats.model_stats` counts them, summed by the database."""
        async with self.engine.connect() as conn:
            return await jobhistory.read_model_stats(
                conn, since=since, until=until, provider=provider
            )

    @_uncancelled
    async def samples(
        self,
        *,
        since: datetime,
        until: datetime,
        provider: str | None = None,
        per_account: bool = False,
        now: datetime | None = None,
        step: int | None = None,
        accounts: Collection[str] | None = None,
    ) -> list[Sample]:
        """Capacity from `since` to `until` (both included), oldest first: 1-minute points
        when `since` lies within the 2 days they are kept (before `now`, default the clock),
        else 15-minute buckets, or the resolution `step` asks for (`history.MINUTE`, `BUCKET`,
        `DAY`). At each instant the provider's total (account None), then with `per_account`
        each of its accounts by name (only those in `accounts`, when given). No sample where
        nothing was recorded."""
        if step is None:
            recent = since >= (now or datetime.now(UTC)) - history.POINTS_KEEP
            step = history.MINUTE if recent else history.BUCKET
        async with self.engine.connect() as conn:
            return await history.read_samples(
                conn,
                step=step,
                since=since,
                until=until,
                provider=provider,
                per_account=per_account,
                accounts=accounts,
            )

    @_uncancelled
    async def history_covered(self, provider: str, step: int) -> datetime | None:
        """Until when `provider`'s rows of resolution `step` reach: the end of the newest
        one (a bucket or a day is rolled up once it is over); None when there is none."""
        async with self.engine.connect() as conn:
            last = await history.latest_total(conn, provider, step)
        return None if last is None else last + timedelta(seconds=step)

    @_uncancelled
    async def account_use(
        self, provider: str, *, since: datetime, until: datetime, step: int
    ) -> list[tuple[str, float]]:
        """Each account of `provider` seen in [since, until) at resolution `step`, with the
        job-seconds it ran there, busiest first (ties by name)."""
        async with self.engine.connect() as conn:
            return await history.read_use(
                conn, step=step, since=since, until=until, provider=provider
            )

    async def compact_history(
        self, provider: str, *, now: datetime, keep: timedelta, chunk: int = history.PRUNE_CHUNK
    ) -> tuple[int, int]:
        """Roll `provider`'s completed 15-minute buckets up from its 1-minute points and its
        completed days from the buckets, then drop points older than 2 days and buckets, days
        and finished jobs older than `keep` (`HISTORY_DAYS`): each step a bounded transaction
        of its own. Returns (buckets and days written, rows deleted)."""
        rolled = 0
        for step in history.ROLL_UP:  # buckets first: a day is made of them
            while n := await self._roll_up(provider, now, step):
                rolled += n
        deleted = 0
        for what, before in (
            (history.MINUTE, now - history.POINTS_KEEP),
            (history.BUCKET, now - keep),
            (history.DAY, now - keep),
            (None, now - keep),
        ):
            while True:
                n = await self._prune_history(provider, what, before, chunk)
                deleted += n
                if n < chunk:
                    break
        return rolled, deleted

    @_uncancelled
    async def _roll_up(self, provider: str, now: datetime, step: int) -> int:
        async with self.engine.begin() as conn:
            return await rollup.roll_up(conn, provider, now, step)

    @_uncancelled
    async def _prune_history(
        self, provider: str, step: int | None, before: datetime, chunk: int
    ) -> int:
        async with self.engine.begin() as conn:
            if step is None:
                return await jobhistory.prune_finished_chunk(conn, provider, before, chunk)
            return await rollup.prune_samples_chunk(conn, provider, step, before, chunk)

    # ------------------------------------------------------------------ routes, mutes, mentions

    @_uncancelled
    async def alert_config(self, now: datetime | None = None) -> AlertConfig:
        """Routes, active mutes, mentions and the members' notify choices."""
        async with self.engine.connect() as conn:
            return await alertconfig.read_config(conn, now or datetime.now(UTC))

    @_uncancelled
    async def set_route(self, kind: EventKind, provider: str | None, channel_id: int) -> None:
        check_id("channel_id", channel_id)
        async with self.engine.begin() as conn:
            await alertconfig.set_route(conn, kind, provider, channel_id, datetime.now(UTC))

    @_uncancelled
    async def remove_route(self, kind: EventKind, provider: str | None) -> bool:
        async with self.engine.begin() as conn:
            return await alertconfig.remove_route(conn, kind, provider)

    async def routes(self) -> list[Route]:
        return list((await self.alert_config()).routes)

    @_uncancelled
    async def mute(
        self,
        provider: str | None,
        kind: EventKind | None,
        until: datetime | None,
        reason: str | None = None,
    ) -> None:
        """Mute alerts of `provider` and/or `kind` (None: any) until `until` (None: until
        unmuted). Replaces an existing mute of the same provider and kind."""
        if provider is None and kind is None and until is None:
            raise ValueError("muting everything forever: give an end time")
        async with self.engine.begin() as conn:
            await alertconfig.mute(conn, provider, kind, until, reason, datetime.now(UTC))

    @_uncancelled
    async def unmute(self, provider: str | None = None, kind: EventKind | None = None) -> int:
        """Remove every mute of `provider` and/or `kind` (a given value matches that column;
        None matches any). Returns rows removed."""
        async with self.engine.begin() as conn:
            return await alertconfig.unmute(conn, provider, kind)

    @_uncancelled
    async def clear_mutes(self) -> int:
        async with self.engine.begin() as conn:
            return await alertconfig.clear_mutes(conn)

    @_uncancelled
    async def mutes(self, now: datetime | None = None) -> list[Mute]:
        """Mutes still active at `now` (default: all stored, expired ones included)."""
        async with self.engine.connect() as conn:
            stored = await alertconfig.read_mutes(conn)
        return [m for m in stored if now is None or m.active(now)]

    @_uncancelled
    async def prune_mutes(self, now: datetime) -> int:
        async with self.engine.begin() as conn:
            return await alertconfig.prune_mutes(conn, now)

    @_uncancelled
    async def set_mention(
        self, kind: EventKind, role_id: int | None, provider: str | None = None
    ) -> None:
        """Mention `role_id` in alerts of `kind` (None: stop mentioning)."""
        check_id("role_id", role_id, optional=True)
        async with self.engine.begin() as conn:
            await alertconfig.set_mention(conn, kind, role_id, provider)

    async def mentions(self) -> list[Mention]:
        return list((await self.alert_config()).mentions)

    @_uncancelled
    async def set_notify(self, user_id: int, how: Notify) -> None:
        """How `user_id` is told of their own jobs (`/alerts notify`)."""
        check_id("user_id", user_id)
        if how not in NOTIFY_CHOICES:
            raise ValueError(f"how: {how!r} is not one of {', '.join(NOTIFY_CHOICES)}")
        async with self.engine.begin() as conn:
            await alertconfig.set_notify(conn, user_id, how, datetime.now(UTC))

    @_uncancelled
    async def notify_choice(self, user_id: int) -> Notify | None:
        """`user_id`'s `/alerts notify` choice; None when they never made one."""
        check_id("user_id", user_id)
        async with self.engine.connect() as conn:
            return await alertconfig.read_notify(conn, user_id)

    # ------------------------------------------------------------------ /board messages

    @_uncancelled
    async def set_board(
        self, channel_id: int, provider: str | None, message_id: int, *, guild_id: int | None = None
    ) -> int | None:
        """Remember the board message of `channel_id`/`provider` (None: all providers).
        Returns the id of the message it replaces, if any, so the caller can delete it."""
        check_id("channel_id", channel_id)
        check_id("message_id", message_id)
        check_id("guild_id", guild_id, optional=True)
        board = Board(
            message_id=message_id, channel_id=channel_id, guild_id=guild_id, provider=provider
        )
        async with self.engine.begin() as conn:
            return await boards.set_board(conn, board, datetime.now(UTC))

    @_uncancelled
    async def boards(self) -> list[Board]:
        async with self.engine.connect() as conn:
            return await boards.read_boards(conn)

    @_uncancelled
    async def remove_board(self, message_id: int) -> bool:
        check_id("message_id", message_id)
        async with self.engine.begin() as conn:
            return await boards.remove_board(conn, message_id)

    # ------------------------------------------------------------------ untracked jobs

    @_uncancelled
    async def record_untrack(self, provider: str, job_id: str, by: int, at: datetime) -> None:
        """Remember that Discord user `by` untracked `job_id` at `at` (the first record of a
        job stands), for the watcher to report it `cancelled` when it leaves the queue."""
        check_id("by", by)
        async with self.engine.begin() as conn:
            await untracks.record(conn, Untrack(provider, job_id, by, at))

    @_uncancelled
    async def untracked(self, provider: str, job_ids: Iterable[str]) -> dict[str, Untrack]:
        """The untrack records of those of `job_ids` (of `provider`) that have one. An id the
        database cannot hold was never recorded, and is not sent to it either."""
        ids = [i for i in job_ids if not self.refuses(i)]
        if not ids:
            return {}
        async with self.engine.connect() as conn:
            return await untracks.read(conn, provider, ids)
