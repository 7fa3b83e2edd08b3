"""Hostile upstream bodies (issue 9): whatever bytes useapi sends, the watcher of each provider
ticks on. A tick holds the adapter's valid Snapshot or reports its typed `UpstreamError`;
nothing else escapes; the next good tick commits and reports every job that left, once; and
whatever the watcher holds or queued renders in every embed.

Bodies are generated as JSON *text* from every documented item shape (the seeds in
tests/data/seeds, and the shapes useapi.net documents for each endpoint), so they can hold
what no Python value writes: lone surrogates (as `\\ud800` escapes, or raw as CESU-style
UTF-8 bytes), NULs, `NaN`/`Infinity` tokens, `1e400`, 10^400 integers, 5,000-digit numbers,
nesting past the recursion limit,
repeated keys and repeated ids, and any JSON type in any field. They reach a real
`ProviderWatcher` (its real adapter, the real client over an `httpx.MockTransport`, so
`bot.fastjson.loads` as in production, and a real `Store` on SQLite), not a copy of its steps.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import discord
import httpx
import pytest
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr
from sqlalchemy import delete

from bot import alerts, providers
from bot.delivery import group_rows
from bot.embeds import (
    alert_batch,
    alert_embed,
    board_embed,
    capacity_pages,
    check_limits,
    error_embed,
    job_embed,
    queue_pages,
    status_embed,
)
from bot.errors import UpstreamError
from bot.events import EventKind
from bot.health import ProviderStatus
from bot.models import (
    EARLIEST,
    LATEST,
    MAX_COUNT,
    MAX_ELAPSED_SECONDS,
    Job,
    JobResult,
    Outcome,
    Snapshot,
)
from bot.providers import dreamina, kling, minimax, mureka, pixverse, runway
from bot.providers.base import Provider
from bot.store import Store, metadata
from bot.useapi import UseapiClient
from bot.watch import ProviderWatcher, TickReport, WatchConfig
from rig.store import by_id

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
STUCK = timedelta(minutes=20)
TITLES = {
    "pixverse": "PixVerse",
    "minimax": "MiniMax",
    "dreamina": "Dreamina",
    "kling": "Kling",
    "mureka": "Mureka",
    "runway": "Runway",
}
NAMES = ("pixverse", "minimax", "dreamina", "kling", "mureka", "runway")
#: Examples per provider: modest (each is three watcher ticks), so the module runs in a few
#: seconds on CI's 2 cores, and derandomized, so CI sees the same bodies each run.
#: OPSBOT_HOSTILE_EXAMPLES=N hunts longer, with random bodies (hypothesis prints the seed of a
#: failure).
HUNT = os.environ.get("OPSBOT_HOSTILE_EXAMPLES")
EXAMPLES = int(HUNT or 40)
#: A failing example is shrunk only when hunting: with three ticks an example, shrinking takes
#: minutes, past the test's timeout, while a derandomized run gives the same example again.
PHASES = tuple(Phase) if HUNT else (Phase.explicit, Phase.reuse, Phase.generate)

SURROGATE = re.compile("[\ud800-\udfff]")
BIDI = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


# ================================================================================ JSON as text


@dataclass(frozen=True)
class Raw:
    """JSON text put in as it is: a token or a structure that no Python value writes."""

    text: str


@dataclass(frozen=True)
class Obj:
    """A JSON object whose keys may repeat (valid JSON; decoders keep the last)."""

    pairs: tuple[tuple[str, Any], ...]


def emit(value: Any, ascii_: bool) -> str:
    """JSON text of `value`. With `ascii_` a lone surrogate is written as a `\\ud800` escape;
    without, raw (the body's bytes then hold it CESU-style, which `json` reads)."""
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, Obj):
        return "{" + ",".join(f"{emit(k, ascii_)}:{emit(v, ascii_)}" for k, v in value.pairs) + "}"
    if isinstance(value, dict):
        return emit(Obj(tuple(value.items())), ascii_)
    if isinstance(value, list):
        return "[" + ",".join(emit(v, ascii_) for v in value) + "]"
    return json.dumps(value, ensure_ascii=ascii_)  # NaN and ±Infinity as their tokens


def deep(n: int) -> Raw:
    return Raw("[" * n + "]" * n)


# ================================================================================= strategies

#: What no decoder reads, wherever it stands: nesting at orjson's limit (1,024) and past both
#: decoders' (json's ~1,000), a number of more digits than Python converts (4,300).
KILLERS = [
    deep(1_025),
    deep(1_500),
    deep(20_000),
    Raw('{"a":' * 1_500 + "0" + "}" * 1_500),
    Raw("9" * 5_000),
]
NUMBER_TOKENS = [
    Raw(t)
    for t in (
        "1e400",
        "-1e400",
        "NaN",
        "Infinity",
        "-Infinity",
        "1e308",
        "1" + "0" * 400,
        "-1" + "0" * 400,
        "-0",
        "0.1e-400",
        "123456789012345678901234567890",
    )
]
NUMBERS = [
    10**400,
    -(10**400),
    2**63,
    2**64,
    -1,
    0,
    1,
    MAX_COUNT,
    MAX_COUNT + 1,
    MAX_ELAPSED_SECONDS,
    MAX_ELAPSED_SECONDS + 1,
    1e308,
    -1e308,
    0.5,
    float("nan"),
    float("inf"),
    float("-inf"),
]
TEXTS = [
    "\ud800",
    "\udfff",
    "a\udc00b",
    "\ud83d\ude00",
    "\ud83d",
    "\u202eabc\u202c",
    "\u2066x\u2069",
    "\u200f",
    "",
    " ",
    "\x00",
    "a\u0000b",
    "@everyone",
    "<@&1>",
    "**x** `y`",
    "x" * 3_000,
    "NaN",
    "1e400",
    "-5",
    "03:57",
    "1:02:03",
    "99999999999:00",
    "1e308 s",
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59.999Z",
    "2024-09-25T01:55:16.128Z",
    "2024-09-25T01:55:67.890Z",
    "1727229316",
    "https://x.io/\u202ev.mp4",
    "javascript:x",
]

scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True)
    | st.text(max_size=8)
    | st.sampled_from(NUMBERS)
    | st.sampled_from(TEXTS)
    | st.sampled_from(NUMBER_TOKENS)
    | st.just(deep(40))
)
#: Any JSON value at all, hostile ones included, but for the killers.
hostile = st.recursive(
    scalars,
    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=5), c, max_size=3),
    max_leaves=6,
)


def weighted(
    usual: st.SearchStrategy[Any], rare: st.SearchStrategy[Any], weight: int
) -> st.SearchStrategy[Any]:
    """`usual` `weight` times as often as `rare`. (`one_of` cannot weigh: it picks among
    distinct branches, so listing one twice does not make it likelier.)"""
    return st.sampled_from([True] * weight + [False]).flatmap(lambda pick: usual if pick else rare)


#: ... and the killers too, now and then (in a field no adapter reads, say).
anything = weighted(hostile, st.sampled_from(KILLERS), 15)


def mostly(valid: st.SearchStrategy[Any], weight: int = 3) -> st.SearchStrategy[Any]:
    """`valid` most of the time, else any hostile value (any JSON type)."""
    return weighted(valid, hostile, weight)


