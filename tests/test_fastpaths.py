"""The watcher tick's fast paths give exactly what the checked paths they stand in for give.

The scheduler parsers read each item through a fast path (text where text belongs, memoised
id/time/elapsed readers, `make_job`) and fall back to the fully checked path for anything else;
the client decodes through orjson unless that could differ from `json.loads`; the store encodes
snapshots through orjson with the standard library as a fallback. Each pair is compared here on
generated input, errors (and the field they name) included.
"""

from __future__ import annotations

import dataclasses
import gc
import json
import math
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot import runtime
from bot.errors import PayloadError
from bot.fastjson import NestedTooDeep, loads
from bot.models import MAX_COUNT, MAX_ELAPSED_SECONDS, Job, Kind, Snapshot, make_job
from bot.providers import dreamina, minimax, parse, pixverse
from bot.providers.parse import memos
from bot.store import Store
from rig.store import legacy_snapshot_rows

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

JOB_ID = "user:1-pixverse:a@b.c-video:7"
IDS = [
    JOB_ID,
    "user:85242-minimax:781737-image:364982339136302050",
    "j1128234156410633743v-u85242-US:felix@x.example:dreamina",
    "user:1-pixverse:a-music:2",
    "legacy-id",
    "  ",
    "",
    "user:u-x:acct-Video:1",
]
TEXT = st.sampled_from(IDS) | st.text(max_size=12)
# Absurd numbers (issue 9): beyond a float, beyond a year of seconds, negative, non-finite.
HUGE = st.sampled_from(
    [
        10**400,
        -(10**400),
        1e308,
        -1e308,
        float("inf"),
        float("-inf"),
        MAX_ELAPSED_SECONDS,
        MAX_ELAPSED_SECONDS + 1,
        2**63,
        0,
        946684800,
    ]
)
ODD = (
    st.none()
    | st.booleans()
    | st.integers(-5, 10**20)
    | st.floats(allow_nan=True)
    | HUGE
    | st.lists(st.integers(), max_size=2)
    | st.dictionaries(st.text(max_size=3), st.integers(), max_size=2)
)
TIMES = st.sampled_from(
    [
        "2024-09-25T01:55:16.128Z",
        "2024-09-25T01:55:67.890Z",
        "1727229316",
        "2024-13-01T00:00:00Z",
        " 2024-09-25 01:55 ",
        "1727229316128",
        "x",
        # the 2000–2100 window's edges, and far beyond it
        "1999-12-31T23:59:59.999Z",
        "2000-01-01T00:00:00.000Z",
        "2099-12-31T23:59:59.999Z",
        "2100-01-01T00:00:00.000Z",
        "0001-01-01T00:00:00.000Z",
        "9999-12-31T23:59:59.999Z",
        "0",
    ]
)
ELAPSED = st.sampled_from(
    [
        "03:57",
        "3:00:54",
        "1:02:03",
        "12:5",
        "1:2:3",
        "01:02:03.5",
        "1m 23s",
        "٣:٤٥",
        "99999:00",
        "1:123",
        ":12",
        "1::2",
        " 0:00 ",
        "45",
        "-5",
        # a year (the bound) exactly and one second past it, and far past
        "525600:00",
        "525600:01",
        "8760:00:00",
        "8760:00:01",
        "99999999999:00",
        "1e308",
        "99999999 days",
    ]
)
VALUE = TEXT | TIMES | ELAPSED | ODD
ITEM_KEYS = [
    "id",
    "videoId",
    "imageId",
    "type",
    "email",
    "account",
    "model",
    "started",
    "elapsed",
    "jobid",
    "jobId",
    "elapsedSeconds",
    "replyUrl",
]
items = st.dictionaries(st.sampled_from(ITEM_KEYS), VALUE, max_size=8)


