"""Mureka, music and TTS (useapi.net v1).

Quirks handled here:

* One call, `GET /v1/mureka/jobs`, gives the queue grouped by account: `{"total", "music",
  "tts", "accounts": {"<account id>": {"total", "music", "tts", "jobs": [{"jobid", "verb",
  "elapsed"}]}}, "availableAccounts": ["<account id>", …]}`, with **no `started`**
  (`Job.started` is None) and the elapsed figure as `"00:24"` in the documented example but
  `"45s"`/`"1m 23s"` in its Model comment (`parse_elapsed` reads both; garbage is None).
* **Mureka publishes no capacity**: no `maxJobs` anywhere. Every account has `max_jobs` and
  `available` None, so `Account.full` is None (never `exhausted`/`restored`) and the views say
  "N running · no limit published". `executing` is the number of the account's jobs as listed
  (each id once): the list is what `/queue` shows, so every view agrees with it; the
  `total`/`music`/`tts` counts are summaries and are not read (a `total` that disagrees with
  the list is no error). Accounts of `availableAccounts` that run nothing follow with 0.
  (Whether an account left out of `availableAccounts` is full is not documented: not
  inferred.) A body without `accounts` is an empty queue only when its `total` is 0 or
  absent; otherwise a `PayloadError`, not an empty queue.
* Every job is of kind `music`, TTS (`verb` `tts/…`, `jobType` `tts`) included: it is audio,
  and the model has no speech kind. The `jobType` and `verb` show on `/job`.
* Job ids look like `j…m-u777-a123-bot:mureka`: the account is the digits after `-a`
  [inferred from the documented example]. In the queue the account is the group's key.
* `GET /v1/mureka/jobs/{jobid}`: `status` `created` → running, `completed`, `failed`
  (`error`/`errorDetails`; moderated when they speak of moderation); any other word is read
  as `outcome_from_word` does, else unknown. Urls are `response.songs[].mp3_url`. useapi keeps
  a job **7 days**: a 404 then is `unknown`, "not found: expired or never existed".
* `GET /v1/mureka/accounts`: an object of accounts (`account`, `email`, `error`); a 404 means
  none configured. No session expiry is published.
* No `DELETE …/scheduler/{id}`: jobs cannot be untracked.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any, ClassVar, Final
from urllib.parse import quote

from bot import errors
from bot.errors import PayloadError
from bot.models import (
    Account,
    AccountHealth,
    Job,
    JobResult,
    Outcome,
    Snapshot,
    bound_count,
    first_previewable,
)
from bot.providers.base import Provider
from bot.providers.parse import (
    expect_dict,
    opt_dict,
    opt_int,
    opt_list,
    opt_str,
    outcome_from_word,
    parse_elapsed,
    parse_time,
    reply_ref_of,
    require_id,
    running_per_account,
    unique_jobs,
)

NAME: Final = "mureka"

QUEUE_PATH: Final = "/v1/mureka/jobs"
JOB_PATH: Final = "/v1/mureka/jobs/{id}"
ACCOUNTS_PATH: Final = "/v1/mureka/accounts"

#: What a 404 from the job endpoint means (useapi keeps Mureka jobs 7 days).
EXPIRED: Final = "not found: expired or never existed (Mureka keeps jobs for 7 days)"

_ACCOUNT_IN_ID = re.compile(r"j[^-]*-u[^-]*-a(?P<account>\d+)(?:-[^:]*)?:[A-Za-z][\w.-]*")
_MODERATION = re.compile(r"moderat|sensitive|violat|copyright", re.IGNORECASE)


def account_from_id(job_id: object) -> str | None:
    """The account a Mureka job id embeds (`j…m-u777-a123-bot:mureka` → `123`), else None."""
    if not isinstance(job_id, str):
        return None
    m = _ACCOUNT_IN_ID.fullmatch(job_id)
    return m["account"] if m else None


def parse_jobs(body: Any) -> tuple[tuple[Job, ...], tuple[Account, ...]]:
    """The queue and the accounts in a `GET /v1/mureka/jobs` body (see the module doc)."""
    top = expect_dict(body, NAME, "(body)")
    groups = _groups(top)
    jobs: list[Job] = []
    for group, raw in groups.items():
        where = f"accounts.{group}"
        items = opt_list(expect_dict(raw, NAME, where).get("jobs"), NAME, f"{where}.jobs")
        jobs.extend(_job(item, group, f"{where}.jobs[{i}]") for i, item in enumerate(items))
    unique = unique_jobs(jobs)
    running = running_per_account(unique)
    names = list(groups)
    for i, raw in enumerate(opt_list(top.get("availableAccounts"), NAME, "availableAccounts")):
        names.append(require_id(raw, NAME, f"availableAccounts[{i}]", what="an account id"))
    accounts = tuple(
        Account(account=name, max_jobs=None, executing=bound_count(running[name]), available=None)
        for name in dict.fromkeys(names)
    )
    return unique, accounts


def _groups(top: dict[str, Any]) -> dict[str, Any]:
    """`accounts`, or {} where it is missing and `total` says nothing runs."""
    groups = top.get("accounts")
    if groups is not None:
        return expect_dict(groups, NAME, "accounts")
    total = opt_int(top.get("total"), NAME, "total")
    if total:
        raise PayloadError(f"missing, yet total is {total}", provider=NAME, field="accounts")
    return {}


def _job(raw: object, group: str, where: str) -> Job:
    item = expect_dict(raw, NAME, where)
    key = "jobId" if item.get("jobid") is None and "jobId" in item else "jobid"
    return Job(
        provider=NAME,
        id=require_id(item.get(key), NAME, f"{where}.{key}"),
        kind="music",
        account=group,
        started=None,
        elapsed_seconds=parse_elapsed(item.get("elapsed")),
        model=opt_str(item.get("model"), NAME, f"{where}.model"),
    )


def parse_queue(body: Any, now: datetime) -> tuple[Job, ...]:
    """The jobs of a `GET /v1/mureka/jobs` body (`now` unused: there is no `started`)."""
    del now
    return parse_jobs(body)[0]


def parse_capacity(body: Any, jobs: tuple[Job, ...] = ()) -> tuple[Account, ...]:
    """The accounts of a `GET /v1/mureka/jobs` body (`jobs` unused: the body has its own)."""
    del jobs
    return parse_jobs(body)[1]


def _outcome(status: str | None, error: str | None) -> Outcome:
    outcome = outcome_from_word(status) or Outcome.UNKNOWN
    if outcome is Outcome.FAILED and error and _MODERATION.search(error):
        return Outcome.MODERATED
    return outcome


def _urls(response: dict[str, Any]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The songs' `mp3_url`s (links) and their `cover` pictures."""
    urls: list[str] = []
    covers: list[str] = []
    for i, raw in enumerate(opt_list(response.get("songs"), NAME, "response.songs")):
        song = expect_dict(raw, NAME, f"response.songs[{i}]")
        url = opt_str(song.get("mp3_url"), NAME, f"response.songs[{i}].mp3_url")
        if url:
            urls.append(url)
        cover = opt_str(song.get("cover"), NAME, f"response.songs[{i}].cover")
        if cover:
            covers.append(cover)
    return tuple(urls), tuple(covers)


