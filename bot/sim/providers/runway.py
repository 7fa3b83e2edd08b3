"""Runway in the simulator: e-mail accounts, `taskId`s, `/v1/runwayml/…` (the path says
`runwayml`, the provider is `runway`).

Bodies:
`GET /v1/runwayml/scheduler/`
    `[{"taskId", "replyUrl"?, "replyRef"?}]`: no `started`, no `elapsed` (documented).
`GET /v1/runwayml/accounts` (and `/accounts/{email}`)
    `{email: {email, password, maxJobs, jwt: {token, exp, iat, id}}}` with `jwt.exp` the
    account's `expires_ts` as float epoch seconds; `error` where the account has one
    (`SimAccount.error`, set by `Simulator.set_account_error`).
    No account at all: `{}`.
`GET /v1/runwayml/tasks/{taskId}`
    running → `PENDING` (`progressRatio` `"0"`) for the first tenth (at most 10 s), every
    seventh job `THROTTLED` then, the rest `RUNNING` with the ratio done as a string
    (`"0.42"`); completed → `SUCCEEDED`, `"1"`, one artifact; failed → `FAILED` with an
    `error`; moderated → `FAILED` with an `error` that names content moderation (our choice:
    Runway's wording is not documented); cancelled → `CANCELLED` (Runway's own API has
    that word; useapi documents none). Unknown → 404 `{"error":"Not found.","code":404}`.

No `DELETE …/scheduler/{taskId}` is documented for Runway, so none is served.
Ids: `user:{uid}-runwayml:{email}-task:{uuid}` (the uuid made from the job number).
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot.sim.clock import iso_ms
from bot.sim.model import SimAccount, SimJob
from bot.sim.providers.base import ProviderSpec, with_reply
from bot.sim.reply import NOT_FOUND, Reply, error_reply, job_for, method_ok

if TYPE_CHECKING:
    from bot.sim.state import Simulator

NAME = "runway"
SEGMENT = "runwayml"
NOT_FOUND_BODY: dict[str, Any] = {"error": "Not found.", "code": 404}


def task_uuid(n: int) -> str:
    """The uuid of job number `n`: fixed by the number, distinct per number."""
    return str(uuid.UUID(int=(n * 0x9E3779B97F4A7C15) % (1 << 128), version=4))


def _account(acct: SimAccount) -> dict[str, Any]:
    body: dict[str, Any] = {
        "email": acct.email,
        "password": "…secured…",
        "maxJobs": acct.max_jobs,
        "jwt": {
            "token": "eyJ…secured…",
            "exp": round(acct.expires_ts, 3),
            "iat": round(acct.created_ts, 3),
            "id": acct.ext_id,
        },
    }
    return acct.with_error(body)


def _running(job: SimJob, now: float) -> tuple[str, str]:
    """A running task's status and `progressRatio`."""
    duration = job.end_ts - job.started_ts
    elapsed = now - job.started_ts
    if elapsed < min(10.0, 0.1 * duration):
        return ("THROTTLED" if job.n % 7 == 0 else "PENDING"), "0"
    if math.isinf(duration) or duration <= 0:
        return "RUNNING", "0"
    return "RUNNING", f"{min(0.99, elapsed / duration):.2f}"


_ENDED = {
    "completed": ("SUCCEEDED", None),
    "failed": ("FAILED", "An unexpected error occurred during generation"),
    "moderated": ("FAILED", "Content moderation: the prompt was flagged by the safety system"),
    "cancelled": ("CANCELLED", None),
}


def _task(job: SimJob, now: float) -> dict[str, Any]:
    if job.running:
        status, ratio = _running(job, now)
        error = None
    else:
        status, error = _ENDED[job.outcome]
        ratio = "1" if job.outcome == "completed" else "0"
    artifacts: list[dict[str, Any]] = []
    if status == "SUCCEEDED":
        ext = "mp4" if job.kind == "video" else "png"
        artifacts.append(
            {
                "id": task_uuid(job.n + 1),
                "url": f"https://dnznrvs05pmza.runway.example/{task_uuid(job.n)}.{ext}",
                "previewUrls": [f"https://dnznrvs05pmza.runway.example/{job.n}-preview.jpg"],
            }
        )
    return with_reply(
        {
            "taskId": job.id,
            "id": task_uuid(job.n),
            "status": status,
            "error": error,
            "progressText": None,
            "progressRatio": ratio,
            "estimatedTimeToStartSeconds": None,
            "artifacts": artifacts,
            "createdAt": iso_ms(job.started_ts),
        },
        job,
    )


def _v1(sim: Simulator, method: str, rest: list[str], query: dict[str, str]) -> Reply:
    now = sim.now_ts()
    if rest == ["scheduler"] and method_ok(method, "GET"):
        return Reply(200, [with_reply({"taskId": j.id}, j) for j in sim.iter_running(NAME)])
    if rest == ["accounts"] and method_ok(method, "GET"):
        return Reply(200, {a.account: _account(a) for a in sim.iter_accounts(NAME)})
    if len(rest) == 2 and rest[0] == "accounts" and method_ok(method, "GET"):
        acct = sim.find_account(NAME, rest[1])
        if acct is None:
            return SPEC.error(404, f"Unable to find configuration for account {rest[1]}")
        return Reply(200, _account(acct))
    if len(rest) == 2 and rest[0] == "tasks" and method_ok(method, "GET"):
        job = job_for(sim, NAME, rest[1])
        if job is None:
            return Reply(404, dict(NOT_FOUND_BODY))
        return Reply(200, _task(job, now))
    return error_reply(404, NOT_FOUND)


@dataclass(frozen=True, kw_only=True)
class _Runway(ProviderSpec):
    """`…-task:{uuid}` ids, scheduler items that are a `taskId` and nothing else."""

    def job_id(self, uid: int, account: str, kind: str, n: int, started: float) -> str:
        return f"user:{uid}-{SEGMENT}:{account}-task:{task_uuid(n)}"

    def fault_job_id(self, account: str, tag: str) -> str:
        return f"user:0-{SEGMENT}:{account}-task:{tag}"

    def fault_item(self, job_id: str, elapsed: Any, started: str) -> dict[str, Any]:
        # A Runway item has no figure to distort: the hostile part is the id (and, for
        # `huge_numbers`, the maxJobs of the accounts map).
        return {self.id_key: job_id}


SPEC = _Runway(
    status_path="v1/runwayml/tasks/{id}",
    name=NAME,
    max_jobs_range=(1, 10),
    max_jobs_choices=(1, 2, 3, 5, 5, 5, 5, 8, 10),
    kinds=(("video", 0.85), ("image", 0.15)),
    allowed_kinds=("video", "image"),
    durations={"video": (30, 300, 75), "image": (8, 60, 15)},
    models=("gen4_turbo", "gen3a_turbo", "gen4_image"),
    first_number=(1_000_000, 9_000_000),
    routes={"v1": _v1},
    id_key="taskId",
    segment=SEGMENT,
)
