"""Mureka in the simulator: numeric-string accounts, music and TTS jobs, `/v1/mureka/…`.

`GET /v1/mureka/jobs` groups the running jobs by account, with `total`/`music`/`tts` counts
and **no `maxJobs`**: useapi publishes no limit for Mureka. The simulator still caps each
account at its `max_jobs` (churn needs somewhere to stop), but that cap shows nowhere except
in `availableAccounts`, the accounts with a free slot (our reading of that list). Elapsed
figures alternate between the documented example's `"00:24"` and the Model comment's
`"45s"`/`"1m 23s"` (odd job numbers), so both reach a client.

Outcome representations (our choices where the documented enums say nothing):
`GET /v1/mureka/jobs/{jobid}`: running → `created`; completed → `completed` +
`response.songs[].mp3_url` and `cover`; failed → `failed` with `error` and `errorDetails`;
moderated → `failed` whose `errorDetails` speaks of moderation; cancelled → `cancelled`. A job
that ended more than 7 days ago, like one never seen, answers 404
`{"error":"Job … not found","code":404}`.

`GET /v1/mureka/accounts`: `{id: {account, email, error?}}`; `error` is the account's own
`error` attribute where the simulator core has that notion (none yet: then never).

Ids: `j{MMDDHHMMSS}{9 digits}m-u{uid}-a{account}-bot:mureka`.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from bot.sim.clock import format_elapsed, from_ts, iso_ms
from bot.sim.model import SimAccount, SimJob
from bot.sim.providers.base import AccountSeed, ProviderSpec, with_reply
from bot.sim.reply import NOT_FOUND, Reply, error_reply, job_for, method_ok

if TYPE_CHECKING:
    from bot.sim.state import Simulator

NAME = "mureka"
#: How long useapi keeps a finished Mureka job: afterwards its endpoint answers 404.
RETENTION = timedelta(days=7)
#: The account in the ids of the items a fault adds (Mureka's ids are numeric).
FAULT_ACCOUNT_ID = "999000000001"


def _elapsed(job: SimJob, now: float) -> str:
    seconds = int(max(0.0, now - job.started_ts))
    if job.n % 2 == 0:
        return format_elapsed(seconds)
    minutes, secs = divmod(seconds, 60)
    return f"{minutes}m {secs}s" if minutes else f"{secs}s"


def _verb(job: SimJob) -> str:
    return "tts/create" if job.kind == "tts" else "music/create"


def _item(job: SimJob, now: float) -> dict[str, Any]:
    return with_reply({"jobid": job.id, "verb": _verb(job), "elapsed": _elapsed(job, now)}, job)


def _counts(jobs: list[SimJob]) -> dict[str, int]:
    tts = sum(1 for j in jobs if j.kind == "tts")
    return {"total": len(jobs), "music": len(jobs) - tts, "tts": tts}


def _queue(sim: Simulator, now: float) -> dict[str, Any]:
    groups: dict[str, Any] = {}
    every: list[SimJob] = []
    for acct in sim.iter_accounts(NAME):
        if acct.running:
            jobs = list(acct.running.values())
            every.extend(jobs)
            groups[acct.account] = {**_counts(jobs), "jobs": [_item(j, now) for j in jobs]}
    free = [a.account for a in sim.iter_accounts(NAME) if a.available > 0]
    return {**_counts(every), "accounts": groups, "availableAccounts": free}


def _account(acct: SimAccount) -> dict[str, Any]:
    body: dict[str, Any] = {
        "account": acct.account,
        "email": acct.email,
        "created": iso_ms(acct.created_ts),
    }
    return acct.with_error(body)


def _job(job: SimJob, now: float) -> dict[str, Any]:
    status = "created" if job.running else job.outcome
    if status == "moderated":
        status = "failed"
    body: dict[str, Any] = {
        "jobid": job.id,
        "verb": _verb(job),
        "jobType": job.kind,
        "status": status,
        "created": iso_ms(job.started_ts),
        "updated": iso_ms(now if job.finished_ts is None else job.finished_ts),
        "request": with_reply({"prompt": job.prompt, "model": job.model, "async": True}, job),
    }
    if job.running:
        body["response"] = {"feed_id": job.n, "state": 1}
    elif job.outcome == "completed":
        body["response"] = {
            "feed_id": job.n,
            "state": 3,
            "songs": [
                {
                    "song_id": f"{job.n}{v}",
                    "mp3_url": f"https://cdn.mureka.example/{job.n}/{v}.mp3",
                    "version": str(v),
                    "duration_milliseconds": 60_000 + job.n % 120_000,
                    "cover": f"https://cdn.mureka.example/{job.n}/{v}-cover.png",
                }
                for v in (1, 2)
            ],
        }
    elif job.outcome == "moderated":
        body["error"] = "Generation failed"
        body["errorDetails"] = "Content moderation: the lyrics were flagged"
    elif job.outcome == "failed":
        body["error"] = "Generation failed"
        body["errorDetails"] = "Mureka could not finish the song, credits were refunded"
    body["code"] = 200
    return body


def _gone(job: SimJob, now: float) -> bool:
    """Whether `job` ended more than `RETENTION` ago."""
    return job.finished_ts is not None and now - job.finished_ts > RETENTION.total_seconds()


def _v1(sim: Simulator, method: str, rest: list[str], query: dict[str, str]) -> Reply:
    now = sim.now_ts()
    if rest == ["jobs"] and method_ok(method, "GET"):
        return Reply(200, _queue(sim, now))
    if len(rest) == 2 and rest[0] == "jobs" and method_ok(method, "GET"):
        job = job_for(sim, NAME, rest[1])
        if job is None or _gone(job, now):
            return SPEC.error(404, f"Job {rest[1]} not found")
        return Reply(200, _job(job, now))
    if rest == ["accounts"] and method_ok(method, "GET"):
        return Reply(200, {a.account: _account(a) for a in sim.iter_accounts(NAME)})
    if len(rest) == 2 and rest[0] == "accounts" and method_ok(method, "GET"):
        acct = sim.find_account(NAME, rest[1])
        if acct is None:
            return SPEC.error(404, f"Unable to find configuration for account {rest[1]}")
        return Reply(200, _account(acct))
    return error_reply(404, NOT_FOUND)


@dataclass(frozen=True, kw_only=True)
class _Mureka(ProviderSpec):
    """Twelve-digit account ids with an e-mail, j-ids, items grouped by account."""

    def new_accounts(self, rng: random.Random, count: int, taken: set[str]) -> list[AccountSeed]:
        emails = super().new_accounts(rng, count, taken)
        seeds: list[AccountSeed] = []
        for email, _, _ in emails:
            key = str(rng.randint(100_000_000_000, 999_999_999_999))
            while key in taken:
                key = str(rng.randint(100_000_000_000, 999_999_999_999))
            taken.add(key)
            seeds.append((key, email, None))
        return seeds

    def job_id(self, uid: int, account: str, kind: str, n: int, started: float) -> str:
        return (
            f"j{from_ts(started):%m%d%H%M%S}{n % 1_000_000_000:09d}m-u{uid}-a{account}-bot:{NAME}"
        )

    def fault_job_id(self, account: str, tag: str) -> str:
        return f"j{tag}m-u0-a{FAULT_ACCOUNT_ID}-bot:{NAME}"

    def fault_item(self, job_id: str, elapsed: Any, started: str) -> dict[str, Any]:
        return {self.id_key: job_id, "verb": "music/create", self.elapsed_key: elapsed}

    def item_lists(self, body: Any, *, adding: bool) -> list[list[Any]] | None:
        """The `jobs` list of each account of a `/jobs` body (an empty map gets one account
        when items are `adding`); None for any other body."""
        if not isinstance(body, dict) or not isinstance(body.get("accounts"), dict):
            return None
        groups = body["accounts"]
        if not groups and adding:
            groups[FAULT_ACCOUNT_ID] = {"total": 0, "music": 0, "tts": 0, "jobs": []}
        return [
            g["jobs"]
            for g in groups.values()
            if isinstance(g, dict) and isinstance(g.get("jobs"), list)
        ]


SPEC = _Mureka(
    status_path="v1/mureka/jobs/{id}",
    name=NAME,
    max_jobs_range=(1, 10),
    max_jobs_choices=(2, 3, 3, 4, 5, 5, 6, 8, 10),
    kinds=(("music", 0.75), ("tts", 0.25)),
    allowed_kinds=("music", "tts"),
    durations={"music": (30, 300, 90), "tts": (5, 60, 15)},
    models=("auto", "mureka-7.5", "mureka-o1"),
    first_number=(100_000_000, 800_000_000),
    routes={"v1": _v1},
    id_key="jobid",
    short_elapsed="5s",
)
