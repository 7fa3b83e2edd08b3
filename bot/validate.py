"""Checks on free text from Discord before it goes anywhere near an upstream URL."""

from __future__ import annotations

import re

MAX_ID_LENGTH = 200
MAX_TEXT_LENGTH = 100
# Characters that could change a URL's path or query, plus whitespace and control characters.
_FORBIDDEN = re.compile(r"[/?#\\%\s\x00-\x1f\x7f]")


class InputError(ValueError):
    """A value a user typed is not acceptable; the message says why, for the user."""


def job_id(value: str) -> str:
    """A job id as typed into `/job`: trimmed, bounded, nothing that could alter the URL."""
    value = value.strip()
    if not value:
        raise InputError("The job id is empty.")
    if len(value) > MAX_ID_LENGTH:
        raise InputError(
            f"That job id is {len(value)} characters long; ids are at most {MAX_ID_LENGTH}."
        )
    if ".." in value:
        raise InputError('A job id cannot contain "..".')
    bad = _FORBIDDEN.search(value)
    if bad:
        raise InputError(f"A job id cannot contain {_describe(bad.group())}.")
    return value


def free_text(value: str, *, what: str, max_length: int = MAX_TEXT_LENGTH) -> str:
    """Any other free-text option (an account filter, …) under the same rules."""
    value = value.strip()
    if len(value) > max_length:
        raise InputError(f"The {what} is too long (at most {max_length} characters).")
    bad = _FORBIDDEN.search(value)
    if bad:
        raise InputError(f"The {what} cannot contain {_describe(bad.group())}.")
    return value


def _describe(char: str) -> str:
    if char.isspace():
        return "spaces or line breaks"
    if ord(char) < 32 or ord(char) == 127:
        return "control characters"
    return f'"{char}"'
