"""Colours and marks: what an embed's colour says, and the glyph of each kind of job."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

import discord

from bot.events import AlertWord

__all__ = ["BAD", "NEUTRAL", "OK", "WARN", "kind_mark", "word_colour", "worst"]

OK: Final = discord.Colour(0x57F287)
WARN: Final = discord.Colour(0xF0B232)
BAD: Final = discord.Colour(0xED4245)
NEUTRAL: Final = discord.Colour(0x5865F2)

_SEVERITY: Final = {NEUTRAL.value: 0, OK.value: 1, WARN.value: 2, BAD.value: 3}

_WORD_COLOUR: Final[dict[str, discord.Colour]] = {
    AlertWord.COMPLETED: OK,
    AlertWord.RESTORED: OK,
    AlertWord.RECOVERED: OK,
    AlertWord.MODERATED: WARN,
    AlertWord.CANCELLED: WARN,
    AlertWord.STUCK: WARN,
    AlertWord.UNKNOWN: WARN,
    AlertWord.FAILED: BAD,
    AlertWord.EXHAUSTED: BAD,
    AlertWord.UNREACHABLE: BAD,
    AlertWord.UNAUTHORIZED: BAD,
    AlertWord.PAYMENT_REQUIRED: BAD,
    AlertWord.SUBSCRIPTION_ACTIVE: OK,
    AlertWord.ACCOUNT_OK: OK,
    AlertWord.EXPIRES_SOON: WARN,
    AlertWord.SUBSCRIPTION_INACTIVE: BAD,
    AlertWord.ACCOUNT_ERROR: BAD,
    AlertWord.STILL_EXHAUSTED: BAD,
    AlertWord.STILL_UNREACHABLE: BAD,
    AlertWord.FAILURE_RATE_HIGH: BAD,
    AlertWord.FAILURE_RATE_NORMAL: OK,
}

_KIND_EMOJI: Final = {"video": "🎬", "image": "🖼️", "music": "🎵"}
_NO_KIND: Final = "•"


def worst(colours: Iterable[discord.Colour]) -> discord.Colour:
    """The most severe of `colours` (BAD > WARN > OK > NEUTRAL); NEUTRAL when there are none."""
    result = NEUTRAL
    for c in colours:
        if _SEVERITY.get(c.value, 0) > _SEVERITY.get(result.value, 0):
            result = c
    return result


def word_colour(word: str) -> discord.Colour:
    """The colour of an alert saying `word`; NEUTRAL for a word this bot does not know."""
    return _WORD_COLOUR.get(word.lower(), NEUTRAL)


def kind_mark(kind: str | None) -> str:
    """The glyph before a job of `kind` in a list."""
    return _KIND_EMOJI.get(kind or "", _NO_KIND)
