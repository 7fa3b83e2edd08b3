"""Hostile bodies for the fault kinds that shape what is sent rather than whether it is sent.

* `deep`: JSON arrays nested `size` deep (valid JSON that a recursive decoder cannot read).
* `oversized`: exactly `size` bytes of valid JSON (`[`, spaces, `]`), produced chunk by chunk,
  never built in memory.
* `surrogate`: one more scheduler item whose id is the JSON escape `"\\ud800"` — valid JSON,
  a lone UTF-16 surrogate once decoded.
* `huge_numbers`: two more scheduler items whose elapsed figure is 10^400 (a valid JSON
  integer) and 1e308, and a `maxJobs` of 10^400 on the first capacity entry.
* `duplicates`: the first item of each scheduler list listed three times.

(`dribble`, the slow one, is the server's: it sends the usual answer a byte at a time.)

The extra items get ids of their own (`FAULT_ACCOUNT`), so the simulator's real jobs keep
their figures and outcomes. Bodies other than scheduler lists, capacity entries and account
maps pass through unchanged.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any, Final

from bot.sim.providers import SPECS

HUGE_INT: Final = 10**400
HUGE_FLOAT: Final = 1e308
SURROGATE_ID: Final = "\ud800"
#: The account in the ids of the items these faults add.
FAULT_ACCOUNT: Final = "fault@sim.example"
#: Bytes per chunk of an `oversized` body.
CHUNK: Final = 64 * 1024


def fault_job_id(provider: str, tag: str) -> str:
    """The id of an item a fault adds, shaped like the provider's own ids."""
    return SPECS[provider].fault_job_id(FAULT_ACCOUNT, tag)


def nested(depth: int) -> bytes:
    """`[[[…]]]`, `depth` arrays deep."""
    return b"[" * depth + b"]" * depth


def filler(size: int) -> Iterator[bytes]:
    """`size` bytes (at least 2) of valid JSON — an empty array padded with spaces — in
    chunks of at most `CHUNK` bytes."""
    spaces = b" " * CHUNK
    yield b"["
    left = size - 2
    while left > 0:
        n = min(left, CHUNK)
        yield spaces[:n]
        left -= n
    yield b"]"


def _item_lists(body: Any, *, adding: bool) -> list[list[Any]] | None:
    """The scheduler item lists of a body: the body itself (`/scheduler/`), its `executing`
    list (`/scheduler/available`) or each list of its `executing` map (Dreamina; an empty map
    gets one for `FAULT_ACCOUNT` when items are `adding`). None for a body without any."""
    if isinstance(body, list):
        return [body]
    if isinstance(body, dict):
        executing = body.get("executing")
        if isinstance(executing, list):
            return [executing]
        if isinstance(executing, dict):
            if not executing and adding:
                executing[FAULT_ACCOUNT] = []
            return [v for v in executing.values() if isinstance(v, list)]
    return None


def _first_capacity(body: Any) -> dict[str, Any] | None:
    """The first capacity entry (`available[0]`) or account (a value of an accounts map)
    that has a `maxJobs`."""
    if not isinstance(body, dict):
        return None
    entries = body.get("available")
    values = entries if isinstance(entries, list) else list(body.values())
    return next((v for v in values if isinstance(v, dict) and "maxJobs" in v), None)


def distort(kind: str, provider: str | None, body: Any, *, started: str) -> Any:
    """A copy of the JSON value `body` with the fault `kind` worked in (see the module doc).
    `started` is the ISO time the added items say they started."""
    spec = SPECS.get(provider) if provider is not None else None
    if spec is None:
        return body
    body = copy.deepcopy(body)  # a pin's body is kept and served again
    adding = kind in ("surrogate", "huge_numbers")
    lists = spec.item_lists(body, adding=adding)
    if lists is None:
        lists = _item_lists(body, adding=adding)
    added = 0
    if kind == "surrogate" and lists is not None:
        lists[0].append(spec.fault_item(SURROGATE_ID, spec.short_elapsed, started))
        added = 1
    elif kind == "huge_numbers":
        if lists is not None:
            for tag, elapsed in (("9000000000001", HUGE_INT), ("9000000000002", HUGE_FLOAT)):
                job_id = spec.fault_job_id(FAULT_ACCOUNT, tag)
                lists[0].append(spec.fault_item(job_id, elapsed, started))
            added = 2
        entry = _first_capacity(body)
        if entry is not None:
            entry["maxJobs"] = HUGE_INT
    elif kind == "duplicates" and lists is not None:
        for items in lists:
            if items:
                items[1:1] = [copy.deepcopy(items[0]), copy.deepcopy(items[0])]
                added += 2
    if added and isinstance(body, dict) and isinstance(body.get("total"), int):
        body["total"] += added
    return body
