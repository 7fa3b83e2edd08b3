"""Numbers read from text: the one reader the time, elapsed and count parsers share."""

from __future__ import annotations

import re
from typing import Final

_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
#: Longer text is no time or elapsed figure (and bounds the regex work on hostile input).
_MAX_TEXT: Final = 64


def _number_from_text(text: str) -> float | None:
    if not _NUMBER.fullmatch(text):
        return None
    try:
        number = float(text) if any(c in text for c in ".eE") else int(text)
    except (OverflowError, ValueError):
        return None
    return number
