"""/stats, `opsbot history` and the digest: the figures of a period, computed from history
records. Pure: no I/O, no clock (the period is given).

Per provider and model: jobs completed, failed, moderated (cancelled and unknown are counted
but are neither a success nor a failure), the failure share, p50/p95 run time of the completed
jobs; per provider: the hours it spent at full capacity, from its capacity samples.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.history.records import HOLDS_AT_MOST, Finished, Sample
from bot.models import Outcome

#: Where a job's model is not known.
NO_MODEL = "(model not known)"


def percentile(values: Sequence[float], p: float) -> float | None:
    """The nearest-rank `p`-th percentile (0 < p ≤ 100) of `values`: a value that occurred,
    never an interpolation; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


@dataclass(frozen=True, slots=True)
class ModelStats:
    """The finished jobs of one provider and model in a period."""

    provider: str
    model: str | None
    completed: int = 0
    failed: int = 0
    moderated: int = 0
    #: Cancelled (untracked) and unknown outcomes: finished, neither success nor failure.
    other: int = 0
    p50_seconds: float | None = None
    p95_seconds: float | None = None

    @property
    def decided(self) -> int:
        """Jobs that either succeeded or failed (the failure share's denominator)."""
        return self.completed + self.failed + self.moderated

    @property
    def total(self) -> int:
        return self.decided + self.other

    @property
    def failure_percent(self) -> float | None:
        """Failed plus moderated, in percent of completed + failed + moderated; None when no
        job was decided (no share of nothing)."""
        if self.decided == 0:
            return None
        return 100.0 * (self.failed + self.moderated) / self.decided


@dataclass(frozen=True, slots=True)
class ProviderStats:
    provider: str
    #: Busiest model first (then by name).
    models: tuple[ModelStats, ...]
    #: Hours in the period during which the provider had no free slot at all.
    full_hours: float
    #: Whether any capacity sample of the provider fell in the period (else `full_hours` is 0
    #: for want of data, not because it never filled).
    sampled: bool

    @property
    def totals(self) -> ModelStats:
        """All models together (percentiles are not additive: none here)."""
        return ModelStats(
            provider=self.provider,
            model=None,
            completed=sum(m.completed for m in self.models),
            failed=sum(m.failed for m in self.models),
            moderated=sum(m.moderated for m in self.models),
            other=sum(m.other for m in self.models),
        )


@dataclass(frozen=True, slots=True)
class Stats:
    since: datetime
    until: datetime
    #: By provider name.
    providers: tuple[ProviderStats, ...]

    @property
    def empty(self) -> bool:
        return not any(p.models or p.sampled for p in self.providers)


def model_stats(provider: str, model: str | None, jobs: Iterable[Finished]) -> ModelStats:
    """The figures of one provider and model from its finished jobs."""
    counts = dict.fromkeys(("completed", "failed", "moderated", "other"), 0)
    runs: list[float] = []
    for job in jobs:
        if job.outcome == Outcome.COMPLETED:
            counts["completed"] += 1
            # Run time is that of the jobs that produced something: how long a video takes.
            if job.run_seconds is not None and job.run_seconds >= 0:
                runs.append(job.run_seconds)
        elif job.outcome == Outcome.FAILED:
            counts["failed"] += 1
        elif job.outcome == Outcome.MODERATED:
            counts["moderated"] += 1
        else:
            counts["other"] += 1
    return ModelStats(
        provider=provider,
        model=model,
        p50_seconds=percentile(runs, 50),
        p95_seconds=percentile(runs, 95),
        **counts,
    )


def full_seconds(samples: Sequence[Sample], *, since: datetime, until: datetime) -> float:
    """Seconds of [since, until) that one series (oldest first) spent exhausted.

    Each sample holds until the next one (the last until `until`), at most `HOLDS_AT_MOST`:
    the bot down for hours after a point that said exhausted is not hours at full capacity.
    A raw sample that says exhausted counts its whole span; a downsampled bucket counts the
    `full_seconds` it recorded (at most its span)."""
    total = 0.0
    for i, s in enumerate(samples):
        start = max(s.at, since)
        end = min(samples[i + 1].at if i + 1 < len(samples) else until, s.at + HOLDS_AT_MOST, until)
        span = (end - start).total_seconds()
        if span <= 0:
            continue
        if s.full_seconds > 0:
            total += min(s.full_seconds, span)
        elif s.exhausted:
            total += span
    return total


def compute(
    finished: Iterable[Finished],
    samples: Iterable[Sample],
    *,
    since: datetime,
    until: datetime,
    providers: Sequence[str] = (),
) -> Stats:
    """The period [since, until)'s figures from its finished jobs (`model_stats` of each
    provider and model) and capacity samples (`summarise`)."""
    by_model: dict[tuple[str, str | None], list[Finished]] = {}
    for job in finished:
        if since <= job.at < until:
            by_model.setdefault((job.provider, job.model), []).append(job)
    models = [model_stats(p, model, jobs) for (p, model), jobs in by_model.items()]
    return summarise(models, samples, since=since, until=until, providers=providers)


def summarise(
    models: Iterable[ModelStats],
    samples: Iterable[Sample],
    *,
    since: datetime,
    until: datetime,
    providers: Sequence[str] = (),
) -> Stats:
    """The period [since, until)'s figures from the figures of each provider and model
    (`model_stats`, or the store's `Store.model_stats`, the same summed by the database) and
    the capacity samples. Only provider totals among `samples` (account None) count towards
    hours at full capacity. `providers` are always listed (even with nothing recorded);
    others appear when a record names them."""
    by_provider: dict[str, list[ModelStats]] = {}
    for m in models:
        by_provider.setdefault(m.provider, []).append(m)
    series: dict[str, list[Sample]] = {}
    for s in samples:
        if s.account is None and s.at < until:
            series.setdefault(s.provider, []).append(s)
    out = []
    for name in sorted({*providers, *series, *by_provider}):
        ranked = sorted(by_provider.get(name, []), key=lambda m: (-m.total, m.model or ""))
        points = sorted(series.get(name, []), key=lambda s: s.at)
        out.append(
            ProviderStats(
                provider=name,
                models=tuple(ranked),
                full_hours=full_seconds(points, since=since, until=until) / 3600,
                sampled=bool(points),
            )
        )
    return Stats(since=since, until=until, providers=tuple(out))