def parse_job(body: Any, job_id: str) -> JobResult:
    """The outcome in a `GET /v1/mureka/jobs/{jobid}` body (see the module doc)."""
    job = expect_dict(body, NAME, "(body)")
    status = opt_str(job.get("status"), NAME, "status")
    details = [opt_str(job.get(key), NAME, key) for key in ("error", "errorDetails")]
    error = ": ".join(d for d in details if d) or None
    request = opt_dict(job.get("request"), NAME, "request")
    response = opt_dict(job.get("response"), NAME, "response")
    extra = {
        key: value
        for key in ("jobType", "verb")
        if (value := opt_str(job.get(key), NAME, key)) is not None
    }
    prompt = opt_str(request.get("prompt"), NAME, "request.prompt") or opt_str(
        request.get("text"), NAME, "request.text"
    )
    urls, covers = _urls(response)
    return JobResult(
        provider=NAME,
        id=job_id,
        outcome=_outcome(status, error),
        account=account_from_id(job_id),
        kind="music",
        created=parse_time(job.get("created")),
        updated=parse_time(job.get("updated")),
        prompt=prompt,
        model=opt_str(request.get("model"), NAME, "request.model"),
        urls=urls,
        error=error,
        raw_status=status,
        extra=extra,
        reply_ref=reply_ref_of(job),
        cover=first_previewable(*covers),
    )


def expired(job_id: str) -> JobResult:
    """What a 404 from the job endpoint means: gone after Mureka's 7 days (or never there)."""
    return JobResult(
        provider=NAME,
        id=job_id,
        outcome=Outcome.UNKNOWN,
        account=account_from_id(job_id),
        kind="music",
        error=EXPIRED,
        raw_status="404",
        found=False,
    )


def parse_accounts(body: Any) -> tuple[AccountHealth, ...]:
    """Each account's health in a `GET /v1/mureka/accounts` body: its `error`, no expiry."""
    found: dict[str, AccountHealth] = {}
    for key, raw in expect_dict(body, NAME, "accounts").items():
        where = f"accounts.{key}"
        entry = expect_dict(raw, NAME, where)
        account = opt_str(entry.get("account"), NAME, f"{where}.account") or key
        error = opt_str(entry.get("error"), NAME, f"{where}.error")
        found.setdefault(account, AccountHealth(NAME, account, error=error))
    return tuple(found.values())


class Mureka(Provider):
    """Mureka v1: queue and accounts from `/jobs`; no capacity published."""

    name: ClassVar[str] = NAME
    title: ClassVar[str] = "Mureka"
    reply_keys: ClassVar[tuple[str, ...]] = ("jobid", "jobId")

    id_marker: ClassVar[str] = ":mureka"

    can_untrack: ClassVar[bool] = False

    async def snapshot(self) -> Snapshot:
        body = await self.client.get_json(QUEUE_PATH, provider=self.name)
        jobs, accounts = parse_jobs(body)
        return Snapshot(
            provider=self.name, taken_at=datetime.now(UTC), jobs=jobs, accounts=accounts
        )

    async def job(self, job_id: str) -> JobResult:
        try:
            body = await self.client.get_json(
                JOB_PATH.format(id=quote(job_id, safe="")), provider=self.name
            )
        except errors.NotFound:
            return expired(job_id)
        return parse_job(body, job_id)

    async def accounts(self) -> tuple[AccountHealth, ...]:
        return await self._accounts_at(ACCOUNTS_PATH, parse_accounts)


PROVIDER = Mureka
