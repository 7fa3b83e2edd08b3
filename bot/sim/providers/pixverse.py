"""PixVerse in the simulator: its accounts and ids, `/v2/pixverse/…` and the legacy v1 jobs.

Outcome representations (the documented enums have no "cancelled", so these are our choices;
a cancelled job is one whose tracking was stopped, e.g. by DELETE /scheduler/{id}):

`GET /v2/pixverse/videos/{id}`
    running → 404 `{"error":"Video <id> not found","code":404}` (documented quirk; an unknown id
    answers the same). completed → `video_status` 1 `COMPLETED` + `url`; moderated → 7
    `MODERATED`; failed → 8 `FAILED` + `errCode`; cancelled → 8 `CANCELLED` (no `errCode`).
    `video_status_final` is true for all of them.
`GET /v1/pixverse/jobs/?jobid=`
    `status` created → started → progress while running, then completed / failed /
    moderated / cancelled; 410 once older than 31 days; 404 for unknown ids.

Ids: `user:{uid}-pixverse:{email}-{video|image}:{n}`; legacy v1 jobs
`j{MMDDHHMMSS}{9 digits}-pixverse` (made by `bot.sim.population`).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from bot.sim.clock import format_elapsed, from_ts, iso_ms, iso_s
from bot.sim.model import SimAccount, SimJob
from bot.sim.providers.base import ProviderSpec, with_reply
from bot.sim.reply import NOT_FOUND, Reply, delete_job, error_reply, job_for, method_ok

if TYPE_CHECKING:
    from bot.sim.state import Simulator

NAME = "pixverse"


def _item(job: SimJob, now: float) -> dict[str, Any]:
    return with_reply(
        {
            "id": job.id,
            "type": job.kind,
            "started": job.started_iso,
            "elapsed": format_elapsed(now - job.started_ts),
        },
        job,
    )


def _account(acct: SimAccount) -> dict[str, Any]:
    return acct.with_error(
        {
            "email": acct.email,
            "maxJobs": acct.max_jobs,
            "password": "…secured…",
            "jwt": {
                "AccountId": acct.ext_id,
                "ExpireTime": int(acct.expires_ts),
                "ExpireTimeUTC": iso_ms(acct.expires_ts),
                "Username": (acct.email or "").split("@", 1)[0],
                "token": "eyJ…secured…",
            },
        }
    )


_STATUS = {
    "completed": (1, "COMPLETED"),
    "moderated": (7, "MODERATED"),
    "failed": (8, "FAILED"),
    "cancelled": (8, "CANCELLED"),
}
_ERRCODES = (500054, 500060, 500063, 500069)


def _video(job: SimJob) -> dict[str, Any]:
    code, name = _STATUS[job.outcome]
    ext = {"video": "mp4", "image": "png", "music": "mp3"}[job.kind]
    body: dict[str, Any] = {
        "video_id": job.id,
        "video_status": code,
        "video_status_name": name,
        "video_status_final": True,
        "created_at": iso_s(job.started_ts),
        "model": job.model,
        "prompt": job.prompt,
        "queue_data": {"queue_time": 0, "queue_count": 0},
    }
    if job.kind == "video":
        body["duration"] = 5
    if job.kind in ("video", "image"):
        body["width"], body["height"] = (1280, 720) if job.kind == "video" else (1024, 1024)
    if job.outcome == "completed":
        body["url"] = f"https://media.pixverse.example/{job.kind}/{job.n}.{ext}"
    elif job.outcome == "failed":
        body["errCode"] = _ERRCODES[job.n % len(_ERRCODES)]
    if job.reply_ref is not None:
        body["replyRef"] = job.reply_ref
    return body


def _v2(sim: Simulator, method: str, rest: list[str], query: dict[str, str]) -> Reply:
    now = sim.now_ts()
    if rest == ["scheduler"] and method_ok(method, "GET"):
        return Reply(200, [_item(j, now) for j in sim.iter_running(NAME)])
    if rest == ["scheduler", "available"] and method_ok(method, "GET"):
        return Reply(
            200,
            {
                "executing": [_item(j, now) for j in sim.iter_running(NAME)],
                "available": [
                    {
                        "email": a.account,
                        "maxJobs": a.max_jobs,
                        "executing": a.executing,
                        "available": a.available,
                    }
                    for a in sim.iter_accounts(NAME)
                ],
            },
        )
    if len(rest) == 2 and rest[0] == "scheduler" and method_ok(method, "DELETE"):
        return delete_job(sim, NAME, rest[1])
    if rest == ["accounts"] and method_ok(method, "GET"):
        accounts = {a.account: _account(a) for a in sim.iter_accounts(NAME)}
        return Reply(200, accounts) if accounts else SPEC.error(404, "No accounts configured")
    if len(rest) == 2 and rest[0] == "accounts" and method_ok(method, "GET"):
        acct = sim.find_account(NAME, rest[1])
        if acct is None:
            return SPEC.error(404, f"Unable to find configuration for account {rest[1]}")
        return Reply(200, _account(acct))
    if len(rest) == 2 and rest[0] == "videos" and method_ok(method, "GET"):
        job = job_for(sim, NAME, rest[1])
        if job is None or job.running:
            return SPEC.error(404, f"Video {rest[1]} not found")
        return Reply(200, _video(job))
    return error_reply(404, NOT_FOUND)


_V1_BUTTONS = ["U1", "U2", "U3", "U4", "V1", "V2", "V3", "V4", "ReDo"]


def _v1(sim: Simulator, method: str, rest: list[str], query: dict[str, str]) -> Reply:
    if rest != ["jobs"] or not method_ok(method, "GET"):
        return error_reply(404, NOT_FOUND)
    job_id = query.get("jobid", "").strip()
    if not job_id:
        return SPEC.error(400, "Query param jobid not provided")
    job = sim.job(job_id)
    if job is None or not job.legacy:
        return SPEC.error(404, f"Unable to locate job {job_id}")
    now = sim.now_ts()
    if sim.legacy_expired(job, now):
        return SPEC.error(410, "Job has expired")
    return Reply(200, _legacy_job(job, now))


def _legacy_status(job: SimJob, now: float) -> tuple[str, float]:
    """A v1 job's `status` and `updated` time."""
    if not job.running:
        return job.outcome, job.finished_ts or now
    duration = job.end_ts - job.started_ts
    done = (now - job.started_ts) / duration if duration > 0 and not math.isinf(duration) else 0.5
    return "created" if done < 0.1 else "started" if done < 0.25 else "progress", now