def first_of_each(jobs: Iterable[Job]) -> tuple[Job, ...]:
    """Jobs with each id once, the first kept: what a scheduler list that repeats ids gives."""
    out: list[Job] = []
    seen: set[str] = set()
    for job in jobs:
        if job.id not in seen:
            seen.add(job.id)
            out.append(job)
    return tuple(out)


def outcome(call: Callable[[], Any]) -> Any:
    """The value, or the PayloadError's (provider, field): what a caller can observe."""
    try:
        return call()
    except PayloadError as exc:
        return ("PayloadError", exc.provider, exc.field)


# ------------------------------------------------------------------------------------- the job


@pytest.mark.parametrize(("seen", "ref"), [(False, None), (True, "discord:42"), (False, "x")])
def test_make_job_is_job(seen: bool, ref: str | None) -> None:
    fields: tuple[str, str, Kind, str, datetime, int, str, bool, str | None] = (
        "p",
        "id",
        "video",
        "acct",
        NOW,
        12,
        "m",
        seen,
        ref,
    )
    made, built = make_job(*fields), Job(*fields)
    assert type(made) is Job and made == built and hash(made) == hash(built)
    assert repr(made) == repr(built)
    assert dataclasses.astuple(made) == fields
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.id = "other"  # type: ignore[misc]
    # `reply_ref` and `seen` may be left out, as the adapters that predate them do: as in `Job`.
    assert make_job(*fields[:-1]) == Job(*fields[:-1]) == dataclasses.replace(made, reply_ref=None)
    assert (
        make_job(*fields[:-2])
        == Job(*fields[:-2])
        == dataclasses.replace(made, seen=False, reply_ref=None)
    )


# ------------------------------------------------------------------------------------- parsers


@pytest.mark.parametrize("module", [pixverse, minimax], ids=["pixverse", "minimax"])
@FAST
@given(st.lists(items, max_size=4))
def test_flat_queue_fast_path_is_the_checked_path(module: Any, body: list[dict[str, Any]]) -> None:
    id_keys = module._ID_KEYS

    def checked() -> tuple[Job, ...]:
        return first_of_each(
            parse._flat_job(item, i, module.NAME, "scheduler", id_keys, NOW)
            for i, item in enumerate(body)
        )

    expected = outcome(checked)
    for _ in range(2):  # cold and warm memos
        assert outcome(lambda: module.parse_queue(body, NOW)) == expected


@FAST
@given(
    st.dictionaries(
        st.sampled_from(["US:a@x", "CA:b@y", ""]), st.lists(items, max_size=3), max_size=2
    )
)
def test_dreamina_fast_path_is_the_checked_path(groups: dict[str, list[dict[str, Any]]]) -> None:
    def checked() -> tuple[Job, ...]:
        return first_of_each(
            dreamina._job(item, group, i)
            for group, rows in groups.items()
            for i, item in enumerate(rows)
        )

    expected = outcome(checked)
    for _ in range(2):
        assert outcome(lambda: dreamina.parse_queue({"executing": groups}, NOW)) == expected


def test_fast_path_declines_what_it_does_not_check() -> None:
    """Numbers where text belongs go to the checked path: coerced, or an error naming it."""
    job = pixverse.parse_queue([{"id": 42, "type": 3.5, "email": 7, "model": 2}], NOW)[0]
    assert (job.id, job.kind, job.account, job.model) == ("42", None, "7", "2")
    with pytest.raises(PayloadError) as caught:
        pixverse.parse_queue([{"id": "x"}, {"id": "y", "email": ["a"]}], NOW)
    assert caught.value.field == "scheduler[1].email"
    with pytest.raises(PayloadError) as caught:
        dreamina.parse_queue(
            {"executing": {"US:a@x": [{"jobid": "j", "model": 5.5}, {"jobid": "k", "model": {}}]}},
            NOW,
        )
    assert caught.value.field == "executing.US:a@x[1].model"


