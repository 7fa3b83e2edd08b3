"""Failure rate: the failed plus moderated share of a provider's (and of each account's) last
`FAILURE_RATE_WINDOW` finished jobs → `failure rate high` / `failure rate normal`. Pure: the
watcher hands in the finished jobs (`bot.history.records.Finished`, newest first) and the
stored alert states; no I/O.

The same flap damping as capacity (`bot.alerts.advance`): a rate at or above
`FAILURE_RATE_ALERT` % must hold `flap_ticks` ticks before `failure rate high`, and
`failure rate normal` follows only an announced high, once the rate has held below as long.
Fewer than `MIN_SEEN` jobs is no reading at all (the state stays as it is). Keys:
`failure:{provider}:{account|*}:{episode}:{word}`. Alerts of kind `account`: a provider's or an
account's health, routed and muted with the account checks.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from typing import Final

from bot.alerts import OK, AlertState, advance
from bot.events import AlertWord, Event, EventKind
from bot.history.records import Finished
from bot.models import Outcome
from bot.text import truncate

__all__ = [
    "HIGH",
    "MIN_SEEN",
    "FailureRate",
    "failure_events",
    "failure_rate",
    "failure_scope",
    "is_high",
]

#: The raw condition a failure-rate state observes (besides `OK`).
HIGH: Final = "high"
#: The fewest finished jobs a rate is read from.
MIN_SEEN: Final = 10
#: The outcomes that count as failing.
FAILING: Final = frozenset({Outcome.FAILED.value, Outcome.MODERATED.value})
#: Reasons named in an alert, and how much of each.
REASONS_SHOWN: Final = 3
REASON_CHARS: Final = 120
_SCOPE: Final = "failure"
_SPACE = re.compile(r"\s+")


def failure_scope(account: str | None) -> str:
    """State scope of a provider's failure rate (`account` None) or of one account's."""
    return _SCOPE if account is None else f"{_SCOPE}:{account}"


def _reason(job: Finished) -> str:
    """One failing job's reason as a line of text: upstream's words (whitespace folded,
    bounded; the embed escapes them), else its outcome."""
    text = _SPACE.sub(" ", job.reason or "").strip()
    return truncate(text, REASON_CHARS) if text else job.outcome


@dataclass(frozen=True, slots=True)
class FailureRate:
    """What the last jobs say: `seen` of them, `failed` + `moderated` failing, and the top
    reasons (text, count), most frequent first (ties: the most recent first)."""

    seen: int
    failed: int
    moderated: int
    reasons: tuple[tuple[str, int], ...] = ()

    @property
    def failing(self) -> int:
        return self.failed + self.moderated

    @property
    def percent(self) -> float:
        return 100.0 * self.failing / self.seen if self.seen else 0.0

    def words(self) -> str:
        """``7 of 20 recent jobs failed or were moderated (35 %): 5 failed, 2 moderated``."""
        parts = [f"{n} {w}" for n, w in ((self.failed, "failed"), (self.moderated, "moderated"))]
        return (
            f"{self.failing} of {self.seen} recent jobs failed or were moderated "
            f"({self.percent:.0f} %): " + ", ".join(p for p in parts if not p.startswith("0 "))
            if self.failing
            else f"none of {self.seen} recent jobs failed or was moderated (0 %)"
        )


def failure_rate(finished: Iterable[Finished], *, window: int) -> FailureRate:
    """The rate over the newest `window` of `finished` (newest first)."""
    last = list(islice(finished, max(0, window)))
    failed = sum(1 for f in last if f.outcome == Outcome.FAILED.value)
    moderated = sum(1 for f in last if f.outcome == Outcome.MODERATED.value)
    # Counter keeps first-seen order for ties, and `last` is newest first.
    reasons = Counter(_reason(f) for f in last if f.outcome in FAILING)
    return FailureRate(len(last), failed, moderated, tuple(reasons.most_common(REASONS_SHOWN)))


def is_high(rate: FailureRate, *, threshold: float, min_seen: int = MIN_SEEN) -> bool | None:
    """At or above `threshold` percent; None: too few jobs seen to tell. Compared without a
    division, so 6 of 20 is exactly 30 %."""
    if rate.seen < min_seen:
        return None
    return rate.failing * 100 >= threshold * rate.seen


def _event(
    provider: str,
    account: str | None,
    state: AlertState,
    word: AlertWord,
    rate: FailureRate,
    threshold: float,
    now: datetime,
) -> Event:
    if word is AlertWord.FAILURE_RATE_HIGH:
        top = "; ".join(f"{n}× {text}" for text, n in rate.reasons)
        detail = f"{rate.words()}. Top reasons: {top}" if top else rate.words()
    else:
        detail = f"{rate.words()}, under {threshold:g} % again"
    return Event(
        key=f"failure:{provider}:{account or '*'}:{state.episode}:{word}",
        kind=EventKind.ACCOUNT,
        provider=provider,
        word=word,
        at=now,
        account=account,
        detail=detail,
        extra={"failure rate": f"{rate.percent:.0f} %", "jobs seen": str(rate.seen)},
    )


def failure_events(
    provider: str,
    windows: Mapping[str | None, Iterable[Finished]],
    states: Mapping[str, AlertState],
    *,
    now: datetime,
    flap_ticks: int,
    window: int,
    threshold: float,
) -> tuple[list[AlertState], list[Event]]:
    """Advance the failure-rate state of each scope in `windows` (account None: the provider
    as a whole; each value newest first) and return the changed states and the events."""
    changed: list[AlertState] = []
    events: list[Event] = []
    for account, finished in windows.items():
        rate = failure_rate(finished, window=window)
        high = is_high(rate, threshold=threshold)
        if high is None:
            continue
        scope = failure_scope(account)
        old = states.get(scope) or AlertState(scope)
        new, what = advance(old, HIGH if high else OK, now=now, need=flap_ticks)
        if new is not old:
            changed.append(new)
        if what is not None:
            word = (
                AlertWord.FAILURE_RATE_HIGH if what == "announce" else AlertWord.FAILURE_RATE_NORMAL
            )
            events.append(_event(provider, account, new, word, rate, threshold, now))
    return changed, events
