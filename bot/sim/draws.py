"""What a new simulated job is drawn to be: its kind, how long it runs, how it ends.

Every draw takes the caller's seeded `random.Random`, so a seed gives the same jobs. A small
share of jobs runs past an hour (shown as `h:mm:ss`) and then mostly fails; the rest run for
the provider's documented range of their kind (`ProviderSpec.durations`) and mostly complete.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from bot.sim.providers import SPECS, ProviderSpec

__all__ = ["draw", "mean_duration", "outcome"]

_OUTCOME_WEIGHTS: tuple[tuple[str, float], ...] = (
    ("completed", 0.82),
    ("failed", 0.08),
    ("moderated", 0.07),
    ("cancelled", 0.03),
)
#: Jobs that run past an hour (shown as `h:mm:ss`) and then mostly fail.
_STUCK_SHARE = 0.015
_STUCK_DURATION = (3_700.0, 4 * 3_600.0, 5_400.0)
_STUCK_OUTCOMES: tuple[tuple[str, float], ...] = (
    ("failed", 0.6),
    ("cancelled", 0.25),
    ("completed", 0.15),
)


def _weighted(rng: random.Random, choices: Sequence[tuple[str, float]]) -> str:
    roll = rng.random() * sum(w for _, w in choices)
    for value, weight in choices:
        roll -= weight
        if roll < 0:
            return value
    return choices[-1][0]


def outcome(rng: random.Random) -> str:
    """The planned outcome of a job that is not one of the long-running few."""
    return _weighted(rng, _OUTCOME_WEIGHTS)


def draw(p: str, rng: random.Random, kind: str | None = None) -> tuple[str, float, str]:
    """A new job of provider `p`: its kind (unless given), duration and planned outcome."""
    spec = SPECS[p]
    kind = kind or _weighted(rng, spec.kinds)
    if rng.random() < _STUCK_SHARE:
        return kind, rng.triangular(*_STUCK_DURATION), _weighted(rng, _STUCK_OUTCOMES)
    return kind, rng.triangular(*spec.durations[kind]), outcome(rng)


def mean_duration(spec: ProviderSpec) -> float:
    """How long a drawn job of `spec`'s provider runs on average (the arrival rate's basis)."""
    normal = sum(w * sum(spec.durations[k]) / 3 for k, w in spec.kinds)
    return (1 - _STUCK_SHARE) * normal + _STUCK_SHARE * sum(_STUCK_DURATION) / 3
