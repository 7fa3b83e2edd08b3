"""Mureka (music/TTS): the documented bodies of its queue and job endpoints and mutations of
them (missing keys, wrong types, null, a `total` against the list, elapsed in every style and
garbage), the 7-day 404. Views, accounts and HTTP: `test_mureka_views.py`."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.errors import PayloadError
from bot.models import (
    MAX_ELAPSED_SECONDS,
    Account,
    Job,
    JobResult,
    Outcome,
)
from bot.providers import mureka

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
TITLES = {"pixverse": "PixVerse", "mureka": "Mureka"}
ID1 = "j1128115936123456789m-u777-a1234567890-bot:mureka"
ID2 = "j1128115940123456790m-u777-a1234567890-bot:mureka"
ID3 = "j1128115950123456791m-u777-a2345678901-bot:mureka"

#: The documented `GET /v1/mureka/jobs` body (endpoints page, section 6), ids filled in.
DOC_QUEUE: dict[str, Any] = {
    "total": 3,
    "music": 2,
    "tts": 1,
    "accounts": {
        "1234567890": {
            "total": 2,
            "music": 1,
            "tts": 1,
            "jobs": [
                {"jobid": ID1, "verb": "music/create", "elapsed": "00:24"},
                {"jobid": ID2, "verb": "tts/create", "elapsed": "45s"},
            ],
        },
        "2345678901": {
            "total": 1,
            "music": 1,
            "tts": 0,
            "jobs": [{"jobid": ID3, "verb": "music/create", "elapsed": "1m 23s"}],
        },
    },
    "availableAccounts": ["1234567890", "3456789012"],
}
#: The documented `GET /v1/mureka/jobs/{jobid}` body.
DOC_JOB: dict[str, Any] = {
    "jobid": ID1,
    "verb": "music/create",
    "jobType": "music",
    "status": "completed",
    "created": "2026-11-28T11:59:36.000Z",
    "updated": "2026-11-28T12:01:10.500Z",
    "request": {
        "prompt": "a calm piano piece",
        "model": "auto",
        "replyUrl": "https://hooks.example/x",
        "replyRef": "r-1",
    },
    "response": {
        "feed_id": 11223344,
        "state": 3,
        "songs": [
            {"song_id": "s1", "mp3_url": "https://cdn.mureka.example/1.mp3", "version": "1"},
            {"song_id": "s2", "mp3_url": "https://cdn.mureka.example/2.mp3", "version": "1"},
        ],
    },
}


def job(job_id: str, account: str, elapsed: int | None) -> Job:
    return Job("mureka", job_id, "music", account, None, elapsed, None)


def no_limit(account: str, executing: int) -> Account:
    return Account(account, None, executing, None)


# ------------------------------------------------------------------------------ the queue


def test_documented_queue_body() -> None:
    jobs, accounts = mureka.parse_jobs(DOC_QUEUE)
    assert jobs == (
        job(ID1, "1234567890", 24),
        job(ID2, "1234567890", 45),
        job(ID3, "2345678901", 83),
    )
    assert accounts == (
        no_limit("1234567890", 2),
        no_limit("2345678901", 1),
        no_limit("3456789012", 0),  # available, running nothing
    )
    assert mureka.parse_queue(DOC_QUEUE, NOW) == jobs
    assert mureka.parse_capacity(DOC_QUEUE) == accounts


def test_the_seed_bodies() -> None:
    seeds = Path(__file__).parent / "data" / "seeds"
    queue = json.loads((seeds / "mureka-v1-jobs.json").read_text())
    jobs, accounts = mureka.parse_jobs(queue)
    assert [(j.account, j.kind, j.elapsed_seconds) for j in jobs] == [
        ("1234567890", "music", 24),
        ("1234567890", "music", 45),
        ("1234567890", "music", 83),
    ]
    assert accounts == (no_limit("1234567890", 3),)  # the list and `total` agree here
    one = json.loads((seeds / "mureka-v1-job.json").read_text())
    assert mureka.parse_job(one, ID1) == mureka.parse_job(
        {
            **DOC_JOB,
            "request": {
                "prompt": "a calm piano piece",
                "replyUrl": "https://hooks.example/x",
                "replyRef": "r-1",
            },
        },
        ID1,
    )


@pytest.mark.parametrize(
    ("elapsed", "seconds"),
    [
        ("00:24", 24),
        ("45s", 45),
        ("1m 23s", 83),
        ("1m23s", 83),
        ("2h 3m", 7380),
        ("1:02:03", 3723),
        (" 00:24 ", 24),
        (24, 24),
        (24.9, 24),
        ("24", 24),
        (0, 0),
        ("525600:00", MAX_ELAPSED_SECONDS),
        (10**400, MAX_ELAPSED_SECONDS),
        ("abc", None),
        ("1 fortnight", None),
        ("", None),
        (-5, None),
        (None, None),
        (True, None),
        ([24], None),
        ({"s": 24}, None),
    ],
)
def test_elapsed_in_every_style_and_garbage(elapsed: object, seconds: int | None) -> None:
    body = copy.deepcopy(DOC_QUEUE)
    body["accounts"]["1234567890"]["jobs"][0]["elapsed"] = elapsed
    assert mureka.parse_queue(body, NOW)[0].elapsed_seconds == seconds


def test_the_listed_jobs_decide_executing_whatever_total_says() -> None:
    body = copy.deepcopy(DOC_QUEUE)
    body["total"], body["music"] = 99, "many"
    body["accounts"]["1234567890"]["total"] = 7
    body["accounts"]["2345678901"]["total"] = None
    assert mureka.parse_capacity(body) == mureka.parse_capacity(DOC_QUEUE)


def test_an_id_listed_twice_is_one_job_of_its_first_account() -> None:
    body = copy.deepcopy(DOC_QUEUE)
    body["accounts"]["2345678901"]["jobs"].append({"jobid": ID1, "elapsed": "09:00"})
    jobs, accounts = mureka.parse_jobs(body)
    assert [j.id for j in jobs] == [ID1, ID2, ID3]
    assert jobs[0] == job(ID1, "1234567890", 24)
    assert [a.executing for a in accounts] == [2, 1, 0]


@pytest.mark.parametrize(
    ("mutate", "jobs", "accounts"),
    [
        pytest.param(
            lambda b: b.pop("availableAccounts"),
            3,
            [("1234567890", 2), ("2345678901", 1)],
            id="no-availableAccounts",
        ),
        pytest.param(
            lambda b: b.update(availableAccounts=None),
            3,
            [("1234567890", 2), ("2345678901", 1)],
            id="null-availableAccounts",
        ),
        pytest.param(
            lambda b: b.update(availableAccounts=[4567890123]),
            3,
            [("1234567890", 2), ("2345678901", 1), ("4567890123", 0)],
            id="numeric-account-id",
        ),
        pytest.param(
            lambda b: b["accounts"]["1234567890"].pop("jobs"),
            1,
            [("1234567890", 0), ("2345678901", 1), ("3456789012", 0)],
            id="group-without-jobs",
        ),
        pytest.param(
            lambda b: b.update(accounts={}, total=0),
            0,
            [("1234567890", 0), ("3456789012", 0)],
            id="nothing-running",
        ),
        pytest.param(
            lambda b: (b.pop("accounts"), b.pop("total")),
            0,
            [("1234567890", 0), ("3456789012", 0)],
            id="no-accounts-no-total",
        ),
        pytest.param(
            lambda b: b.update(accounts=None, total=0),
            0,
            [("1234567890", 0), ("3456789012", 0)],
            id="null-accounts-total-0",
        ),
        pytest.param(
            lambda b: b["accounts"]["1234567890"]["jobs"][0].update(jobid=42),
            3,
            [("1234567890", 2), ("2345678901", 1), ("3456789012", 0)],
            id="numeric-jobid",
        ),
        pytest.param(
            lambda b: b["accounts"]["1234567890"]["jobs"][0].update(
                jobId=b["accounts"]["1234567890"]["jobs"][0].pop("jobid")
            ),
            3,
            [("1234567890", 2), ("2345678901", 1), ("3456789012", 0)],
            id="jobId-key",
        ),
    ],
)
def test_mutated_queue_bodies_that_still_read(
    mutate: Any, jobs: int, accounts: list[tuple[str, int]]
) -> None:
    body = copy.deepcopy(DOC_QUEUE)
    mutate(body)
    got_jobs, got_accounts = mureka.parse_jobs(body)
    assert len(got_jobs) == jobs
    assert got_accounts == tuple(no_limit(a, n) for a, n in accounts)


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda b: b.pop("accounts"), "accounts"),  # total 3, yet no accounts: not "empty"
        (lambda b: b.update(accounts=None), "accounts"),
        (lambda b: b.update(accounts=None, total="x"), "total"),
        (lambda b: b.update(accounts=[]), "accounts"),
        (lambda b: b.update(accounts="1234567890"), "accounts"),
        (lambda b: b["accounts"].update({"1234567890": []}), "accounts.1234567890"),
        (lambda b: b["accounts"]["1234567890"].update(jobs={}), "accounts.1234567890.jobs"),
        (
            lambda b: b["accounts"]["1234567890"]["jobs"].append("j1"),
            "accounts.1234567890.jobs[2]",
        ),
        (
            lambda b: b["accounts"]["1234567890"]["jobs"].append({"verb": "music/create"}),
            "accounts.1234567890.jobs[2].jobid",
        ),
        (
            lambda b: b["accounts"]["1234567890"]["jobs"][0].update(jobid=""),
            "accounts.1234567890.jobs[0].jobid",
        ),
        (
            lambda b: b["accounts"]["1234567890"]["jobs"][0].update(jobid=None),
            "accounts.1234567890.jobs[0].jobid",
        ),
        (
            lambda b: b["accounts"]["1234567890"]["jobs"][0].update(model=["auto"]),
            "accounts.1234567890.jobs[0].model",
        ),
        (lambda b: b.update(availableAccounts="1234567890"), "availableAccounts"),
        (lambda b: b.update(availableAccounts=[None]), "availableAccounts[0]"),
        (lambda b: b.update(availableAccounts=[{"id": 1}]), "availableAccounts[0]"),
    ],
)
def test_mutated_queue_bodies_that_are_payload_errors(mutate: Any, field: str) -> None:
    body = copy.deepcopy(DOC_QUEUE)
    mutate(body)
    with pytest.raises(PayloadError) as caught:
        mureka.parse_jobs(body)
    assert (caught.value.provider, caught.value.field) == ("mureka", field)


@pytest.mark.parametrize("body", [None, [], "jobs", 3, True])
def test_a_body_that_is_no_object_is_a_payload_error(body: object) -> None:
    with pytest.raises(PayloadError) as caught:
        mureka.parse_jobs(body)
    assert (caught.value.provider, caught.value.field) == ("mureka", "(body)")


# --------------------------------------------------------------------------- one job


def test_documented_job_body() -> None:
    assert mureka.parse_job(DOC_JOB, ID1) == JobResult(
        provider="mureka",
        id=ID1,
        outcome=Outcome.COMPLETED,
        account="1234567890",
        kind="music",
        created=datetime(2026, 11, 28, 11, 59, 36, tzinfo=UTC),
        updated=datetime(2026, 11, 28, 12, 1, 10, 500_000, tzinfo=UTC),
        prompt="a calm piano piece",
        model="auto",
        urls=("https://cdn.mureka.example/1.mp3", "https://cdn.mureka.example/2.mp3"),
        error=None,
        raw_status="completed",
        extra={"jobType": "music", "verb": "music/create"},
        reply_ref="r-1",
    )


@pytest.mark.parametrize(
    ("fields", "outcome", "error"),
    [
        ({"status": "created", "response": {"state": 1}}, Outcome.RUNNING, None),
        ({"status": "failed", "error": "Generation failed"}, Outcome.FAILED, "Generation failed"),
        (
            {"status": "failed", "error": "Generation failed", "errorDetails": "timed out"},
            Outcome.FAILED,
            "Generation failed: timed out",
        ),
        (
            {"status": "failed", "errorDetails": "Content moderation: lyrics flagged"},
            Outcome.MODERATED,
            "Content moderation: lyrics flagged",
        ),
        ({"status": "cancelled"}, Outcome.CANCELLED, None),
        ({"status": "COMPLETED"}, Outcome.COMPLETED, None),
        ({"status": "exploded"}, Outcome.UNKNOWN, None),
        ({"status": None}, Outcome.UNKNOWN, None),
    ],
)
def test_job_statuses(fields: dict[str, Any], outcome: Outcome, error: str | None) -> None:
    body = {**DOC_JOB, "response": None, **fields}
    result = mureka.parse_job(body, ID1)
    assert (result.outcome, result.error) == (outcome, error)
    assert result.urls == ()


def test_a_tts_job_is_music_and_says_tts() -> None:
    body = {
        "jobid": ID2,
        "verb": "tts/create",
        "jobType": "tts",
        "status": "completed",
        "request": {"text": "Hello there"},
        "response": {"songs": []},
    }
    result = mureka.parse_job(body, ID2)
    assert (result.kind, result.prompt, result.urls) == ("music", "Hello there", ())
    assert result.extra == {"jobType": "tts", "verb": "tts/create"}


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"status": ["completed"]}, "status"),
        ({"response": "x"}, "response"),
        ({"response": {"songs": {}}}, "response.songs"),
        ({"response": {"songs": ["x"]}}, "response.songs[0]"),
        ({"response": {"songs": [{"mp3_url": {}}]}}, "response.songs[0].mp3_url"),
        ({"request": []}, "request"),
        ({"error": True}, "error"),
        ({"jobType": {}}, "jobType"),
    ],
)
def test_mutated_job_bodies_that_are_payload_errors(fields: dict[str, Any], field: str) -> None:
    with pytest.raises(PayloadError) as caught:
        mureka.parse_job({**DOC_JOB, **fields}, ID1)
    assert (caught.value.provider, caught.value.field) == ("mureka", field)


def test_a_404_is_unknown_and_says_why() -> None:
    assert mureka.expired(ID1) == JobResult(
        provider="mureka",
        id=ID1,
        outcome=Outcome.UNKNOWN,
        account="1234567890",
        kind="music",
        error="not found: expired or never existed (Mureka keeps jobs for 7 days)",
        raw_status="404",
        found=False,
    )
