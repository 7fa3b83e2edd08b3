"""Memoised readers of the texts a job repeats tick after tick (id, `started`, elapsed).

The memo dicts are never rebound (`_remember` empties them in place), so the fast path in
`bot.providers.parse.queue` holds them as its own module globals: one dict lookup per item
and no attribute chain.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final, TypeVar

from bot.models import Kind
from bot.providers.parse.elapsed import parse_elapsed
from bot.providers.parse.ids import _read_id, as_kind
from bot.providers.parse.times import parse_time

_A = TypeVar("_A")

#: A job stays in the scheduler list for many ticks, and its id and `started` text with it: the
#: pure readers of those are memoised, so from a job's second tick on each costs one dict
#: lookup instead of regular expressions. Bounded: a memo is emptied when it reaches `_MEMO_MAX`
#: entries (finished jobs' keys go with it), and text longer than `_MEMO_KEY_MAX` is not kept.
_MEMO_MAX: Final = 1 << 17
_MEMO_KEY_MAX: Final = 256
_ID_INFO: dict[str, tuple[Kind | None, str | None]] = {}
_STARTED: dict[str, datetime | None] = {}
_ELAPSED: dict[str, int | None] = {}
_KIND_WORDS: Final[dict[str, Kind]] = {"video": "video", "image": "image", "music": "music"}


def id_info(job_id: str) -> tuple[Kind | None, str | None]:
    """`(kind_from_id(job_id), account_from_id(job_id))` from one match, memoised."""
    info = _ID_INFO.get(job_id)
    if info is None:
        info = _read_id(job_id)
        _remember(_ID_INFO, job_id, info)
    return info


def _remember(memo: dict[str, _A], key: str, value: _A) -> None:
    if len(key) <= _MEMO_KEY_MAX:
        if len(memo) >= _MEMO_MAX:
            memo.clear()
        memo[key] = value


def _started(text: str) -> datetime | None:
    """`parse_time(text)`, memoised (a job's `started` does not change)."""
    try:
        return _STARTED[text]
    except KeyError:
        value = parse_time(text)
    _remember(_STARTED, text, value)
    return value


def _elapsed(text: str) -> int | None:
    """`parse_elapsed(text)`, memoised (a few thousand figures, `"0:00"`…`"5:59:59"`, cover
    every job of a day)."""
    value = _ELAPSED.get(text, -1)
    if value == -1:
        value = parse_elapsed(text)
        _remember(_ELAPSED, text, value)
    return value


def _text_kind(text: str) -> Kind | None:
    """`as_kind(text)`, the exact words without the case folding."""
    return _KIND_WORDS.get(text) or as_kind(text)