def _legacy_job(job: SimJob, now: float) -> dict[str, Any]:
    status, updated = _legacy_status(job, now)
    snowflake = 1_150_000_000_000_000_000 + job.n
    body: dict[str, Any] = {
        "jobid": job.id,
        "verb": job.verb,
        "status": status,
        "created": iso_ms(job.started_ts),
        "updated": iso_ms(updated),
        "prompt": job.prompt,
        "discord": "<ABC…secured…xyz>",
        "server": "1100000000000000001",
        "channel": "1100000000000000002",
        "maxJobs": 10,
        "messageId": str(snowflake),
        "content": f"<@1100000000000000003> (prompt: {job.prompt} style: Realistic "
        "aspect-ratio: 16:9) Author: <@1100000000000000003>)",
        "timestamp": f"{from_ts(job.started_ts + 35):%Y-%m-%dT%H:%M:%S.%f}+00:00",
    }
    if status == "completed":
        body["buttons"] = list(_V1_BUTTONS)
        body["attachments"] = [
            {
                "url": f"https://cdn.discordapp.example/attachments/{snowflake}/pixverse.mp4",
                "proxy_url": f"https://media.discordapp.example/attachments/{snowflake}/pixverse.mp4",
                "width": 768,
                "height": 768,
                "content_type": "video/mp4",
                "id": str(snowflake + 1),
                "filename": "pixverse.mp4",
                "size": 7_204_115,
            }
        ]
    elif status == "failed":
        body["error"] = "PixVerse failed to generate the video"
        body["errorDetails"] = "Generation error, please try again"
    elif status == "moderated":
        body["error"] = "Prompt was moderated by PixVerse"
    body["code"] = 200
    return body


SPEC = ProviderSpec(
    status_path="v2/pixverse/videos/{id}",
    name=NAME,
    max_jobs_range=(1, 8),
    max_jobs_choices=(1, 2, 3, 4, 5, 6, 7, 8),
    kinds=(("video", 0.8), ("image", 0.2)),
    allowed_kinds=("video", "image", "music"),
    durations={"video": (30, 240, 70), "image": (8, 60, 15), "music": (20, 120, 40)},
    models=("v4.5", "v4.5", "v5"),
    first_number=(300_000_000, 350_000_000),
    routes={"v2": _v2, "v1": _v1},
    id_key="id",
    display_name="PixVerse API",
)
