"""The watcher: one tick per provider. Snapshot(t-1), Snapshot(t) ──diff──► observations.

The diff (`bot.diff`) is pure. `ProviderWatcher.tick` does the I/O around it: one
`provider.fetch()` call, one `provider.fetch_job(id)` call per job that left the executing list
(and is still awaiting its outcome) – never a call per running job – then the policy
(`bot.alerts`) and ONE store transaction with the new snapshot, pending jobs, alert states and
outbox rows. The loop that calls `tick` belongs to the provider's cog (`run` is a ready-made
one); a tick never raises. What the bot knows of the provider now (latest snapshot, health) is
the watcher's `state` (`bot.live.LiveState`), updated as each tick ends.

`config` (how a provider is watched), `plan` (what a tick decided and reports), `jobs` (the
jobs that left: ask, decide) and `watcher` (the steps).
"""

from bot.watch.config import WatchConfig, utcnow
from bot.watch.jobs import UNASKABLE
from bot.watch.plan import TickPlan, TickReport
from bot.watch.watcher import ProviderWatcher

__all__ = ["UNASKABLE", "ProviderWatcher", "TickPlan", "TickReport", "WatchConfig", "utcnow"]
