"""Kling in the simulator: numeric task ids, e-mail accounts, `/v1/kling/…`.

Routes:

`GET /v1/kling/scheduler`, `GET /v1/kling/scheduler/available`
    Items `{id, email, started, elapsed, replyUrl?, replyRef?}` with `id` a JSON **number**.
    With `quirks`, a job whose number is 3 mod 7 and whose start second is below 40 has its
    `started` written the impossible way the documented example has it (`12:45:67.890Z` for
    12:46:07.890, the same instant rolled over). `available` rows count every running job of
    the account, untracked ones too (Kling still runs them, so they still take its slots).
`GET /v1/kling/tasks/{task_id}?email=`
    Without `email`, more than one account: 400. An unknown `email`: 404 `Unable to find
    configuration for account …`; a task of another account, or none: 404 `Task … not found`;
    a `task_id` that is no number: 400 `Invalid task_id parameter`.
    Outcome representations (only 99 `succeed` is documented; the rest are our choices):
    running → 5 `submitted` for its first tenth, then 10 `processing`, `status_final` false;
    completed → 99 `succeed` with a work whose `resource.resource` is the result url
    and `cover.resource` its cover;
    failed → 50 `failed`, `message` the reason; moderated → 54 `censor_failed` (a name with
    both words, so an adapter must put moderation first), `message` the reason; cancelled →
    60 `cancelled`. `task.createTime`/`updateTime` are ms epochs.
`GET /v1/kling/accounts`, `GET /v1/kling/accounts/{email}`
    `session.ExpireTime` in epoch **milliseconds** (the docs do not say; `ExpireTimeUTC` beside
    it), and `error` for an account marked with `set_account_error`. 404 when none.
`DELETE /v1/kling/scheduler/{task_id}`
    Stops tracking a running task: it leaves both scheduler lists at once, 204. The task
    itself goes on, as Kling's does: `/tasks/{id}` keeps saying running until its planned end,
    then its planned outcome (the ground truth records it so). A task not running, or already
    untracked: 404 `{"error":"Unable to locate running task_id …"}` (no `code`, as documented).

Ids: job number `n` as decimal text, numbers drawn from 10^11 … 10^12; one job in 16 (`n`
divisible by 16) gets an 18-digit id past 2^53 (`_WIDE + n`), as Kling's own API hands out.
The items the `huge_numbers` fault adds have ids past 2^64.

Simulator state of this provider alone (the untracked tasks Kling still runs) lives here, per
simulator, in a weak map: the core knows nothing of it. Accounts in error are the core's
(`Simulator.set_account_error`), so `/v2/account` counts them too.
"""

from __future__ import annotations

import math
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from bot.sim.clock import format_elapsed, from_ts, iso_ms
from bot.sim.model import SimAccount, SimJob
from bot.sim.providers.base import ProviderSpec, with_reply
from bot.sim.reply import NOT_FOUND, Reply, error_reply, job_for, method_ok

if TYPE_CHECKING:
    from bot.sim.state import Simulator

NAME: Final = "kling"
#: Added to every 16th job number: an 18-digit id, past 2^53 (9.0e15) and below 2^63.
_WIDE: Final = 867_000_000_000_000_000
#: Added to a fault item's tag: an id past 2^64.
_HUGE: Final = 2**64
_FAULT_EMAIL: Final = "fault@sim.example"

_UNTRACKED: weakref.WeakKeyDictionary[Simulator, set[str]] = weakref.WeakKeyDictionary()

_FINAL: Final[dict[str, tuple[int, str]]] = {
    "completed": (99, "succeed"),
    "failed": (50, "failed"),
    "moderated": (54, "censor_failed"),
    "cancelled": (60, "cancelled"),
}
_MESSAGES: Final[dict[str, str]] = {
    "completed": "success",
    "failed": "Generation failed, please try again later",
    "moderated": "The content did not pass the platform's review",
    "cancelled": "Task cancelled",
}


def untracked(sim: Simulator) -> set[str]:
    """The ids of the tasks `DELETE /v1/kling/scheduler/{id}` stopped tracking (live set)."""
    return _UNTRACKED.setdefault(sim, set())


def set_account_error(sim: Simulator, email: str, message: str | None) -> None:
    """Mark a Kling account in error (its accounts entry then carries `error`), or clear it
    (`message=None`): `Simulator.set_account_error` for Kling. KeyError for an account the
    simulator does not have."""
    sim.set_account_error(NAME, email, message)


def _started(sim: Simulator, job: SimJob) -> str:
    """`started`, now and then in the documented example's impossible form."""
    text = job.started_iso
    when = from_ts(job.started_ts)
    if sim.quirks and job.n % 7 == 3 and when.second < 40 and when.minute > 0:
        return f"{when:%Y-%m-%dT%H}:{when.minute - 1:02d}:{when.second + 60}{text[-5:]}"
    return text


def _item(sim: Simulator, job: SimJob, now: float) -> dict[str, Any]:
    return with_reply(
        {
            "id": int(job.id),
            "email": job.account,
            "started": _started(sim, job),
            "elapsed": format_elapsed(now - job.started_ts),
        },
        job,
    )


def _executing(sim: Simulator, now: float) -> list[dict[str, Any]]:
    gone = _UNTRACKED.get(sim, ())
    return [_item(sim, j, now) for j in sim.iter_running(NAME) if j.id not in gone]


def _account(sim: Simulator, acct: SimAccount) -> dict[str, Any]:
    body: dict[str, Any] = {
        "email": acct.account,
        "session": {
            "userId": f"user{acct.ext_id}",
            "ExpireTime": int(acct.expires_ts * 1000),
            "ExpireTimeUTC": iso_ms(acct.expires_ts),
        },
        "maxJobs": acct.max_jobs,
        "password": "…secured…",
    }
    return acct.with_error(body)


