"""How one provider is watched: `WatchConfig`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.settings import Settings


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class WatchConfig:
    """How one provider is watched. `from_settings` gives the bot's; tests and benchmarks
    build their own."""

    stuck_after: timedelta
    poll_interval: float
    #: Ticks in a row an `unreachable` must hold before it is announced (others: `flap_ticks`).
    unreachable_after: int = 3
    flap_ticks: int = 2
    #: How long a job that left the queue is asked about before it is reported `unknown`.
    resolve_give_up: timedelta = timedelta(minutes=30)
    #: Seconds a tick waits for the job endpoint in all; None: one poll interval.
    resolve_budget: float | None = None
    default_channel: int | None = None
    #: Job look-ups in flight at once.
    concurrency: int = 8
    #: Each delay is `poll_interval` ± this fraction, so replicas and providers spread out.
    jitter: float = 0.1
    #: With a lease only one replica ticks this provider; the others follow the store.
    lease_ttl: timedelta | None = None
    #: How long the history's buckets and finished jobs are kept (`HISTORY_DAYS`).
    history_keep: timedelta = timedelta(days=60)
    #: How often the leader rolls the history up and drops what is past its keep.
    compact_every: timedelta = timedelta(minutes=5)

    @property
    def budget(self) -> float:
        return self.poll_interval if self.resolve_budget is None else self.resolve_budget

    @classmethod
    def from_settings(cls, settings: Settings) -> WatchConfig:
        """The bot's: its settings, and a lease that outlives three missed ticks and a stall
        (with several replicas on one database only the lease holder polls)."""
        interval = settings.poll_interval_seconds
        return cls(
            stuck_after=timedelta(minutes=settings.stuck_after_minutes),
            poll_interval=interval,
            default_channel=settings.alert_channel_id,
            lease_ttl=timedelta(seconds=3 * interval + 30),
            history_keep=timedelta(days=settings.history_days),
        )
