"""The simulator's ground truth: what happened, in time order (`Simulator.history`).

`History.events` lists `SimEvent`s in time order: job_started, job_finished (with the outcome),
account_exhausted (its last free slot taken) and account_restored (a slot freed again). The
seeded population's starts are not in it (they happened before the simulator existed); their
ends are. The soak and the tests compare what the bot reported with it.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from bot.sim.clock import from_ts
from bot.sim.model import EventKind, SimEvent

__all__ = ["History"]


class History:
    """The events so far; `record` adds one."""

    __slots__ = ("_last", "events", "listeners")

    def __init__(self) -> None:
        self.events: list[SimEvent] = []
        self._last = -math.inf
        #: Called with each event as it is recorded (the callback sender listens).
        self.listeners: list[Callable[[SimEvent], None]] = []

    def record(
        self,
        t: float,
        kind: EventKind,
        provider: str,
        job_id: str | None,
        account: str | None,
        outcome: str | None = None,
        *,
        legacy: bool = False,
    ) -> None:
        """Add a happening (kept in time order, e.g. after a backdated start)."""
        t = max(t, self._last)
        self._last = t
        event = SimEvent(from_ts(t), kind, provider, job_id, account, outcome, legacy)
        self.events.append(event)
        for listener in self.listeners:
            listener(event)