#: What the fast path takes in a text field: text (a kind word, an account, anything), empty
#: text, or null.
TEXT_OR_NULL = (
    st.none()
    | st.just("")
    | TEXT
    | st.sampled_from(["video", "image", "music", "Video", " image ", "a@x.io"])
)
#: Ids the fast path takes: non-blank text, with and without an account and kind in them.
FAST_IDS = st.sampled_from([i for i in IDS if i.strip()]) | st.text(min_size=1).filter(
    lambda s: not s.isspace()
)


@st.composite
def fast_items(draw: st.DrawFn, id_keys: dict[str, Kind | None]) -> dict[str, Any]:
    """A scheduler item of the shape every scheduler sends, which `_flat_fast` reads: one or
    more id keys (nulls before the id, so that the first key present is not always the
    first), and any of the other fields as text or null."""
    keys = list(id_keys)
    first = draw(st.sampled_from(keys))
    item: dict[str, Any] = {k: None for k in keys[: keys.index(first)] if draw(st.booleans())}
    item[first] = draw(FAST_IDS)
    for later in keys[keys.index(first) + 1 :]:
        if draw(st.booleans()):
            item[later] = draw(st.none() | FAST_IDS)
    for name in ("type", "email", "account", "model"):
        if draw(st.booleans()):
            item[name] = draw(TEXT_OR_NULL)
    if draw(st.booleans()):
        item["started"] = draw(TIMES | st.none() | HUGE)
    if draw(st.booleans()):
        item["elapsed"] = draw(ELAPSED | st.none() | HUGE | st.integers(-5, 10**6))
    return item


@contextmanager
def empty_memos() -> Iterator[None]:
    """The parser's memos empty, as in a fresh process, and restored after. The tests share
    a process (and mutmut forks its workers from one that ran them all): without this, a
    reader's cold path would run only for text no earlier test happened to read. Emptied in
    place: the fast path holds the memo dicts themselves (`bot.providers.parse.queue`)."""
    memo_dicts: list[dict[str, Any]] = [memos._ID_INFO, memos._STARTED, memos._ELAPSED]
    saved = [(memo, dict(memo)) for memo in memo_dicts]
    for memo, _ in saved:
        memo.clear()
    try:
        yield
    finally:
        for memo, content in saved:
            memo.clear()
            memo.update(content)


def job_fields(job: Job) -> dict[str, Any]:
    return {f.name: getattr(job, f.name) for f in dataclasses.fields(job)}


@pytest.mark.parametrize("module", [pixverse, minimax], ids=["pixverse", "minimax"])
@FAST
@given(st.data())
def test_flat_fast_path_takes_text_items_and_gives_the_checked_job(
    module: Any, data: st.DataObject
) -> None:
    """`flat_queue`'s docstring promises the same job from either path: compared field by
    field (id, kind, account, started, elapsed, model), on items the fast path does take."""
    id_keys: dict[str, Kind | None] = module._ID_KEYS
    item = data.draw(fast_items(id_keys))
    checked = parse._flat_job(item, 0, module.NAME, "scheduler", id_keys, NOW)
    with empty_memos():
        for memos in ("cold", "warm"):
            fast = parse._flat_fast(item, module.NAME, tuple(id_keys), id_keys, NOW)
            assert fast is not None, f"the fast path declined a text item ({memos} memos)"
            assert job_fields(fast) == job_fields(checked)
        assert module.parse_queue([item], NOW) == (checked,)


