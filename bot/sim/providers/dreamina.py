"""Dreamina in the simulator: `REGION:email` accounts, j-ids, `/v1/dreamina/…`.

Outcome representations (our choices where the documented enums say nothing):
`GET /v1/dreamina/videos/{jobid}` (an image job's also at `/v1/dreamina/images/{jobid}`):
running → `created`; completed → `completed` + `response.videoUrl` and `coverUrl` (an image
job: `response.images[]`, four `imageUrl`s); failed → `failed` with `error` `fail_code: 2043`;
moderated → `failed` with `error` `fail_code: 2038` and an `errorDetails` that mentions
moderation and sensitive content; cancelled → `cancelled` with `error` `Job cancelled`.
Unknown → 404 `{"error":"Unable to find job <id>"}` (Dreamina's error bodies have no `code`).

Ids: `j{MMDDHHMMSS}{9 digits}v-u{uid}-{REGION}:{email}:dreamina` (`…i-…` for an image job: only
started on request, `start_job(kind="image")`; the population is all video).
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot.sim.clock import from_ts, iso_ms
from bot.sim.model import SimAccount, SimJob
from bot.sim.providers.base import AccountSeed, ProviderSpec, with_reply
from bot.sim.reply import NOT_FOUND, Reply, error_reply, job_for, method_ok

if TYPE_CHECKING:
    from bot.sim.state import Simulator

NAME = "dreamina"
#: The share of new accounts in the CA region (the rest are US).
_CA_SHARE = 0.4


def _account(acct: SimAccount, now: float, *, full: bool) -> dict[str, Any]:
    body: dict[str, Any] = {
        "account": acct.account,
        "email": acct.email,
        "region": acct.region,
        "maxJobs": acct.max_jobs,
        "sessionExpires": iso_ms(acct.expires_ts),
    }
    if full:
        body["session"] = {
            "expires": iso_ms(acct.expires_ts),
            "lastRefreshed": iso_ms(max(acct.created_ts, now - 3_600)),
            "daysUntilExpiry": max(0, int((acct.expires_ts - now) // 86_400)),
        }
        body["models"] = {
            "video": ["seedance-2.0", "seedance-1.0-pro", "seedance-1.0-lite"],
            "image": ["seedream-4.0", "seedream-3.0"],
        }
        total = 500 + acct.ext_id % 4_500
        body["credits"] = {
            "total": total,
            "vip": total // 2,
            "gift": 60,
            "purchase": total - total // 2 - 60 if total > 120 else 0,
            "dailyClaimed": True,
        }
    return acct.with_error(body)


def _item(job: SimJob, now: float) -> dict[str, Any]:
    item: dict[str, Any] = {
        "jobid": job.id,
        "submitId": job.submit_id,
        "model": job.model,
        "elapsedSeconds": int(now - job.started_ts),
    }
    if job.reply_url is not None:
        item["replyUrl"] = job.reply_url
    return item


def _video(job: SimJob, now: float) -> dict[str, Any]:
    status = "created" if job.running else job.outcome
    if status == "moderated":
        status = "failed"
    request = with_reply(
        {
            "prompt": job.prompt,
            "model": job.model,
            "ratio": "16:9",
            "duration": 5,
            "resolution": "720p",
        },
        job,
    )
    body: dict[str, Any] = {
        "jobid": job.id,
        "type": job.kind,
        "status": status,
        "model": job.model,
        "created": iso_ms(job.started_ts),
        "updated": iso_ms(now if job.finished_ts is None else job.finished_ts),
        "request": request,
    }
    if job.running:
        body["response"] = {"forecastCost": 125}
    elif job.outcome == "completed" and job.kind == "image":
        # Seedream answers with a set of four; useapi lists them all.
        body["response"] = {
            "images": [
                {
                    "imageUrl": f"https://p9.dreamina.example/{job.submit_id}-{i}.jpeg",
                    "width": 2048,
                    "height": 2048,
                }
                for i in range(4)
            ]
        }
    elif job.outcome == "completed":
        assert job.finished_ts is not None
        duration_ms = 5_000
        body["response"] = {
            "videoUrl": f"https://v16.dreamina.example/{job.submit_id}.mp4",
            "videoId": f"v{job.n:09d}",
            "coverUrl": f"https://p16.dreamina.example/{job.submit_id}.jpeg",
            "width": 1280,
            "height": 720,
            "durationMs": duration_ms,
            "hasAudio": job.n % 3 == 0,
            "finishTime": int(job.finished_ts),
        }
    elif job.outcome == "moderated":
        body["error"] = "fail_code: 2038"
        body["errorDetails"] = (
            "Content moderation: the prompt or an input image was flagged as sensitive content"
        )
    elif job.outcome == "cancelled":
        body["error"] = "Job cancelled"
    else:
        body["error"] = "fail_code: 2043"
        body["errorDetails"] = "Video generation failed upstream, credits were refunded"
    body["code"] = 200
    return body


def _v1(sim: Simulator, method: str, rest: list[str], query: dict[str, str]) -> Reply:
    p = NAME
    now = sim.now_ts()
    if rest == ["scheduler"] and method_ok(method, "GET"):
        executing: dict[str, list[dict[str, Any]]] = {}
        total = 0
        for each in sim.iter_accounts(p):
            if each.running:
                executing[each.account] = [_item(j, now) for j in each.running.values()]
                total += len(each.running)
        return Reply(200, {"executing": executing, "total": total})
    if rest == ["accounts"] and method_ok(method, "GET"):
        return Reply(200, {a.account: _account(a, now, full=False) for a in sim.iter_accounts(p)})
    if len(rest) == 2 and rest[0] == "accounts" and method_ok(method, "GET"):
        acct = sim.find_account(p, rest[1])
        if acct is None:
            return SPEC.error(404, f"Unable to find configuration for account {rest[1]}")
        return Reply(200, _account(acct, now, full=True))
    if len(rest) == 2 and rest[0] in ("videos", "images") and method_ok(method, "GET"):
        job = job_for(sim, p, rest[1])
        if job is None:
            return SPEC.error(404, f"Unable to find job {rest[1]}")
        return Reply(200, _video(job, now))
    return error_reply(404, NOT_FOUND)


@dataclass(frozen=True, kw_only=True)
class _Dreamina(ProviderSpec):
    """`REGION:email` accounts, j-ids, a `submitId` per job, fault items keyed `jobid`."""

    def new_accounts(self, rng: random.Random, count: int, taken: set[str]) -> list[AccountSeed]:
        emails = super().new_accounts(rng, count, taken)
        regions = ["CA" if rng.random() < _CA_SHARE else "US" for _ in emails]
        return [
            (f"{region}:{email}", email, region)
            for region, (email, _, _) in zip(regions, emails, strict=True)
        ]

    def job_id(self, uid: int, account: str, kind: str, n: int, started: float) -> str:
        suffix = "v" if kind == "video" else "i"
        return (
            f"j{from_ts(started):%m%d%H%M%S}{n % 1_000_000_000:09d}{suffix}-u{uid}-{account}:{NAME}"
        )

    def submit_id(self, rng: random.Random) -> str | None:
        return str(uuid.UUID(int=rng.getrandbits(128), version=4))

    def fault_job_id(self, account: str, tag: str) -> str:
        return f"j{tag}v-u0-US:{account}:{NAME}"

    def fault_item(self, job_id: str, elapsed: Any, started: str) -> dict[str, Any]:
        return {
            self.id_key: job_id,
            "submitId": "fault",
            "model": "seedance-2.0",
            self.elapsed_key: elapsed,
        }


SPEC = _Dreamina(
    status_path="v1/dreamina/videos/{id}",
    name=NAME,
    max_jobs_range=(1, 50),
    max_jobs_choices=(3, 5, 10, 10, 10, 10, 15, 20, 25, 50),
    kinds=(("video", 1.0),),
    allowed_kinds=("video", "image"),
    durations={"video": (40, 900, 150), "image": (10, 90, 25)},
    models=("seedance-2.0", "seedance-2.0", "seedance-1.0-pro", "seedance-1.0-lite"),
    first_number=(100_000_000, 800_000_000),
    routes={"v1": _v1},
    id_key="jobid",
    elapsed_key="elapsedSeconds",
    short_elapsed=5,
    error_code=False,
    display_name="Dreamina API",
)
