"""MiniMax in the simulator: numeric account ids, `/v1/minimax/…`.

Outcome representations (the documented enums have no "cancelled", so these are our choices):
`GET /v1/minimax/videos/{id}` (and `/images/{id}`): running → `status` 11 `queued` for the
first tenth (at most 10 s), then 1 `processing`, `statusFinal` false. completed → 2
`completed`; failed → 3 `failed`; cancelled → 3 with `statusLabel` `cancelled`; moderated →
404 `{"error":"Not found.","code":404}` for three in four jobs (`SimJob.removed`, decided by
the job number), the rest 200 with status 5, 7 or 14 and `statusLabel` `moderated`.

Ids: `user:{uid}-minimax:{account}-{video|image}:{n}`. With `quirks`, some image jobs are
listed under `videoId`, as the documented examples do (odd job numbers).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot.sim import names
from bot.sim.clock import format_elapsed, iso_ms
from bot.sim.model import SimAccount, SimJob
from bot.sim.providers.base import AccountSeed, ProviderSpec, with_reply
from bot.sim.reply import NOT_FOUND, Reply, delete_job, error_reply, job_for, method_ok

if TYPE_CHECKING:
    from bot.sim.state import Simulator

NAME = "minimax"


def _key(sim: Simulator, job: SimJob) -> str:
    if job.kind == "image" and not (sim.quirks and job.n % 2):
        return "imageId"
    return "videoId"


def _item(sim: Simulator, job: SimJob, now: float) -> dict[str, Any]:
    return with_reply(
        {
            _key(sim, job): job.id,
            "started": job.started_iso,
            "elapsed": format_elapsed(now - job.started_ts),
        },
        job,
    )


def _account(acct: SimAccount) -> dict[str, Any]:
    return acct.with_error(
        {
            "account": acct.account,
            "maxJobs": acct.max_jobs,
            "supportVideo": True,
            "supportChat": True,
            "supportAudio": True,
            "jwt": {
                "token": "eyJ…secured…",
                "user": {"id": str(acct.ext_id), "name": f"user{acct.account}"},
                "exp": round(acct.expires_ts, 3),
                "iat": round(acct.created_ts, 3),
                "host": "hailuoai.video",
                "iat_Issued": iso_ms(acct.created_ts),
                "exp_Expire": iso_ms(acct.expires_ts),
            },
        }
    )


_MODERATED = (5, 7, 14)


def _video(job: SimJob, now: float) -> Reply:
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
        percent = (
            0
            if queued or math.isinf(duration) or duration <= 0
            else min(99, int(100 * elapsed / duration))
        )
        status, label, final, message = (
            (11, "queued", False, "Queued") if queued else (1, "processing", False, "Generating")
        )
    elif job.outcome == "completed":
        status, label, final, message, percent = 2, "completed", True, "Success", 100
        ext = "mp4" if job.kind == "video" else "jpeg"
        urls = {
            "videoURL": f"{media}.{ext}",
            "downloadURL": f"{media}-download.{ext}",
            "coverURL": f"{media}-cover.jpeg",
        }
    elif job.outcome == "moderated":
        status = _MODERATED[(job.n // 4) % len(_MODERATED)]
        label, final, message, percent = "moderated", True, "Content moderated", 0
    elif job.outcome == "cancelled":
        status, label, final, message, percent = 3, "cancelled", True, "Cancelled", 0
    else:
        status, label, final, message, percent = 3, "failed", True, "Generation failed", 0
    body.update(
        {
            "status": status,
            "statusLabel": label,
            "statusFinal": final,
            "percent": percent,
            "message": message,
            **urls,
            "width": width,
            "height": height,
            "canRetry": False,
            "canAppeal": False,
        }
    )
    return Reply(200, body)


def _v1(sim: Simulator, method: str, rest: list[str], query: dict[str, str]) -> Reply:
    p = NAME
    now = sim.now_ts()
    if rest == ["scheduler"] and method_ok(method, "GET"):
        return Reply(200, [_item(sim, j, now) for j in sim.iter_running(p)])
    if rest == ["scheduler", "available"] and method_ok(method, "GET"):
        return Reply(
            200,
            {
                "executing": [_item(sim, j, now) for j in sim.iter_running(p)],
                # documented quirk: these counts cover video jobs only
                "available": [
                    {
                        "account": a.account,
                        "maxJobs": a.max_jobs,
                        "executing": a.videos,
                        "available": max(0, a.max_jobs - a.videos),
                    }
                    for a in sim.iter_accounts(p)
                ],
            },
        )
    if len(rest) == 2 and rest[0] == "scheduler" and method_ok(method, "DELETE"):
        return delete_job(sim, p, rest[1], code=False)
    if rest == ["accounts"] and method_ok(method, "GET"):
        accounts = {a.account: _account(a) for a in sim.iter_accounts(p)}
        return Reply(200, accounts) if accounts else SPEC.error(404, "No accounts configured")
    if len(rest) == 2 and rest[0] == "accounts" and method_ok(method, "GET"):
        acct = sim.find_account(p, rest[1])
        if acct is None:
            return SPEC.error(404, f"Unable to find configuration for account {rest[1]}")
        return Reply(200, _account(acct))
    if len(rest) == 2 and rest[0] in ("videos", "images") and method_ok(method, "GET"):
        job = job_for(sim, p, rest[1])
        if job is None:
            return Reply(404, {"error": "Not found.", "code": 404})
        return _video(job, now)
    return error_reply(404, NOT_FOUND)


@dataclass(frozen=True, kw_only=True)
class _MiniMax(ProviderSpec):
    """Accounts are six-digit ids, with no e-mail or region."""

    def new_accounts(self, rng: random.Random, count: int, taken: set[str]) -> list[AccountSeed]:
        return [(key, None, None) for key in names.unique_numeric_ids(rng, count, taken)]


SPEC = _MiniMax(
    status_path="v1/minimax/videos/{id}",
    name=NAME,
    max_jobs_range=(1, 10),
    max_jobs_choices=(1, 2, 2, 3, 3, 3, 4, 4, 5, 6, 8, 10),
    kinds=(("video", 0.75), ("image", 0.25)),
    allowed_kinds=("video", "image"),
    durations={"video": (90, 600, 200), "image": (15, 90, 30)},
    models=("MiniMax-Hailuo-02", "T2V-01-Director", "I2V-01-live"),
    first_number=(360_000_000_000_000_000, 369_000_000_000_000_000),
    routes={"v1": _v1},
    id_key="videoId",
    display_name="MiniMax API",
)
