"""How one provider looks to the watcher: the view type `/status` and the board read.

Plain data, no Discord, no I/O: whoever owns a provider's runtime state (its latest snapshot,
last good poll, last error) builds one of these, and the embed builders only render it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.models import Snapshot

__all__ = ["ProviderStatus"]


@dataclass(frozen=True)
class ProviderStatus:
    """How one provider looks to the watcher (what `/status` and the board show).

    `running`, `used` and `capacity` are None when there is no snapshot yet (`capacity` also
    when no account says its limit); `watcher_ok` is None before the first tick; `no_limit`
    is `Snapshot.no_limit` (accounts, none publishing a limit: Mureka)."""

    provider: str
    running: int | None
    used: int | None
    capacity: int | None
    last_ok: datetime | None
    last_error: str | None
    watcher_ok: bool | None = None
    no_limit: bool = False

    @classmethod
    def of(
        cls,
        provider: str,
        snapshot: Snapshot | None,
        *,
        last_ok: datetime | None,
        last_error: str | None,
        watcher_ok: bool | None = None,
    ) -> ProviderStatus:
        """The status of `provider` whose latest snapshot is `snapshot` (None: none yet),
        its counts read from the snapshot (`Snapshot.used`, `Snapshot.capacity`)."""
        if snapshot is None:
            return cls(provider, None, None, None, last_ok, last_error, watcher_ok)
        return cls(
            provider,
            len(snapshot.jobs),
            snapshot.used,
            snapshot.capacity,
            last_ok,
            last_error,
            watcher_ok,
            snapshot.no_limit,
        )

    @property
    def healthy(self) -> bool:
        """Polled well at least once, no error since, and the watcher not stopped."""
        return self.last_ok is not None and not self.last_error and self.watcher_ok is not False
