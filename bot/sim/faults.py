"""Run-time fault switches: make chosen endpoints slow, fail, hang or talk nonsense.

A fault has a `pattern` (a regex searched in the request path, raw and percent-decoded, or
exactly a provider name such as `"pixverse"`), a `kind`, and optionally a `count` (apply to the
next N matching requests, then switch off) and a `probability` (rolled on a seeded RNG, so a
run is repeatable). Latency faults add up and then let the request go on; of the other kinds
the first matching fault that fires decides the answer.

Kinds: `latency`, `status`, `timeout` (hang), `garbage` and `html` answer in place of the
endpoint; `dribble` sends the endpoint's usual answer one byte every `seconds`; `oversized`
(`size` bytes, streamed) and `deep` (`size` arrays deep) replace it with a hostile body;
`surrogate`, `huge_numbers` and `duplicates` work a hostile item into it (`bot.sim.hostile`).
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from bot.sim.providers import SPECS

FaultKind = Literal[
    "latency",
    "status",
    "timeout",
    "garbage",
    "html",
    "dribble",
    "oversized",
    "deep",
    "surrogate",
    "huge_numbers",
    "duplicates",
]
FAULT_KINDS: tuple[str, ...] = get_args(FaultKind)

#: Default `seconds` per kind (latency to add, how long a timeout hangs, or the pause before
#: each byte of a dribble).
DEFAULT_SECONDS: dict[str, float] = {"latency": 1.0, "timeout": 30.0, "dribble": 2.0}
#: Default HTTP status per kind (a `dribble` keeps the endpoint's own, and so do the kinds
#: that work an item into its answer).
DEFAULT_STATUS: dict[str, int] = {
    "status": 500,
    "html": 502,
    "garbage": 200,
    "latency": 200,
    "timeout": 504,
    "dribble": 200,
    "oversized": 200,
    "deep": 200,
    "surrogate": 200,
    "huge_numbers": 200,
    "duplicates": 200,
}
#: Default `size` of the kinds that have one: bytes of an `oversized` body (50 MiB), arrays
#: nested in a `deep` one.
DEFAULT_SIZE: dict[str, int] = {"oversized": 50 * 1024 * 1024, "deep": 1500}
#: The least `size` each takes (`[]` is 2 bytes).
MIN_SIZE: dict[str, int] = {"oversized": 2, "deep": 1}

GARBAGE_BODY = b'{"executing": [tru'


@dataclass(slots=True, eq=False)
class Fault:
    """One active fault switch. `count` is what is left of it (None = until cleared)."""

    id: int
    pattern: str
    kind: FaultKind
    count: int | None
    probability: float
    seconds: float
    status: int
    body: Any = None
    size: int = 0
    hits: int = 0
    _regex: re.Pattern[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._regex = re.compile(self.pattern)

    def matches(self, raw_path: str, path: str, provider: str | None) -> bool:
        if self.pattern in SPECS:  # a provider's name: matched against the path's provider
            return provider == self.pattern
        return bool(self._regex.search(raw_path) or self._regex.search(path))

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "pattern": self.pattern,
            "kind": self.kind,
            "count": self.count,
            "probability": self.probability,
            "seconds": self.seconds,
            "status": self.status,
            "hits": self.hits,
        }
        if self.body is not None:
            out["body"] = self.body
        if self.kind in DEFAULT_SIZE:
            out["size"] = self.size
        return out


class Faults:
    """The set of active faults of one simulator (`sim.faults`)."""

    def __init__(self, seed: int | str = 0) -> None:
        self._rng = random.Random(f"{seed}:faults")
        self._faults: list[Fault] = []
        self._next_id = 1

    def set(
        self,
        pattern: str,
        kind: str,
        *,
        count: int | None = None,
        probability: float = 1.0,
        seconds: float | None = None,
        status: int | None = None,
        body: Any = None,
        size: int | None = None,
    ) -> Fault:
        """Switch a fault on; returns it. Raises ValueError on a bad kind, regex or number.

        `seconds`: latency added (`latency`, default 1), hang time (`timeout`, default 30;
        after it the request gets a 504) or the pause before each byte (`dribble`, default 2).
        `status`: the HTTP status of a `status` fault (default 500), an `html` page (default
        502), an `oversized` or `deep` body (default 200). `body`: replaces the JSON error body
        of a `status` fault, or the bytes/text of a `garbage` one. `size`: bytes of an
        `oversized` body (default 50 MiB, at least 2), depth of a `deep` one (default 1500).
        """
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {FAULT_KINDS}")
        if count is not None and count < 1:
            raise ValueError("count must be at least 1 (or None for 'until cleared')")
        if not 0.0 <= probability <= 1.0:
            raise ValueError("probability must be within 0..1")
        if seconds is not None and seconds < 0:
            raise ValueError("seconds must not be negative")
        if status is not None and not 100 <= status <= 999:
            raise ValueError("status must be an HTTP status code")
        if size is not None and kind not in MIN_SIZE:
            raise ValueError(f"size is only for {' and '.join(MIN_SIZE)} faults")
        if size is not None and size < MIN_SIZE[kind]:
            raise ValueError(f"size of a {kind} fault must be at least {MIN_SIZE[kind]}")
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ValueError(f"bad pattern {pattern!r}: {exc}") from None
        fault = Fault(
            id=self._next_id,
            pattern=pattern,
            kind=kind,  # type: ignore[arg-type]
            count=count,
            probability=float(probability),
            seconds=float(seconds if seconds is not None else DEFAULT_SECONDS.get(kind, 0.0)),
            status=int(status if status is not None else DEFAULT_STATUS[kind]),
            body=body,
            size=int(size if size is not None else DEFAULT_SIZE.get(kind, 0)),
        )
        self._next_id += 1
        self._faults.append(fault)
        return fault

    def clear(self, pattern: str | None = None) -> int:
        """Switch off all faults, or those set with exactly `pattern`. Returns how many."""
        before = len(self._faults)
        if pattern is None:
            self._faults.clear()
        else:
            self._faults = [f for f in self._faults if f.pattern != pattern]
        return before - len(self._faults)

    def remove(self, fault_id: int) -> bool:
        """Switch off one fault by id."""
        before = len(self._faults)
        self._faults = [f for f in self._faults if f.id != fault_id]
        return len(self._faults) != before

    def active(self) -> list[Fault]:
        """The faults still switched on, oldest first."""
        return list(self._faults)

    def __len__(self) -> int:
        return len(self._faults)

    def pick(self, raw_path: str, path: str, provider: str | None) -> tuple[float, Fault | None]:
        """For one request: total latency to add, and the fault that answers it (if any)."""
        if not self._faults:
            return 0.0, None
        delay = 0.0
        chosen: Fault | None = None
        for fault in list(self._faults):
            if not fault.matches(raw_path, path, provider):
                continue
            if fault.kind != "latency" and chosen is not None:
                continue
            if fault.probability < 1.0 and self._rng.random() >= fault.probability:
                continue
            fault.hits += 1
            if fault.count is not None:
                fault.count -= 1
                if fault.count <= 0:
                    self._faults.remove(fault)
            if fault.kind == "latency":
                delay += fault.seconds
            else:
                chosen = fault
        return delay, chosen
