"""`python -m rig.quickrun run`: `opsbot run` (`bot.cli.main`, every argument passed on) with
its two slow clocks shortened, for the process tests that wait on them (tests/test_failover.py):

* the outbox claim lease (`bot.delivery.Deliverer`'s, 10 s) – what a takeover after a SIGKILL or
  a SIGSTOP waits out – to `RIG_CLAIM_LEASE_SECONDS`;
* the shortest poll interval `POLL_INTERVAL_SECONDS` allows (5 s) to `RIG_MIN_POLL_SECONDS`, so
  that the test can ask for shorter ticks.

Nothing else changes: the same code claims, renews, fences and polls, only sooner. Both values
must stay well above the event loop's stalls on a loaded machine (the renewal runs every quarter
of the lease)."""

from __future__ import annotations

import os
from datetime import timedelta

from bot import settings
from bot.cli import main
from bot.delivery import Deliverer

CLAIM_LEASE_VARIABLE = "RIG_CLAIM_LEASE_SECONDS"
MIN_POLL_VARIABLE = "RIG_MIN_POLL_SECONDS"


def shorten(claim_lease: float | None, min_poll: float | None) -> None:
    """Set the claim lease every `Deliverer` gets by default, and the poll interval's floor."""
    if claim_lease is not None:
        defaults = Deliverer.__init__.__kwdefaults__
        assert defaults is not None and isinstance(defaults.get("lease"), timedelta)
        defaults["lease"] = timedelta(seconds=claim_lease)
    if min_poll is not None:
        bounds = settings.BOUNDS["poll_interval_seconds"]
        settings.BOUNDS["poll_interval_seconds"] = settings.Bounds(
            min_poll, bounds.high, bounds.text
        )


def _seconds(name: str) -> float | None:
    value = os.environ.get(name)
    return None if value is None else float(value)


if __name__ == "__main__":
    shorten(_seconds(CLAIM_LEASE_VARIABLE), _seconds(MIN_POLL_VARIABLE))
    raise SystemExit(main())
