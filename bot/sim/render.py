"""Each provider's documented JSON, rendered from the simulator's state.

Outcome representations (the documented enums have no "cancelled", so these are our choices;
a cancelled job is one whose tracking was stopped, e.g. by DELETE /scheduler/{id}):

PixVerse v2 `GET /v2/pixverse/videos/{id}`
    running → 404 `{"error":"Video <id> not found","code":404}` (documented quirk; an unknown id
    answers the same). completed → `video_status` 1 `COMPLETED` + `url`; moderated → 7
    `MODERATED`; failed → 8 `FAILED` + `errCode`; cancelled → 8 `CANCELLED` (no `errCode`).
    `video_status_final` is true for all of them.
PixVerse v1 `GET /v1/pixverse/jobs/?jobid=`
    `status` created → started → progress while running, then completed / failed /
    moderated / cancelled; 410 once older than 31 days; 404 for unknown ids.
MiniMax `GET /v1/minimax/videos/{id}` (and `/images/{id}`)
    running → `status` 11 `queued` for the first tenth (at most 10 s), then 1 `processing`,
    `statusFinal` false. completed → 2 `completed`; failed → 3 `failed`; cancelled → 3 with
    `statusLabel` `cancelled`; moderated → 404 `{"error":"Not found.","code":404}` for three
    in four jobs (`SimJob.removed`, decided by the job number), the rest 200 with status 5, 7
    or 14 and `statusLabel` `moderated`.
Dreamina `GET /v1/dreamina/videos/{jobid}`
    running → `created`; completed → `completed` + `response.videoUrl`; failed → `failed` with
    `error` `fail_code: 2043`; moderated → `failed` with `error` `fail_code: 2038` and an
    `errorDetails` that mentions moderation and sensitive content; cancelled → `cancelled` with
    `error` `Job cancelled`. Unknown → 404 `{"error":"Unable to find job <id>"}`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from bot.sim.clock import format_elapsed, from_ts, iso_ms, iso_s
from bot.sim.faults import reason_for
from bot.sim.state import SimAccount, SimJob, Simulator


@dataclass(slots=True)
class Reply:
    """What to answer: a JSON value, or bytes/str sent verbatim with `content_type`."""

    status: int
    body: Any = None
    content_type: str = "application/json"


def error(provider: str | None, status: int, message: str | None = None) -> Reply:
    """useapi's error body; Dreamina leaves out `code`."""
    body: dict[str, Any] = {"error": message if message is not None else reason_for(status)}
    if provider != "dreamina":
        body["code"] = status
    return Reply(status, body)


NOT_FOUND = "Not found"


def route(sim: Simulator, method: str, segs: list[str], query: dict[str, str]) -> Reply:
    """Answer one authorised request. `segs` are the decoded path segments."""
    if len(segs) < 3 or segs[0] not in ("v1", "v2") or segs[1] not in sim.providers:
        return error(None, 404, NOT_FOUND)
    version, provider, rest = segs[0], segs[1], segs[2:]
    handler = _ROUTES.get((version, provider))
    if handler is None:
        return error(None, 404, NOT_FOUND)
    return handler(sim, method, rest, query)


def _method_ok(method: str, *allowed: str) -> bool:
    return method in allowed or (method == "HEAD" and "GET" in allowed)


def _job_for(sim: Simulator, provider: str, job_id: str) -> SimJob | None:
    job = sim.job(job_id)
    if job is None or job.provider != provider or job.legacy:
        return None
    return job


def _delete(sim: Simulator, provider: str, job_id: str) -> Reply:
    job = _job_for(sim, provider, job_id)
    if job is None or not job.running:
        msg = f"Unable to locate running {job_id}"
        return Reply(404, {"error": msg} if provider == "minimax" else {"error": msg, "code": 404})
    sim.finish_job(job_id, "cancelled")
    return Reply(204)


# ---------------------------------------------------------------------------------- PixVerse