def test_flat_fast_path_reads_each_text_field() -> None:
    """Each field the fast path reads itself, read as the checked path reads it."""
    item = {
        "id": None,
        "videoId": "legacy-1",
        "type": "image",
        "email": "",
        "account": "b@y.io",
        "model": "v5",
        "started": "2026-11-28T11:55:00.000Z",
        "replyRef": "discord:42",
    }
    job = pixverse.parse_queue([item], NOW)[0]
    assert job_fields(job) == {
        "provider": "pixverse",
        "id": "legacy-1",
        "kind": "image",
        "account": "b@y.io",
        "started": datetime(2026, 11, 28, 11, 55, tzinfo=UTC),
        "elapsed_seconds": 300,
        "model": "v5",
        "seen": False,
        "reply_ref": "discord:42",
    }
    assert pixverse.parse_queue(
        [
            {
                "id": "legacy-2",
                "email": "a@x.io",
                "account": "b@y.io",
                "model": "",
                "elapsed": "03:57",
            }
        ],
        NOW,
    )[0] == Job("pixverse", "legacy-2", None, "a@x.io", None, 237, None)
    # A kind word in another case: the type alone says it (neither the id nor its key does).
    assert pixverse.parse_queue([{"id": "legacy-3", "type": " Video "}], NOW)[0] == Job(
        "pixverse", "legacy-3", "video", None, None, None, None
    )


@FAST
@given(TEXT)
def test_id_info_is_kind_and_account_from_id(job_id: str) -> None:
    expected = (parse.kind_from_id(job_id), parse.account_from_id(job_id))
    with empty_memos():
        assert parse.id_info(job_id) == expected
        assert parse.id_info(job_id) == expected  # memoised


_CLOCK = re.compile(r"(\d+):(\d{1,2})(?::(\d{1,2}))?(?:\.\d*)?")


def clock_reference(value: str) -> int | None:
    """parse_elapsed as it was before the clock fast path, for text with a colon (which no
    number or unit pattern reads): too long, the clock regex, or nothing; then the year's
    bound."""
    text = value.strip()
    if len(text) > parse._MAX_TEXT:
        return None
    m = _CLOCK.fullmatch(text)
    if m is None:
        return None
    a, b, c = m.groups()
    seconds = int(a) * 60 + int(b) if c is None else int(a) * 3600 + int(b) * 60 + int(c)
    return min(seconds, MAX_ELAPSED_SECONDS)


@FAST
@given(st.lists(st.sampled_from("0123456789:٣ .") | st.just("12"), max_size=70).map("".join))
def test_clock_fast_path_reads_what_the_clock_regex_reads(text: str) -> None:
    if ":" in text:
        assert parse.parse_elapsed(text) == clock_reference(text)


def test_clock_fast_path_keeps_the_length_bound() -> None:
    assert parse.parse_elapsed("9" * 60 + ":00") == MAX_ELAPSED_SECONDS
    assert parse.parse_elapsed("9" * 70 + ":00") is None


def test_memos_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(memos, "_MEMO_MAX", 8)
    monkeypatch.setattr(memos, "_ID_INFO", {})
    monkeypatch.setattr(memos, "_STARTED", {})
    for i in range(50):
        memos.id_info(f"user:1-pixverse:a{i}-video:{i}")
        memos._started(f"2024-09-25T01:55:{i % 60:02d}.000Z")
        assert len(memos._ID_INFO) <= 8 and len(memos._STARTED) <= 8
    long_id = "user:1-pixverse:" + "a" * 300 + "-video:1"
    assert memos.id_info(long_id) == ("video", "a" * 300)
    assert long_id not in memos._ID_INFO


def test_memo_keys_up_to_the_length_bound_are_kept() -> None:
    at_bound = "9" * memos._MEMO_KEY_MAX
    with empty_memos():
        assert memos._elapsed(at_bound) is None and memos._elapsed(at_bound + "9") is None
        assert memos._ELAPSED == {at_bound: None}


