"""The watcher without the network: a scripted provider, a clock the test moves, snapshots
built by hand, and a `ProviderWatcher` over them with the default tuning."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from bot.models import Account, Job, JobResult, Outcome, Snapshot
from bot.providers.base import Provider
from bot.store import Store
from bot.watch import ProviderWatcher, WatchConfig

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
P = "pixverse"

Step = Snapshot | Exception


def snap(*jobs: Job, accounts: Sequence[Account] = (), at: datetime = T0) -> Snapshot:
    return Snapshot(P, at, tuple(jobs), tuple(accounts))


class FakeProvider(Provider):
    """Scripted: `snapshots` are returned (or raised) in order, the last one repeats;
    `results[id]` likewise per job."""

    name: ClassVar[str] = P
    title: ClassVar[str] = "PixVerse"

    def __init__(self, snapshots: list[Step] | None = None) -> None:
        self.snapshots: list[Step] = list(snapshots or [])
        self.results: dict[str, list[JobResult | Exception]] = {}
        self.snapshot_calls = 0
        self.job_calls: list[str] = []

    async def snapshot(self) -> Snapshot:
        self.snapshot_calls += 1
        step = self.snapshots.pop(0) if len(self.snapshots) > 1 else self.snapshots[0]
        if isinstance(step, Exception):
            raise step
        return step

    def result(self, jid: str, *steps: Outcome | Exception) -> None:
        self.results[jid] = [s if isinstance(s, Exception) else JobResult(P, jid, s) for s in steps]

    async def job(self, job_id: str) -> JobResult:
        self.job_calls.append(job_id)
        steps = self.results.get(job_id) or [JobResult(P, job_id, Outcome.COMPLETED)]
        step = steps.pop(0) if len(steps) > 1 else steps[0]
        if isinstance(step, Exception):
            raise step
        return step


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float = 30) -> None:
        self.now += timedelta(seconds=seconds)


def watcher(provider: Provider, store: Store, clock: Clock, **kw: Any) -> ProviderWatcher:
    """A watcher of `provider` on `store` at `clock`; `kw` are `WatchConfig` fields
    (default channel 100, stuck after 20 minutes, 30 s interval) or the watcher's own
    `holder`, `holder_gone`, `rng`."""
    kw.setdefault("default_channel", 100)
    own = {k: kw.pop(k) for k in ("holder", "holder_gone", "rng") if k in kw}
    config = WatchConfig(stuck_after=timedelta(minutes=20), poll_interval=30, **kw)
    return ProviderWatcher(provider, store, config, clock=clock, **own)
