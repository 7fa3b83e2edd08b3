"""The PixVerse, MiniMax and Dreamina adapters: documented bodies in, normalised models out.

The pure parsers are fed every documented example (the seed pages' bodies live in
tests/data/seeds/; the other shapes useapi.net's pages document are inline below). The network
paths (`snapshot()`, `job()`) are only checked for routing, concurrency and fallbacks, through an
`httpx.MockTransport`; the simulator-over-sockets integration tests cover the rest.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from bot import errors
from bot.diff import diff
from bot.errors import PayloadError
from bot.models import (
    EARLIEST,
    LATEST,
    MAX_COUNT,
    MAX_ELAPSED_SECONDS,
    Account,
    Job,
    Outcome,
    Snapshot,
)
from bot.providers import dreamina, load, minimax, mureka, pixverse, runway
from bot.useapi import UseapiClient

SEEDS = Path(__file__).parent / "data" / "seeds"
NOW = datetime(2024, 9, 25, 2, 0, 0, tzinfo=UTC)


def seed(name: str) -> Any:
    return json.loads((SEEDS / f"{name}.json").read_text(encoding="utf-8"))


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, micro: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, micro, tzinfo=UTC)


def rows(jobs: tuple[Job, ...]) -> list[tuple[Any, ...]]:
    return [
        (j.provider, j.id, j.kind, j.account, j.started, j.elapsed_seconds, j.model) for j in jobs
    ]


def caps(accounts: tuple[Account, ...]) -> list[tuple[Any, ...]]:
    return [(a.account, a.max_jobs, a.executing, a.available) for a in accounts]


STARTED_1 = utc(2024, 9, 25, 1, 55, 16, 128000)
STARTED_2 = utc(2024, 9, 25, 1, 58, 18, 555000)


# ======================================================================================= PixVerse


def test_pixverse_seed_scheduler_older_videoid_items() -> None:
    jobs = pixverse.parse_queue(seed("pixverse-v2-scheduler"), NOW)
    assert rows(jobs) == [
        (
            "pixverse",
            "user:user_id-pixverse:email-video:id1",
            "video",
            "email",
            STARTED_1,
            237,
            None,
        ),
        (
            "pixverse",
            "user:user_id-pixverse:email-video:inN",
            "video",
            "email",
            STARTED_2,
            35,
            None,
        ),
    ]


def test_pixverse_seed_available() -> None:
    body = seed("pixverse-v2-scheduler-available")
    jobs = pixverse.parse_queue(body, NOW)  # the same items sit under "executing"
    assert rows(jobs) == [
        (
            "pixverse",
            "user:user_id-pixverse:email-video:id1",
            "video",
            "email",
            STARTED_1,
            237,
            None,
        ),
        (
            "pixverse",
            "user:user_id-pixverse:email-image:id2",
            "image",
            "email",
            STARTED_2,
            35,
            None,
        ),
    ]
    assert caps(pixverse.parse_capacity(body, jobs)) == [
        ("<email_1>", 5, 0, 5),
        ("<email_2>", 8, 3, 2),
        ("<email_N>", 3, 2, 1),
    ]


def test_pixverse_current_revision_id_and_type() -> None:
    body = [
        {
            "id": "user:U-pixverse:EMAIL-video:123",
            "type": "video",
            "started": "2024-09-25T01:55:16.128Z",
            "elapsed": "03:57",
            "replyUrl": "…",
            "replyRef": "…",
        },
        {"id": "user:U-pixverse:EMAIL-image:124", "type": "image"},
        {"id": "user:U-pixverse:EMAIL-music:125", "type": "music", "extra": {"x": 1}},
        {"id": "user:U-pixverse:EMAIL-video:126", "type": "image"},  # explicit type wins
        {"id": "user:U-pixverse:EMAIL-video:127", "type": "podcast"},
    ]
    jobs = pixverse.parse_queue(body, NOW)
    assert [(j.id.rsplit(":", 1)[1], j.kind, j.account) for j in jobs] == [
        ("123", "video", "EMAIL"),
        ("124", "image", "EMAIL"),
        ("125", "music", "EMAIL"),
        ("126", "image", "EMAIL"),
        ("127", "video", "EMAIL"),
    ]
    assert jobs[0].elapsed_seconds == 237
    assert jobs[1].started is None and jobs[1].elapsed_seconds is None


def test_pixverse_elapsed_computed_from_started_when_missing() -> None:
    jobs = pixverse.parse_queue(
        [
            {"id": "user:1-pixverse:a@b.c-video:7", "started": "2024-09-25T01:55:16.128Z"},
            {
                "id": "user:1-pixverse:a@b.c-video:8",
                "started": "2024-09-25T01:55:16Z",
                "elapsed": "garbage",
            },
        ],
        NOW,
    )
    assert [j.elapsed_seconds for j in jobs] == [283, 284]


def test_pixverse_empty_queue_and_numeric_id() -> None:
    assert pixverse.parse_queue([], NOW) == ()
    (job,) = pixverse.parse_queue([{"id": 123456789, "email": "a@b.c"}], NOW)
    assert (job.id, job.account, job.kind) == ("123456789", "a@b.c", None)


def test_pixverse_capacity_accepts_account_key_and_fills_gaps() -> None:
    jobs = pixverse.parse_queue(
        [{"id": "user:1-pixverse:a@b.c-video:1"}, {"id": "user:1-pixverse:a@b.c-video:2"}], NOW
    )
    body = {
        "available": [
            {"account": "a@b.c", "maxJobs": 5},
            {"email": "d@e.f", "maxJobs": 2, "executing": 3},
            {"email": "g@h.i", "executing": 1},
        ]
    }
    assert caps(pixverse.parse_capacity(body, jobs)) == [
        ("a@b.c", 5, 2, 3),
        ("d@e.f", 2, 3, 0),
        ("g@h.i", None, 1, None),
    ]


# documented body of GET /v2/pixverse/videos/{video_id}
PIXVERSE_VIDEO = {
    "video_id": "user:1-pixverse:a@b.c-video:112233",
    "video_status": 1,
    "created_at": "2024-11-11T12:34:56Z",
    "url": "https://media.pixverse.ai/x.mp4",
    "queue_data": {"queue_time": 1, "queue_count": 0},
    "model": "v3",
    "duration": 5,
}
PIXVERSE_ID = "user:1-pixverse:a@b.c-video:112233"


def test_pixverse_video_completed() -> None:
    result = pixverse.parse_video(PIXVERSE_VIDEO, PIXVERSE_ID)
    assert result.outcome is Outcome.COMPLETED
    assert (result.provider, result.id, result.account, result.kind) == (
        "pixverse",
        PIXVERSE_ID,
        "a@b.c",
        "video",
    )
    assert result.urls == ("https://media.pixverse.ai/x.mp4",)
    assert result.created == utc(2024, 11, 11, 12, 34, 56)
    assert result.model == "v3"
    assert result.error is None


@pytest.mark.parametrize(
    ("fields", "outcome"),
    [
        (
            {"video_status": 1, "video_status_name": "COMPLETED", "video_status_final": True},
            Outcome.COMPLETED,
        ),
        (
            {"video_status": 5, "video_status_name": "QUEUED", "video_status_final": True},
            Outcome.RUNNING,
        ),  # the docs' "final" for QUEUED is a mistake
        (
            {"video_status": 10, "video_status_name": "GENERATING", "video_status_final": False},
            Outcome.RUNNING,
        ),
        ({"video_status": 7}, Outcome.MODERATED),
        ({"video_status": 8, "errCode": 500054}, Outcome.FAILED),
        (
            {"video_status": 99, "video_status_name": "FAILED", "video_status_final": True},
            Outcome.FAILED,
        ),
        ({"video_status_name": "MODERATED"}, Outcome.MODERATED),
        ({"video_status_name": "CANCELLED"}, Outcome.CANCELLED),
        ({"video_status": 42, "video_status_final": False}, Outcome.RUNNING),
        ({"video_status": 42, "video_status_final": True}, Outcome.UNKNOWN),
        ({"video_status": "1"}, Outcome.COMPLETED),
        ({}, Outcome.UNKNOWN),
    ],
)
def test_pixverse_video_statuses(fields: dict[str, Any], outcome: Outcome) -> None:
    assert pixverse.parse_video(fields, PIXVERSE_ID).outcome is outcome


def test_pixverse_video_failure_details_and_image_ids() -> None:
    failed = pixverse.parse_video(
        {"video_status_name": "FAILED", "errCode": 500054, "error": "generation failed"},
        PIXVERSE_ID,
    )
    assert failed.error == "generation failed (errCode 500054)"
    assert failed.raw_status == "FAILED"
    image = pixverse.parse_video({"video_status": 1, "url": ""}, "user:1-pixverse:a@b.c-image:9")
    assert (image.kind, image.urls, image.raw_status) == ("image", (), "1")


def test_pixverse_404_means_still_processing() -> None:
    result = pixverse.still_processing(PIXVERSE_ID)
    assert result.outcome is Outcome.RUNNING and not result.outcome.final
    assert result.account == "a@b.c"


def test_pixverse_seed_legacy_job() -> None:
    result = pixverse.parse_legacy_job(seed("pixverse-v1-jobs"), "<jobid>")
    assert result.outcome is Outcome.COMPLETED
    assert result.urls == ("<generated video url>",)
    assert result.prompt == "Sun breaking through clouds over the beautiful view of San Francisco"
    assert result.created == utc(2023, 9, 9, 2, 4, 49, 667000)
    assert result.updated == utc(2023, 9, 9, 2, 19, 20, 256000)
    assert result.extra == {"verb": "pixverse-create_single"}
    assert (result.account, result.error) == (None, None)


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        ("created", Outcome.RUNNING),
        ("started", Outcome.RUNNING),
        ("progress", Outcome.RUNNING),
        ("completed", Outcome.COMPLETED),
        ("failed", Outcome.FAILED),
        ("moderated", Outcome.MODERATED),
        ("cancelled", Outcome.CANCELLED),
        ("brand-new", Outcome.UNKNOWN),
        (None, Outcome.UNKNOWN),
    ],
)
def test_pixverse_legacy_statuses(status: str | None, outcome: Outcome) -> None:
    result = pixverse.parse_legacy_job(
        {"jobid": "j1", "status": status, "error": "Moderated", "errorDetails": "nsfw"}, "j1"
    )
    assert result.outcome is outcome
    assert result.error == "Moderated: nsfw"


def test_pixverse_legacy_410_means_expired() -> None:
    result = pixverse.legacy_expired("j1")
    assert (result.outcome, result.error) == (Outcome.UNKNOWN, "expired")


# ======================================================================================== MiniMax


def test_minimax_seed_scheduler() -> None:
    jobs = minimax.parse_queue(seed("minimax-v1-scheduler"), NOW)
    assert rows(jobs) == [
        (
            "minimax",
            "user:user_id-minimax:account-video:id1",
            "video",
            "account",
            STARTED_1,
            237,
            None,
        ),
        # the docs put this image id under "videoId": the id's "-image:" wins
        (
            "minimax",
            "user:user_id-minimax:account-image:inN",
            "image",
            "account",
            STARTED_2,
            35,
            None,
        ),
    ]


def test_minimax_image_key_and_numeric_started() -> None:
    jobs = minimax.parse_queue(
        [
            {"imageId": "user:1-minimax:123456-image:5", "started": 1727229316128},
            {"imageId": "opaque-5", "started": 1727229316.128, "elapsed": "1m 23s"},
            {"videoId": "opaque-6", "started": "1727229316"},
        ],
        NOW,
    )
    assert [(j.kind, j.account, j.started, j.elapsed_seconds) for j in jobs] == [
        ("image", "123456", STARTED_1, 283),
        ("image", None, STARTED_1, 83),
        ("video", None, utc(2024, 9, 25, 1, 55, 16), 284),
    ]


# documented body of GET /v1/minimax/scheduler/available
MINIMAX_AVAILABLE = {
    "executing": [
        {
            "videoId": "user:1-minimax:123456-video:1",
            "started": "2024-09-25T01:55:16Z",
            "elapsed": "03:57",
            "replyUrl": "…",
            "replyRef": "…",
        },
        {
            "videoId": "user:1-minimax:123456-image:2",
            "started": "2024-09-25T01:58:18Z",
            "elapsed": "00:35",
        },
    ],
    "available": [{"account": "123456", "maxJobs": 5, "executing": 3, "available": 2}],
}


def test_minimax_available_with_account_key() -> None:
    jobs = minimax.parse_queue(MINIMAX_AVAILABLE, NOW)
    assert [(j.kind, j.account, j.elapsed_seconds) for j in jobs] == [
        ("video", "123456", 237),
        ("image", "123456", 35),
    ]
    assert caps(minimax.parse_capacity(MINIMAX_AVAILABLE, jobs)) == [("123456", 5, 3, 2)]


# documented body of GET /v1/minimax/accounts (abridged jwt)
MINIMAX_ACCOUNTS = {
    "123456": {
        "account": "123456",
        "maxJobs": 3,
        "supportVideo": True,
        "supportChat": True,
        "jwt": {"token": "…", "exp": 1734858598.864, "iat": 1734000000.1, "host": "hailuoai.video"},
    },
    "654321": {"account": "654321", "maxJobs": 1, "supportMusic": True},
}


def test_minimax_accounts_fallback_counts_video_jobs() -> None:
    jobs = minimax.parse_queue(
        [
            {"videoId": "user:1-minimax:123456-video:1"},
            {"videoId": "user:1-minimax:123456-video:2"},
            {"imageId": "user:1-minimax:123456-image:3"},  # images do not use video slots
            {"videoId": "user:1-minimax:654321-video:4"},
            {"videoId": "user:1-minimax:654321-video:5"},
            {"videoId": "user:1-minimax:999999-video:6"},
        ],
        NOW,
    )
    assert caps(minimax.parse_accounts(MINIMAX_ACCOUNTS, jobs)) == [
        ("123456", 3, 2, 1),
        ("654321", 1, 2, 0),
        ("999999", None, 1, None),
    ]


# documented body of GET /v1/minimax/videos/{videoId}
MINIMAX_VIDEO = {
    "id": "9876",
    "videoId": "user:1-minimax:123456-video:9876",
    "status": 2,
    "statusLabel": "completed",
    "statusFinal": True,
    "percent": 100,
    "message": "",
    "videoURL": "https://cdn.hailuoai.video/v.mp4",
    "downloadURL": "https://cdn.hailuoai.video/v-dl.mp4",
    "coverURL": "https://cdn.hailuoai.video/c.jpg",
    "width": 1280,
    "height": 720,
    "canRetry": False,
    "canAppeal": False,
}
MINIMAX_ID = "user:1-minimax:123456-video:9876"


def test_minimax_video_completed() -> None:
    result = minimax.parse_video(MINIMAX_VIDEO, MINIMAX_ID)
    assert result.outcome is Outcome.COMPLETED
    assert (result.account, result.kind, result.error) == ("123456", "video", None)
    assert result.urls == (
        "https://cdn.hailuoai.video/v.mp4",
        "https://cdn.hailuoai.video/v-dl.mp4",
    )
    assert result.raw_status == "2 completed"
    assert result.extra == {"percent": "100"}


@pytest.mark.parametrize(
    ("fields", "outcome"),
    [
        ({"status": 2, "statusFinal": False}, Outcome.RUNNING),
        ({"status": 1, "statusFinal": False, "percent": 40}, Outcome.RUNNING),
        ({"status": 3, "statusFinal": True}, Outcome.FAILED),
        ({"status": 5, "statusFinal": True}, Outcome.MODERATED),
        ({"status": 7}, Outcome.MODERATED),
        ({"status": 14}, Outcome.MODERATED),
        ({"status": 0}, Outcome.RUNNING),
        ({"status": 11}, Outcome.RUNNING),
        ({"status": 12}, Outcome.RUNNING),
        ({"status": 99, "statusLabel": "cancelled", "statusFinal": True}, Outcome.CANCELLED),
        ({"status": 99, "statusFinal": True}, Outcome.UNKNOWN),
        ({"status": 1, "statusFinal": True}, Outcome.UNKNOWN),
        ({}, Outcome.UNKNOWN),
    ],
)
def test_minimax_video_statuses(fields: dict[str, Any], outcome: Outcome) -> None:
    assert minimax.parse_video(fields, MINIMAX_ID).outcome is outcome


def test_minimax_message_is_the_error_only_on_failure() -> None:
    failed = minimax.parse_video(
        {"status": 3, "statusFinal": True, "message": "GPU on fire"}, MINIMAX_ID
    )
    assert failed.error == "GPU on fire"
    done = minimax.parse_video({"status": 2, "statusFinal": True, "message": "success"}, MINIMAX_ID)
    assert done.error is None


def test_minimax_404_means_moderated_and_removed() -> None:
    result = minimax.removed(MINIMAX_ID)
    assert result.outcome is Outcome.MODERATED
    assert result.error is not None and "moderated and removed" in result.error
    assert result.account == "123456"


# ======================================================================================= Dreamina


def test_dreamina_seed_scheduler() -> None:
    jobs = dreamina.parse_queue(seed("dreamina-v1-scheduler"), NOW)
    assert rows(jobs) == [
        (
            "dreamina",
            "j0223140530123456789v-u12345-US:user@example.com:dreamina",
            "video",
            "US:user@example.com",
            None,
            45,
            "seedance-2.0",
        )
    ]
    assert dreamina.parse_queue(seed("dreamina-v1-scheduler-empty"), NOW) == ()


def test_dreamina_seed_as_stored_with_the_email_placeholder() -> None:
    body = {
        "executing": {
            "US:[email protected]": [
                {
                    "jobid": "j0223140530123456789v-u12345-US:[email protected]:dreamina",
                    "submitId": "a1b2c3d4-e5f6-7890-abcd-ef1234567890",
                    "model": "seedance-2.0",
                    "elapsedSeconds": 45,
                    "replyUrl": "https://your-domain.com/webhook",
                }
            ]
        },
        "total": 1,
    }
    (job,) = dreamina.parse_queue(body, NOW)
    assert (job.account, job.elapsed_seconds) == ("US:[email protected]", 45)


def test_dreamina_account_from_group_when_the_id_has_none() -> None:
    body = {
        "executing": {
            "CA:b@x.com": [
                {"jobid": "opaque-1", "elapsedSeconds": 12.9},
                {"jobid": 77, "elapsedSeconds": None},
            ]
        }
    }
    jobs = dreamina.parse_queue(body, NOW)
    assert [(j.id, j.account, j.kind, j.elapsed_seconds) for j in jobs] == [
        ("opaque-1", "CA:b@x.com", "video", 12),
        ("77", "CA:b@x.com", "video", None),
    ]


def test_dreamina_capacity_from_accounts_minus_running() -> None:
    queue = {
        "executing": {
            "US:a@x.com": [{"jobid": f"j1v-u1-US:a@x.com:dreamina{n}"} for n in range(3)],
            "CA:z@x.com": [{"jobid": "j2v-u1-CA:z@x.com:dreamina"}],
        }
    }
    jobs = dreamina.parse_queue(queue, NOW)
    config = {
        "US:a@x.com": {"account": "US:a@x.com", "email": "a@x.com", "region": "US", "maxJobs": 10},
        "US:b@x.com": {
            "account": "US:b@x.com",
            "maxJobs": 2,
            "error": "session expired, re-add the account",
        },
        "CA:c@x.com": {"account": "CA:c@x.com"},
    }
    assert caps(dreamina.parse_accounts(config, jobs)) == [
        ("US:a@x.com", 10, 3, 7),
        ("US:b@x.com", 2, 0, 2),
        ("CA:c@x.com", None, 0, None),
        ("CA:z@x.com", None, 1, None),
    ]


DREAMINA_ID = "j0223140530123456789v-u12345-US:a@x.com:dreamina"


def dreamina_job(**fields: Any) -> dict[str, Any]:
    body = {
        "jobid": DREAMINA_ID,
        "type": "video",
        "status": "created",
        "model": "seedance-2.0",
        "created": "2026-02-23T14:05:30.123Z",
        "updated": "2026-02-23T14:06:00Z",
        "request": {"prompt": "a cat surfing", "replyUrl": "https://x/hook"},
        "response": {"forecastCost": 125},
        "code": 200,
    }
    body.update(fields)
    return body


def test_dreamina_job_created_is_running() -> None:
    result = dreamina.parse_video(dreamina_job(), DREAMINA_ID)
    assert result.outcome is Outcome.RUNNING
    assert (result.account, result.kind, result.model, result.prompt) == (
        "US:a@x.com",
        "video",
        "seedance-2.0",
        "a cat surfing",
    )
    assert result.created == utc(2026, 2, 23, 14, 5, 30, 123000)
    assert result.updated == utc(2026, 2, 23, 14, 6)
    assert result.urls == ()


def test_dreamina_job_completed() -> None:
    result = dreamina.parse_video(
        dreamina_job(
            status="completed",
            response={
                "videoUrl": "https://cdn/v.mp4",
                "videoId": "v1",
                "coverUrl": "https://cdn/c.jpg",
                "width": 1280,
                "height": 720,
                "durationMs": 5000,
                "hasAudio": True,
                "finishTime": 1708700835,
            },
        ),
        DREAMINA_ID,
    )
    assert (result.outcome, result.urls, result.raw_status) == (
        Outcome.COMPLETED,
        ("https://cdn/v.mp4",),
        "completed",
    )


@pytest.mark.parametrize(
    ("fields", "outcome", "error"),
    [
        (
            {"status": "failed", "error": "fail_code: 2043", "errorDetails": "upstream timeout"},
            Outcome.FAILED,
            "fail_code: 2043: upstream timeout",
        ),
        (
            {
                "status": "failed",
                "error": "fail_code: 2038",
                "errorDetails": "Content may contain sensitive information",
            },
            Outcome.MODERATED,
            "fail_code: 2038: Content may contain sensitive information",
        ),
        (
            {"status": "failed", "error": "Prompt violates the community guidelines"},
            Outcome.MODERATED,
            "Prompt violates the community guidelines",
        ),
        (
            {"status": "failed", "errorDetails": "blocked by moderation"},
            Outcome.MODERATED,
            "blocked by moderation",
        ),
        ({"status": "cancelled"}, Outcome.CANCELLED, None),
        ({"status": "mystery"}, Outcome.UNKNOWN, None),
    ],
)
def test_dreamina_job_failures(fields: dict[str, Any], outcome: Outcome, error: str | None) -> None:
    result = dreamina.parse_video(dreamina_job(**fields), DREAMINA_ID)
    assert (result.outcome, result.error) == (outcome, error)


def test_dreamina_image_job_kind() -> None:
    assert (
        dreamina.parse_video(
            dreamina_job(type="image", request=None, response=None), DREAMINA_ID
        ).kind
        == "image"
    )


# ================================================================================ malformed bodies

RUNWAY_ID = "user:1-runwayml:a@x.com-task:0b5cb6c8-1c4d-4f36-9b6e-3f6a0d9b1e2a"
QUEUE_PARSERS = {
    "pixverse": pixverse.parse_queue,
    "minimax": minimax.parse_queue,
    "dreamina": dreamina.parse_queue,
    "mureka": mureka.parse_queue,
    "runway": runway.parse_queue,
}


@pytest.mark.parametrize(
    ("provider", "body", "field"),
    [
        ("pixverse", {"error": "nope"}, "scheduler"),
        ("pixverse", "[]", "scheduler"),
        ("pixverse", None, "scheduler"),
        ("pixverse", [["user:1-pixverse:a-video:1"]], "scheduler[0]"),
        ("pixverse", [{"started": "2024-09-25T01:55:16Z"}], "scheduler[0]"),
        ("pixverse", [{"id": ""}], "scheduler[0].id"),
        ("pixverse", [{"id": {"nested": 1}}], "scheduler[0].id"),
        ("pixverse", [{"id": "x", "type": 3.5}], None),  # a number type is coerced, not fatal
        ("pixverse", [{"id": "x", "type": ["video"]}], "scheduler[0].type"),
        ("pixverse", [{"id": "x", "model": {}}], "scheduler[0].model"),
        ("pixverse", {"executing": {}}, "executing"),
        ("minimax", {"videos": []}, "scheduler"),
        ("minimax", [{"videoId": "a"}, 7], "scheduler[1]"),
        ("minimax", [{"replyUrl": "https://x"}], "scheduler[0]"),
        ("minimax", [{"imageId": True}], "scheduler[0].imageId"),
        ("runway", {"taskId": "t"}, "scheduler"),
        ("runway", [{"taskId": []}], "scheduler[0].taskId"),
        ("runway", [{"replyRef": "r"}], "scheduler[0]"),
        ("dreamina", [], "(body)"),
        ("dreamina", {"total": 0}, "executing"),
        ("dreamina", {"executing": []}, "executing"),
        ("dreamina", {"executing": {"US:a@x": {"jobid": "j"}}}, "executing.US:a@x"),
        ("dreamina", {"executing": {"US:a@x": ["j1"]}}, "executing.US:a@x[0]"),
        ("dreamina", {"executing": {"US:a@x": [{"submitId": "s"}]}}, "executing.US:a@x[0].jobid"),
        (
            "dreamina",
            {"executing": {"US:a@x": [{"jobid": "j", "model": []}]}},
            "executing.US:a@x[0].model",
        ),
    ],
)
def test_malformed_queue_bodies(provider: str, body: Any, field: str | None) -> None:
    parse_queue = QUEUE_PARSERS[provider]
    if field is None:
        parse_queue(body, NOW)
        return
    with pytest.raises(PayloadError) as caught:
        parse_queue(body, NOW)
    assert (caught.value.provider, caught.value.field) == (provider, field)


@pytest.mark.parametrize(
    ("parse", "body", "provider", "field"),
    [
        (pixverse.parse_capacity, [], "pixverse", "(body)"),
        (pixverse.parse_capacity, {"executing": []}, "pixverse", "available"),
        (pixverse.parse_capacity, {"available": {"a@b": {}}}, "pixverse", "available"),
        (
            pixverse.parse_capacity,
            {"available": [{"maxJobs": 5}]},
            "pixverse",
            "available[0].account",
        ),
        (
            pixverse.parse_capacity,
            {"available": [{"email": "a", "maxJobs": "five"}]},
            "pixverse",
            "available[0].maxJobs",
        ),
        (
            pixverse.parse_capacity,
            {"available": [{"email": "a", "executing": [1]}]},
            "pixverse",
            "available[0].executing",
        ),
        (
            minimax.parse_capacity,
            {"available": [{"account": "1", "available": None}, {"account": "2", "available": {}}]},
            "minimax",
            "available[1].available",
        ),
        (minimax.parse_accounts, [], "minimax", "accounts"),
        (minimax.parse_accounts, {"1": []}, "minimax", "accounts.1"),
        (minimax.parse_accounts, {"1": {"maxJobs": "lots"}}, "minimax", "accounts.1.maxJobs"),
        (dreamina.parse_accounts, "US:a@x", "dreamina", "accounts"),
        (
            dreamina.parse_accounts,
            {"US:a@x": {"maxJobs": True}},
            "dreamina",
            "accounts.US:a@x.maxJobs",
        ),
    ],
)
def test_malformed_capacity_bodies(
    parse: Callable[[Any, tuple[Job, ...]], Any], body: Any, provider: str, field: str
) -> None:
    with pytest.raises(PayloadError) as caught:
        parse(body, ())
    assert (caught.value.provider, caught.value.field) == (provider, field)


@pytest.mark.parametrize(
    ("parse", "body", "provider", "field"),
    [
        (pixverse.parse_video, [], "pixverse", "(body)"),
        (pixverse.parse_video, {"video_status": "done"}, "pixverse", "video_status"),
        (pixverse.parse_video, {"video_status": 1, "url": ["a"]}, "pixverse", "url"),
        (pixverse.parse_legacy_job, "completed", "pixverse", "(body)"),
        (pixverse.parse_legacy_job, {"status": {}}, "pixverse", "status"),
        (pixverse.parse_legacy_job, {"attachments": {"url": "x"}}, "pixverse", "attachments"),
        (pixverse.parse_legacy_job, {"attachments": ["x"]}, "pixverse", "attachments[0]"),
        (minimax.parse_video, None, "minimax", "(body)"),
        (minimax.parse_video, {"status": {}}, "minimax", "status"),
        (minimax.parse_video, {"status": 2, "videoURL": []}, "minimax", "videoURL"),
        (dreamina.parse_video, 42, "dreamina", "(body)"),
        (dreamina.parse_video, {"status": ["failed"]}, "dreamina", "status"),
        (dreamina.parse_video, {"status": "completed", "response": "x"}, "dreamina", "response"),
        (
            dreamina.parse_video,
            {"status": "completed", "response": {"videoUrl": {}}},
            "dreamina",
            "response.videoUrl",
        ),
    ],
)
def test_malformed_job_bodies(
    parse: Callable[[Any, str], Any], body: Any, provider: str, field: str
) -> None:
    with pytest.raises(PayloadError) as caught:
        parse(body, "some-id")
    assert (caught.value.provider, caught.value.field) == (provider, field)


# ====================================================================================== properties

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=16,
)
KEYS = [
    "accounts",
    "jobs",
    "availableAccounts",
    "songs",
    "mp3_url",
    "id",
    "type",
    "videoId",
    "imageId",
    "jobid",
    "jobId",
    "started",
    "elapsed",
    "elapsedSeconds",
    "model",
    "email",
    "account",
    "maxJobs",
    "executing",
    "available",
    "status",
    "statusFinal",
    "statusLabel",
    "video_status",
    "video_status_name",
    "video_status_final",
    "url",
    "videoURL",
    "downloadURL",
    "errCode",
    "error",
    "errorDetails",
    "message",
    "attachments",
    "request",
    "response",
    "prompt",
    "videoUrl",
    "created",
    "updated",
    "created_at",
    "percent",
    "verb",
    "taskId",
    "progressRatio",
    "artifacts",
    "createdAt",
    "jwt",
    "exp",
]
leaf = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=12)
    | st.sampled_from(
        [
            "user:1-pixverse:a@b.c-video:7",
            "user:1-minimax:1-image:2",
            "j1v-u1-US:a@x:dreamina",
            "user:1-runwayml:a@x-task:0b5cb6c8-1c4d",
            "SUCCEEDED",
            "0.42",
            "03:57",
            "2024-09-25T01:55:16.128Z",
            "completed",
            "failed",
            "created",
            "FAILED",
            "sensitive",
        ]
    )
)
shaped = st.recursive(
    leaf,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=6), children, max_size=6)
    ),
    max_leaves=24,
)
bodies = json_values | shaped
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _only_models_or_payload_errors(call: Callable[[], Any]) -> None:
    try:
        call()
    except PayloadError as exc:
        assert exc.provider in {"pixverse", "minimax", "dreamina", "mureka", "runway"}
        assert exc.field


@FAST
@given(bodies)
def test_queue_parsers_take_any_json(body: Any) -> None:
    for parse_queue in QUEUE_PARSERS.values():
        _only_models_or_payload_errors(partial(parse_queue, body, NOW))


@FAST
@given(bodies, st.lists(st.sampled_from(["a@b.c", "1", "US:a@x", None]), max_size=3))
def test_capacity_parsers_take_any_json(body: Any, owners: list[str | None]) -> None:
    jobs = tuple(Job("p", str(i), kind="video", account=a) for i, a in enumerate(owners))
    for parse in (
        pixverse.parse_capacity,
        minimax.parse_capacity,
        minimax.parse_accounts,
        dreamina.parse_accounts,
        mureka.parse_capacity,
        runway.parse_accounts,
    ):
        _only_models_or_payload_errors(partial(parse, body, jobs))
    _only_models_or_payload_errors(partial(mureka.parse_accounts, body))


@FAST
@given(bodies, st.sampled_from([PIXVERSE_ID, MINIMAX_ID, DREAMINA_ID, RUNWAY_ID, "j1", ""]))
def test_job_parsers_take_any_json(body: Any, job_id: str) -> None:
    for parse in (
        pixverse.parse_video,
        pixverse.parse_legacy_job,
        minimax.parse_video,
        dreamina.parse_video,
        mureka.parse_job,
        runway.parse_task,
    ):
        _only_models_or_payload_errors(partial(parse, body, job_id))
    _only_models_or_payload_errors(partial(runway.parse_health, body))


@FAST
@given(
    st.lists(
        st.fixed_dictionaries(
            {"id": st.text(min_size=1, max_size=30) | st.integers()},
            optional={"type": leaf, "started": leaf, "elapsed": leaf, "replyUrl": leaf},
        ),
        max_size=5,
    )
)
def test_well_formed_queues_always_parse(items: list[dict[str, Any]]) -> None:
    items = [
        i
        for i in items
        if not isinstance(i.get("type"), bool | list | dict)
        and not (isinstance(i["id"], str) and not i["id"].strip())
    ]
    jobs = pixverse.parse_queue(items, NOW)
    # one job per id, the first (an id 7 and an id "7" are one id)
    assert [j.id for j in jobs] == list(dict.fromkeys(str(i["id"]) for i in items))
    for job in jobs:
        assert job.started is None or EARLIEST <= job.started < LATEST
        assert job.elapsed_seconds is None or 0 <= job.elapsed_seconds <= MAX_ELAPSED_SECONDS


# ============================================================= absurd values (issue 9, defect 4)
# Each field's bound is in bot.models; each is tested at exactly its value and one past it.

A1, A2 = "user:1-pixverse:a@x.io-video:1", "user:1-pixverse:a@x.io-video:2"


def test_pixverse_repeated_id_is_one_job_counted_once() -> None:
    body = {
        "executing": [
            {"id": A1, "elapsed": "00:10"},
            {"id": A2, "elapsed": "00:20"},
            {"id": A1, "elapsed": "09:59"},
            {"videoId": A1, "elapsed": "1:00:00"},
        ],
        "available": [
            {"email": "a@x.io", "maxJobs": 3},
            {"email": "a@x.io", "maxJobs": 9, "executing": 9},
        ],
    }  # a repeat too
    jobs = pixverse.parse_queue(body, NOW)
    assert [(j.id, j.elapsed_seconds) for j in jobs] == [(A1, 10), (A2, 20)]  # the first A1
    # executing counted from the queue: A1 once, A2 once; the account's first row only
    assert caps(pixverse.parse_capacity(body, jobs)) == [("a@x.io", 3, 2, 1)]


def test_a_malformed_repeat_is_still_an_error() -> None:
    with pytest.raises(PayloadError) as caught:
        pixverse.parse_queue([{"id": A1}, {"id": A1, "model": ["x"]}], NOW)
    assert (caught.value.provider, caught.value.field) == ("pixverse", "scheduler[1].model")


def test_minimax_repeated_id_is_counted_once_in_the_accounts_fallback() -> None:
    vid = "user:1-minimax:123456-video:1"
    jobs = minimax.parse_queue([{"videoId": vid}, {"videoId": vid}, {"id": vid}], NOW)
    assert [j.id for j in jobs] == [vid]
    assert caps(minimax.parse_accounts(MINIMAX_ACCOUNTS, jobs)) == [
        ("123456", 3, 1, 2),
        ("654321", 1, 0, 1),
    ]


def test_dreamina_repeated_id_across_groups_is_the_first() -> None:
    body = {
        "executing": {
            "US:a@x.io": [
                {"jobid": "j1", "elapsedSeconds": 5},
                {"jobid": "j1", "elapsedSeconds": 6},
            ],
            "CA:b@y.io": [
                {"jobid": "j1", "elapsedSeconds": 7},
                {"jobid": "j2", "elapsedSeconds": 8},
            ],
        }
    }
    jobs = dreamina.parse_queue(body, NOW)
    assert rows(jobs) == [
        ("dreamina", "j1", "video", "US:a@x.io", None, 5, None),
        ("dreamina", "j2", "video", "CA:b@y.io", None, 8, None),
    ]
    assert caps(
        dreamina.parse_accounts({"US:a@x.io": {"maxJobs": 2}, "CA:b@y.io": {"maxJobs": 1}}, jobs)
    ) == [("US:a@x.io", 2, 1, 1), ("CA:b@y.io", 1, 1, 0)]


COUNTS = [
    (MAX_COUNT, MAX_COUNT),
    (MAX_COUNT + 1, MAX_COUNT),
    (MAX_COUNT - 1, MAX_COUNT - 1),
    (10**400, MAX_COUNT),
    (1e308, MAX_COUNT),
    (str(MAX_COUNT + 1), MAX_COUNT),
    (0, 0),
    (-1, 0),
    (-(10**400), 0),
    (-1e308, 0),
    ("-3", 0),
    (2.9, 2),
]


@pytest.mark.parametrize(("value", "expected"), COUNTS)
def test_available_counts_are_clamped(value: object, expected: int) -> None:
    for field in ("maxJobs", "executing", "available"):
        row = {"email": "a@x.io", "maxJobs": 5, "executing": 1, "available": 4, field: value}
        [account] = pixverse.parse_capacity({"available": [row]})
        assert caps((account,)) == [
            (
                "a@x.io",
                *(
                    expected if k == field else row[k]
                    for k in ("maxJobs", "executing", "available")
                ),
            )
        ]


@pytest.mark.parametrize(("value", "expected"), COUNTS)
def test_config_max_jobs_is_clamped(value: object, expected: int) -> None:
    for parse_accounts in (minimax.parse_accounts, dreamina.parse_accounts):
        [account] = parse_accounts({"acct": {"maxJobs": value}}, ())
        assert caps((account,)) == [("acct", expected, 0, expected)]


def test_a_negative_available_is_a_full_account() -> None:
    [account] = pixverse.parse_capacity(
        {"available": [{"email": "a@x.io", "maxJobs": 3, "executing": 5, "available": -2}]}
    )
    assert caps((account,)) == [("a@x.io", 3, 5, 0)]


@pytest.mark.parametrize(
    "value", [float("nan"), float("inf"), float("-inf"), "NaN", "1e999", [], {}, True]
)
def test_a_count_that_is_no_number_is_a_payload_error(value: object) -> None:
    with pytest.raises(PayloadError) as caught:
        pixverse.parse_capacity({"available": [{"email": "a@x.io", "maxJobs": value}]})
    assert (caught.value.provider, caught.value.field) == ("pixverse", "available[0].maxJobs")
    with pytest.raises(PayloadError) as caught:
        dreamina.parse_accounts({"US:a": {"maxJobs": value}}, ())
    assert (caught.value.provider, caught.value.field) == ("dreamina", "accounts.US:a.maxJobs")


@pytest.mark.parametrize(
    ("elapsed", "expected"),
    [
        (10**400, MAX_ELAPSED_SECONDS),
        (1e308, MAX_ELAPSED_SECONDS),
        (MAX_ELAPSED_SECONDS, MAX_ELAPSED_SECONDS),
        (MAX_ELAPSED_SECONDS + 1, MAX_ELAPSED_SECONDS),
        ("525600:01", MAX_ELAPSED_SECONDS),
        (-(10**400), None),
        (float("nan"), None),
    ],
)
def test_absurd_elapsed_is_a_year_in_every_adapter(elapsed: object, expected: int | None) -> None:
    [pix] = pixverse.parse_queue([{"id": A1, "elapsed": elapsed}], NOW)
    [mini] = minimax.parse_queue([{"videoId": "user:1-minimax:1-video:1", "elapsed": elapsed}], NOW)
    [dre] = dreamina.parse_queue(
        {"executing": {"US:a": [{"jobid": "j1", "elapsedSeconds": elapsed}]}}, NOW
    )
    assert (pix.elapsed_seconds, mini.elapsed_seconds, dre.elapsed_seconds) == (expected,) * 3


def test_absurd_elapsed_still_counts_as_stuck() -> None:
    jobs = pixverse.parse_queue(
        [{"id": A1, "elapsed": 10**400}, {"id": A2, "started": "2000-01-01T00:00:00.000Z"}], NOW
    )
    assert [j.elapsed_seconds for j in jobs] == [MAX_ELAPSED_SECONDS, MAX_ELAPSED_SECONDS]
    d = diff(None, Snapshot("pixverse", NOW, jobs), now=NOW, stuck_after=timedelta(days=30))
    assert [j.id for j in d.new_stuck] == [A1, A2]


@pytest.mark.parametrize(
    ("started", "expected"),
    [
        ("2000-01-01T00:00:00.000Z", EARLIEST),
        ("1999-12-31T23:59:59.999Z", None),
        ("2099-12-31T23:59:59.999Z", LATEST - timedelta(milliseconds=1)),
        ("2100-01-01T00:00:00.000Z", None),
        (0, None),
        (10**400, None),
        (1e308, None),
        ("0001-01-01T00:00:00.000Z", None),
        ("9999-12-31T23:59:59.999Z", None),
    ],
)
def test_times_outside_the_window_are_unknown(started: object, expected: datetime | None) -> None:
    [job] = minimax.parse_queue([{"videoId": "user:1-minimax:1-video:1", "started": started}], NOW)
    elapsed = (
        None
        if expected is None
        else min(max(0, int((NOW - expected).total_seconds())), MAX_ELAPSED_SECONDS)
    )
    assert (job.started, job.elapsed_seconds) == (expected, elapsed)
    result = dreamina.parse_video(
        {"status": "completed", "created": started, "updated": started}, "j1"
    )
    assert (result.created, result.updated) == (expected, expected)
    assert pixverse.parse_video({"video_status": 1, "created_at": started}, A1).created == expected


@pytest.mark.parametrize(
    ("percent", "shown"),
    [
        (100, "100"),
        (101, "100"),
        (0, "0"),
        (-1, "0"),
        (10**400, "100"),
        (-(10**400), "0"),
        (55.9, "55"),
    ],
)
def test_minimax_percent_is_clamped(percent: object, shown: str) -> None:
    result = minimax.parse_video({**MINIMAX_VIDEO, "percent": percent}, MINIMAX_ID)
    assert result.extra == {"percent": shown}


# ========================================================================== network (routing only)


class Upstream:
    """A MockTransport that answers by path and records what was asked."""

    def __init__(self, routes: dict[str, tuple[int, Any]], gate: int = 0) -> None:
        self.routes = routes
        self.requests: list[httpx.Request] = []
        self.in_flight = 0
        self.peak = 0
        self._gate = gate
        self._all_in = asyncio.Event()

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            if len(self.requests) >= self._gate:
                self._all_in.set()
            # With a gate, every request waits until `gate` requests are in: proof they overlap.
            await asyncio.wait_for(self._all_in.wait(), 2)
            status, body = self.routes.get(request.url.path, (404, {"error": "no route"}))
            return httpx.Response(status, json=body)
        finally:
            self.in_flight -= 1

    @property
    def raw_paths(self) -> list[str]:
        return [r.url.raw_path.decode() for r in self.requests]

    def client(self) -> UseapiClient:
        return UseapiClient(
            "https://api.test", SecretStr("t0ken"), transport=httpx.MockTransport(self), attempts=1
        )


def test_providers_are_discoverable() -> None:
    for module, title in (
        (pixverse, "PixVerse"),
        (minimax, "MiniMax"),
        (dreamina, "Dreamina"),
        (mureka, "Mureka"),
    ):
        cls = load(module.NAME)
        assert cls is module.PROVIDER
        assert (cls.name, cls.title) == (module.NAME, title)


async def test_pixverse_snapshot_calls_both_endpoints_concurrently() -> None:
    upstream = Upstream(
        {
            "/v2/pixverse/scheduler/": (200, seed("pixverse-v2-scheduler")),
            "/v2/pixverse/scheduler/available": (200, seed("pixverse-v2-scheduler-available")),
        },
        gate=2,
    )
    async with upstream.client() as client:
        snap = await pixverse.PixVerse(client).snapshot()
    assert isinstance(snap, Snapshot)
    assert sorted(upstream.raw_paths) == [
        "/v2/pixverse/scheduler/",
        "/v2/pixverse/scheduler/available",
    ]
    assert upstream.peak == 2
    assert snap.provider == "pixverse" and snap.taken_at.tzinfo is not None
    assert abs(snap.taken_at - datetime.now(UTC)) < timedelta(seconds=5)
    assert len(snap.jobs) == 2 and len(snap.accounts) == 3


async def test_snapshot_raises_the_upstream_error_itself() -> None:
    upstream = Upstream(
        {
            "/v2/pixverse/scheduler/": (401, {"error": "Unauthorized", "code": 401}),
            "/v2/pixverse/scheduler/available": (200, {"available": []}),
        }
    )
    async with upstream.client() as client:
        with pytest.raises(errors.Unauthorized) as caught:
            await pixverse.PixVerse(client).snapshot()
    assert caught.value.provider == "pixverse"


async def test_snapshot_reports_a_malformed_body() -> None:
    upstream = Upstream(
        {"/v1/dreamina/scheduler": (200, {"executing": []}), "/v1/dreamina/accounts": (200, {})}
    )
    async with upstream.client() as client:
        with pytest.raises(PayloadError) as caught:
            await dreamina.Dreamina(client).snapshot()
    assert (caught.value.provider, caught.value.field) == ("dreamina", "executing")


async def test_pixverse_job_routes() -> None:
    upstream = Upstream(
        {
            "/v2/pixverse/videos/user:1-pixverse:a@b.c-video:112233": (200, PIXVERSE_VIDEO),
            "/v1/pixverse/jobs/": (410, {"error": "Job has expired", "code": 410}),
        }
    )
    async with upstream.client() as client:
        provider = pixverse.PixVerse(client)
        done = await provider.job(PIXVERSE_ID)
        pending = await provider.job("user:1-pixverse:a@b.c-video:999")
        expired = await provider.job("legacy-job-1")
    assert upstream.raw_paths == [
        "/v2/pixverse/videos/user%3A1-pixverse%3Aa%40b.c-video%3A112233",
        "/v2/pixverse/videos/user%3A1-pixverse%3Aa%40b.c-video%3A999",
        "/v1/pixverse/jobs/?jobid=legacy-job-1",
    ]
    assert done.outcome is Outcome.COMPLETED
    assert pending.outcome is Outcome.RUNNING  # 404 = still processing
    assert (expired.outcome, expired.error) == (Outcome.UNKNOWN, "expired")


async def test_pixverse_legacy_job_found() -> None:
    upstream = Upstream({"/v1/pixverse/jobs/": (200, seed("pixverse-v1-jobs"))})
    async with upstream.client() as client:
        result = await pixverse.PixVerse(client).job("abc/def?x")
    assert upstream.requests[0].url.params["jobid"] == "abc/def?x"
    assert result.outcome is Outcome.COMPLETED


async def test_minimax_snapshot_uses_available() -> None:
    upstream = Upstream(
        {
            "/v1/minimax/scheduler/": (200, seed("minimax-v1-scheduler")),
            "/v1/minimax/scheduler/available": (200, MINIMAX_AVAILABLE),
        },
        gate=2,
    )
    async with upstream.client() as client:
        snap = await minimax.MiniMax(client).snapshot()
    assert sorted(upstream.raw_paths) == [
        "/v1/minimax/scheduler/",
        "/v1/minimax/scheduler/available",
    ]
    assert caps(snap.accounts) == [("123456", 5, 3, 2)]


async def test_minimax_snapshot_falls_back_to_accounts_on_404() -> None:
    queue = [
        {"videoId": "user:1-minimax:123456-video:1"},
        {"videoId": "user:1-minimax:654321-video:2"},
    ]
    upstream = Upstream(
        {
            "/v1/minimax/scheduler/": (200, queue),
            "/v1/minimax/scheduler/available": (404, {"error": "Not found."}),
            "/v1/minimax/accounts": (200, MINIMAX_ACCOUNTS),
        }
    )
    async with upstream.client() as client:
        snap = await minimax.MiniMax(client).snapshot()
    assert sorted(upstream.raw_paths) == [
        "/v1/minimax/accounts",
        "/v1/minimax/scheduler/",
        "/v1/minimax/scheduler/available",
    ]
    assert caps(snap.accounts) == [("123456", 3, 1, 2), ("654321", 1, 1, 0)]


async def test_minimax_job_routes() -> None:
    upstream = Upstream(
        {"/v1/minimax/videos/user:1-minimax:123456-video:9876": (200, MINIMAX_VIDEO)}
    )
    async with upstream.client() as client:
        provider = minimax.MiniMax(client)
        done = await provider.job(MINIMAX_ID)
        gone = await provider.job("user:1-minimax:123456-video:404")
    assert upstream.raw_paths == [
        "/v1/minimax/videos/user%3A1-minimax%3A123456-video%3A9876",
        "/v1/minimax/videos/user%3A1-minimax%3A123456-video%3A404",
    ]
    assert done.outcome is Outcome.COMPLETED
    assert gone.outcome is Outcome.MODERATED  # 404 = moderated and removed


async def test_dreamina_snapshot_and_job_routes() -> None:
    upstream = Upstream(
        {
            "/v1/dreamina/scheduler": (200, seed("dreamina-v1-scheduler")),
            "/v1/dreamina/accounts": (200, {"US:user@example.com": {"maxJobs": 10}}),
        },
        gate=2,
    )
    async with upstream.client() as client:
        provider = dreamina.Dreamina(client)
        snap = await provider.snapshot()
        upstream.routes[f"/v1/dreamina/videos/{DREAMINA_ID}"] = (
            200,
            dreamina_job(status="completed", response={"videoUrl": "https://cdn/v.mp4"}),
        )
        result = await provider.job(DREAMINA_ID)
        with pytest.raises(errors.NotFound):
            await provider.job("j0v-u1-US:gone@x.com:dreamina")
    assert sorted(upstream.raw_paths[:2]) == ["/v1/dreamina/accounts", "/v1/dreamina/scheduler"]
    assert upstream.raw_paths[2] == (
        "/v1/dreamina/videos/j0223140530123456789v-u12345-US%3Aa%40x.com%3Adreamina"
    )
    assert upstream.peak == 2
    assert caps(snap.accounts) == [("US:user@example.com", 10, 1, 9)]
    assert result.outcome is Outcome.COMPLETED and result.urls == ("https://cdn/v.mp4",)


def test_cancelled_name_wins_over_the_shared_failure_status():
    from bot.models import Outcome
    from bot.providers import minimax, pixverse

    pv = pixverse.parse_video(
        {"video_status": 8, "video_status_name": "CANCELLED", "video_status_final": True},
        "user:1-pixverse:a@b.c-video:1",
    )
    mm = minimax.parse_video(
        {"status": 3, "statusLabel": "cancelled", "statusFinal": True}, "user:1-minimax:123-video:1"
    )
    assert pv.outcome is Outcome.CANCELLED
    assert mm.outcome is Outcome.CANCELLED