def test_the_memos_are_written_then_read() -> None:
    """From a job's second tick on, its id, start and elapsed text are read from the memos
    (a dict lookup instead of regular expressions): each reading is kept, and what a memo
    holds is what the fast path and the memoised readers give."""
    job_id, started, elapsed = JOB_ID, "2026-11-28T11:55:00.000Z", "03:57"
    start = datetime(2026, 11, 28, 11, 55, tzinfo=UTC)
    item = {"id": job_id, "started": started, "elapsed": elapsed}
    unreadable = {"id": "legacy-9", "started": "soon", "elapsed": "later"}
    with empty_memos():
        assert pixverse.parse_queue([item, unreadable], NOW) == (
            Job("pixverse", job_id, "video", "a@b.c", start, 237, None),
            Job("pixverse", "legacy-9", None, None, None, None, None),
        )
        assert memos._ID_INFO == {job_id: ("video", "a@b.c"), "legacy-9": (None, None)}
        assert memos._STARTED == {started: start, "soon": None}
        assert memos._ELAPSED == {elapsed: 237, "later": None}
        planted = start - timedelta(hours=1)
        memos._ID_INFO[job_id] = ("image", "planted@x")
        memos._STARTED[started] = planted
        memos._ELAPSED[elapsed] = 1
        assert pixverse.parse_queue([item], NOW) == (
            Job("pixverse", job_id, "image", "planted@x", planted, 1, None),
        )
        assert parse.id_info(job_id) == ("image", "planted@x")
        assert (memos._started(started), memos._elapsed(elapsed)) == (planted, 1)
        # No elapsed figure: counted from the (planted) start, 10:55 to NOW (12:00).
        assert pixverse.parse_queue([{"id": job_id, "started": started}], NOW) == (
            Job("pixverse", job_id, "image", "planted@x", planted, 3900, None),
        )


# ------------------------------------------------------------------------------ JSON decoding

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=True)
    | st.text(max_size=8)
    | st.sampled_from(
        [
            "\ud800",
            "j1128234156410633743v",
            "é",
            "x:12345678901234567890",
            "a\udfffb",
            "\ud83d",
            "\U0001f600",
            "\\ud800",
        ]
    ),
    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=4), c, max_size=3),
    max_leaves=12,
)


def healed(value: Any) -> Any:
    """`value` with each lone surrogate and each NUL in its strings (keys too) as U+FFFD: what
    `loads` promises over `json.loads`."""
    if isinstance(value, str):
        return (
            value.encode("utf-16-le", "surrogatepass")
            .decode("utf-16-le", "replace")
            .replace("\x00", "\ufffd")
        )
    if isinstance(value, list):
        return [healed(v) for v in value]
    if isinstance(value, dict):
        return {healed(k): healed(v) for k, v in value.items()}
    return value


