"""Mutated seed payloads into every adapter parser: the only outcomes are models or the typed
PayloadError naming provider and field — never another exception, never a silent crash."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.errors import PayloadError
from bot.models import Account, AccountHealth, Job, JobResult
from bot.providers import dreamina, kling, minimax, mureka, pixverse, runway

SEEDS = Path(__file__).parent / "data" / "seeds"
NOW = datetime(2024, 9, 25, 2, 0, tzinfo=UTC)


def load(name: str) -> Any:
    return json.loads((SEEDS / name).read_text())


# (seed file, parser taking the body) — every documented example and the parser that reads it.
TARGETS: list[tuple[str, Callable[[Any], object]]] = [
    ("pixverse-v2-scheduler.json", lambda b: pixverse.parse_queue(b, NOW)),
    ("pixverse-v2-scheduler-available.json", lambda b: pixverse.parse_queue(b, NOW)),
    ("pixverse-v2-scheduler-available.json", lambda b: pixverse.parse_capacity(b)),
    ("minimax-v1-scheduler.json", lambda b: minimax.parse_queue(b, NOW)),
    ("dreamina-v1-scheduler.json", lambda b: dreamina.parse_queue(b, NOW)),
    ("dreamina-v1-scheduler-empty.json", lambda b: dreamina.parse_queue(b, NOW)),
    ("pixverse-v1-jobs.json", lambda b: pixverse.parse_legacy_job(b, "j1-pixverse")),
    ("mureka-v1-jobs.json", lambda b: mureka.parse_queue(b, NOW)),
    ("mureka-v1-jobs.json", lambda b: mureka.parse_capacity(b)),
    ("mureka-v1-job.json", lambda b: mureka.parse_job(b, "j1m-u1-a1-bot:mureka")),
    ("kling-v1-scheduler.json", lambda b: kling.parse_queue(b, NOW)),
    ("kling-v1-scheduler-available.json", lambda b: kling.parse_queue(b, NOW)),
    ("kling-v1-scheduler-available.json", lambda b: kling.parse_capacity(b)),
    ("kling-v1-tasks-task_id.json", lambda b: kling.parse_task(b, "123456789")),
    ("kling-v1-accounts.json", kling.parse_accounts),
    ("runway-v1-scheduler.json", lambda b: runway.parse_queue(b, NOW)),
    ("runway-v1-accounts.json", lambda b: runway.parse_accounts(b, ())),
    ("runway-v1-accounts.json", lambda b: runway.parse_health(b)),
    ("runway-v1-task.json", lambda b: runway.parse_task(b, "user:1-runwayml:a@x-task:1")),
]

json_leaf = (
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63)
    | st.floats()
    | st.text(max_size=20)
    | st.sampled_from(
        ["", "03:57", "1:02:03", "1m 23s", "NaN", "2024-13-45T99:99:99Z", "-5", "1e400"]
    )
)
json_any = st.recursive(
    json_leaf,
    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=8), c, max_size=3),
    max_leaves=10,
)


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path into a JSON value (including the root)."""
    out = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            out += paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += paths(v, (*prefix, i))
    return out


def mutate(body: Any, path: tuple[Any, ...], op: str, new: Any) -> Any:
    body = copy.deepcopy(body)
    if not path:
        return new if op != "delete" else None
    parent = body
    for step in path[:-1]:
        parent = parent[step]
    key = path[-1]
    if op == "delete":
        del parent[key]
    elif op == "replace":
        parent[key] = new
    elif op == "wrap":
        parent[key] = [parent[key]]
    elif op == "stringify":
        parent[key] = json.dumps(parent[key])
    return body


@st.composite
def mutated(draw: st.DrawFn) -> tuple[int, Any]:
    index = draw(st.integers(0, len(TARGETS) - 1))
    body = load(TARGETS[index][0])
    for _ in range(draw(st.integers(1, 3))):
        where = draw(st.sampled_from(paths(body)))
        op = draw(st.sampled_from(["delete", "replace", "wrap", "stringify"]))
        body = mutate(body, where, op, draw(json_any))
    return index, body


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_seed_payloads_parse_or_raise_payload_error(case: tuple[int, Any]) -> None:
    index, body = case
    parse = TARGETS[index][1]
    try:
        result = parse(body)
    except PayloadError as exc:
        assert exc.provider in {"pixverse", "minimax", "dreamina", "kling", "runway", "mureka"}
        assert exc.field
        return
    if isinstance(result, tuple):
        assert all(isinstance(x, Job | Account | AccountHealth) for x in result)
        for x in result:
            if isinstance(x, Job):
                assert x.id and isinstance(x.id, str)
                assert x.started is None or x.started.tzinfo is not None
                assert x.elapsed_seconds is None or x.elapsed_seconds >= 0
    else:
        assert isinstance(result, JobResult)


def test_unmutated_seeds_parse() -> None:
    for name, parse in TARGETS:
        parse(load(name))
