"""Discord ids ("snowflakes"): unsigned 64-bit integers, and never 0.

One definition, used wherever an id comes in from outside — the settings, the slash commands,
the rows the store reads back — so that a value Discord could never send is refused where it
enters instead of failing later inside a tick ("Python int too large").
"""

from __future__ import annotations

from typing import Final

__all__ = ["MAX_SNOWFLAKE", "is_snowflake", "parse_snowflake"]

MAX_SNOWFLAKE: Final = (1 << 64) - 1
RANGE_TEXT: Final = f"a Discord id: a whole number from 1 to {MAX_SNOWFLAKE}"


def is_snowflake(value: object) -> bool:
    """True for an int (not a bool) in 1 … 2**64 - 1."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_SNOWFLAKE


def parse_snowflake(value: object) -> int:
    """`value` as a snowflake: an int in range, or its decimal text (spaces around allowed).

    Raises ValueError with a message that says what a Discord id is."""
    if isinstance(value, str):
        text = value.strip()
        # Plain ASCII digits only: int() would also take "1_000", "٣" and a sign.
        if text.isascii() and text.isdigit() and len(text) <= 20:
            value = int(text)
    if not is_snowflake(value):
        raise ValueError(f"must be {RANGE_TEXT}")
    assert isinstance(value, int)
    return value
