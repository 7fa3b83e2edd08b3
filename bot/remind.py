"""Reminders: a condition still on after `REMIND_AFTER_HOURS` is posted again, once per period,
as `still exhausted` (capacity) or `still unreachable` (upstream). Pure functions, no I/O.

Built on the stored `AlertState` of the condition (`bot.alerts`): the period counts from when
its episode was announced (`announced_at`; `since` for a state announced before reminders
existed), and `reminded` remembers the last period posted, in the same transaction as the
reminder's outbox row. Keys name the episode and the period
(`capacity:{provider}:{account|*}:{episode}:still exhausted:{n}`,
`upstream:{provider}:{episode}:still unreachable:{n}`), so a restart or a second replica that
decides the same reminder again is refused by the outbox.

The account checks' conditions (`account error`, `subscription inactive`) use `due` too, and
are reminded under their own words (`bot.accounts.policy`): the contract's two do not fit them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime, timedelta

from bot.alerts import CAPACITY_ALL, UPSTREAM, AlertState
from bot.events import AlertWord, Event, EventKind
from bot.text import fmt_duration

__all__ = ["due", "reminder_events"]

_CAPACITY_PREFIX = CAPACITY_ALL + ":"


def due(state: AlertState, *, now: datetime, every: timedelta) -> int | None:
    """The reminder period due now for `state`'s announced episode (1: the first, after one
    `every`), or None: nothing announced, the condition not observed right now (a blip on its
    way to the all-clear), or this period already reminded."""
    if state.announced is None or state.raw != state.announced or every <= timedelta(0):
        return None
    anchor = state.announced_at or state.since
    if anchor is None:
        return None
    period = (now - anchor) // every
    return period if period >= 1 and period > state.reminded else None


def _event(provider: str, state: AlertState, period: int, now: datetime) -> Event | None:
    anchor = state.announced_at or state.since
    lasted = fmt_duration((now - anchor).total_seconds()) if anchor is not None else "—"
    if state.scope == UPSTREAM:
        word = AlertWord.STILL_UNREACHABLE
        # The announced word may be `unauthorized` or `payment required`: say which.
        return Event(
            key=f"upstream:{provider}:{state.episode}:{word}:{period}",
            kind=EventKind.UPSTREAM,
            provider=provider,
            word=word,
            at=now,
            detail=f"{state.announced} for {lasted}",
        )
    if state.scope == CAPACITY_ALL or state.scope.startswith(_CAPACITY_PREFIX):
        account = (
            state.scope.removeprefix(_CAPACITY_PREFIX) if state.scope != CAPACITY_ALL else None
        )
        word = AlertWord.STILL_EXHAUSTED
        what = "every account has been full" if account is None else "full"
        return Event(
            key=f"capacity:{provider}:{account or '*'}:{state.episode}:{word}:{period}",
            kind=EventKind.CAPACITY,
            provider=provider,
            word=word,
            at=now,
            account=account,
            detail=f"{what} for {lasted}",
        )
    return None  # another condition (failure rate): not reminded


def reminder_events(
    provider: str, states: Iterable[AlertState], *, now: datetime, every: timedelta | None
) -> tuple[list[AlertState], list[Event]]:
    """The reminders due now among `states` (this tick's, after its own `advance`), and those
    states with the period recorded. `every` None: reminders are off."""
    changed: list[AlertState] = []
    events: list[Event] = []
    if every is None:
        return changed, events
    for state in states:
        period = due(state, now=now, every=every)
        if period is None:
            continue
        event = _event(provider, state, period, now)
        if event is None:
            continue
        changed.append(replace(state, reminded=period))
        events.append(event)
    return changed, events