def _pv_item(job: SimJob, now: float) -> dict[str, Any]:
    item: dict[str, Any] = {"id": job.id, "type": job.kind, "started": job.started_iso,
                            "elapsed": format_elapsed(now - job.started_ts)}
    if job.reply_url is not None:
        item["replyUrl"] = job.reply_url
        if job.reply_ref is not None:
            item["replyRef"] = job.reply_ref
    return item


def _pv_account(sim: Simulator, acct: SimAccount) -> dict[str, Any]:
    return {
        "email": acct.email, "maxJobs": acct.max_jobs, "password": "…secured…",
        "jwt": {"AccountId": acct.ext_id, "ExpireTime": int(acct.expires_ts),
                "ExpireTimeUTC": iso_ms(acct.expires_ts),
                "Username": (acct.email or "").split("@", 1)[0],
                "token": "eyJ…secured…"},
    }


_PV_STATUS = {"completed": (1, "COMPLETED"), "moderated": (7, "MODERATED"),
              "failed": (8, "FAILED"), "cancelled": (8, "CANCELLED")}
_PV_ERRCODES = (500054, 500060, 500063, 500069)


def _pv_video(job: SimJob) -> dict[str, Any]:
    code, name = _PV_STATUS[job.outcome]
    ext = {"video": "mp4", "image": "png", "music": "mp3"}[job.kind]
    body: dict[str, Any] = {
        "video_id": job.id, "video_status": code, "video_status_name": name,
        "video_status_final": True, "created_at": iso_s(job.started_ts),
        "model": job.model, "prompt": job.prompt,
        "queue_data": {"queue_time": 0, "queue_count": 0},
    }
    if job.kind == "video":
        body["duration"] = 5
    if job.kind in ("video", "image"):
        body["width"], body["height"] = (1280, 720) if job.kind == "video" else (1024, 1024)
    if job.outcome == "completed":
        body["url"] = f"https://media.pixverse.example/{job.kind}/{job.n}.{ext}"
    elif job.outcome == "failed":
        body["errCode"] = _PV_ERRCODES[job.n % len(_PV_ERRCODES)]
    if job.reply_ref is not None:
        body["replyRef"] = job.reply_ref
    return body


def _pixverse_v2(sim: Simulator, method: str, rest: list[str], query: dict[str, str]) -> Reply:
    p = "pixverse"
    now = sim.now_ts()
    if rest == ["scheduler"] and _method_ok(method, "GET"):
        return Reply(200, [_pv_item(j, now) for j in sim.iter_running(p)])
    if rest == ["scheduler", "available"] and _method_ok(method, "GET"):
        return Reply(200, {
            "executing": [_pv_item(j, now) for j in sim.iter_running(p)],
            "available": [{"email": a.account, "maxJobs": a.max_jobs, "executing": a.executing,
                           "available": a.available} for a in sim.iter_accounts(p)],
        })
    if len(rest) == 2 and rest[0] == "scheduler" and _method_ok(method, "DELETE"):
        return _delete(sim, p, rest[1])
    if rest == ["accounts"] and _method_ok(method, "GET"):
        accounts = {a.account: _pv_account(sim, a) for a in sim.iter_accounts(p)}
        return Reply(200, accounts) if accounts else error(p, 404, "No accounts configured")
    if len(rest) == 2 and rest[0] == "accounts" and _method_ok(method, "GET"):
        acct = sim.find_account(p, rest[1])
        if acct is None:
            return error(p, 404, f"Unable to find configuration for account {rest[1]}")
        return Reply(200, _pv_account(sim, acct))
    if len(rest) == 2 and rest[0] == "videos" and _method_ok(method, "GET"):
        job = _job_for(sim, p, rest[1])
        if job is None or job.running:
            return error(p, 404, f"Video {rest[1]} not found")
        return Reply(200, _pv_video(job))
    return error(None, 404, NOT_FOUND)


_V1_BUTTONS = ["U1", "U2", "U3", "U4", "V1", "V2", "V3", "V4", "ReDo"]


