"""Typed getters that guard a body's shape: the wrong type raises `PayloadError` naming the
provider and the field."""

from __future__ import annotations

import math
from typing import Any

from bot.errors import PayloadError
from bot.models import bound_reply_ref
from bot.providers.parse.numeric import _MAX_TEXT, _number_from_text


def _type_name(value: object) -> str:
    if value is None:
        return "null"
    return {
        bool: "a boolean",
        int: "a number",
        float: "a number",
        str: "a string",
        list: "an array",
        dict: "an object",
    }.get(type(value), type(value).__name__)


def expect_dict(value: object, provider: str, field: str) -> dict[str, Any]:
    """`value` if it is a JSON object, else PayloadError."""
    if not isinstance(value, dict):
        raise PayloadError(
            f"expected an object, got {_type_name(value)}", provider=provider, field=field
        )
    return value


def expect_list(value: object, provider: str, field: str) -> list[Any]:
    """`value` if it is a JSON array, else PayloadError."""
    if not isinstance(value, list):
        raise PayloadError(
            f"expected an array, got {_type_name(value)}", provider=provider, field=field
        )
    return value


def opt_dict(value: object, provider: str, field: str) -> dict[str, Any]:
    """An optional JSON object: null → `{}`, an object as it is, anything else → error."""
    return {} if value is None else expect_dict(value, provider, field)


def opt_list(value: object, provider: str, field: str) -> list[Any]:
    """An optional JSON array: null → `[]`, an array as it is, anything else → error."""
    return [] if value is None else expect_list(value, provider, field)


def require_id(value: object, provider: str, field: str, *, what: str = "a job id") -> str:
    """An id as text: non-empty strings as they are, integers (Kling) coerced; else error."""
    if isinstance(value, str) and value.strip():
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    got = "an empty string" if isinstance(value, str) else _type_name(value)
    raise PayloadError(f"expected {what}, got {got}", provider=provider, field=field)


def opt_str(value: object, provider: str, field: str) -> str | None:
    """Optional text: null/empty → None, numbers coerced; booleans, arrays, objects → error."""
    if value is None:
        return None
    if isinstance(value, str):
        return value or None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise PayloadError(
        f"expected a string, got {_type_name(value)}", provider=provider, field=field
    )


def opt_int(value: object, provider: str, field: str) -> int | None:
    """Optional whole number: null → None; floats floored; numeric text read; else error."""
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    number: float | None = None
    if isinstance(value, float):
        number = value
    elif isinstance(value, str) and len(value) <= _MAX_TEXT:
        number = _number_from_text(value.strip())
    if number is not None and math.isfinite(number):
        return math.floor(number)
    raise PayloadError(
        f"expected a number, got {_type_name(value)}", provider=provider, field=field
    )


def reply_ref_of(body: dict[str, Any]) -> str | None:
    """The `replyRef` a job body carries: `request.replyRef`, then `response.replyRef`, then
    the top level (the order useapi's own scripts read it in; Mureka and Dreamina keep it in
    `request`, PixVerse at the top or in `response`). Never raises: a value that is not text,
    or a `request`/`response` that is no object, is simply not a reference."""
    for where in ("request", "response"):
        inner = body.get(where)
        if isinstance(inner, dict):
            ref = bound_reply_ref(inner.get("replyRef"))
            if ref is not None:
                return ref
    return bound_reply_ref(body.get("replyRef"))