def shaped(strategy: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[Any]:
    """An object, sometimes with one of its keys repeated (holding any value)."""

    def repeat(d: dict[str, Any]) -> st.SearchStrategy[Any]:
        if not d:
            return st.just(d)
        pair = st.tuples(st.sampled_from(sorted(d)), hostile)
        return weighted(
            st.just(d),
            pair.map(lambda kv: Obj((*d.items(), kv)))  # wins
            | pair.map(lambda kv: Obj((kv, *d.items()))),
            6,
        )  # overridden

    return strategy.flatmap(repeat)


# Small pools, so ids and accounts repeat; some hold a lone surrogate, a NUL or a bidi control.
IDS: dict[str, list[Any]] = {
    "pixverse": [
        "user:1-pixverse:a@x.io-video:1",
        "user:1-pixverse:a@x.io-image:2",
        "user:1-pixverse:b@y.io-music:3",
        "legacy-7",
        "user:1-pixverse:a\ud800@x.io-video:4",
        "user:1-pixverse:a@x.io-video:\u202e5",
        "user:1-pixverse:a@x.io-video:\x006",
        12345,
    ],
    "minimax": [
        "user:1-minimax:123456-video:1",
        "user:1-minimax:123456-image:2",
        "user:1-minimax:654321-video:3",
        "user:1-minimax:1\udfff-video:4",
        "\u2066x",
        "user:1-minimax:123456-video:\x005",
        42,
    ],
    "dreamina": [
        "j0223140530123456789v-u12345-US:a@x.io:dreamina",
        "j1v-u1-CA:b@y.io:dreamina",
        "j2\ud800",
        "plain",
        "\u202ej3",
        "j4\x00",
    ],
    "mureka": [
        "j1128115936123456789m-u777-a1234567890-bot:mureka",
        "j1m-u1-a42-bot:mureka",
        "j2\ud800",
        "plain",
        "\u202ej3",
        "j4\x00",
        7,
    ],
    "runway": [
        "user:1-runwayml:a@x.io-task:0b5cb6c8-1c4d-4f36-9b6e-3f6a0d9b1e2a",
        "user:U-runwayml:b@y.io-task:1",
        "user:1-runwayml:a\ud800@x.io-task:2",
        "user:1-runwayml:a@x.io-task:\u202e3",
        "user:1-runwayml:a@x.io-task:\x004",
        "task_uuid",
        7,
    ],
    # numbers (exact past 2^53 and 2^64), digits as text, floats (a PayloadError), odd text
    "kling": [
        123456789,
        987654321,
        2**53 + 1,
        2**64 + 1,
        "123456789",
        "18446744073709551617",
        1.5e20,
        12.0,
        "k\ud800",
        "\u202e7",
        "8\x00",
    ],
}
ACCOUNTS = [
    "a@x.io",
    "b@y.io",
    "123456",
    "654321",
    "US:a@x.io",
    "CA:b@y.io",
    "\u202eevil",
    "\udfffodd",
    "nul\x00@x.io",
]
TIMES = st.sampled_from(
    [
        "2026-11-28T11:55:16.128Z",
        "2026-11-28T11:58:67.890Z",
        "1764331170",
        1764331170,
        1764331170128,
        "2000-01-01T00:00:00.000Z",
        "1999-12-31T23:59:59.999Z",
        "2099-12-31T23:59:59.999Z",
        "2100-01-01T00:00:00.000Z",
        0,
        None,
    ]
)
ELAPSED = st.sampled_from(
    [
        "03:57",
        "00:35",
        "1:02:03",
        "525600:00",
        "525600:01",
        "1m 23s",
        45,
        31_536_000,
        31_536_001,
        0,
        None,
    ]
)
COUNT = st.integers(0, 12) | st.sampled_from([MAX_COUNT, MAX_COUNT + 1, -1])
URL = st.sampled_from(["https://media.x.io/v.mp4", "https://x.io/a b/\u202e.mp4", "ftp://x", None])
WORD = st.sampled_from(
    [
        "completed",
        "failed",
        "created",
        "COMPLETED",
        "MODERATION_FAILED",
        "GENERATING",
        "CANCELLED",
        "moderated",
        "queued",
        None,
    ]
)


def job_id(name: str) -> st.SearchStrategy[Any]:
    return mostly(st.sampled_from(IDS[name]), 10)


def flat_item(name: str, id_keys: tuple[str, ...]) -> st.SearchStrategy[Any]:
    """One item of a flat scheduler list (PixVerse, MiniMax): one of its id keys, then any
    of the others and of the documented fields."""

    def item(key: str) -> st.SearchStrategy[Any]:
        return shaped(
            st.fixed_dictionaries(
                {key: job_id(name)},
                optional={
                    **{k: job_id(name) for k in id_keys if k != key},
                    "type": mostly(st.sampled_from(["video", "image", "music", "Video", "x"]), 8),
                    "started": mostly(TIMES, 2),
                    "elapsed": mostly(ELAPSED, 2),
                    # text or null, else a PayloadError: hostile less often, so items get through
                    "email": mostly(st.sampled_from(ACCOUNTS), 8),
                    "account": mostly(st.sampled_from(ACCOUNTS), 8),
                    "model": mostly(st.sampled_from(["v4.5", ""]), 8),
                    "replyUrl": hostile,
                    "replyRef": anything,
                },
            )
        )

    return st.sampled_from(id_keys).flatmap(item)


def available_row(name_key: str) -> st.SearchStrategy[Any]:
    return shaped(
        st.fixed_dictionaries(
            {name_key: mostly(st.sampled_from(ACCOUNTS), 6)},
            optional={
                "maxJobs": mostly(COUNT, 5),
                "executing": mostly(COUNT, 5),
                "available": mostly(COUNT, 5),
            },
        )
    )


def accounts_map() -> st.SearchStrategy[Any]:
    entry = shaped(
        st.fixed_dictionaries(
            {},
            optional={
                "maxJobs": mostly(COUNT, 6),
                "account": hostile,
                "error": hostile,
                "jwt": anything,
            },
        )
    )
    return shaped(st.dictionaries(st.sampled_from(ACCOUNTS), mostly(entry, 6), max_size=4))


def top(body: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """A documented body most of the time; now and then anything at all instead."""
    return weighted(
        body, hostile | st.sampled_from([*KILLERS, Raw(""), Raw("<html>"), Raw("[1,]")]), 12
    )


def job_body(
    status: dict[str, st.SearchStrategy[Any]], rest: dict[str, st.SearchStrategy[Any]]
) -> st.SearchStrategy[Any]:
    """A job endpoint's body: its status field there three times in four (so that many
    examples come to an outcome), any of the others."""
    return top(
        shaped(
            weighted(
                st.fixed_dictionaries(status, optional=rest),
                st.fixed_dictionaries({}, optional={**status, **rest}),
                3,
            )
        )
    )


def pixverse_bodies() -> st.SearchStrategy[dict[str, Any]]:
    items = st.lists(flat_item("pixverse", ("id", "videoId", "imageId")), max_size=5)
    return st.fixed_dictionaries(
        {
            pixverse.QUEUE_PATH: top(items),
            pixverse.CAPACITY_PATH: top(
                shaped(
                    st.fixed_dictionaries(
                        {
                            "executing": hostile,  # (snapshot() reads the queue's own list)
                            "available": mostly(st.lists(available_row("email"), max_size=4), 6),
                        }
                    )
                )
            ),
            "video": job_body(
                {"video_status": mostly(st.sampled_from([1, 5, 7, 8, 10, 3]))},
                {
                    "video_status_name": mostly(WORD),
                    "video_status_final": mostly(st.booleans()),
                    "url": mostly(URL),
                    "prompt": mostly(st.sampled_from(TEXTS)),
                    "model": mostly(st.sampled_from(["v3", None])),
                    "created_at": mostly(TIMES, 2),
                    "error": mostly(st.sampled_from(TEXTS)),
                    "errCode": mostly(st.sampled_from([0, 500])),
                },
            ),
            "legacy": job_body(
                {"status": mostly(WORD)},
                {
                    "created": mostly(TIMES, 2),
                    "updated": mostly(TIMES, 2),
                    "prompt": mostly(st.sampled_from(TEXTS)),
                    "verb": mostly(st.just("pixverse-create")),
                    "attachments": mostly(
                        st.lists(shaped(st.fixed_dictionaries({"url": mostly(URL)})), max_size=3)
                    ),
                    "error": mostly(st.sampled_from(TEXTS)),
                    "errorDetails": mostly(st.sampled_from(TEXTS)),
                },
            ),
        }
    )


def minimax_bodies() -> st.SearchStrategy[dict[str, Any]]:
    items = st.lists(flat_item("minimax", ("videoId", "imageId", "id")), max_size=5)
    return st.fixed_dictionaries(
        {
            minimax.QUEUE_PATH: top(items),
            minimax.CAPACITY_PATH: top(
                shaped(
                    st.fixed_dictionaries(
                        {
                            "executing": hostile,  # (snapshot() reads the queue's own list)
                            "available": mostly(st.lists(available_row("account"), max_size=4), 6),
                        }
                    )
                )
            ),
            minimax.ACCOUNTS_PATH: top(accounts_map()),
            "video": job_body(
                {"status": mostly(st.sampled_from([2, 0, 1, 3, 5, 7, 11, 12, 14]))},
                {
                    "statusLabel": mostly(WORD),
                    "statusFinal": mostly(st.booleans()),
                    "message": mostly(st.sampled_from(TEXTS)),
                    "videoURL": mostly(URL),
                    "downloadURL": mostly(URL),
                    "percent": mostly(st.sampled_from([0, 40, 100, 101])),
                },
            ),
        }
    )


def dreamina_bodies() -> st.SearchStrategy[dict[str, Any]]:
    def with_id(key: str) -> st.SearchStrategy[Any]:
        """An item with one of its id keys (and maybe the other), like `flat_item`'s."""
        other = "jobId" if key == "jobid" else "jobid"
        return shaped(
            st.fixed_dictionaries(
                {key: job_id("dreamina")},
                optional={
                    # text or null, else a PayloadError: hostile less often, so items get through
                    other: job_id("dreamina"),
                    "model": mostly(st.sampled_from(["seedance-2.0", ""]), 8),
                    "elapsedSeconds": mostly(ELAPSED, 2),
                    "elapsed": mostly(ELAPSED, 2),
                    "submitId": hostile,
                    "replyUrl": hostile,
                },
            )
        )  # (killers: in the accounts body)

    item = weighted(
        st.sampled_from(["jobid", "jobId"]).flatmap(with_id),
        shaped(st.fixed_dictionaries({}, optional={"submitId": hostile})),
        8,
    )
    # jobs under their accounts: most often some (else the snapshots that come out are empty)
    groups = shaped(
        weighted(
            st.dictionaries(
                st.sampled_from(ACCOUNTS),
                mostly(st.lists(item, min_size=1, max_size=4), 5),
                min_size=1,
                max_size=3,
            ),
            st.just({}),
            6,
        )
    )
    return st.fixed_dictionaries(
        {
            dreamina.QUEUE_PATH: top(
                shaped(
                    st.fixed_dictionaries(
                        {"executing": mostly(groups, 5)}, optional={"total": hostile}
                    )
                )
            ),
            dreamina.ACCOUNTS_PATH: top(accounts_map()),
            "video": job_body(
                {"status": mostly(WORD)},
                {
                    "error": mostly(st.sampled_from(TEXTS)),
                    "errorDetails": mostly(st.sampled_from(TEXTS)),
                    "request": mostly(
                        shaped(
                            st.fixed_dictionaries(
                                {}, optional={"prompt": mostly(st.sampled_from(TEXTS))}
                            )
                        )
                    ),
                    "response": mostly(
                        shaped(st.fixed_dictionaries({}, optional={"videoUrl": mostly(URL)}))
                    ),
                    "type": mostly(st.sampled_from(["video", "image"])),
                    "created": mostly(TIMES, 2),
                    "updated": mostly(TIMES, 2),
                    "model": mostly(st.just("seedance-2.0")),
                },
            ),
        }
    )


def mureka_bodies() -> st.SearchStrategy[dict[str, Any]]:
    item = shaped(
        st.fixed_dictionaries(
            {"jobid": job_id("mureka")},
            optional={
                "verb": mostly(st.sampled_from(["music/create", "tts/create"]), 8),
                "elapsed": mostly(ELAPSED | st.sampled_from(["45s", "x", ""]), 2),
                # text or null, else a PayloadError: hostile less often, so items get through
                "model": mostly(st.sampled_from(["auto", ""]), 8),
                "replyUrl": hostile,
            },
        )
    )
    group = shaped(
        st.fixed_dictionaries(
            {"jobs": mostly(st.lists(item, min_size=1, max_size=4), 5)},
            optional={"total": hostile, "music": hostile, "tts": hostile},
        )
    )
    groups = shaped(
        weighted(
            st.dictionaries(st.sampled_from(ACCOUNTS), mostly(group, 5), min_size=1, max_size=3),
            st.just({}),
            6,
        )
    )
    songs = st.lists(shaped(st.fixed_dictionaries({}, optional={"mp3_url": mostly(URL)})))
    return st.fixed_dictionaries(
        {
            mureka.QUEUE_PATH: top(
                shaped(
                    st.fixed_dictionaries(
                        {"accounts": mostly(groups, 5)},
                        optional={
                            "total": hostile,
                            "music": hostile,
                            "availableAccounts": mostly(
                                st.lists(mostly(st.sampled_from(ACCOUNTS), 6), max_size=3), 5
                            ),
                        },
                    )
                )
            ),
            "video": job_body(
                {"status": mostly(WORD)},
                {
                    "error": mostly(st.sampled_from(TEXTS)),
                    "errorDetails": mostly(st.sampled_from(TEXTS)),
                    "jobType": mostly(st.sampled_from(["music", "tts"])),
                    "verb": mostly(st.sampled_from(["music/create", "tts/create"])),
                    "request": mostly(
                        shaped(
                            st.fixed_dictionaries(
                                {}, optional={"prompt": mostly(st.sampled_from(TEXTS))}
                            )
                        )
                    ),
                    "response": mostly(
                        shaped(st.fixed_dictionaries({}, optional={"songs": mostly(songs)}))
                    ),
                    "created": mostly(TIMES, 2),
                    "updated": mostly(TIMES, 2),
                },
            ),
        }
    )


#: Mostly final, so that jobs that left while upstream was hostile resolve.
RUNWAY_STATUSES = (
    *("SUCCEEDED", "FAILED", "SUCCEEDED", "FAILED", "CANCELLED"),
    *("PENDING", "RUNNING", "THROTTLED", "x"),
)


def runway_bodies() -> st.SearchStrategy[dict[str, Any]]:
    ratio = st.sampled_from(["0.42", "1", "0", "garbage", 0.5, 10**400, "1e400", "-1", None])
    artifact = shaped(st.fixed_dictionaries({}, optional={"url": mostly(URL), "id": hostile}))
    return st.fixed_dictionaries(
        {
            runway.QUEUE_PATH: top(st.lists(flat_item("runway", ("taskId",)), max_size=5)),
            runway.ACCOUNTS_PATH: top(accounts_map()),
            "task": job_body(
                {"status": mostly(st.sampled_from(RUNWAY_STATUSES))},
                {
                    "error": mostly(st.sampled_from(TEXTS)),
                    "progressRatio": mostly(ratio),
                    "artifacts": mostly(st.lists(artifact, max_size=3)),
                    "createdAt": mostly(TIMES, 2),
                    "updatedAt": mostly(TIMES, 2),
                },
            ),
        }
    )


def kling_bodies() -> st.SearchStrategy[dict[str, Any]]:
    items = st.lists(flat_item("kling", ("id",)), max_size=5)
    work = shaped(
        st.fixed_dictionaries(
            {},
            optional={
                "resource": mostly(
                    shaped(st.fixed_dictionaries({}, optional={"resource": mostly(URL)}))
                ),
                "contentType": mostly(st.sampled_from(["video", "image", "audio"])),
            },
        )
    )
    task = shaped(
        st.fixed_dictionaries(
            {},
            optional={
                "createTime": mostly(TIMES, 2),
                "updateTime": mostly(TIMES, 2),
                "status_name": mostly(KLING_WORD),
                "taskInfo": anything,
            },
        )
    )
    return st.fixed_dictionaries(
        {
            # queue and capacity in one body; the scheduler only when it is missing (404)
            kling.CAPACITY_PATH: top(
                shaped(
                    st.fixed_dictionaries(
                        {
                            "executing": mostly(items, 6),
                            "available": mostly(st.lists(available_row("email"), max_size=4), 6),
                        }
                    )
                )
            ),
            kling.QUEUE_PATH: top(items),
            "video": job_body(
                {"status_name": mostly(KLING_WORD)},
                {
                    "status": mostly(st.sampled_from([99, 5, 10, 50, "99"])),
                    "status_final": mostly(st.booleans()),
                    "message": mostly(st.sampled_from(TEXTS)),
                    "works": mostly(st.lists(work, max_size=3)),
                    "task": mostly(task),
                },
            ),
        }
    )


KLING_WORD = WORD | st.sampled_from(["succeed", "censor_failed", "processing", "submitted"])
BODIES: dict[str, Callable[[], st.SearchStrategy[dict[str, Any]]]] = {
    "pixverse": pixverse_bodies,
    "minimax": minimax_bodies,
    "dreamina": dreamina_bodies,
    "mureka": mureka_bodies,
    "runway": runway_bodies,
    "kling": kling_bodies,
}
#: The capacity path that may answer 404, so that the adapter falls back (MiniMax, Kling).
MAY_BE_MISSING = {"minimax": minimax.CAPACITY_PATH, "kling": kling.CAPACITY_PATH}
#: How a job endpoint may answer besides 200 (each adapter reads some of these as outcomes).
STATUSES = st.sampled_from([200] * 6 + [404, 410, 401, 429, 500])


ERROR_BODY = st.fixed_dictionaries(
    {
        "error": weighted(
            st.sampled_from(TEXTS) | st.text(max_size=20),
            st.none() | st.integers() | st.lists(st.text(max_size=3), max_size=2),
            3,
        )
    }
)


@dataclass
class Case:
    """One generated upstream: a body per endpoint (JSON text, bytes on the wire)."""

    bodies: dict[str, bytes]
    job_status: int
    job_error: bytes  # raw or escaped like the rest (where the client heals error bodies)
    probe: str  # a job id the test asks about, whatever the queue held
    missing: frozenset[str] = frozenset()  # paths that answer 404 (MiniMax's fallback)


@st.composite
def cases(draw: st.DrawFn, name: str) -> Case:
    ascii_ = draw(st.booleans())
    raw = draw(BODIES[name]())
    status = draw(STATUSES)
    return Case(
        bodies={k: emit(v, ascii_).encode("utf-8", "surrogatepass") for k, v in raw.items()},
        job_status=status,
        job_error=emit(draw(ERROR_BODY), ascii_).encode("utf-8", "surrogatepass"),
        probe=draw(PROBES[name]),
        missing=frozenset({MAY_BE_MISSING[name]})
        if name in MAY_BE_MISSING and draw(st.sampled_from([False, False, True]))
        else frozenset(),
    )


#: Ids the bot may hold: what a snapshot gives (lone surrogates and NUL already U+FFFD), odd
#: ones too.
PROBES = {
    name: st.sampled_from(
        [i for i in ids if isinstance(i, str) and not SURROGATE.search(i) and "\x00" not in i]
        + ["x\ufffdy", "a/b?c#d%e f", "\u202e"]
    )
    for name, ids in IDS.items()
}


def serve(name: str, case: Case) -> Callable[[httpx.Request], httpx.Response]:
    """Serve `case`: the scheduler/capacity paths as generated, every job path the generated
    job body (or the generated error status, with an error body that may echo anything)."""
    job_prefixes = {
        "pixverse": {"/v2/pixverse/videos/": "video", "/v1/pixverse/jobs/": "legacy"},
        "minimax": {"/v1/minimax/videos/": "video"},
        "dreamina": {"/v1/dreamina/videos/": "video"},
        "mureka": {"/v1/mureka/jobs/": "video"},  # (the job body's key, whatever the kind)
        "kling": {"/v1/kling/tasks/": "video"},
        "runway": {"/v1/runwayml/tasks/": "task"},
    }[name]

    def handler(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path in case.bodies and path not in case.missing:
            return httpx.Response(200, content=case.bodies[path])
        for prefix, key in job_prefixes.items():
            if path.startswith(prefix):
                if case.job_status != 200:
                    return httpx.Response(case.job_status, content=case.job_error)
                return httpx.Response(200, content=case.bodies[key])
        return httpx.Response(404, json={"error": "no route"})

    return handler


# ================================================================================ the checks


def clean(text: str | None) -> None:
    """Text every database, HTTP library and Discord takes: no lone surrogate (nothing can
    encode it) and no NUL (PostgreSQL refuses it in text; C strings end there)."""
    assert text is None or (
        isinstance(text, str) and not SURROGATE.search(text) and "\x00" not in text
    ), ascii(text)


def check_snapshot(s: Snapshot, name: str) -> None:
    assert s.provider == name
    ids = [j.id for j in s.jobs]
    assert len(set(ids)) == len(ids), "a repeated id is one job"
    for j in s.jobs:
        assert isinstance(j.id, str) and j.id.strip()
        for text in (j.id, j.account, j.model):
            clean(text)
        assert j.kind in (None, "video", "image", "music")
        assert j.elapsed_seconds is None or (
            type(j.elapsed_seconds) is int and 0 <= j.elapsed_seconds <= MAX_ELAPSED_SECONDS
        )
        assert j.started is None or (
            j.started.utcoffset() == timedelta(0) and EARLIEST <= j.started < LATEST
        )
    for a in s.accounts:
        clean(a.account)
        for n in (a.max_jobs, a.executing, a.available):
            assert n is None or (type(n) is int and 0 <= n <= MAX_COUNT)
        assert a.executing is not None


def check_result(r: JobResult, name: str, job_id: str) -> None:
    assert (r.provider, r.id) == (name, job_id)
    assert isinstance(r.outcome, Outcome)
    for text in (
        r.account,
        r.prompt,
        r.model,
        r.error,
        r.raw_status,
        *r.urls,
        *r.extra,
        *r.extra.values(),
    ):
        clean(text)
    for t in (r.created, r.updated):
        assert t is None or EARLIEST <= t < LATEST


def check_embeds(embeds: list[discord.Embed], *, one_message: bool = False) -> None:
    """Within every Discord limit; no lone surrogate (the JSON discord.py sends must encode)
    and no bidi control (shown as markers) anywhere."""
    assert embeds
    if one_message:
        check_limits(embeds)
    for e in embeds:
        check_limits(e)
        for text in strings(e.to_dict()):
            clean(text)
            assert not BIDI.search(text), ascii(text)


def strings(value: Any) -> list[str]:
    """Every string in a JSON-like value, keys too."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (*strings(k), *strings(v))]
    if isinstance(value, list | tuple):
        return [s for v in value for s in strings(v)]
    return []


# ============================================================================ the property


class Scripted:
    """The upstream of one example: a good answer (`good.bodies`; every job asked about has
    completed), or, while `hostile` is set, the generated one."""

    def __init__(self, name: str, case: Case) -> None:
        self.good = Upstream()
        self.case = serve(name, case)
        self.hostile = False

    def __call__(self, request: httpx.Request) -> httpx.Response:
        return self.case(request) if self.hostile else self.good(request)


class Logged(logging.Handler):
    """The watcher's log records that carry an exception: an exception it caught (an adapter
    bug, a tick that failed), which no body may cause."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.caught: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info:
            self.caught.append(ascii(record.getMessage()))


def views(w: ProviderWatcher, name: str, now: datetime) -> None:
    """Every view of what the watcher holds, as the commands and the board build it: `latest`,
    `last_ok`, `last_error`."""
    snap = w.latest
    clean(w.last_error)
    status = ProviderStatus.of(
        name, snap, last_ok=w.last_ok, last_error=w.last_error, watcher_ok=True
    )
    check_embeds([status_embed([status], now=now, titles=TITLES)])
    if snap is None:
        return
    check_snapshot(snap, name)
    for redact in (False, True):
        check_embeds(queue_pages([snap], now=now, stuck_after=STUCK, redact=redact, titles=TITLES))
        check_embeds(capacity_pages([snap], now=now, redact=redact, titles=TITLES))
        check_embeds(
            [board_embed([snap], now=now, titles=TITLES, redact=redact, statuses=[status])]
        )


async def tick(w: ProviderWatcher) -> TickReport:
    report = await w.tick()
    assert isinstance(report, TickReport)  # a tick never raises
    assert report.error == w.last_error
    return report


async def oracle(adapter: Provider) -> Snapshot | UpstreamError:
    """What the adapter alone makes of the upstream as it is now: the snapshot the watcher
    must hold after its tick, or the typed error it must report."""
    try:
        return await adapter.snapshot()
    except UpstreamError as exc:
        return exc


async def probe(adapter: Provider, job_id: str, seen: Counter[str]) -> None:
    """`/job` on the hostile upstream: a JobResult every embed takes, or an UpstreamError."""
    name = adapter.name
    try:
        result = await adapter.job(job_id)
    except UpstreamError as exc:
        seen["job error"] += 1
        clean(str(exc))
        check_embeds([error_embed(exc, titles=TITLES)])
        return
    seen["job result"] += 1
    check_result(result, name, job_id)
    check_embeds([job_embed(result, titles=TITLES, redact=redact) for redact in (False, True)])


def shown_ids(snap: Snapshot | None) -> list[str]:
    return [j.id for j in snap.jobs] if snap is not None else []


async def emptied(store: Store) -> Store:
    """`store` with every table emptied (Alembic's version table is not among them): a
    database as new, for the next example, without the ~45 ms of creating one."""
    async with store.engine.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            await conn.execute(delete(table))
    return store


async def run_case(store: Store, name: str, case: Case, seen: Counter[str]) -> None:
    """One example through a real `ProviderWatcher` (the real adapter and client over the
    generated bodies, a real Store on SQLite, emptied, and a clock of the test's): good →
    hostile → good, then what the watcher holds and what it queued, rendered. Counts in `seen`
    what came out."""
    upstream = Scripted(name, case)
    now = [NOW]
    logged = Logged()
    watch_log = logging.getLogger("bot.watch")
    watch_log.addHandler(logged)
    await emptied(store)
    try:
        async with UseapiClient(
            "https://api.test",
            SecretStr("t0ken"),
            attempts=1,
            transport=httpx.MockTransport(upstream),
        ) as client:
            adapter = providers.load(name)(client)
            w = ProviderWatcher(
                adapter,
                store,
                WatchConfig(
                    stuck_after=STUCK,
                    poll_interval=30,
                    default_channel=1,
                    flap_ticks=1,
                    unreachable_after=1,
                ),
                clock=lambda: now[0],
            )
            # 1. good: A and B run
            upstream.good.bodies = good(name, JOB_A[name], JOB_B[name])
            first = await tick(w)
            assert (first.ok, first.error, first.jobs) == (True, None, 2)
            views(w, name, now[0])

            # 2. hostile: a snapshot, or the adapter's typed error, as the adapter alone says
            upstream.hostile = True
            now[0] += timedelta(seconds=30)
            expected = await oracle(adapter)
            report = await tick(w)
            if isinstance(expected, Snapshot):
                seen["snapshot"] += 1
                assert (report.ok, report.error) == (True, None), report.error
                assert w.latest is not None and w.last_ok == now[0]
                assert shown_ids(w.latest) == shown_ids(expected)
                assert w.latest.accounts == expected.accounts
                assert by_id(await store.load_snapshot(name)) == by_id(
                    w.latest
                )  # committed, reads back
                seen["left while hostile"] += report.left
                seen["resolved while hostile"] += report.resolved
            else:
                seen[type(expected).__name__] += 1
                assert (report.ok, report.error) == (False, str(expected))
                assert shown_ids(w.latest) == [JOB_A[name], JOB_B[name]]  # the last good one
            views(w, name, now[0])
            await probe(adapter, case.probe, seen)

            # 3. good again, nothing running: it commits, and every job that left is reported
            upstream.hostile = False
            upstream.good.bodies = good(name)
            now[0] += timedelta(seconds=30)
            last = await tick(w)
            assert (last.ok, last.error, last.jobs, last.pending) == (True, None, 0, 0)
            assert by_id(await store.load_snapshot(name)) == by_id(w.latest)
            assert await store.pending_jobs(name) == []
            views(w, name, now[0])

        ran = {
            JOB_A[name],
            JOB_B[name],
            *shown_ids(expected if isinstance(expected, Snapshot) else None),
        }
        rows = await store.claim_outbox(limit=10_000, now=now[0], worker_id="check")
        outcomes: Counter[str] = Counter()
        stuck: Counter[str] = Counter()
        upstream_news: list[tuple[str, str | None]] = []
        for row in rows:
            ev = row.event
            for text in (
                row.key,
                ev.key,
                ev.job_id,
                ev.account,
                ev.detail,
                *ev.urls,
                *map(str, ev.extra),
                *map(str, ev.extra.values()),
            ):
                clean(text)
            if ev.kind is EventKind.UPSTREAM:
                upstream_news.append((ev.word, ev.detail))
            elif ev.kind is EventKind.JOB:
                assert ev.job_id in ran, ascii(ev.job_id)
                if ev.word == alerts.STUCK:
                    stuck[ev.job_id] += 1
                    continue
                outcomes[ev.job_id] += 1
                assert ev.word in {o.value for o in Outcome if o.final}, ev.word
                if "\ufffd" in ev.job_id:  # an id JSON could not carry: no look-up
                    assert ev.word == Outcome.UNKNOWN.value, (ascii(ev.job_id), ev.word)
                    seen["id not carried"] += 1
        # every job that left reported exactly once, a stuck one at most once besides
        assert outcomes == Counter(ran), ascii(outcomes)
        assert set(stuck.values()) <= {1}, ascii(stuck)
        # a failed tick announced at once (flap_ticks=1), with the error; the good one after
        # it brings the recovery
        assert upstream_news == (
            []
            if isinstance(expected, Snapshot)
            else [(alerts.classify_error(expected), str(expected)), (alerts.RECOVERED, None)]
        )
        for scope in (await store.load_watch(name, now=now[0])).states:
            clean(scope)
        for group in group_rows(rows):
            events = [r.event for r in group.rows]
            for redact in (False, True):
                check_embeds(alert_batch(events, titles=TITLES, redact=redact), one_message=True)
            check_embeds([alert_embed(e, titles=TITLES, redact=True) for e in events[:10]])
        seen["reported"] += len(ran)
    finally:
        watch_log.removeHandler(logged)
    assert logged.caught == []  # no exception caught anywhere in the watcher


@pytest.mark.parametrize("name", NAMES)
def test_any_body_gives_a_snapshot_or_an_upstream_error(tmp_path: Path, name: str) -> None:
    """Any bytes on any endpoint, through a real watcher, tick after tick (good → hostile →
    good): the hostile tick holds the adapter's valid Snapshot, or reports its typed
    UpstreamError; the next good tick commits; every job that left is reported once; and
    every view of what the watcher holds and every alert it queued renders within Discord's
    limits, with no text a database or Discord refuses.

    The examples run in this test's own event loop (hypothesis drives a plain function), each
    on the database emptied; the counts below tell the property was not met by failing
    everything early."""
    loop = asyncio.new_event_loop()
    store = loop.run_until_complete(Store.open(f"sqlite+aiosqlite:///{tmp_path / 'opsbot.db'}"))
    seen: Counter[str] = Counter()

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=HUNT is None,
        database=None,
        phases=PHASES,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(case=cases(name))
    def prop(case: Case) -> None:
        loop.run_until_complete(run_case(store, name, case, seen))

    for case in explicit_cases(name):  # each path at least once, whatever is generated
        prop = example(case=case)(prop)
    try:
        prop()
    finally:
        loop.run_until_complete(store.close())
        loop.close()
    # Not vacuous: many bodies got through to the snapshot, jobs left and were resolved while
    # upstream was hostile, job results were read, and many bodies were typed errors. Each
    # path is taken by an explicit case; the floors are for the generated breadth, well below
    # what is seen: hypothesis mixes constants it mines from the project's modules into its
    # draws, so the same seed gives another mix whenever code changes or the process has
    # imported more (MiniMax: 24, 18 and 8 snapshots of 40 in three such runs).
    assert seen["snapshot"] >= EXAMPLES // 10, seen
    assert seen["resolved while hostile"] >= EXAMPLES // 10, seen
    assert seen["job result"] >= EXAMPLES // 4, seen
    assert seen["PayloadError"] >= EXAMPLES // 10, seen
    assert seen["id not carried"] >= 1, seen  # a lone surrogate or NUL in an id that left
    assert seen["left while hostile"] >= 1, seen


# ====================================================================== a watcher ticks on

JOB_A = {
    "pixverse": "user:1-pixverse:a@x.io-video:1",
    "minimax": "user:1-minimax:123456-video:1",
    "dreamina": "j0223140530123456789v-u12345-US:a@x.io:dreamina",
    "mureka": "j1128115936123456789m-u777-a1234567890-bot:mureka",
    "kling": "123456789",
    "runway": "user:1-runwayml:a@x.io-task:0b5cb6c8-1c4d-4f36-9b6e-3f6a0d9b1e2a",
}
JOB_B = {
    "pixverse": "user:1-pixverse:a@x.io-video:2",
    "minimax": "user:1-minimax:123456-video:2",
    "dreamina": "j0223140530123456789v-u12345-US:a@x.io:dreamina2",
    "mureka": "j1128115936123456790m-u777-a1234567890-bot:mureka",
    "kling": "18446744073709551617",  # 2^64 + 1: exact, though orjson would make it a float
    "runway": "user:1-runwayml:a@x.io-task:9c1e0f52-7d3a-4b8e-a1f4-5e6d7c8b9a0f",
}
ACCOUNT = {
    "pixverse": "a@x.io",
    "minimax": "123456",
    "dreamina": "US:a@x.io",
    "mureka": "1234567890",
    "kling": "a@x.io",
    "runway": "a@x.io",
}


def item_text(name: str, id_json: str, elapsed: str = '"01:00"') -> str:
    """One scheduler item as JSON text, its id and elapsed figure given as JSON text."""
    if name == "pixverse":
        return (
            f'{{"id":{id_json},"type":"video","started":"2026-11-28T11:59:00.000Z",'
            f'"elapsed":{elapsed}}}'
        )
    if name == "minimax":
        return f'{{"videoId":{id_json},"started":"2026-11-28T11:59:00.000Z","elapsed":{elapsed}}}'
    if name == "runway":  # a `taskId` alone, as documented; a hostile figure where one is put
        figure = "" if elapsed == '"01:00"' else f',"elapsed":{elapsed}'
        return f'{{"taskId":{id_json}{figure}}}'
    if name == "mureka":
        return f'{{"jobid":{id_json},"verb":"music/create","elapsed":{elapsed}}}'
    if name == "kling":  # a task id of digits is a JSON number
        number = id_json.strip('"')
        id_json = number if number.isdigit() else id_json
        return (
            f'{{"id":{id_json},"email":"a@x.io","started":"2026-11-28T11:58:67.000Z",'
            f'"elapsed":{elapsed}}}'
        )
    return f'{{"jobid":{id_json},"model":"seedance-2.0","elapsedSeconds":{elapsed}}}'


def queue_text(name: str, items: list[str], total: str | None = None) -> str:
    if name == "mureka":  # the queue is Mureka's capacity body too: its counts in `total`
        n = total or str(len(items))
        return (
            f'{{"total":{n},"accounts":{{"{ACCOUNT[name]}":{{"total":{n},'
            f'"jobs":[{",".join(items)}]}}}},"availableAccounts":["{ACCOUNT[name]}"]}}'
        )
    if name == "dreamina":
        return f'{{"executing":{{"US:a@x.io":[{",".join(items)}]}},"total":{len(items)}}}'
    if name == "kling":  # queue and capacity in one body
        return capacity_text(name, items=items)
    return "[" + ",".join(items) + "]"


def capacity_text(name: str, max_jobs: str = "5", items: list[str] | None = None) -> str:
    if name == "mureka":
        return queue_text(name, items or [], max_jobs)
    if name in ("dreamina", "runway"):  # an accounts map
        return f'{{"{ACCOUNT[name]}":{{"maxJobs":{max_jobs}}}}}'
    key = "email" if name in ("pixverse", "kling") else "account"
    return (
        f'{{"executing":[{",".join(items or [])}],'
        f'"available":[{{"{key}":"{ACCOUNT[name]}","maxJobs":{max_jobs}}}]}}'
    )


def capacity_path(name: str) -> str:
    return {
        "mureka": mureka.QUEUE_PATH,
        "pixverse": pixverse.CAPACITY_PATH,
        "minimax": minimax.CAPACITY_PATH,
        "dreamina": dreamina.ACCOUNTS_PATH,
        "kling": kling.CAPACITY_PATH,
        "runway": runway.ACCOUNTS_PATH,
    }[name]


def queue_path(name: str) -> str:
    """Where the queue is read (Kling: the same body as its capacity)."""
    return {
        "pixverse": pixverse.QUEUE_PATH,
        "minimax": minimax.QUEUE_PATH,
        "dreamina": dreamina.QUEUE_PATH,
        "mureka": mureka.QUEUE_PATH,
        "kling": kling.CAPACITY_PATH,
        "runway": runway.QUEUE_PATH,
    }[name]


def good(name: str, *ids: str) -> dict[str, bytes]:
    items = [item_text(name, json.dumps(i)) for i in ids]
    return {
        queue_path(name): queue_text(name, items).encode(),
        capacity_path(name): capacity_text(name, items=items).encode(),
    }


def hostile_queue(name: str, items: list[str]) -> dict[str, bytes]:
    return {queue_path(name): queue_text(name, items).encode("utf-8", "surrogatepass")}


A_ITEM = {n: item_text(n, json.dumps(JOB_A[n])) for n in NAMES}


@dataclass(frozen=True)
class Hostile:
    """A hostile upstream for one tick: what it serves, and what the tick must make of it
    (the ids of the snapshot, or None: a PayloadError)."""

    bodies: Callable[[str], dict[str, bytes]]
    jobs: Callable[[str], list[str]] | None


HOSTILE: dict[str, Hostile] = {
    "lone surrogate id (escape)": Hostile(
        lambda n: hostile_queue(n, [A_ITEM[n], item_text(n, '"x\\ud800y"')]),
        lambda n: [JOB_A[n], "x\ufffdy"],
    ),
    "lone surrogate id (raw bytes)": Hostile(
        lambda n: hostile_queue(n, [A_ITEM[n], item_text(n, '"\udfffz"')]),
        lambda n: [JOB_A[n], "\ufffdz"],
    ),
    "NUL id (escape)": Hostile(
        lambda n: hostile_queue(n, [A_ITEM[n], item_text(n, '"x\\u0000y"')]),
        lambda n: [JOB_A[n], "x\ufffdy"],
    ),
    "NUL id (raw byte: not JSON)": Hostile(
        lambda n: hostile_queue(n, [A_ITEM[n], item_text(n, '"x\x00y"')]), None
    ),
    "bidi id": Hostile(
        lambda n: hostile_queue(n, [A_ITEM[n], item_text(n, '"\u202eq"')]),
        lambda n: [JOB_A[n], "\u202eq"],
    ),
    "elapsed 10^400": Hostile(
        lambda n: hostile_queue(n, [item_text(n, json.dumps(JOB_A[n]), "1" + "0" * 400)]),
        lambda n: [JOB_A[n]],
    ),
    "elapsed 1e308": Hostile(
        lambda n: hostile_queue(n, [item_text(n, json.dumps(JOB_A[n]), "1e308")]),
        lambda n: [JOB_A[n]],
    ),
    "elapsed 1e400, NaN, Infinity": Hostile(
        lambda n: hostile_queue(
            n,
            [
                item_text(n, json.dumps(JOB_A[n]), "1e400"),
                item_text(n, '"n"', "NaN"),
                item_text(n, '"i"', "Infinity"),
            ],
        ),
        lambda n: [JOB_A[n], "n", "i"],
    ),
    "one id three times": Hostile(
        lambda n: hostile_queue(n, [A_ITEM[n]] * 3), lambda n: [JOB_A[n]]
    ),
    "counts 10^400": Hostile(
        lambda n: {
            **hostile_queue(n, [A_ITEM[n]]),
            capacity_path(n): capacity_text(n, "1" + "0" * 400, [A_ITEM[n]]).encode(),
        },
        lambda n: [JOB_A[n]],
    ),
    "counts NaN": Hostile(
        lambda n: {
            **hostile_queue(n, [A_ITEM[n]]),
            capacity_path(n): capacity_text(n, "NaN", [A_ITEM[n]]).encode(),
        },
        None,
    ),
    "nested 1,500 deep": Hostile(lambda n: {queue_path(n): b"[" * 1500 + b"]" * 1500}, None),
    "nested 1,500 deep in a field": Hostile(
        lambda n: hostile_queue(n, [A_ITEM[n][:-1] + ',"replyRef":' + deep(1500).text + "}"]), None
    ),
    "a 5,000-digit number": Hostile(
        lambda n: hostile_queue(n, [item_text(n, json.dumps(JOB_A[n]), "9" * 5000)]), None
    ),
    "not JSON": Hostile(lambda n: {queue_path(n): b"\xff<html>"}, None),
}


def explicit_cases(name: str) -> list[Case]:
    """Hostile upstreams that take the paths the property must see, whatever hypothesis
    generates: a snapshot in which one job is still running, one has left (and is resolved
    while upstream is hostile) and one holds an id JSON could not carry (a lone surrogate, so
    it is reported `unknown` when it leaves); and a body that is no JSON (a PayloadError)."""
    jobs = {
        key: job_ok(path) or b""
        for key, path in (
            (
                "task" if name == "runway" else "video",
                {
                    "pixverse": "/v2/pixverse/videos/",
                    "minimax": "/v1/minimax/videos/",
                    "dreamina": "/v1/dreamina/videos/",
                    "mureka": "/v1/mureka/jobs/",
                    "kling": "/v1/kling/tasks/",
                    "runway": "/v1/runwayml/tasks/",
                }[name],
            ),
            ("legacy", "/v1/pixverse/jobs/"),
        )
    }
    odd = JOB_A[name] + "\ud800"
    readable = Case(
        bodies={**good(name, JOB_A[name], odd), **jobs},
        job_status=200,
        job_error=b'{"error":"x"}',
        probe=JOB_A[name],
    )
    garbage = Case(
        bodies={queue_path(name): b'[{"', capacity_path(name): b"{", **jobs},
        job_status=500,
        job_error=b"<html>",
        probe=JOB_B[name],
    )
    return [readable, garbage]


def job_ok(path: str) -> bytes | None:
    """A completed job, in the shape of the job endpoint at `path` (None: no job endpoint)."""
    for prefix, body in (
        ("/v2/pixverse/videos/", {"video_status": 1, "video_status_name": "COMPLETED"}),
        ("/v1/pixverse/jobs/", {"status": "completed"}),  # legacy (non-`user:`) ids
        ("/v1/minimax/videos/", {"status": 2, "statusLabel": "completed", "statusFinal": True}),
        ("/v1/dreamina/videos/", {"status": "completed"}),
        ("/v1/mureka/jobs/", {"status": "completed"}),
        ("/v1/runwayml/tasks/", {"status": "SUCCEEDED"}),
        ("/v1/kling/tasks/", {"status": 99, "status_name": "succeed", "status_final": True}),
    ):
        if path.startswith(prefix):
            return json.dumps(body).encode()
    return None


class Upstream:
    """A MockTransport whose scheduler and capacity bodies a test swaps between ticks; every
    job it is asked about has completed."""

    def __init__(self) -> None:
        self.bodies: dict[str, bytes] = {}
        self.asked: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path in self.bodies:
            return httpx.Response(200, content=self.bodies[path])
        done = job_ok(path)
        if done is not None:
            self.asked.append(request.url.raw_path.decode())
            return httpx.Response(200, content=done)
        return httpx.Response(404, json={"error": "no route"})


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("what", list(HOSTILE))
async def test_a_watcher_ticks_on_after_a_hostile_body(store: Store, name: str, what: str) -> None:
    """good (A, B) → hostile → good (B): the hostile tick commits (a snapshot, or an upstream
    fault) and the next good tick reports normally: every job that left is posted."""
    upstream = Upstream()
    now = [NOW]
    client = UseapiClient(
        "https://api.test", SecretStr("t0ken"), attempts=1, transport=httpx.MockTransport(upstream)
    )
    async with client:
        w = ProviderWatcher(
            providers.load(name)(client),
            store,
            WatchConfig(stuck_after=STUCK, poll_interval=30, default_channel=1),
            clock=lambda: now[0],
        )
        upstream.bodies = good(name, JOB_A[name], JOB_B[name])
        first = await w.tick()
        assert first.ok and first.jobs == 2

        hostile_ = HOSTILE[what]
        upstream.bodies = {**good(name, JOB_A[name]), **hostile_.bodies(name)}
        now[0] += timedelta(seconds=30)
        report = await w.tick()
        states = (await store.load_watch(name, now=now[0])).states
        if what == "counts NaN" and name == "mureka":  # its counts are sums it never reads
            hostile_ = Hostile(hostile_.bodies, lambda n: [JOB_A[n]])
        if hostile_.jobs is None:  # a typed upstream fault, counted towards the outage alert
            assert not report.ok and report.error is not None
            assert report.error.startswith(f"{name}: ")
            assert (states["upstream"].raw, states["upstream"].streak) == ("unreachable", 1)
            left_next = [JOB_A[name]]  # the stored snapshot still lists A and B
        else:
            assert report.ok and report.error is None, report.error
            assert w.latest is not None
            assert [j.id for j in w.latest.jobs] == hostile_.jobs(name)
            assert by_id(await store.load_snapshot(name)) == by_id(w.latest)  # committed
            row = await store.outbox_row(f"job:{name}:{JOB_B[name]}:completed")  # B left
            assert row is not None and row["state"] == "pending"
            left_next = hostile_.jobs(name)
            for job in w.latest.jobs:
                if job.elapsed_seconds == MAX_ELAPSED_SECONDS:  # absurd, so stuck: reported
                    assert await store.outbox_row(f"job:{name}:{job.id}:stuck") is not None

        upstream.bodies = good(name, JOB_B[name])  # all else finished meanwhile
        now[0] += timedelta(seconds=30)
        after = await w.tick()
        assert after.ok and after.error is None and after.jobs == 1
        assert after.resolved == len(left_next)
        for jid in left_next:  # each job that left is posted, whatever its id held
            row = await store.outbox_row(f"job:{name}:{jid}:{left_word(jid)}")
            assert row is not None and row["state"] == "pending", ascii(jid)
        assert w.errors == (0 if hostile_.jobs else 1)


def left_word(job_id: str) -> str:
    """How a job that left is reported here (its endpoint says completed): an id holding U+FFFD
    is one that JSON could not carry (a lone surrogate, a NUL), so not the job's real id; it
    is not looked up but reported `unknown` at once."""
    return "unknown" if "\ufffd" in job_id else "completed"


async def test_a_surrogate_stored_by_older_code_heals_on_restart(store: Store) -> None:
    """Older code stored the lone surrogate (as a `\\ud800` escape) in the snapshot; every
    tick after the job left then failed, restarts included. Now the stored id loads as
    U+FFFD: the first tick after a restart reports it (`unknown`: its real id is lost, so it is
    not looked up) and commits."""
    old = Snapshot(
        "pixverse",
        NOW,
        (
            Job("pixverse", "user:1-pixverse:a@x.io-video:\ud800"),
            Job("pixverse", JOB_A["pixverse"]),
        ),
    )
    await store.commit_tick(
        "pixverse", now=NOW, batch="old", snapshot=old, stuck_ids=frozenset({"\ud800"})
    )
    upstream = Upstream()
    upstream.bodies = good("pixverse", JOB_A["pixverse"])
    client = UseapiClient(
        "https://api.test", SecretStr("t0ken"), attempts=1, transport=httpx.MockTransport(upstream)
    )
    async with client:
        w = ProviderWatcher(
            providers.load("pixverse")(client),
            store,
            WatchConfig(stuck_after=STUCK, poll_interval=30, default_channel=1),
            clock=lambda: NOW + timedelta(seconds=30),
        )
        report = await w.tick()
    assert report.ok and report.error is None and report.resolved == 1
    assert upstream.asked == []
    row = await store.outbox_row("job:pixverse:user:1-pixverse:a@x.io-video:\ufffd:unknown")
    assert row is not None and row["state"] == "pending"


@pytest.mark.parametrize(
    "body",
    [
        b'{"error":"bad \\ud800 id"}',  # escaped
        b'{"error":"bad \xed\xa0\x80 id"}',  # raw
        b'{"error":"bad \\u0000 id"}',
    ],
)  # NUL
async def test_an_error_message_holds_no_lone_surrogate(body: bytes) -> None:
    """An error body is upstream text like any other: its message reaches `/job` replies,
    alerts and the pending row's `last_error` (SQLite and PostgreSQL refuse a surrogate,
    PostgreSQL a NUL)."""
    client = UseapiClient(
        "https://api.test",
        SecretStr("t0ken"),
        attempts=1,
        transport=httpx.MockTransport(lambda request: httpx.Response(500, content=body)),
    )
    async with client:
        with pytest.raises(UpstreamError) as caught:
            await client.get_json("/v1/minimax/videos/x", provider="minimax")
    # Compared as ascii(): a failure's diff would otherwise carry the lone surrogate into
    # the test report, which pytest-xdist cannot send between processes (the worker dies).
    assert ascii(caught.value.message) == ascii("bad \ufffd id")
