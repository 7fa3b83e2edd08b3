"""Outbox → Discord: claim pending rows, post them a group per message, record the answer.

The Discord side is one injected coroutine, `send(channel_id, events, mention_role_id) ->
message id`, which raises `DeliveryFailed` when Discord refuses. The lead's cog implements it
with discord.py (embeds, `AllowedMentions`, and `nonce=nonce_for(events)` with
`enforce_nonce=True`).

Exactly-once, as far as Discord allows it:

* rows are claimed with a conditional UPDATE and a short lease, renewed while the sends take,
  so two workers (replicas) never post the same row; a killed worker's claims come back when
  the lease expires (seconds), a stopping worker gives them back at once (`release`);
* a row is marked `sent` only after `send` returned, i.e. after Discord accepted the message;
* a group is always the same rows: the events of one tick (`batch`) for one channel and one
  mention, all written in one transaction and always moved together. So when the process dies
  after `send` but before `mark_sent`, the next run (after the lease) re-sends the very same
  group with the very same nonce, and Discord drops the copy if it comes within its nonce
  window (a few minutes; keep `lease` well below it, and well above the event loop's worst
  stall, since that is what could delay a renewal);
* fenced: right before each send the claim is checked (and renewed) in its own transaction
  (`Store.fence_claim`), and every write after it is conditional on the claim. A worker that
  was paused or cut off from the database past its lease, and whose rows another worker took
  over meanwhile, wakes up to find its claim gone: it posts nothing more and records nothing,
  whether or not Discord's nonce window has passed. What no fence can cover is a pause that
  falls between that check and the request reaching Discord (or during discord.py's own
  retries of one send) and lasts longer than the lease: then only the nonce stops the repeat.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.alerts import route_for
from bot.events import Event
from bot.store import OutboxRow, Store, StoreError

log = logging.getLogger(__name__)

#: `send(channel_id, events, mention_role_id) -> message id`; the users it mentions are the
#: events' own `mention_user_id`s.
SendFn = Callable[[int, Sequence[Event], int | None], Awaitable[int]]
#: `send_dm(user_id, events) -> message id`: the direct message to the person who asked.
SendDmFn = Callable[[int, Sequence[Event]], Awaitable[int]]

#: Statuses that mean "this channel is wrong or closed to us": hold until the route is fixed.
HOLD_STATUSES = frozenset({403, 404})
#: A group that failed this often for reasons Discord did not name is given up (logged), so
#: one alert that cannot be rendered does not block its channel forever.
MAX_UNEXPECTED_ATTEMPTS = 8


class DeliveryFailed(Exception):
    """Discord did not accept a message. `retryable`: 429, 5xx, network; `status` the HTTP
    status when there was one; `retry_after` Discord's own hint in seconds (429)."""

    def __init__(
        self,
        message: str,
        *,
        retryable: bool,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable
        self.status = status
        self.retry_after = retry_after

    def __str__(self) -> str:
        code = f" ({self.status})" if self.status is not None else ""
        return f"{self.message}{code}"


def utcnow() -> datetime:
    return datetime.now(UTC)


def nonce_for(keys_or_events: Iterable[str] | Iterable[Event]) -> str:
    """Discord message nonce (≤ 25 chars) of a group: the same rows always give the same one."""
    keys = sorted(k if isinstance(k, str) else k.key for k in keys_or_events)
    return hashlib.sha256("\n".join(keys).encode()).hexdigest()[:25]


def backoff_delay(
    attempt: int,
    *,
    initial: float = 2.0,
    maximum: float = 600.0,
    jitter: float = 1.0,
    rng: random.Random | None = None,
) -> float:
    """Seconds to wait before retry number `attempt` (1-based): exponential, capped, plus
    jitter (as stamina does: initial·2^(attempt-1) + U(0, jitter), at most `maximum`)."""
    base = initial * 2.0 ** max(0, min(attempt - 1, 30))
    return min(maximum, base + (rng or random).uniform(0, jitter))


@dataclass(frozen=True, slots=True)
class Group:
    """Rows that go out as one message."""

    channel_id: int
    mention_role_id: int | None
    batch: str
    rows: tuple[OutboxRow, ...]
    dm: bool = False  # a direct message to user `channel_id`

    @property
    def keys(self) -> list[str]:
        return [r.key for r in self.rows]

    @property
    def events(self) -> list[Event]:
        return [r.event for r in self.rows]

    @property
    def attempts(self) -> int:
        return max(r.attempts for r in self.rows)


def group_rows(rows: Iterable[OutboxRow]) -> list[Group]:
    """One group per (channel, tick batch, mention, direct message or not), in order of their
    first row. The users a message mentions are its own events' (`Event.mention_user_id`), so
    no message mentions someone whose job is not in it."""
    groups: dict[tuple[int, str, int | None, bool], list[OutboxRow]] = {}
    for r in sorted(rows, key=lambda r: r.id):
        groups.setdefault((r.channel_id, r.batch, r.mention_role_id, r.dm), []).append(r)
    return [
        Group(channel_id=c, mention_role_id=m, batch=b, rows=tuple(rs), dm=dm)
        for (c, b, m, dm), rs in groups.items()
    ]


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    claimed: int = 0  # rows claimed
    messages: int = 0  # messages Discord accepted
    sent: int = 0  # rows marked sent
    retried: int = 0  # rows scheduled for a retry
    held: int = 0  # rows held (403/404 on their channel)
    failed: int = 0  # rows given up (a non-retryable refusal)
    fenced: int = 0  # rows not sent: another worker took their claim over
    errors: tuple[str, ...] = ()


class Deliverer:
    """Posts the outbox. `run_once` is one pass; `run` loops (one `deliver_and_wait` a round)
    and `wake` cuts its wait short."""

    def __init__(
        self,
        store: Store,
        send: SendFn,
        *,
        worker_id: str | None = None,
        claim_limit: int = 200,
        lease: timedelta = timedelta(seconds=10),
        backoff_initial: float = 2.0,
        backoff_max: float = 600.0,
        clock: Callable[[], datetime] = utcnow,
        rng: random.Random | None = None,
        send_dm: SendDmFn | None = None,
    ) -> None:
        self.store = store
        self.send = send
        self.send_dm = send_dm
        self.worker_id = worker_id or f"deliver-{uuid.uuid4().hex[:12]}"
        self.claim_limit = claim_limit
        self.lease = lease
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self._clock = clock
        self._rng = rng or random.Random()
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self.last_report: DeliveryReport | None = None
        #: What stops the database from being used, as last logged (None: nothing).
        self.store_problem: str | None = None
        self._stopped = False

    def wake(self) -> None:
        """Deliver now (e.g. after a tick queued events) instead of at the next interval."""
        self._wake.set()

    def stop(self) -> None:
        """Claim nothing more (the worker is stopping); a pass in flight goes on to its end."""
        self._stopped = True
        self._wake.set()

    async def idle(self) -> None:
        """Return once no pass is running (after `stop`: once the last one has ended)."""
        async with self._lock:
            pass

    async def run(self, *, interval: float = 2.0, stop: asyncio.Event | None = None) -> None:
        """Deliver until `stop` is set. Errors are logged; the loop never dies."""
        stop = stop or asyncio.Event()
        while not stop.is_set():
            await self.deliver_and_wait(interval, stop=stop)

    async def deliver_and_wait(self, interval: float, *, stop: asyncio.Event | None = None) -> None:
        """One pass (errors logged, never raised), then wait up to `interval` seconds for a
        `wake` (or `stop`): one round of `run`, or of a loop kept by someone else."""
        # Cleared before the pass, so a wake-up that arrives during it is not lost.
        self._wake.clear()
        try:
            await self.run_once()
            self.store_problem = None
        except StoreError as exc:
            # Logged when it starts (or changes), not every pass: the ticks say it too.
            if str(exc) != self.store_problem:
                log.error("outbox delivery stopped: %s", exc)
            self.store_problem = str(exc)
        except Exception:
            log.exception("outbox delivery pass failed")
        waiters = {asyncio.ensure_future(self._wake.wait())}
        if stop is not None:
            waiters.add(asyncio.ensure_future(stop.wait()))
        try:
            await asyncio.wait(waiters, timeout=interval, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()

    async def run_once(self, now: datetime | None = None) -> DeliveryReport:
        """Claim due rows, post them grouped, record each outcome. Channels are served
        concurrently, each channel's groups in order."""
        async with self._lock:
            if self._stopped:
                self.last_report = DeliveryReport()
                return self.last_report
            now = now or self._clock()
            started = time.monotonic()  # `now` and this are the claim's time, for the fence
            rows = await self.store.claim_outbox(
                limit=self.claim_limit, now=now, worker_id=self.worker_id, lease=self.lease
            )
            report = DeliveryReport()
            if rows:
                renewer = asyncio.create_task(self._renew(rows[0].claim))
                try:
                    report = await self._deliver(rows, now, started)
                finally:
                    renewer.cancel()
            self.last_report = report
            return report

    async def release(self) -> int:
        """Give back the rows this worker still holds (it is stopping), so that the next
        start need not wait for the lease. Returns how many."""
        return await self.store.release_claims(self.worker_id)

    async def _renew(self, claim: str) -> None:
        """Keep the claim alive while the sends take (discord.py sleeps through 429s and
        retries 5xx itself before it gives up)."""
        every = max(self.lease.total_seconds() / 4, 0.05)
        while True:
            await asyncio.sleep(every)
            try:
                await self.store.renew_claim(claim, self._clock() + self.lease)
            except Exception:
                log.exception("renewing the outbox claim failed")

    async def _deliver(
        self, rows: list[OutboxRow], now: datetime, started: float
    ) -> DeliveryReport:
        by_channel: dict[int, list[Group]] = {}
        for g in group_rows(rows):
            by_channel.setdefault(g.channel_id, []).append(g)
        results = await asyncio.gather(
            *(self._channel(groups, now, started) for groups in by_channel.values()),
            return_exceptions=True,
        )
        parts: list[DeliveryReport] = []
        for res in results:
            if isinstance(res, asyncio.CancelledError):
                raise res
            if isinstance(res, BaseException):
                # e.g. the database failed in mark_sent: the rows stay claimed and come back
                # after the lease (same group, same nonce).
                log.error("outbox delivery for a channel failed", exc_info=res)
                parts.append(DeliveryReport(errors=(f"{type(res).__name__}: {res}",)))
            else:
                parts.append(res)
        return DeliveryReport(
            claimed=len(rows),
            messages=sum(p.messages for p in parts),
            sent=sum(p.sent for p in parts),
            retried=sum(p.retried for p in parts),
            held=sum(p.held for p in parts),
            failed=sum(p.failed for p in parts),
            fenced=sum(p.fenced for p in parts),
            errors=tuple(e for p in parts for e in p.errors),
        )

    async def _fence(self, g: Group, now: datetime, started: float) -> bool:
        """Whether this worker still holds `g` (then renewed for one more lease). The time is
        the pass's `now` (what the claim was taken at) plus the monotonic time since, which a
        pause or a stall advances as well."""
        t = now + timedelta(seconds=time.monotonic() - started)
        return await self.store.fence_claim(g.rows[0].claim, g.keys, now=t, until=t + self.lease)

    async def _channel(self, groups: list[Group], now: datetime, started: float) -> DeliveryReport:
        """Post one channel's groups in order: a group Discord accepts is marked sent; on a
        refusal the channel stops (held or retried, the rest with it) unless its group is
        dropped."""
        messages = sent = retried = held = failed = fenced = 0
        errors: list[str] = []
        for i, g in enumerate(groups):
            if not await self._fence(g, now, started):
                # Taken over while this worker was stalled: the new holder posts them (the
                # channel's later groups too: its claim took whole batches, in order).
                fenced = sum(len(r.rows) for r in groups[i:])
                log.warning(
                    "the claim on %d alert(s) for channel %s was taken over by another "
                    "worker; not posting them",
                    fenced,
                    g.channel_id,
                )
                break
            try:
                message_id = await self._post(g)
            except asyncio.CancelledError:
                raise  # rows stay claimed; they come back when the lease expires
            except Exception as exc:
                fail = self._failure(g, exc)
                errors.append(f"{'user' if g.dm else 'channel'} {g.channel_id}: {fail}")
                rest_keys = [k for r in groups[i + 1 :] for k in r.keys]
                if g.dm and not fail.retryable:
                    # The user closed their DMs (403, code 50007) or is gone: nothing to hold
                    # for and no route to fix; the channel alert went on its own.
                    failed += await self._drop(g, fail)
                    continue
                if fail.status in HOLD_STATUSES:
                    held += await self._hold(g, fail, rest_keys)
                    break
                if fail.retryable:
                    retried += await self._retry(g, fail, rest_keys, now)
                    break
                failed += await self._drop(g, fail)
                continue
            messages += 1
            sent += await self._record_sent(g, message_id)
            if i == 0 and not g.dm:
                await self._release_held(g.channel_id, now)
        return DeliveryReport(
            messages=messages,
            sent=sent,
            retried=retried,
            held=held,
            failed=failed,
            fenced=fenced,
            errors=tuple(errors),
        )

    async def _record_sent(self, g: Group, message_id: int) -> int:
        """Mark `g` sent, where its claim still holds; how many rows that was."""
        marked = await self.store.mark_sent(
            g.keys, message_id, now=self._clock(), claim=g.rows[0].claim
        )
        if marked < len(g.rows):
            # The send was in flight when the claim lapsed: the new holder records it.
            log.warning(
                "alert(s) %s were posted (message %s) after their claim was taken over",
                ", ".join(g.keys),
                message_id,
            )
        return marked

    async def _post(self, g: Group) -> int:
        """Send one group: to its channel, or as a direct message to its user."""
        if not g.dm:
            return await self.send(g.channel_id, g.events, g.mention_role_id)
        if self.send_dm is None:
            raise DeliveryFailed("this deliverer sends no direct messages", retryable=False)
        return await self.send_dm(g.channel_id, g.events)

    def _failure(self, g: Group, exc: Exception) -> DeliveryFailed:
        """What `send` raised as a DeliveryFailed; anything else is logged (with its
        traceback) and retried until the group has failed `MAX_UNEXPECTED_ATTEMPTS` times."""
        if isinstance(exc, DeliveryFailed):
            return exc
        log.exception("sending alerts to channel %s failed", g.channel_id)
        return DeliveryFailed(
            f"{type(exc).__name__}: {exc}",
            retryable=g.attempts + 1 < MAX_UNEXPECTED_ATTEMPTS,
        )

    async def _hold(self, g: Group, fail: DeliveryFailed, rest_keys: list[str]) -> int:
        """The channel is wrong or closed to us: hold the group and the rest of the channel
        until the route is fixed. Returns how many rows."""
        reason = (
            f"cannot post to channel {g.channel_id}: {fail}; alerts are held "
            f"until the route is fixed (/alerts route)"
        )
        log.error("%s", reason)
        await self.store.hold(g.keys + rest_keys, reason, claim=g.rows[0].claim)
        return len(g.rows) + len(rest_keys)

    async def _retry(
        self, g: Group, fail: DeliveryFailed, rest_keys: list[str], now: datetime
    ) -> int:
        """Retry the group after a backoff (at least Discord's `retry_after`). Returns how many
        rows wait, the rest of the channel included."""
        delay = backoff_delay(
            g.attempts + 1,
            initial=self.backoff_initial,
            maximum=self.backoff_max,
            rng=self._rng,
        )
        if fail.retry_after is not None:
            delay = max(delay, fail.retry_after)
        retry_at = now + timedelta(seconds=delay)
        log.warning(
            "posting %d alert(s) to channel %s failed (%s); retry in %.0f s",
            len(g.rows),
            g.channel_id,
            fail,
            delay,
        )
        claim = g.rows[0].claim
        await self.store.mark_failed(g.keys, str(fail), retry_at, claim=claim)
        if rest_keys:  # keep the channel's order: the rest waits as well, untried
            await self.store.release(rest_keys, next_attempt_at=retry_at, claim=claim)
        return len(g.rows) + len(rest_keys)

    async def _drop(self, g: Group, fail: DeliveryFailed) -> int:
        """Discord refused the group for good: give it up (the channel goes on). Returns how
        many rows."""
        log.error(
            "Discord refused %d alert(s) for %s %s (%s); dropping them",
            len(g.rows),
            "a direct message to user" if g.dm else "channel",
            g.channel_id,
            fail,
        )
        await self.store.mark_failed(g.keys, str(fail), None, claim=g.rows[0].claim)
        return len(g.rows)

    async def _release_held(self, channel_id: int, now: datetime) -> None:
        """The channel takes posts again (e.g. a permission was fixed): what was held for it
        goes out on the next pass."""
        released = await self.store.release_held(channel_id, now=now)
        if released:
            log.info(
                "channel %s accepts posts again; %d held alert(s) released",
                channel_id,
                released,
            )
            self.wake()


async def reroute_held(
    store: Store,
    default_channel: int | None,
    *,
    channel_id: int | None = None,
    now: datetime | None = None,
) -> int:
    """After a route change (or a permission fix): send held rows again, each to the channel
    its kind is routed to now. Returns how many rows were released."""
    config = await store.alert_config(now)
    moves: dict[str, int] = {}
    for row in await store.held(channel_id):
        target = route_for(row.event, config.routes, default_channel)
        if target is not None and target != row.channel_id:
            moves[row.key] = target
    return await store.release_held(channel_id, moves=moves, now=now)
