"""Learned stuck times: the one rule for when a job of a model counts as stuck. Pure, no I/O.

Once a provider's model has `MIN_JOBS` completed jobs with a run time, a job of it is stuck
when it runs longer than twice their p95 run time, but never before `FLOOR_SECONDS` (5 min)
and never after `STUCK_AFTER_MINUTES` (the ceiling, and the limit of every job without
enough history). The watcher learns the limits on a cadence (`LEARN_EVERY`) from the history
store and hands the diff one number per model; the stuck alert says which limit applied.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Final, Literal

from bot.history.records import Finished
from bot.models import Outcome
from bot.text import fmt_duration

__all__ = [
    "FLOOR_SECONDS",
    "LEARN_EVERY",
    "LEARN_FROM",
    "MIN_JOBS",
    "StuckLimit",
    "learn",
    "limit_for",
    "p95",
]

#: Completed jobs with a run time a model needs before its limit is learned.
MIN_JOBS: Final = 20
#: The shortest learned limit, whatever the history says.
FLOOR_SECONDS: Final = 300.0
#: The newest finished jobs of a model read to learn from (the limit follows recent runs).
LEARN_FROM: Final = 200
#: How often the watcher learns the limits again.
LEARN_EVERY: Final = timedelta(minutes=10)

Source = Literal["learned", "floor", "ceiling"]


def p95(values: Iterable[float]) -> float:
    """The 95th percentile by nearest rank: the smallest value at least 95 % of them reach
    (of 20 values, the 19th smallest). `values` must not be empty."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


@dataclass(frozen=True, slots=True)
class StuckLimit:
    """The stuck limit of one model (`model` None: a job with no model, or the fallback):
    `seconds`, the p95 it was learned from (None: too little history), and which bound
    applied (`learned`: 2 × p95 itself; `floor`: the 5-minute minimum; `ceiling`:
    `STUCK_AFTER_MINUTES`)."""

    seconds: float
    source: Source = "ceiling"
    model: str | None = None
    p95: float | None = None

    def reason(self) -> str:
        """Which limit applied, as the stuck alert says it after "running 14m 00s; "."""
        limit = fmt_duration(self.seconds)
        if self.p95 is None or self.model is None:
            return f"stuck after {limit} (STUCK_AFTER_MINUTES)"
        usual = f"{self.model} usually finishes within {fmt_duration(self.p95)}"
        if self.source == "learned":
            return usual
        if self.source == "floor":
            return f"{usual}; stuck after {limit} at the least"
        return f"{usual}; stuck after {limit} (STUCK_AFTER_MINUTES) at the most"


def limit_for(model: str | None, limits: Mapping[str, float] | None, ceiling: float) -> float:
    """The stuck limit in seconds of a job of `model`: its model's learned one (`limits`, by
    model), else `ceiling`. What the diff alerts by and `/queue` marks ⚠ by."""
    if limits and model:
        return limits.get(model, ceiling)
    return ceiling


def learn(model: str, finished: Iterable[Finished], *, ceiling_seconds: float) -> StuckLimit:
    """`model`'s limit from its finished jobs: completed ones with a run time count."""
    runs = [
        f.run_seconds
        for f in finished
        if f.outcome == Outcome.COMPLETED.value
        and f.run_seconds is not None
        and math.isfinite(f.run_seconds)
        and f.run_seconds >= 0
    ]
    if len(runs) < MIN_JOBS:
        return StuckLimit(ceiling_seconds, model=model)
    usual = p95(runs)
    seconds = min(ceiling_seconds, max(FLOOR_SECONDS, 2 * usual))
    source: Source = (
        "ceiling"
        if seconds == ceiling_seconds
        else "floor"
        if seconds == FLOOR_SECONDS
        else "learned"
    )
    return StuckLimit(seconds, source, model, usual)
