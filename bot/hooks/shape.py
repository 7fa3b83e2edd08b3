"""Which job a replyUrl body names. Pure: no I/O.

useapi posts "the same JSON shape as GET /jobs/{jobid}" or the scheduler item (see
`../shared/useapi/endpoints.md`, replyUrl callbacks), so the id sits under a different key per
provider: `video_id`/`id` (PixVerse), `videoId`/`imageId` (MiniMax), `jobid` (Dreamina,
Mureka), `task.id`/`id` as a JSON number (Kling), `taskId` (Runway). Each adapter lists its keys
(`Provider.reply_keys`) and says which ids are its own (`Provider.owns`); nothing else in the
body is read, since nothing else in it is trusted.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from bot.models import REPLACEMENT
from bot.providers.base import Provider

#: The longest id taken from a body (useapi's own ids are under 200 characters).
MAX_ID: Final = 1024


@dataclass(frozen=True, slots=True)
class Named:
    """The job a callback names."""

    provider: str
    job_id: str


class Unrecognised(ValueError):
    """The body names no job this bot can look up (422); the message says why, in words."""


def find_job(body: Any, providers: Mapping[str, Provider], hint: str | None = None) -> Named:
    """The one job `body` names. `hint` is the provider from the path
    (`/hooks/useapi/{secret}/{provider}`): then only its keys count and any id under them is
    taken; without it every enabled provider's keys are tried and an id counts only for the
    provider that `owns` it. Raises `Unrecognised` when there is none, or more than one."""
    if not isinstance(body, dict):
        raise Unrecognised("the body is not a JSON object")
    if hint is not None:
        provider = providers.get(hint)
        if provider is None:
            raise Unrecognised(f"provider {hint!r} is not enabled here")
        ids = _ids(body, provider)
        if not ids:
            raise Unrecognised(f"no {provider.title} job id in the body")
        return _one(ids, provider.name)
    found = {p.name: _ids(body, p, p.owns) for p in providers.values()}
    named = [Named(name, i) for name, ids in found.items() for i in dict.fromkeys(ids)]
    if not named:
        raise Unrecognised("no job id of an enabled provider in the body")
    if len({n.provider for n in named}) > 1:
        raise Unrecognised("the body names jobs of several providers")
    return _one([n.job_id for n in named], named[0].provider)


def _one(ids: list[str], provider: str) -> Named:
    distinct = list(dict.fromkeys(ids))
    if len(distinct) > 1:
        raise Unrecognised("the body names more than one job")
    return Named(provider, distinct[0])


def _ids(
    body: Mapping[str, Any], provider: Provider, owned: Callable[[object], bool] | None = None
) -> list[str]:
    """The usable ids under the provider's keys (`a.b`: key `b` of the object under `a`);
    with `owned`, only the values it accepts."""
    out: list[str] = []
    for key in provider.reply_keys:
        value: Any = body
        for part in key.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        text = as_id(value)
        if text is not None and (owned is None or owned(value)):
            out.append(text)
    return out


def as_id(value: object) -> str | None:
    """A job id as text, or None: a non-empty string without outer spaces, within `MAX_ID`
    and without a character decoding had to replace (useapi could not be asked about it);
    or a whole JSON number (Kling's ids), kept exact. A float, a bool, anything else: None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value) if value >= 0 else None
    if not isinstance(value, str):
        return None
    if not value or value != value.strip() or len(value) > MAX_ID or REPLACEMENT in value:
        return None
    return value