def _status(job: SimJob, now: float) -> tuple[int, str, bool]:
    if not job.running:
        code, name = _FINAL[job.outcome]
        return code, name, True
    duration = job.end_ts - job.started_ts
    early = duration > 0 and (now - job.started_ts) < duration / 10
    return (5, "submitted", False) if early else (10, "processing", False)


def _task(job: SimJob, now: float) -> dict[str, Any]:
    code, name, final = _status(job, now)
    task_id = int(job.id)
    updated = now if job.finished_ts is None else job.finished_ts
    works: list[dict[str, Any]] = []
    if final and job.outcome == "completed":
        ext = "mp4" if job.kind == "video" else "png"
        works.append(
            {
                "workId": task_id + 1,
                "taskId": task_id,
                "status": code,
                "status_name": name,
                "status_final": True,
                "contentType": job.kind,
                "resource": {"resource": f"https://s21-kling.example/{task_id}.{ext}"},
                "cover": {"resource": f"https://s21-kling.example/{task_id}-cover.jpg"},
            }
        )
    return {
        "status": code,
        "status_name": name,
        "status_final": final,
        "etaTime": 0 if final or math.isinf(job.end_ts) else max(0, int(job.end_ts - now)),
        "message": _MESSAGES[job.outcome] if final else "",
        "task": {
            "id": task_id,
            "type": "m2v_txt2video_hq" if job.kind == "video" else "mmu_txt2img_aiweb",
            "status": code,
            "status_name": name,
            "status_final": final,
            "taskInfo": {
                "arguments": [
                    {"name": "prompt", "value": job.prompt},
                    {"name": "kling_version", "value": job.model},
                ],
                "callbackPayloads": [],
            },
            "createTime": int(job.started_ts * 1000),
            "updateTime": int(updated * 1000),
        },
        "works": works,
    }


def _get_task(sim: Simulator, task_id: str, query: dict[str, str], now: float) -> Reply:
    if not task_id.isdigit():
        return SPEC.error(400, "Invalid task_id parameter")
    email = query.get("email") or None
    if email is None:
        accounts = list(sim.iter_accounts(NAME))
        if len(accounts) != 1:
            return SPEC.error(
                400, "Parameter email is required when more than one account is configured"
            )
        email = accounts[0].account
    if sim.find_account(NAME, email) is None:
        return SPEC.error(404, f"Unable to find configuration for account {email}")
    job = job_for(sim, NAME, task_id)
    if job is None or job.account != email:
        return SPEC.error(404, f"Task {task_id} not found")
    return Reply(200, _task(job, now))


def _untrack(sim: Simulator, task_id: str) -> Reply:
    job = job_for(sim, NAME, task_id)
    gone = untracked(sim)
    if job is None or not job.running or task_id in gone:
        return SPEC.error(404, f"Unable to locate running task_id {task_id}")
    gone.add(task_id)
    return Reply(204)


def _v1(sim: Simulator, method: str, rest: list[str], query: dict[str, str]) -> Reply:
    now = sim.now_ts()
    if rest == ["scheduler"] and method_ok(method, "GET"):
        return Reply(200, _executing(sim, now))
    if rest == ["scheduler", "available"] and method_ok(method, "GET"):
        rows = [
            {
                "email": a.account,
                "maxJobs": a.max_jobs,
                "executing": a.executing,
                "available": a.available,
            }
            for a in sim.iter_accounts(NAME)
        ]
        return Reply(200, {"executing": _executing(sim, now), "available": rows})
    if len(rest) == 2 and rest[0] == "scheduler" and method_ok(method, "DELETE"):
        return _untrack(sim, rest[1])
    if rest == ["accounts"] and method_ok(method, "GET"):
        accounts = {a.account: _account(sim, a) for a in sim.iter_accounts(NAME)}
        return Reply(200, accounts) if accounts else SPEC.error(404, "Configuration not found")
    if len(rest) == 2 and rest[0] == "accounts" and method_ok(method, "GET"):
        acct = sim.find_account(NAME, rest[1])
        if acct is None:
            return SPEC.error(404, "Account configuration not found")
        return Reply(200, _account(sim, acct))
    if len(rest) == 2 and rest[0] == "tasks" and method_ok(method, "GET"):
        return _get_task(sim, rest[1], query, now)
    return error_reply(404, NOT_FOUND)


@dataclass(frozen=True, kw_only=True)
class _Kling(ProviderSpec):
    """Ids are numbers (as decimal text here; a JSON number on the wire)."""

    def job_id(self, uid: int, account: str, kind: str, n: int, started: float) -> str:
        return str(_WIDE + n if n % 16 == 0 else n)

    def fault_job_id(self, account: str, tag: str) -> str:
        return str(_HUGE + int(tag)) if tag.isdigit() else tag

    def fault_item(self, job_id: str, elapsed: Any, started: str) -> dict[str, Any]:
        return {
            "id": int(job_id) if job_id.isdigit() else job_id,
            "email": _FAULT_EMAIL,
            "started": started,
            self.elapsed_key: elapsed,
        }


SPEC = _Kling(
    status_path="v1/kling/tasks/{id}?email={account}",
    name=NAME,
    max_jobs_range=(1, 50),
    max_jobs_choices=(1, 2, 3, 3, 4, 5, 5, 5, 8, 10),
    kinds=(("video", 0.85), ("image", 0.15)),
    allowed_kinds=("video", "image"),
    durations={"video": (60, 600, 180), "image": (10, 90, 25)},
    models=("2.1", "2.1", "2.0", "1.6"),
    first_number=(100_000_000_000, 999_999_999_999),
    routes={"v1": _v1},
    id_key="id",
    error_code=False,
)