def _pixverse_v1(sim: Simulator, method: str, rest: list[str], query: dict[str, str]) -> Reply:
    p = "pixverse"
    if rest != ["jobs"] or not _method_ok(method, "GET"):
        return error(None, 404, NOT_FOUND)
    job_id = query.get("jobid", "").strip()
    if not job_id:
        return error(p, 400, "Query param jobid not provided")
    job = sim.job(job_id)
    if job is None or not job.legacy:
        return error(p, 404, f"Unable to locate job {job_id}")
    now = sim.now_ts()
    if sim.legacy_expired(job, now):
        return error(p, 410, "Job has expired")
    if job.running:
        duration = job.end_ts - job.started_ts
        done = (now - job.started_ts) / duration if duration > 0 and not math.isinf(
            duration) else 0.5
        status = "created" if done < 0.1 else "started" if done < 0.25 else "progress"
        updated = now
    else:
        status = job.outcome
        updated = job.finished_ts or now
    snowflake = 1_150_000_000_000_000_000 + job.n
    body: dict[str, Any] = {
        "jobid": job.id, "verb": job.verb, "status": status,
        "created": iso_ms(job.started_ts), "updated": iso_ms(updated),
        "prompt": job.prompt,
        "discord": "<ABC…secured…xyz>", "server": "1100000000000000001",
        "channel": "1100000000000000002", "maxJobs": 10, "messageId": str(snowflake),
        "content": f"<@1100000000000000003> (prompt: {job.prompt} style: Realistic "
                   "aspect-ratio: 16:9) Author: <@1100000000000000003>)",
        "timestamp": f"{from_ts(job.started_ts + 35):%Y-%m-%dT%H:%M:%S.%f}+00:00",
    }
    if status == "completed":
        body["buttons"] = list(_V1_BUTTONS)
        body["attachments"] = [{
            "url": f"https://cdn.discordapp.example/attachments/{snowflake}/pixverse.mp4",
            "proxy_url": f"https://media.discordapp.example/attachments/{snowflake}/pixverse.mp4",
            "width": 768, "height": 768, "content_type": "video/mp4", "id": str(snowflake + 1),
            "filename": "pixverse.mp4", "size": 7_204_115,
        }]
    elif status == "failed":
        body["error"] = "PixVerse failed to generate the video"
        body["errorDetails"] = "Generation error, please try again"
    elif status == "moderated":
        body["error"] = "Prompt was moderated by PixVerse"
    body["code"] = 200
    return Reply(200, body)


# ---------------------------------------------------------------------------------- MiniMax


def _mm_key(sim: Simulator, job: SimJob) -> str:
    if job.kind == "image" and not (sim.quirks and job.n % 2):
        return "imageId"
    return "videoId"


def _mm_item(sim: Simulator, job: SimJob, now: float) -> dict[str, Any]:
    item: dict[str, Any] = {_mm_key(sim, job): job.id, "started": job.started_iso,
                            "elapsed": format_elapsed(now - job.started_ts)}
    if job.reply_url is not None:
        item["replyUrl"] = job.reply_url
        if job.reply_ref is not None:
            item["replyRef"] = job.reply_ref
    return item


def _mm_account(acct: SimAccount) -> dict[str, Any]:
    return {
        "account": acct.account, "maxJobs": acct.max_jobs, "supportVideo": True,
        "supportChat": True, "supportAudio": True,
        "jwt": {"token": "eyJ…secured…",
                "user": {"id": str(acct.ext_id), "name": f"user{acct.account}"},
                "exp": round(acct.expires_ts, 3),
                "iat": round(acct.created_ts, 3), "host": "hailuoai.video",
                "iat_Issued": iso_ms(acct.created_ts), "exp_Expire": iso_ms(acct.expires_ts)},
    }


_MM_MODERATED = (5, 7, 14)


