"""Account health from a provider's accounts map (`GET …/accounts`): each account's `error`
and when its session or token ends."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from bot.errors import PayloadError
from bot.models import AccountHealth
from bot.providers.parse.getters import _type_name, expect_dict, opt_dict
from bot.providers.parse.times import parse_time

#: useapi's message about an account is shown in alerts and views; past this it is cut.
MAX_ERROR_TEXT: Final = 500

#: Reads the expiry value (anything `parse_time` takes) from one account entry; `where` names
#: the entry for errors.
ExpiryReader = Callable[[dict[str, Any], str, str], object]


def error_text(value: object, provider: str, field: str) -> str | None:
    """An account's `error`: text as it is (cut to `MAX_ERROR_TEXT`), null/false/empty None,
    `true` a message of its own, a number as text; an array or object is a PayloadError."""
    if value is None or value is False:
        return None
    if value is True:
        return "in error (useapi gave no message)"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        text = value.strip()
        if len(text) > MAX_ERROR_TEXT:
            text = text[: MAX_ERROR_TEXT - 1] + "…"
        return text or None
    raise PayloadError(
        f"expected a message, got {_type_name(value)}", provider=provider, field=field
    )


def nested(entry: dict[str, Any], provider: str, where: str, *path: str) -> object:
    """`entry[path[0]][path[1]]…`: None where a level is missing or null; a level that is not an
    object is a PayloadError naming it."""
    value: object = entry
    for depth, key in enumerate(path):
        level = opt_dict(value, provider, ".".join((where, *path[:depth])))
        value = level.get(key)
        if value is None:
            return None
    return value


def first_time(*values: object) -> Any:
    """The first of `values` that `parse_time` reads (the documented field, then a fallback)."""
    for value in values:
        if parse_time(value) is not None:
            return value
    return None


def accounts_health(
    body: object, provider: str, read_expiry: ExpiryReader
) -> tuple[AccountHealth, ...]:
    """One `AccountHealth` per entry of an accounts map `{name: {error?, …}}`, in its order.

    The name is the map's key; `error` is read by `error_text`; the expiry is what
    `read_expiry` finds, read by `parse_time` (unreadable or outside 2000–2100: unknown)."""
    accounts = expect_dict(body, provider, "accounts")
    out: list[AccountHealth] = []
    for name, raw in accounts.items():
        where = f"accounts.{name[:64]}"
        if not name.strip():
            raise PayloadError(
                "expected an account name, got an empty key", provider=provider, field="accounts"
            )
        entry = expect_dict(raw, provider, where)
        out.append(
            AccountHealth(
                provider=provider,
                account=name,
                error=error_text(entry.get("error"), provider, f"{where}.error"),
                expires=parse_time(read_expiry(entry, provider, where)),
            )
        )
    return tuple(out)
