"""Times as providers send them: ISO-8601 text (lenient), epoch seconds or milliseconds."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta
from typing import Final

from bot.models import in_time_range
from bot.providers.parse.numeric import _MAX_TEXT, _number_from_text

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
#: Epoch numbers at or above this are milliseconds (1e11 s is the year 5138; 1e11 ms is 1973).
_MS_THRESHOLD: Final = 1e11

_ISO = re.compile(
    r"""(?P<y>\d{4})-(?P<mo>\d{1,2})-(?P<d>\d{1,2})
        (?:[Tt\ ]+(?P<h>\d{1,2}):(?P<mi>\d{1,2})(?::(?P<s>\d{1,2})(?:[.,](?P<f>\d+))?)?)?
        \ *(?:(?P<z>[Zz]|UTC|GMT)|(?P<sign>[+-])(?P<oh>\d{2}):?(?P<om>\d{2})?)?""",
    re.VERBOSE,
)


def _from_epoch(value: float) -> datetime | None:
    try:
        if not math.isfinite(value) or value < 0:
            return None
        if value >= _MS_THRESHOLD:
            return _EPOCH + timedelta(milliseconds=value)
        return _EPOCH + timedelta(seconds=value)
    except (OverflowError, ValueError):
        return None


#: The shape every scheduler sends (`2024-09-25T01:55:16.128Z`): parsed by the C fromisoformat,
#: far cheaper than `_ISO` and the same result (other text, and values fromisoformat refuses,
#: such as `12:45:67.890Z`, take the lenient path below). See README, Performance: the profile.
_CANONICAL_ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", re.ASCII)


def _from_iso(text: str) -> datetime | None:
    m = _ISO.fullmatch(text)
    if m is None:
        return None
    month, day = int(m["mo"]), int(m["d"])
    if not 1 <= month <= 12 or day < 1:
        return None
    fraction = (m["f"] or "")[:6].ljust(6, "0")
    # Out-of-range clock fields roll over (12:45:67 → 12:46:07, Feb 30 → Mar 1), as a JS Date does.
    shift = timedelta(
        days=day - 1,
        hours=int(m["h"] or 0),
        minutes=int(m["mi"] or 0),
        seconds=int(m["s"] or 0),
        microseconds=int(fraction),
    )
    if m["sign"]:
        offset = timedelta(hours=int(m["oh"]), minutes=int(m["om"] or 0))
        shift -= offset if m["sign"] == "+" else -offset
    try:
        return datetime(int(m["y"]), month, 1, tzinfo=UTC) + shift
    except (OverflowError, ValueError):
        return None


def parse_time(value: object) -> datetime | None:
    """An aware UTC datetime from whatever a provider put in a time field, or None.

    Accepts ISO-8601 text (`Z`, `±hh:mm`, `±hhmm`, with or without fractions; no zone = UTC),
    epoch seconds and epoch milliseconds (numbers ≥ 1e11) as numbers or numeric text, and
    `datetime` objects (naive = UTC). Impossible clock values roll over instead of failing
    (`12:45:67.890Z` → `12:46:07.890Z`); an impossible month, negative or non-finite epoch,
    a time outside 2000–2100 (`bot.models.EARLIEST`/`LATEST`: epoch 0 is "not set", not
    1970), or anything else unreadable gives None. Never raises.
    """
    if value is None:
        return None
    t = _read_time(value)
    return t if t is not None and in_time_range(t) else None


def _read_time(value: object) -> datetime | None:
    """`parse_time` without the 2000–2100 window."""
    if isinstance(value, bool):
        return None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        try:
            return value.astimezone(UTC)
        except (OverflowError, ValueError):
            return None
    if isinstance(value, int | float):
        return _from_epoch(value)
    if not isinstance(value, str):
        return None
    text = value.strip()
    if _CANONICAL_ISO.fullmatch(text):
        try:
            return datetime.fromisoformat(text)
        except ValueError:
            pass  # roll over as below
    if len(text) > _MAX_TEXT:
        return None
    number = _number_from_text(text)
    if number is not None:
        return _from_epoch(number)
    return _from_iso(text)