def _mm_video(job: SimJob, now: float) -> Reply:
    if job.removed:
        return Reply(404, {"error": "Not found.", "code": 404})
    key = "imageId" if job.kind == "image" else "videoId"
    body: dict[str, Any] = {"id": str(job.n), key: job.id}
    media = f"https://cdn.hailuo.example/{job.kind}/{job.n}"
    width, height = (1280, 720) if job.kind == "video" else (1024, 1024)
    urls = {"videoURL": "", "downloadURL": "", "coverURL": ""}
    if job.running:
        duration = job.end_ts - job.started_ts
        elapsed = now - job.started_ts
        queued = elapsed < min(10.0, 0.1 * duration)
        percent = 0 if queued or math.isinf(duration) or duration <= 0 else min(
            99, int(100 * elapsed / duration))
        status, label, final, message = (11, "queued", False, "Queued") if queued else (
            1, "processing", False, "Generating")
    elif job.outcome == "completed":
        status, label, final, message, percent = 2, "completed", True, "Success", 100
        ext = "mp4" if job.kind == "video" else "jpeg"
        urls = {"videoURL": f"{media}.{ext}", "downloadURL": f"{media}-download.{ext}",
                "coverURL": f"{media}-cover.jpeg"}
    elif job.outcome == "moderated":
        status = _MM_MODERATED[(job.n // 4) % len(_MM_MODERATED)]
        label, final, message, percent = "moderated", True, "Content moderated", 0
    elif job.outcome == "cancelled":
        status, label, final, message, percent = 3, "cancelled", True, "Cancelled", 0
    else:
        status, label, final, message, percent = 3, "failed", True, "Generation failed", 0
    body.update({"status": status, "statusLabel": label, "statusFinal": final,
                 "percent": percent, "message": message, **urls, "width": width,
                 "height": height, "canRetry": False, "canAppeal": False})
    return Reply(200, body)


def _minimax(sim: Simulator, method: str, rest: list[str], query: dict[str, str]) -> Reply:
    p = "minimax"
    now = sim.now_ts()
    if rest == ["scheduler"] and _method_ok(method, "GET"):
        return Reply(200, [_mm_item(sim, j, now) for j in sim.iter_running(p)])
    if rest == ["scheduler", "available"] and _method_ok(method, "GET"):
        return Reply(200, {
            "executing": [_mm_item(sim, j, now) for j in sim.iter_running(p)],
            # documented quirk: these counts cover video jobs only
            "available": [{"account": a.account, "maxJobs": a.max_jobs, "executing": a.videos,
                           "available": max(0, a.max_jobs - a.videos)}
                          for a in sim.iter_accounts(p)],
        })
    if len(rest) == 2 and rest[0] == "scheduler" and _method_ok(method, "DELETE"):
        return _delete(sim, p, rest[1])
    if rest == ["accounts"] and _method_ok(method, "GET"):
        accounts = {a.account: _mm_account(a) for a in sim.iter_accounts(p)}
        return Reply(200, accounts) if accounts else error(p, 404, "No accounts configured")
    if len(rest) == 2 and rest[0] == "accounts" and _method_ok(method, "GET"):
        acct = sim.find_account(p, rest[1])
        if acct is None:
            return error(p, 404, f"Unable to find configuration for account {rest[1]}")
        return Reply(200, _mm_account(acct))
    if len(rest) == 2 and rest[0] in ("videos", "images") and _method_ok(method, "GET"):
        job = _job_for(sim, p, rest[1])
        if job is None:
            return Reply(404, {"error": "Not found.", "code": 404})
        return _mm_video(job, now)
    return error(None, 404, NOT_FOUND)


# ---------------------------------------------------------------------------------- Dreamina


def _dr_account(acct: SimAccount, now: float, *, full: bool) -> dict[str, Any]:
    body: dict[str, Any] = {"account": acct.account, "email": acct.email,
                            "region": acct.region, "maxJobs": acct.max_jobs,
                            "sessionExpires": iso_ms(acct.expires_ts)}
    if full:
        body["session"] = {"expires": iso_ms(acct.expires_ts),
                           "lastRefreshed": iso_ms(max(acct.created_ts, now - 3_600)),
                           "daysUntilExpiry": max(0, int((acct.expires_ts - now) // 86_400))}
        body["models"] = {"video": ["seedance-2.0", "seedance-1.0-pro", "seedance-1.0-lite"],
                          "image": ["seedream-4.0", "seedream-3.0"]}
        total = 500 + acct.ext_id % 4_500
        body["credits"] = {"total": total, "vip": total // 2, "gift": 60,
                           "purchase": total - total // 2 - 60 if total > 120 else 0,
                           "dailyClaimed": True}
    return body


def _dr_item(job: SimJob, now: float) -> dict[str, Any]:
    item: dict[str, Any] = {"jobid": job.id, "submitId": job.submit_id, "model": job.model,
                            "elapsedSeconds": int(now - job.started_ts)}
    if job.reply_url is not None:
        item["replyUrl"] = job.reply_url
    return item


def _dr_video(job: SimJob, now: float) -> dict[str, Any]:
    status = "created" if job.running else job.outcome
    if status == "moderated":
        status = "failed"
    request: dict[str, Any] = {"prompt": job.prompt, "model": job.model, "ratio": "16:9",
                               "duration": 5, "resolution": "720p"}
    if job.reply_url is not None:
        request["replyUrl"] = job.reply_url
        if job.reply_ref is not None:
            request["replyRef"] = job.reply_ref
    body: dict[str, Any] = {
        "jobid": job.id, "type": job.kind, "status": status, "model": job.model,
        "created": iso_ms(job.started_ts),
        "updated": iso_ms(now if job.finished_ts is None else job.finished_ts),
        "request": request,
    }
    if job.running:
        body["response"] = {"forecastCost": 125}
    elif job.outcome == "completed":
        assert job.finished_ts is not None
        duration_ms = 5_000
        body["response"] = {
            "videoUrl": f"https://v16.dreamina.example/{job.submit_id}.mp4",
            "videoId": f"v{job.n:09d}", "coverUrl": f"https://p16.dreamina.example/{job.submit_id}.jpeg",
            "width": 1280, "height": 720, "durationMs": duration_ms, "hasAudio": job.n % 3 == 0,
            "finishTime": int(job.finished_ts),
        }
    elif job.outcome == "moderated":
        body["error"] = "fail_code: 2038"
        body["errorDetails"] = ("Content moderation: the prompt or an input image was flagged "
                                "as sensitive content")
    elif job.outcome == "cancelled":
        body["error"] = "Job cancelled"
    else:
        body["error"] = "fail_code: 2043"
        body["errorDetails"] = "Video generation failed upstream, credits were refunded"
    body["code"] = 200
    return body


def _dreamina(sim: Simulator, method: str, rest: list[str], query: dict[str, str]) -> Reply:
    p = "dreamina"
    now = sim.now_ts()
    if rest == ["scheduler"] and _method_ok(method, "GET"):
        executing: dict[str, list[dict[str, Any]]] = {}
        total = 0
        for each in sim.iter_accounts(p):
            if each.running:
                executing[each.account] = [_dr_item(j, now) for j in each.running.values()]
                total += len(each.running)
        return Reply(200, {"executing": executing, "total": total})
    if rest == ["accounts"] and _method_ok(method, "GET"):
        return Reply(200, {a.account: _dr_account(a, now, full=False)
                           for a in sim.iter_accounts(p)})
    if len(rest) == 2 and rest[0] == "accounts" and _method_ok(method, "GET"):
        acct = sim.find_account(p, rest[1])
        if acct is None:
            return error(p, 404, f"Unable to find configuration for account {rest[1]}")
        return Reply(200, _dr_account(acct, now, full=True))
    if len(rest) == 2 and rest[0] == "videos" and _method_ok(method, "GET"):
        job = _job_for(sim, p, rest[1])
        if job is None:
            return error(p, 404, f"Unable to find job {rest[1]}")
        return Reply(200, _dr_video(job, now))
    return error(None, 404, NOT_FOUND)


_ROUTES = {
    ("v2", "pixverse"): _pixverse_v2,
    ("v1", "pixverse"): _pixverse_v1,
    ("v1", "minimax"): _minimax,
    ("v1", "dreamina"): _dreamina,
}
