"""Time for the simulator: a controllable clock and the timestamp formats useapi uses."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

#: Anything that returns the current time as an aware UTC datetime.
Clock = Callable[[], datetime]

#: Where a `ManualClock` starts unless told otherwise (a Monday, noon UTC).
DEFAULT_START = datetime(2026, 3, 9, 12, 0, 0, tzinfo=UTC)


def utc_now() -> datetime:
    """Real time, aware UTC."""
    return datetime.now(UTC)


class ManualClock:
    """A clock that only moves when told to: `advance(seconds)` or `set(when)`.

    Tests pass one as `Simulator(clock=ManualClock())`. `Simulator.advance()` works with any
    clock (it keeps its own offset), so holding on to the ManualClock is optional.
    """

    def __init__(self, start: datetime | None = None) -> None:
        start = start or DEFAULT_START
        if start.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime")
        self._now = start.astimezone(UTC)

    def __call__(self) -> datetime:
        return self._now

    def advance(self, seconds: float) -> datetime:
        if seconds < 0:
            raise ValueError("a clock does not go backwards")
        self._now += timedelta(seconds=seconds)
        return self._now

    def __repr__(self) -> str:
        return f"ManualClock({iso_ms(self._now)})"


def from_ts(ts: float) -> datetime:
    """Epoch seconds → aware UTC datetime."""
    return datetime.fromtimestamp(ts, UTC)


def iso_ms(when: datetime | float) -> str:
    """`2024-09-25T01:55:16.128Z`: the scheduler's `started` format."""
    if isinstance(when, datetime):
        when = when.astimezone(UTC)
        return f"{when:%Y-%m-%dT%H:%M:%S}.{when.microsecond // 1000:03d}Z"
    secs, ms = divmod(round(when * 1000), 1000)
    return f"{time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(secs))}.{ms:03d}Z"


def iso_s(when: datetime | float) -> str:
    """`2024-11-11T12:34:56Z`: PixVerse video `created_at` format (no milliseconds)."""
    if not isinstance(when, datetime):
        when = from_ts(when)
    return f"{when.astimezone(UTC):%Y-%m-%dT%H:%M:%S}Z"


def format_elapsed(seconds: float) -> str:
    """useapi's `elapsed`: `mm:ss`, or `h:mm:ss` once past an hour."""
    sec = max(0, int(seconds))
    hours, rem = divmod(sec, 3600)
    minutes, secs = divmod(rem, 60)
    if hours:
        return f"{hours}:{minutes:02d}:{secs:02d}"
    return f"{minutes:02d}:{secs:02d}"
