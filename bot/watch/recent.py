"""What the history-based alerts read, kept by the watcher at a bounded cost per tick:

* `RecentFinished`: the newest `window` finished jobs of the provider and of each account
  (the failure rate's input, `bot.failrate`), read once per scope, then topped up each tick
  with what the store recorded since (the poller's jobs and the replyUrl callbacks' alike);
* `StuckLimits`: each running model's learned stuck limit (`bot.stucklimit`), read again
  every `LEARN_EVERY`, not every tick (and for a model first seen running in between).

The store is the only source: a replica that takes over the poll reads it afresh.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterable, Mapping, Set
from datetime import datetime, timedelta
from typing import Final, Protocol

from bot.history.records import Finished
from bot.stucklimit import LEARN_EVERY, LEARN_FROM, StuckLimit, learn

__all__ = ["FinishedSource", "RecentFinished", "StuckLimits"]

log = logging.getLogger("bot.watch")

#: Running models learned at once (a provider has a handful; a flood of made-up names from
#: upstream must not become a flood of queries).
MAX_MODELS: Final = 50


class FinishedSource(Protocol):
    """The history store's read of finished jobs (`Store.finished`): newest first."""

    async def finished(
        self,
        *,
        provider: str | None = None,
        account: str | None = None,
        model: str | None = None,
        since: datetime | None = None,
        limit: int | None = None,
    ) -> list[Finished]: ...


class RecentFinished:
    """The newest `window` finished jobs of one provider (key None) and of each of its
    accounts, newest first. `refresh` reads what was recorded since the last one (with an
    `overlap` for rows committed after their time), each job counted once."""

    def __init__(self, provider: str, window: int, overlap: timedelta) -> None:
        self.provider = provider
        self.window = window
        self.overlap = overlap
        self._by: dict[str | None, deque[Finished]] = {}
        #: Ids read inside the overlap, with their time: a row read twice is counted once.
        self._ids: dict[str, datetime] = {}
        self._mark: datetime | None = None

    @property
    def windows(self) -> Mapping[str | None, deque[Finished]]:
        return self._by

    async def _seed(self, store: FinishedSource, account: str | None) -> None:
        rows = await store.finished(provider=self.provider, account=account, limit=self.window)
        self._by[account] = deque(rows, maxlen=self.window)
        self._remember(rows)

    async def _seed_first(
        self,
        store: FinishedSource,
        account: str,
        counted: Set[str],
        older: datetime | None,
    ) -> None:
        """An account's window read just after the provider's: its rows `counted` in the
        provider's window, and its older history (at or before `older`, the oldest the
        provider's full window holds), but not a row committed between the two reads, which
        the next read brings into both (`_seed_since`)."""
        rows = await store.finished(provider=self.provider, account=account, limit=self.window)
        kept = [f for f in rows if f.job_id in counted or (older is not None and f.at <= older)]
        self._by[account] = deque(kept, maxlen=self.window)
        self._remember(kept)  # the older ones may be within the next read's look-back

    async def _seed_since(
        self, store: FinishedSource, account: str, since: datetime, counted: Set[str]
    ) -> None:
        """An account's window read during a refresh: without a row committed after that
        refresh's read (newer than `since`, and not `counted` in the provider's window). It
        comes with the next read, into both windows; taken now, it would be remembered as
        read and never reach the provider's."""
        rows = await store.finished(provider=self.provider, account=account, limit=self.window)
        self._by[account] = deque(
            (f for f in rows if f.job_id in counted or f.at < since), maxlen=self.window
        )

    def _remember(self, rows: Iterable[Finished]) -> None:
        for f in rows:
            if self._mark is None or f.at > self._mark:
                self._mark = f.at
            self._ids[f.job_id] = f.at

    async def refresh(
        self, store: FinishedSource, *, now: datetime, accounts: Iterable[str] = ()
    ) -> None:
        """Bring the windows up to date: the first time, the provider's and `accounts`'
        (those with a failure state) from the store; then what was recorded since."""
        if None not in self._by:
            self._mark = None
            await self._seed(store, None)
            counted = set(self._ids)
            window = self._by[None]
            # Older than the provider's full window: an account's history it has no room for.
            older = window[-1].at if len(window) == self.window else None
            for account in accounts:
                await self._seed_first(store, account, counted, older)
            if self._mark is None:
                self._mark = now
            return
        assert self._mark is not None
        since = self._mark - self.overlap
        rows = await store.finished(provider=self.provider, since=since)
        fresh = [f for f in rows if f.job_id not in self._ids]
        counted = self._ids.keys() | {f.job_id for f in fresh}
        seeded: set[str] = set()
        for f in reversed(fresh):  # oldest first: each lands at the front, newest ends first
            self._by[None].appendleft(f)
            if f.account is None or f.account in seeded:
                continue
            if f.account in self._by:
                self._by[f.account].appendleft(f)
            else:  # an account first seen now: its window from the store (these rows in it)
                await self._seed_since(store, f.account, since, counted)
                seeded.add(f.account)
        self._remember(fresh)
        floor = self._mark - self.overlap
        self._ids = {k: t for k, t in self._ids.items() if t >= floor}


class StuckLimits:
    """Each running model's stuck limit, learned again every `every` (`bot.stucklimit`).
    A model not learned yet, or with too little history, has the ceiling."""

    def __init__(self, provider: str, ceiling: timedelta, every: timedelta = LEARN_EVERY) -> None:
        self.provider = provider
        self.ceiling = ceiling.total_seconds()
        self.every = every
        self.by_model: dict[str, StuckLimit] = {}
        self._at: datetime | None = None

    def due(self, now: datetime) -> bool:
        return self._at is None or now - self._at >= self.every

    @staticmethod
    def _wanted(models: Iterable[str | None]) -> list[str]:
        return sorted({m for m in models if m})[:MAX_MODELS]

    def new(self, models: Iterable[str | None]) -> list[str]:
        """The models among `models` (the ones running now) with no limit learned yet: first
        seen since the last learning. Those it could not take (past `MAX_MODELS`) never are,
        so they cost no query a tick."""
        return [m for m in self._wanted(models) if m not in self.by_model]

    async def _read(self, store: FinishedSource, models: Iterable[str]) -> dict[str, StuckLimit]:
        learned: dict[str, StuckLimit] = {}
        for model in models:
            rows = await store.finished(provider=self.provider, model=model, limit=LEARN_FROM)
            learned[model] = learn(model, rows, ceiling_seconds=self.ceiling)
        return learned

    async def learn(
        self, store: FinishedSource, models: Iterable[str | None], now: datetime
    ) -> None:
        """Learn the limits of `models` (the ones running now) from their newest jobs."""
        self.by_model, self._at = await self._read(store, self._wanted(models)), now

    async def learn_new(self, store: FinishedSource, models: Iterable[str]) -> None:
        """Learn the limits of `models` too (`new`), until the next round learns them all:
        a model that starts running between two rounds is judged by its own limit at once,
        not by the ceiling for up to `every`."""
        self.by_model = {**self.by_model, **await self._read(store, models)}

    def seconds(self) -> dict[str, float]:
        """The diff's limits: seconds by model, for the models that learned one."""
        return {m: s.seconds for m, s in self.by_model.items() if s.p95 is not None}

    def of(self, model: str | None) -> StuckLimit:
        """The limit a job of `model` was judged by (for the alert's words)."""
        limit = self.by_model.get(model) if model else None
        return limit if limit is not None else StuckLimit(self.ceiling, model=model)