def same(a: Any, b: Any) -> bool:
    """Equal, with 1 and 1.0 told apart and NaN equal to itself."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if type(a) is not type(b):
        return False
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    return bool(a == b)


@FAST
@given(json_values, st.booleans(), st.booleans())
def test_loads_is_json_loads_healed(value: Any, spaced: bool, ascii_: bool) -> None:
    """The value `json.loads` reads, lone surrogates and NULs healed: raw in the text (`ascii_`
    off: what older code stored, or a body in CESU-ish UTF-8) or as `\\uD800` escapes."""
    text = json.dumps(value, ensure_ascii=ascii_, indent=1 if spaced else None)
    data = text.encode("utf-8", "surrogatepass")
    for given_ in (data, text):  # a response body, a stored column
        try:
            expected = healed(json.loads(given_))
        except ValueError:
            with pytest.raises(ValueError):
                loads(given_)
            continue
        assert same(loads(given_), expected)


@pytest.mark.parametrize(
    "data",
    [
        b"12345678901234567890123",
        b"[12345678901234567890123]",
        b"[1,\n  -99999999999999999999]",
        b'{"a": 18446744073709551616}',
        b"9223372036854775808",
        b"NaN",
        b"[Infinity]",
        b"1e400",
        b'"\\ud800"',
        b"\xef\xbb\xbf[1]",
        '{"a": [1]}'.encode("utf-16"),
        b'{"id":"j1128234156410633743v","n":1}',
        b'"x:12345678901234567890"',
    ],
)
def test_loads_edge_cases(data: bytes) -> None:
    assert same(loads(data), healed(json.loads(data)))


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        # alone, first, last; high and low; upper and lower case hex
        (b'"\\ud800"', "\ufffd"),
        (b'"\\uDFFFab"', "\ufffdab"),
        (b'"ab\\udc00"', "ab\ufffd"),
        (b'["\\ud800", 1, 12345678901234567890123]', ["\ufffd", 1, 12345678901234567890123]),
        (b'{"\\ud800": "x"}', {"\ufffd": "x"}),  # keys too
        # a high+low pair is one character; two highs then a low: one lone, one pair
        (b'"\\ud83d\\ude00"', "\U0001f600"),
        (b'"\\ud800\\ud800\\udc00"', "\ufffd\U00010000"),
        (b'"\\udc00\\ud800"', "\ufffd\ufffd"),  # a low before a high is no pair
        # an escaped backslash before "ud800" is text, not an escape
        (b'"\\\\ud800"', "\\ud800"),
        (b'"\\\\\\ud800"', "\\\ufffd"),
        # raw: UTF-8-encoded surrogates (json reads them with surrogatepass), UTF-16 text, a str
        (b'"\xed\xa0\x80"', "\ufffd"),
        ('["\ud800"]'.encode("utf-16", "surrogatepass"), ["\ufffd"]),
        ('"a\ud800"', "a\ufffd"),
        ('"\ud83d\ude00"', "\U0001f600"),
    ],
)
def test_loads_heals_lone_surrogates(data: bytes | str, expected: Any) -> None:
    assert same(loads(data), expected)


@pytest.mark.parametrize("depth", [1_500, 100_000])
def test_loads_too_deep_is_a_value_error(depth: int) -> None:
    """Past the recursion limit (orjson stops at 1,024, json at ~1,000) a body cannot be
    decoded: a ValueError, as for any other such body (that says it was too deep)."""
    for data in (
        b"[" * depth + b"]" * depth,
        b'{"a":' * depth + b"1" + b"}" * depth,
        b"[" * depth + b"12345678901234567890123" + b"]" * depth,
    ):  # json's path
        with pytest.raises(ValueError) as caught:
            loads(data)
        assert isinstance(caught.value, NestedTooDeep)
    assert nesting(loads(b"[" * 900 + b"]" * 900)) == 900  # deep, but within both limits


def nesting(value: Any) -> int:
    """How deep `[[[…]]]` nests (walked, not recursed: `==` on it would hit the limit)."""
    depth = 0
    while isinstance(value, list):
        depth += 1
        value = value[0] if value else None
    return depth


def test_loads_nesting_bound_is_orjsons() -> None:
    """A body orjson reads may nest 1,024 deep (its limit), one more is too deep (json, the
    fallback, stops near its recursion limit, ~1,000)."""
    assert nesting(loads(b"[" * 1_024 + b"]" * 1_024)) == 1_024
    with pytest.raises(NestedTooDeep):
        loads(b"[" * 1_025 + b"]" * 1_025)


@pytest.mark.parametrize("data", [b"", b"<html>", b"[1,]", b"\xff\xfe\xfd", b"{'a': 1}", "[1,]"])
def test_loads_errors_are_value_errors(data: bytes | str) -> None:
    with pytest.raises(ValueError):
        json.loads(data)
    with pytest.raises(ValueError):
        loads(data)


# ------------------------------------------------------------------------------ snapshot codec


def test_snapshots_stored_whole_by_older_code_heal_as_they_become_rows() -> None:
    """Revision 0003 reads each snapshot older opsbots stored whole through `loads`, the
    boundary that heals: a lone surrogate (issue 9, defect 1) comes back replaced, an elapsed
    figure stored unbounded comes back as the year, a count as `MAX_COUNT`, and the stuck
    list is read the same way."""
    t = NOW.timestamp()
    data = json.dumps(  # (ensure_ascii: the lone surrogate as its escape, as JSON allows)
        {
            "v": 1,
            "t": t,
            "j": [
                ["\ud800-lone", "video", "é@x", t - 5, 2**70, "m"],
                ["plain", None, None, 1704067200.0, None, None],
            ],
            "a": [["a", 2**65, 0, None]],
        }
    )
    jobs, accounts = legacy_snapshot_rows("p", data, json.dumps(["\ud800-lone", "gone"]))
    assert jobs == [
        {
            "provider": "p",
            "job_id": "\ufffd-lone",
            "kind": "video",
            "account": "é@x",
            "started": t - 5,
            "anchor": t - MAX_ELAPSED_SECONDS,
            "model": "m",
            "seen": 0,
            "reply_ref": None,
            "stuck": 1,
        },
        {
            "provider": "p",
            "job_id": "plain",
            "kind": None,
            "account": None,
            "started": 1704067200.0,
            "anchor": None,
            "model": None,
            "seen": 0,
            "reply_ref": None,
            "stuck": 0,
        },
    ]
    assert accounts == [
        {"provider": "p", "account": "a", "max_jobs": MAX_COUNT, "executing": 0, "available": None}
    ]


async def test_load_watch_takes_cached_stuck_only_with_the_cached_snapshot() -> None:
    store = await Store.open("sqlite+aiosqlite://")
    try:
        snap = Snapshot("pixverse", NOW, (Job("pixverse", "a"),))
        await store.commit_tick(
            "pixverse", now=NOW, batch="b", snapshot=snap, stuck_ids=frozenset({"a"})
        )
        w = await store.load_watch("pixverse", now=NOW, cached=snap, cached_stuck=frozenset({"a"}))
        assert w.snapshot is snap and w.stuck_ids == {"a"}
        w = await store.load_watch("pixverse", now=NOW, cached=snap)  # read from the row
        assert w.snapshot is snap and w.stuck_ids == {"a"}
        # Another writer committed since: neither cache is used.
        later = Snapshot("pixverse", NOW + timedelta(seconds=30), (Job("pixverse", "b"),))
        await store.commit_tick(
            "pixverse", now=later.taken_at, batch="b2", snapshot=later, stuck_ids=frozenset({"b"})
        )
        w = await store.load_watch(
            "pixverse", now=later.taken_at, cached=snap, cached_stuck=frozenset({"a"})
        )
        assert w.snapshot == later and w.stuck_ids == {"b"}
    finally:
        await store.close()


# ------------------------------------------------------------------------------------- runtime


def test_tune_gc_runs_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[object] = []
    monkeypatch.setattr(runtime, "_tuned", False)
    monkeypatch.setattr(gc, "collect", lambda: calls.append("collect"))
    monkeypatch.setattr(gc, "freeze", lambda: calls.append("freeze"))
    monkeypatch.setattr(gc, "set_threshold", lambda *t: calls.append(t))
    runtime.tune_gc()
    runtime.tune_gc()
    assert calls == ["collect", "freeze", runtime.GC_THRESHOLDS]
    assert gc.isenabled()


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b'"\\u0000"', "\ufffd"),  # alone
        (b'["\\u0000ab", "ab\\u0000"]', ["\ufffdab", "ab\ufffd"]),  # first, last
        (b'{"\\u0000": "\\\\u0000"}', {"\ufffd": "\\u0000"}),  # an escaped backslash is no NUL
        (b'["\\u00001", 12345678901234567890123]', ["\ufffd1", 12345678901234567890123]),
        ('["\\u0000", "\\ud800"]', ["\ufffd", "\ufffd"]),  # text, with a lone surrogate too
        (b'["\\u0001", "\\u00a0"]', ["\x01", "\xa0"]),  # other escapes stay what they are
    ],
)
def test_loads_heals_nul(data: bytes | str, expected: Any) -> None:
    """PostgreSQL refuses a NUL in any text column, and no id or name means one: like a lone
    surrogate, it becomes U+FFFD wherever JSON is read (the orjson path included)."""
    assert same(loads(data), expected)
