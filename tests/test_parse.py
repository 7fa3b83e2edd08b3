"""The lenient value parsers and the typed getters in bot.providers.parse."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.errors import NotFound, PayloadError
from bot.models import EARLIEST, LATEST, MAX_COUNT, MAX_ELAPSED_SECONDS, Account, Job, Outcome
from bot.providers import parse, pixverse
from bot.providers.parse import (
    account_from_id,
    both,
    elapsed_since,
    expect_dict,
    expect_list,
    kind_from_id,
    opt_int,
    opt_str,
    outcome_from_word,
    parse_elapsed,
    parse_time,
    require_id,
)


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, micro: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, micro, tzinfo=UTC)


json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text()
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
timeish_text = st.from_regex(
    r"\A\d{1,5}-\d{1,3}-\d{1,3}([T ]\d{1,3}:\d{1,3}(:\d{1,3}([.,]\d{0,9})?)?)?"
    r" ?(Z|UTC|[+-]\d{2}:?\d{0,2})?\Z"
)
elapsedish_text = st.from_regex(
    r"\A(\d{1,6}(:\d{1,3}){0,3}(\.\d*)?|([ ,]*\d{1,9}(\.\d+)? ?[a-z]{1,8})+)\Z"
)


# ------------------------------------------------------------------------------------ parse_time


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-09-25T01:55:16.128Z", utc(2024, 9, 25, 1, 55, 16, 128000)),
        ("2024-09-25T01:55:16Z", utc(2024, 9, 25, 1, 55, 16)),
        ("2024-09-25T01:55:16", utc(2024, 9, 25, 1, 55, 16)),  # no zone: UTC
        ("2024-09-25 01:55:16.128+00:00", utc(2024, 9, 25, 1, 55, 16, 128000)),
        ("2023-09-09T02:05:24.991000+00:00", utc(2023, 9, 9, 2, 5, 24, 991000)),
        ("2024-09-25T03:55:16+02:00", utc(2024, 9, 25, 1, 55, 16)),
        ("2024-09-25T01:55:16-0130", utc(2024, 9, 25, 3, 25, 16)),
        ("2024-09-25T01:55:16.123456789Z", utc(2024, 9, 25, 1, 55, 16, 123456)),
        ("2024-09-25T01:55Z", utc(2024, 9, 25, 1, 55)),
        ("2024-09-25", utc(2024, 9, 25)),
        ("  2024-09-25T01:55:16Z  ", utc(2024, 9, 25, 1, 55, 16)),
        # Kling/LTX examples: impossible seconds roll over like a JS Date.
        ("2024-09-25T12:45:67.890Z", utc(2024, 9, 25, 12, 46, 7, 890000)),
        ("2024-02-30T00:00:00Z", utc(2024, 3, 1)),
        ("2024-12-31T23:59:60Z", utc(2025, 1, 1)),
        # epoch seconds, milliseconds, numeric text
        (1727229316, utc(2024, 9, 25, 1, 55, 16)),
        (1727229316.128, utc(2024, 9, 25, 1, 55, 16, 128000)),
        (1727229316128, utc(2024, 9, 25, 1, 55, 16, 128000)),
        (1744858514499, utc(2025, 4, 17, 2, 55, 14, 499000)),  # Kling createTime (ms)
        (1734858598.864, utc(2024, 12, 22, 9, 9, 58, 864000)),  # MiniMax jwt.exp (float s)
        ("1727229316", utc(2024, 9, 25, 1, 55, 16)),
        ("1727229316128", utc(2024, 9, 25, 1, 55, 16, 128000)),
        (0, None),  # epoch 0 is "not set": outside 2000–2100, see below
        (datetime(2024, 1, 1), utc(2024, 1, 1)),
        (datetime(2024, 1, 1, 2, tzinfo=timezone(timedelta(hours=2))), utc(2024, 1, 1)),
        # unreadable
        (None, None),
        (True, None),
        ("", None),
        ("yesterday", None),
        ("2024-13-01T00:00:00Z", None),
        ("2024-00-10", None),
        ("2024-01-00", None),
        ("0000-01-01T00:00:00Z", None),
        ("9999-12-31T23:59:60Z", None),
        (-5, None),
        (float("nan"), None),
        (float("inf"), None),
        (10**400, None),
        ("1e999", None),
        ([], None),
        ({}, None),
        ("03:57", None),
    ],
)
def test_parse_time(value: object, expected: datetime | None) -> None:
    got = parse_time(value)
    assert got == expected
    if got is not None:
        assert got.utcoffset() == timedelta(0)


@given(json_values)
def test_parse_time_never_raises(value: object) -> None:
    got = parse_time(value)
    assert got is None or (got.utcoffset() == timedelta(0) and EARLIEST <= got < LATEST)


@settings(max_examples=60, deadline=None)
@given(timeish_text)
def test_parse_time_never_raises_on_timeish_text(value: str) -> None:
    got = parse_time(value)
    assert got is None or (got.tzinfo is not None and EARLIEST <= got < LATEST)


# The window of upstream times (bot.models.EARLIEST/LATEST): each edge, and one step past it.
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2000-01-01T00:00:00.000Z", EARLIEST),
        ("1999-12-31T23:59:59.999Z", None),
        ("2000-01-01T00:00:00Z", EARLIEST),
        ("1999-12-31T23:59:59.999999Z", None),
        (946684800, EARLIEST),
        (946684799, None),
        (946684800000, EARLIEST),
        (946684799999, None),
        ("2099-12-31T23:59:59.999Z", LATEST - timedelta(milliseconds=1)),
        ("2100-01-01T00:00:00.000Z", None),
        ("2100-01-01T00:00:00Z", None),
        (4102444799, LATEST - timedelta(seconds=1)),
        (4102444800, None),
        (4102444799999, LATEST - timedelta(milliseconds=1)),
        (4102444800000, None),
        (datetime(1999, 12, 31, 23, 59, 59, 999999), None),
        (EARLIEST, EARLIEST),
        (LATEST - timedelta(microseconds=1), LATEST - timedelta(microseconds=1)),
        (LATEST, None),
        ("0001-01-01T00:00:00.000Z", None),
        ("9999-12-31T23:59:59.999Z", None),
        (1, None),
        (10**11 - 1, None),  # year 5138 in seconds
    ],
)
def test_parse_time_window(value: object, expected: datetime | None) -> None:
    assert parse_time(value) == expected


@given(st.integers(min_value=946_684_800, max_value=4_102_444_799))
def test_parse_time_epoch_seconds_round_trip(seconds: int) -> None:
    got = parse_time(seconds)
    assert got is not None
    assert got.timestamp() == seconds
    assert (
        parse_time(seconds * 1000 + 999) == got + timedelta(milliseconds=999)
        or seconds * 1000 < 1e11
    )  # below 1e11 a number is read as seconds


# --------------------------------------------------------------------------------- parse_elapsed


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("03:57", 237),
        ("00:35", 35),
        ("00:00", 0),
        ("1:02:03", 3723),
        ("125:00", 7500),
        ("03:57.9", 237),
        ("1m 23s", 83),
        ("45s", 45),
        ("2h 3m", 7380),
        ("1h2m3s", 3723),
        ("1 min, 5 sec", 65),
        ("2 hours", 7200),
        ("1d", 86400),
        ("1.5m", 90),
        ("1500ms", 1),
        (237, 237),
        (45.9, 45),
        (0, 0),
        ("237", 237),
        (" 45.2 ", 45),
        (None, None),
        (True, None),
        (-1, None),
        (-0.5, None),
        (float("nan"), None),
        ("", None),
        ("soon", None),
        ("3 fortnights", None),
        ("12:ab", None),
        ([1], None),
        ({"s": 1}, None),
        ("-03:57", None),
        # infinite is absurd, not unknown: the year, like 10^400 (still stuck, shown "over 365d")
        (float("inf"), MAX_ELAPSED_SECONDS),
        ("1e999", MAX_ELAPSED_SECONDS),
        ("99999999999h", MAX_ELAPSED_SECONDS),
        (float("-inf"), None),
    ],
)
def test_parse_elapsed(value: object, expected: int | None) -> None:
    assert parse_elapsed(value) == expected


@given(json_values)
def test_parse_elapsed_never_raises(value: object) -> None:
    got = parse_elapsed(value)
    assert got is None or (isinstance(got, int) and 0 <= got <= MAX_ELAPSED_SECONDS)


@settings(max_examples=60, deadline=None)
@given(elapsedish_text)
def test_parse_elapsed_never_raises_on_elapsedish_text(value: str) -> None:
    got = parse_elapsed(value)
    assert got is None or 0 <= got <= MAX_ELAPSED_SECONDS


@given(st.integers(min_value=0, max_value=99), st.integers(min_value=0, max_value=59))
def test_parse_elapsed_mm_ss(minutes: int, seconds: int) -> None:
    assert parse_elapsed(f"{minutes:02d}:{seconds:02d}") == minutes * 60 + seconds
    assert parse_elapsed(f"{minutes}m {seconds}s") == minutes * 60 + seconds


def test_elapsed_since() -> None:
    now = utc(2024, 9, 25, 2, 0, 0)
    assert elapsed_since(utc(2024, 9, 25, 1, 55, 16, 128000), now) == 283
    assert elapsed_since(now + timedelta(seconds=5), now) == 0  # clock skew: never negative
    assert elapsed_since(None, now) is None
    year = timedelta(seconds=MAX_ELAPSED_SECONDS)
    assert elapsed_since(now - year, now) == MAX_ELAPSED_SECONDS
    assert elapsed_since(now - year - timedelta(seconds=1), now) == MAX_ELAPSED_SECONDS
    assert elapsed_since(EARLIEST, LATEST) == MAX_ELAPSED_SECONDS


# A year (bot.models.MAX_ELAPSED_SECONDS) exactly, one second past it, and far past it: every
# figure past the bound is the bound, whatever its spelling.
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (MAX_ELAPSED_SECONDS, MAX_ELAPSED_SECONDS),
        (MAX_ELAPSED_SECONDS + 1, MAX_ELAPSED_SECONDS),
        (MAX_ELAPSED_SECONDS - 1, MAX_ELAPSED_SECONDS - 1),
        (float(MAX_ELAPSED_SECONDS), MAX_ELAPSED_SECONDS),
        (MAX_ELAPSED_SECONDS + 0.5, MAX_ELAPSED_SECONDS),
        (MAX_ELAPSED_SECONDS - 0.5, MAX_ELAPSED_SECONDS - 1),
        ("525600:00", MAX_ELAPSED_SECONDS),
        ("525600:01", MAX_ELAPSED_SECONDS),
        ("525599:59", MAX_ELAPSED_SECONDS - 1),
        ("8760:00:00", MAX_ELAPSED_SECONDS),
        ("8760:00:01", MAX_ELAPSED_SECONDS),
        ("31536000", MAX_ELAPSED_SECONDS),
        ("31536001", MAX_ELAPSED_SECONDS),
        ("365d", MAX_ELAPSED_SECONDS),
        ("365d 1s", MAX_ELAPSED_SECONDS),
        ("1:00:00:00", None),  # four fields: unreadable
        (10**400, MAX_ELAPSED_SECONDS),
        (1e308, MAX_ELAPSED_SECONDS),
        ("1e308", MAX_ELAPSED_SECONDS),
        ("9" * 64, MAX_ELAPSED_SECONDS),
        (-(10**400), None),
        (-1e308, None),
    ],
)
def test_parse_elapsed_is_bounded(value: object, expected: int | None) -> None:
    assert parse_elapsed(value) == expected


# ----------------------------------------------------------------------------------------- ids


@pytest.mark.parametrize(
    ("job_id", "account", "kind"),
    [
        ("user:U-pixverse:a@b.c-video:7", "a@b.c", "video"),
        ("user:1-pixverse:a@b.c-video:7", "a@b.c", "video"),
        ("user:user_id-pixverse:email-video:id1", "email", "video"),
        ("user:user_id-pixverse:email-image:id2", "email", "image"),
        (
            "user:12-pixverse:first-last@my-domain.com-video:112233",
            "first-last@my-domain.com",
            "video",
        ),
        ("user:user_id-minimax:account-video:id1", "account", "video"),
        ("user:user_id-minimax:account-image:inN", "account", "image"),
        ("user:777-minimax:123456-video:9876", "123456", "video"),
        ("user:1-pixverse:a@b.c-music:3", "a@b.c", "music"),
        ("user:U-runwayml:a@x.com-task:0c2f-4a1b", "a@x.com", None),
        ("j0223140530123456789v-u12345-US:a@x.com:dreamina", "US:a@x.com", "video"),
        (
            "j0223140530123456789v-u12345-CA:first.last+tag@x.co.uk:dreamina",
            "CA:first.last+tag@x.co.uk",
            "video",
        ),
        ("j0223140530123456789i-u12345-US:a@x.com:dreamina", "US:a@x.com", "image"),
        ("<jobid>", None, None),
        ("", None, None),
        ("user:", None, None),
        ("123456789", None, None),
        ("user:U-pixverse:-video:1", None, None),
    ],
)
def test_ids(job_id: str, account: str | None, kind: str | None) -> None:
    assert account_from_id(job_id) == account
    assert kind_from_id(job_id) == kind


@pytest.mark.parametrize("value", [None, 123456789, 1.5, [], {}, True])
def test_ids_of_non_strings(value: object) -> None:
    assert account_from_id(value) is None
    assert kind_from_id(value) is None


@given(st.text())
def test_ids_never_raise(text: str) -> None:
    account_from_id(text)
    kind_from_id(text)


@given(
    st.from_regex(r"\A[\w.+-]{1,20}@[\w-]{1,10}\.[a-z]{2,5}\Z"),
    st.sampled_from(["video", "image"]),
    st.integers(min_value=0),
)
def test_account_round_trips_through_user_ids(email: str, kind: str, n: int) -> None:
    job_id = f"user:42-pixverse:{email}-{kind}:{n}"
    assert account_from_id(job_id) == email
    assert kind_from_id(job_id) == kind


# ------------------------------------------------------------------------------------- statuses


@pytest.mark.parametrize(
    ("word", "outcome"),
    [
        ("COMPLETED", Outcome.COMPLETED),
        ("completed", Outcome.COMPLETED),
        ("created", Outcome.RUNNING),
        ("progress", Outcome.RUNNING),
        ("QUEUED", Outcome.RUNNING),
        ("GENERATING", Outcome.RUNNING),
        ("FAILED", Outcome.FAILED),
        ("MODERATED", Outcome.MODERATED),
        ("MODERATION_FAILED", Outcome.MODERATED),
        ("cancelled", Outcome.CANCELLED),
        ("Canceled", Outcome.CANCELLED),
        ("in progress", Outcome.RUNNING),
        ("whatever", None),
        ("", None),
        (None, None),
        (3, None),
    ],
)
def test_outcome_from_word(word: object, outcome: Outcome | None) -> None:
    assert outcome_from_word(word) is outcome


# -------------------------------------------------------------------------------------- getters


def test_getters_accept_the_right_types() -> None:
    assert expect_dict({"a": 1}, "p", "f") == {"a": 1}
    assert expect_list([1], "p", "f") == [1]
    assert require_id("abc", "p", "f") == "abc"
    assert require_id(123456789, "p", "f") == "123456789"  # Kling's numeric ids
    assert opt_str(None, "p", "f") is None
    assert opt_str("", "p", "f") is None
    assert opt_str("x", "p", "f") == "x"
    assert opt_str(3, "p", "f") == "3"
    assert opt_int(None, "p", "f") is None
    assert opt_int(5, "p", "f") == 5
    assert opt_int(5.7, "p", "f") == 5
    assert opt_int("8", "p", "f") == 8
    assert parse.opt_dict(None, "p", "f") == {}
    assert parse.opt_list(None, "p", "f") == []


@pytest.mark.parametrize(
    ("getter", "value"),
    [
        (expect_dict, []),
        (expect_dict, None),
        (expect_dict, "x"),
        (expect_list, {}),
        (expect_list, None),
        (expect_list, 3),
        (require_id, None),
        (require_id, ""),
        (require_id, "  "),
        (require_id, True),
        (require_id, 1.5),
        (require_id, {}),
        (opt_str, True),
        (opt_str, []),
        (opt_str, {}),
        (opt_int, True),
        (opt_int, "five"),
        (opt_int, float("nan")),
        (opt_int, []),
        (opt_int, {}),
        (parse.opt_dict, []),
        (parse.opt_list, {}),
    ],
)
def test_getters_raise_payload_error_naming_provider_and_field(
    getter: Callable[[object, str, str], object], value: object
) -> None:
    with pytest.raises(PayloadError) as caught:
        getter(value, "pixverse", "available[0].maxJobs")
    assert caught.value.provider == "pixverse"
    assert caught.value.field == "available[0].maxJobs"
    assert "pixverse" in str(caught.value) and "available[0].maxJobs" in str(caught.value)


# ---------------------------------------------------------------------------------------- shapes


def test_accounts_from_config_counts_running_jobs() -> None:
    jobs = [
        Job("p", "1", kind="video", account="a"),
        Job("p", "2", kind="image", account="a"),
        Job("p", "3", kind="video", account="ghost"),
        Job("p", "4", account=None),
    ]
    got = parse.accounts_from_config(
        {"a": {"maxJobs": 1}, "b": {"maxJobs": 3}, "c": {}}, "p", "accounts", jobs
    )
    assert [(a.account, a.max_jobs, a.executing, a.available) for a in got] == [
        ("a", 1, 2, 0),
        ("b", 3, 0, 3),
        ("c", None, 0, None),
        ("ghost", None, 1, None),
    ]
    videos = parse.accounts_from_config(
        {"a": {"maxJobs": 4}}, "p", "accounts", jobs, frozenset({"video"})
    )
    assert [(a.account, a.executing, a.available) for a in videos] == [
        ("a", 1, 3),
        ("ghost", 1, None),
    ]


# ------------------------------------------------------------------------------------------ both


async def test_both_runs_concurrently_and_returns_in_order() -> None:
    arrived = {"a": asyncio.Event(), "b": asyncio.Event()}

    async def call(name: str, other: str) -> str:
        arrived[name].set()
        await asyncio.wait_for(arrived[other].wait(), 1)  # times out if run one after the other
        return name

    assert await both(call("a", "b"), call("b", "a")) == ("a", "b")


async def test_both_raises_the_error_itself_and_cancels_the_other() -> None:
    cancelled = asyncio.Event()

    async def slow() -> None:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    async def fails() -> None:
        raise NotFound("nope", provider="p", status=404)

    with pytest.raises(NotFound):
        await both(slow(), fails())
    assert cancelled.is_set()


# ------------------------------------------------------------------ whole errors, exact edges
# A PayloadError is what `/status` and the log show for a body that does not fit: its whole
# text (provider, what was expected, what came, where) is compared, not only its type.

NOW = utc(2026, 11, 28, 12)


def payload_error(call: Callable[[], object]) -> tuple[str | None, str | None, str]:
    with pytest.raises(PayloadError) as caught:
        call()
    return caught.value.provider, caught.value.field, str(caught.value)


@pytest.mark.parametrize(
    ("getter", "value", "text"),
    [
        (expect_dict, None, "expected an object, got null"),
        (expect_dict, True, "expected an object, got a boolean"),
        (expect_dict, 3, "expected an object, got a number"),
        (expect_dict, 1.5, "expected an object, got a number"),
        (expect_dict, "x", "expected an object, got a string"),
        (expect_dict, [], "expected an object, got an array"),
        (expect_dict, (), "expected an object, got tuple"),  # no JSON type: its Python name
        (expect_list, {}, "expected an array, got an object"),
        (expect_list, None, "expected an array, got null"),
        (parse.opt_dict, [], "expected an object, got an array"),
        (parse.opt_list, {}, "expected an array, got an object"),
        (require_id, None, "expected a job id, got null"),
        (require_id, "", "expected a job id, got an empty string"),
        (require_id, "  ", "expected a job id, got an empty string"),
        (require_id, False, "expected a job id, got a boolean"),
        (require_id, 1.5, "expected a job id, got a number"),
        (opt_str, [], "expected a string, got an array"),
        (opt_str, True, "expected a string, got a boolean"),
        (opt_int, "five", "expected a number, got a string"),
        (opt_int, {}, "expected a number, got an object"),
        (opt_int, float("inf"), "expected a number, got a number"),
    ],
)
def test_getter_errors_say_what_came(
    getter: Callable[[object, str, str], object], value: object, text: str
) -> None:
    assert payload_error(lambda: getter(value, "minimax", "f[0].x")) == (
        "minimax",
        "f[0].x",
        f"minimax: {text} at 'f[0].x'",
    )


def test_require_id_names_what_it_expected() -> None:
    assert payload_error(lambda: require_id(None, "p", "f", what="an account name")) == (
        "p",
        "f",
        "p: expected an account name, got null at 'f'",
    )


@pytest.mark.parametrize(
    ("body", "field", "text"),
    [
        ({"id": 1}, "scheduler", "expected an array, got an object"),
        ([{"id": "a"}, 5], "scheduler[1]", "expected an object, got a number"),
        (
            [{"id": "a"}, {"videoId": None, "model": "m"}],
            "scheduler[1]",
            "job has no id (none of id, videoId, imageId)",
        ),
        ([{"id": "a"}, {"id": ""}], "scheduler[1].id", "expected a job id, got an empty string"),
        (
            [{"id": "a"}, {"videoId": ["x"]}],
            "scheduler[1].videoId",
            "expected a job id, got an array",
        ),
        (
            [{"id": "a"}, {"id": "b", "type": ["video"]}],
            "scheduler[1].type",
            "expected a string, got an array",
        ),
        (
            [{"id": "a"}, {"id": "b", "email": {}}],
            "scheduler[1].email",
            "expected a string, got an object",
        ),
        (
            [{"id": "a"}, {"id": "b", "account": True}],
            "scheduler[1].account",
            "expected a string, got a boolean",
        ),
        (
            [{"id": "a"}, {"id": "b", "model": []}],
            "scheduler[1].model",
            "expected a string, got an array",
        ),
        ([5], "scheduler[0]", "expected an object, got a number"),  # first and alone
    ],
)
def test_flat_queue_errors_name_the_item_and_field(body: object, field: str, text: str) -> None:
    assert payload_error(lambda: pixverse.parse_queue(body, NOW)) == (
        "pixverse",
        field,
        f"pixverse: {text} at {field!r}",
    )


def test_flat_queue_checked_path_whole_job() -> None:
    """Numbers where text belongs (the fast path declines them): coerced, every field read."""
    item = {
        "id": None,
        "imageId": 42,
        "type": "Video",
        "email": 7,
        "account": "x",
        "model": 2.5,
        "started": 1764330000,
        "elapsed": 12.9,
    }
    assert pixverse.parse_queue([item], NOW) == (
        Job("pixverse", "42", "video", "7", utc(2025, 11, 28, 11, 40), 12, "2.5"),
    )
    item = {"videoId": 43, "account": "acc", "started": "2026-11-28T11:55:00Z"}
    assert pixverse.parse_queue([item], NOW) == (
        Job("pixverse", "43", "video", "acc", utc(2026, 11, 28, 11, 55), 300, None),
    )


@pytest.mark.parametrize(
    ("config", "field", "text"),
    [
        ([], "accounts", "expected an object, got an array"),
        ({"a": {"maxJobs": 1}, "b": 3}, "accounts.b", "expected an object, got a number"),
        ({"a": {"maxJobs": "many"}}, "accounts.a.maxJobs", "expected a number, got a string"),
    ],
)
def test_accounts_from_config_errors_name_the_field(config: object, field: str, text: str) -> None:
    assert payload_error(lambda: parse.accounts_from_config(config, "runway", "accounts", [])) == (
        "runway",
        field,
        f"runway: {text} at {field!r}",
    )


def test_accounts_from_config_clamps_counts() -> None:
    jobs = [Job("p", str(i), account="a") for i in range(3)]
    got = parse.accounts_from_config(
        {"a": {"maxJobs": -4}, "b": {"maxJobs": 10**9}}, "p", "accounts", jobs
    )
    assert got == (Account("a", 0, 3, 0), Account("b", MAX_COUNT, 0, MAX_COUNT))


# ------------------------------------------------------------------------ available_accounts


def test_available_accounts_whole_rows() -> None:
    jobs = [
        Job("p", "1", account="a@x"),
        Job("p", "2", account="a@x"),
        Job("p", "3", account="b@y"),
        Job("p", "4"),
    ]
    body = {
        "available": [
            {"email": "a@x", "maxJobs": 3},  # executing counted from the jobs, available worked out
            {"account": "b@y", "maxJobs": 1, "executing": 4},  # over-committed: none free
            {"email": None, "account": "c@z", "maxJobs": 5, "executing": 1, "available": 2},
            {"email": "d@w"},  # nothing known but the name
            {"email": "a@x", "maxJobs": 9},  # listed twice: the first row stands
        ]
    }
    assert parse.available_accounts(body, "pixverse", jobs) == (
        Account("a@x", 3, 2, 1),
        Account("b@y", 1, 4, 0),
        Account("c@z", 5, 1, 2),
        Account("d@w", None, 0, None),
    )


@pytest.mark.parametrize("where", ["first", "last", "alone"])
def test_available_accounts_counts_jobs_only_for_rows_without_executing(where: str) -> None:
    jobs = [Job("p", "1", account="n@x"), Job("p", "2", account="k@x")]
    counted = {"email": "n@x", "maxJobs": 2}
    given_ = {"email": "k@x", "maxJobs": 2, "executing": 0}
    rows = {"first": [counted, given_], "last": [given_, counted], "alone": [counted]}[where]
    got = {a.account: a for a in parse.available_accounts({"available": rows}, "p", jobs)}
    assert got["n@x"] == Account("n@x", 2, 1, 1)
    if where != "alone":
        assert got["k@x"] == Account("k@x", 2, 0, 2)


def test_available_accounts_clamps_counts() -> None:
    body = {
        "available": [
            {"email": "a", "maxJobs": 10**9, "executing": -3, "available": 10**9},
            {"email": "b", "maxJobs": 2, "available": -2},
        ]
    }
    assert parse.available_accounts(body, "p") == (
        Account("a", MAX_COUNT, 0, MAX_COUNT),
        Account("b", 2, 0, 0),
    )
    jobs = [Job("p", str(i), account="c") for i in range(MAX_COUNT + 1)]
    assert parse.available_accounts({"available": [{"email": "c"}]}, "p", jobs) == (
        Account("c", None, MAX_COUNT, None),
    )


@pytest.mark.parametrize(
    ("body", "field", "text"),
    [
        ([], "(body)", "expected an object, got an array"),
        ({}, "available", "expected an array, got null"),
        ({"available": [{"email": "a"}, 3]}, "available[1]", "expected an object, got a number"),
        (
            {"available": [{"email": "a"}, {"email": ""}]},
            "available[1].email",
            "expected an account name, got an empty string",
        ),
        (
            {"available": [{"email": "a"}, {"maxJobs": 1}]},
            "available[1].account",
            "expected an account name, got null",
        ),
        (
            {"available": [{"email": "a", "maxJobs": "x"}]},
            "available[0].maxJobs",
            "expected a number, got a string",
        ),
        (
            {"available": [{"email": "a", "executing": []}]},
            "available[0].executing",
            "expected a number, got an array",
        ),
        (
            {"available": [{"email": "a", "available": {}}]},
            "available[0].available",
            "expected a number, got an object",
        ),
    ],
)
def test_available_accounts_errors_name_the_field(body: object, field: str, text: str) -> None:
    assert payload_error(lambda: parse.available_accounts(body, "kling")) == (
        "kling",
        field,
        f"kling: {text} at {field!r}",
    )


# ------------------------------------------------------------------------- exact edges


def test_opt_int_reads_exactly_what_int_reads() -> None:
    assert opt_int("9007199254740993", "p", "f") == 9007199254740993  # no float round-off
    assert opt_int("1E3", "p", "f") == 1000
    assert opt_int("-2.5", "p", "f") == -3
    assert opt_int(" 7 ", "p", "f") == 7
    assert opt_int("0" * 63 + "8", "p", "f") == 8  # 64 characters: still read
    assert payload_error(lambda: opt_int("0" * 64 + "8", "p", "f"))[2] == (
        "p: expected a number, got a string at 'f'"
    )


def test_text_at_exactly_the_length_bound_is_read() -> None:
    fraction = "1" * (64 - len("2024-09-25T01:55:16.Z"))
    time_64 = f"2024-09-25T01:55:16.{fraction}Z"
    assert len(time_64) == 64 and parse_time(time_64) == utc(2024, 9, 25, 1, 55, 16, 111111)
    assert parse_time(time_64[:-1] + "1Z") is None  # 65: not read
    assert parse_elapsed("1E3") == 1000 and parse_elapsed("2.5e1") == 25


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-09-25T03:55:16+02", utc(2024, 9, 25, 1, 55, 16)),  # hours only
        ("2024-09-25T01:55:16-01", utc(2024, 9, 25, 2, 55, 16)),
        ("2024-09-25T03:55:16 +0230", utc(2024, 9, 25, 1, 25, 16)),
    ],
)
def test_parse_time_offsets(value: str, expected: datetime) -> None:
    assert parse_time(value) == expected


def test_parse_time_is_utc_whatever_the_machines_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    monkeypatch.setenv("TZ", "IST-5:30")  # POSIX form: needs no tz database
    time.tzset()
    try:
        got = parse_time(datetime(2024, 1, 1, 2, tzinfo=timezone(timedelta(hours=2))))
        assert got == utc(2024, 1, 1) and got.utcoffset() == timedelta(0)
        assert parse_time(1727229316) == utc(2024, 9, 25, 1, 55, 16)
    finally:
        monkeypatch.undo()
        time.tzset()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        # the clock regex's path (the fast path declines fractions and non-ASCII digits)
        ("1:02:03.5", 3723),
        ("١:٠٢:٠٣", 3723),
        ("٣:٤٥", 225),
        # minutes and seconds have one or two digits on either path
        ("1:123", None),
        ("1:02:123", None),
        ("1:123:03", None),
        ("1:5", 65),
        ("1:2:3", 3723),
    ],
)
def test_parse_elapsed_clock_shapes(value: str, expected: int | None) -> None:
    assert parse_elapsed(value) == expected
