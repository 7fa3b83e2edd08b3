"""Elapsed figures: `"03:57"`, `"1:02:03"`, `"1m 23s"`, seconds; or computed from a start."""

from __future__ import annotations

import math
import re
from datetime import datetime
from typing import Final

from bot.models import MAX_ELAPSED_SECONDS, bound_elapsed
from bot.providers.parse.numeric import _MAX_TEXT, _number_from_text

_CLOCK = re.compile(r"(\d+):(\d{1,2})(?::(\d{1,2}))?(?:\.\d*)?")
_UNITS_TEXT = re.compile(r"(?:[\s,]*\d+(?:\.\d+)?\s*[A-Za-z]+)+[\s,]*")
_UNIT_TOKEN = re.compile(r"(\d+(?:\.\d+)?)\s*([A-Za-z]+)")
_UNIT_SECONDS: Final[dict[str, float]] = {
    **dict.fromkeys(("ms", "msec", "msecs", "millisecond", "milliseconds"), 0.001),
    **dict.fromkeys(("s", "sec", "secs", "second", "seconds"), 1),
    **dict.fromkeys(("m", "min", "mins", "minute", "minutes"), 60),
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), 3600),
    **dict.fromkeys(("d", "day", "days"), 86400),
}


def _whole_seconds(number: float) -> int | None:
    """Whole seconds of a figure: NaN and negatives are unreadable (None); past
    `MAX_ELAPSED_SECONDS`, +inf included, it is that year (absurd, not unknown)."""
    if number != number or number < 0:
        return None
    return MAX_ELAPSED_SECONDS if number >= MAX_ELAPSED_SECONDS else math.floor(number)


def parse_elapsed(value: object) -> int | None:
    """Whole seconds from an upstream elapsed figure, or None.

    `"03:57"` → 237 (mm:ss), `"1:02:03"` → 3723 (h:mm:ss), `"1m 23s"` → 83, `"45s"` → 45,
    `"2h 3m"` → 7380; numbers and numeric text are seconds (fractions floored). A figure past
    `MAX_ELAPSED_SECONDS` (a year: 10^400, 1e308, 1e400, `"99999999:00"`, `"99999999999h"`) is that
    year. Negative, NaN or unreadable values give None. Never raises.
    """
    seconds: int | None
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        seconds = value if value >= 0 else None
    elif isinstance(value, float):
        return _whole_seconds(value)
    elif isinstance(value, str):
        seconds = _read_elapsed_text(value)
    else:
        return None
    # The one bound of every integer path (`bound_elapsed`, inlined: Dreamina's figures come
    # here unmemoised, 10,000s a tick).
    return seconds if seconds is None or seconds <= MAX_ELAPSED_SECONDS else MAX_ELAPSED_SECONDS


def _read_elapsed_text(value: str) -> int | None:
    """`parse_elapsed` of text, unbounded above."""
    text = value.strip()
    if ":" in text and len(text) <= _MAX_TEXT and text.isascii():
        # "mm:ss" and "h:mm:ss" in ASCII digits, the common shapes, without the regexes below
        # (the same figures `_CLOCK` reads; text with a colon is never a number).
        parts = text.split(":")
        if len(parts) == 2:
            a, b = parts
            if a.isdigit() and b.isdigit() and len(b) <= 2:
                return int(a) * 60 + int(b)
        elif len(parts) == 3:
            a, b, c = parts
            if a.isdigit() and b.isdigit() and c.isdigit() and len(b) <= 2 and len(c) <= 2:
                return int(a) * 3600 + int(b) * 60 + int(c)
    if len(text) > _MAX_TEXT:
        return None
    number = _number_from_text(text)
    if number is not None:
        return _whole_seconds(number)
    clock = _CLOCK.fullmatch(text)
    if clock is not None:
        a, b, c = clock.groups()
        if c is None:
            return int(a) * 60 + int(b)
        return int(a) * 3600 + int(b) * 60 + int(c)
    if not _UNITS_TEXT.fullmatch(text):
        return None
    total = 0.0
    for amount, unit in _UNIT_TOKEN.findall(text):
        factor = _UNIT_SECONDS.get(unit.lower())
        if factor is None:
            return None
        total += float(amount) * factor
    return _whole_seconds(total)


def elapsed_since(started: datetime | None, now: datetime) -> int | None:
    """Whole seconds from `started` to `now` (0 … `MAX_ELAPSED_SECONDS`: a start in the
    future is 0), or None without a start."""
    if started is None:
        return None
    return bound_elapsed(max(0, math.floor((now - started).total_seconds())))
