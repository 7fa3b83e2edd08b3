"""Dreamina / Seedance (useapi.net v1).

Quirks handled here:

* The scheduler groups running jobs by account, `{"executing": {"US:a@x": [{jobid, model,
  elapsedSeconds, …}]}, "total": N}`, with **no `started`** (so `Job.started` is None) and the
  elapsed figure as a number of seconds.
* There is **no capacity endpoint**: `maxJobs` comes from the accounts map
  (`GET /v1/dreamina/accounts`, keyed by `REGION:email`) and `executing` is the number of the
  account's jobs in the queue. Accounts running jobs without a config entry are listed too,
  with `max_jobs`/`available` None.
* Job status is `created` (processing), `completed` or `failed`; a failure whose
  `error`/`errorDetails` talks about moderation, sensitive content or a violation is MODERATED.
* Account health: the same accounts map; `sessionExpires` (ISO; `session.expires` when that is
  unreadable) says when the session ends, `error` that the account must be added again.
* Results: a video's `response.videoUrl` (a link) and `coverUrl` (its cover, shown); an image
  job (`GET /v1/dreamina/images/{jobid}`) lists up to four `response.images[].imageUrl`: the
  first is shown, all are linked.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any, ClassVar, Final
from urllib.parse import quote

from bot.models import (
    Account,
    AccountHealth,
    Job,
    JobResult,
    Outcome,
    Snapshot,
    first_previewable,
    make_job,
)
from bot.providers.base import Provider
from bot.providers.parse import (
    account_from_id,
    accounts_from_config,
    accounts_health,
    as_kind,
    both,
    expect_dict,
    expect_list,
    first_time,
    id_info,
    kind_from_id,
    nested,
    opt_dict,
    opt_list,
    opt_str,
    outcome_from_word,
    parse_elapsed,
    parse_time,
    reply_ref_of,
    require_id,
    unique_jobs,
)

NAME: Final = "dreamina"

QUEUE_PATH: Final = "/v1/dreamina/scheduler"
ACCOUNTS_PATH: Final = "/v1/dreamina/accounts"
VIDEO_PATH: Final = "/v1/dreamina/videos/{id}"
IMAGE_PATH: Final = "/v1/dreamina/images/{id}"

_MODERATION = re.compile(r"moderat|sensitive|violat", re.IGNORECASE)


def parse_queue(body: Any, now: datetime) -> tuple[Job, ...]:
    """Jobs from `GET /v1/dreamina/scheduler`.

    `now` is unused (there is no `started` to compute from); it keeps the signature of the
    other adapters' `parse_queue`. Each item takes `_fast_job` (a text `jobid`, text or null
    `model`, as the scheduler sends), else `_job` (every field checked, `PayloadError` naming
    the field): the two give the same job. A job id listed twice (in one group or two) is
    one job, the first; `elapsedSeconds` is clamped to a year (see `bot.models`).
    """
    del now
    groups = expect_dict(expect_dict(body, NAME, "(body)").get("executing"), NAME, "executing")
    jobs: list[Job] = []
    for group, items in groups.items():
        for i, raw in enumerate(expect_list(items, NAME, f"executing.{group}")):
            job = _fast_job(raw, group) if raw.__class__ is dict else None
            jobs.append(job if job is not None else _job(raw, group, i))
    return unique_jobs(jobs)


def _fast_job(item: dict[str, Any], group: str) -> Job | None:
    """`_job` for an item with a text `jobid` and a text or null `model`; None (never an
    error) for anything else."""
    get = item.get
    job_id = get("jobid")
    if job_id.__class__ is not str or not job_id or job_id.isspace():
        return None
    model = get("model")
    if model is not None:
        if model.__class__ is not str:
            return None
        model = model or None
    kind, account = id_info(job_id)
    elapsed = get("elapsedSeconds")
    return make_job(
        NAME,
        job_id,
        kind or "video",
        account or group,
        None,
        parse_elapsed(elapsed if elapsed is not None else get("elapsed")),
        model,
    )


def _job(raw: object, group: str, i: int) -> Job:
    """One item of a group, every field checked (see `parse_queue`)."""
    where = f"executing.{group}[{i}]"
    item = expect_dict(raw, NAME, where)
    key = "jobId" if item.get("jobid") is None and "jobId" in item else "jobid"
    job_id = require_id(item.get(key), NAME, f"{where}.{key}")
    elapsed = item.get("elapsedSeconds")
    return Job(
        provider=NAME,
        id=job_id,
        kind=kind_from_id(job_id) or "video",
        account=account_from_id(job_id) or group,
        started=None,
        elapsed_seconds=parse_elapsed(elapsed if elapsed is not None else item.get("elapsed")),
        model=opt_str(item.get("model"), NAME, f"{where}.model"),
    )


def parse_accounts(body: Any, jobs: tuple[Job, ...]) -> tuple[Account, ...]:
    """Capacity from `GET /v1/dreamina/accounts` (`{"US:a@x": {maxJobs, error?, …}}`) and the
    queue: executing = the account's running jobs, available = max(0, maxJobs − executing)."""
    return accounts_from_config(body, NAME, "accounts", jobs)


def _outcome(status: str | None, error: str | None) -> Outcome:
    outcome = outcome_from_word(status) or Outcome.UNKNOWN
    if outcome is Outcome.FAILED and error and _MODERATION.search(error):
        return Outcome.MODERATED
    return outcome


def parse_video(body: Any, job_id: str) -> JobResult:
    """The outcome in a `GET /v1/dreamina/videos/{jobid}` body.

    `created` → running, `completed`, `failed` (moderated when the error says so),
    `cancelled`; the video url is `response.videoUrl`, the prompt `request.prompt`.
    """
    job = expect_dict(body, NAME, "(body)")
    status = opt_str(job.get("status"), NAME, "status")
    details = [opt_str(job.get(key), NAME, key) for key in ("error", "errorDetails")]
    error = ": ".join(d for d in details if d) or None
    request = opt_dict(job.get("request"), NAME, "request")
    response = opt_dict(job.get("response"), NAME, "response")
    url = opt_str(response.get("videoUrl"), NAME, "response.videoUrl")
    images = _images(response)
    urls = ((url,) if url else ()) + tuple(u for u in images if u != url)
    cover = opt_str(response.get("coverUrl"), NAME, "response.coverUrl")
    return JobResult(
        provider=NAME,
        id=job_id,
        outcome=_outcome(status, error),
        account=account_from_id(job_id),
        kind=as_kind(opt_str(job.get("type"), NAME, "type")) or kind_from_id(job_id) or "video",
        created=parse_time(job.get("created")),
        updated=parse_time(job.get("updated")),
        prompt=opt_str(request.get("prompt"), NAME, "request.prompt"),
        model=opt_str(job.get("model"), NAME, "model"),
        urls=urls,
        error=error,
        raw_status=status,
        reply_ref=reply_ref_of(job),
        image=first_previewable(*images),
        cover=first_previewable(cover),
    )


def _images(response: dict[str, Any]) -> tuple[str, ...]:
    """`response.images[].imageUrl` of an image job (up to four), each once."""
    out: list[str] = []
    for i, raw in enumerate(opt_list(response.get("images"), NAME, "response.images")):
        where = f"response.images[{i}]"
        url = opt_str(expect_dict(raw, NAME, where).get("imageUrl"), NAME, f"{where}.imageUrl")
        if url and url not in out:
            out.append(url)
    return tuple(out)


def _session_expiry(entry: dict[str, Any], provider: str, where: str) -> object:
    return first_time(
        entry.get("sessionExpires"), nested(entry, provider, where, "session", "expires")
    )


def parse_account_health(body: Any) -> tuple[AccountHealth, ...]:
    """Health from `GET /v1/dreamina/accounts` (`{"US:a@x": {error?, sessionExpires}}`)."""
    return accounts_health(body, NAME, _session_expiry)


class Dreamina(Provider):
    """Dreamina v1: queue from `/scheduler`, capacity from `/accounts` minus running jobs.

    No `untrack`: useapi documents no `DELETE …/scheduler/{id}` for Dreamina (only deleting a
    whole account, which also drops its executing jobs), so `/cancel` refuses in words."""

    name: ClassVar[str] = NAME
    title: ClassVar[str] = "Dreamina"
    reply_keys: ClassVar[tuple[str, ...]] = ("jobid", "jobId")

    id_marker: ClassVar[str] = ":dreamina"

    async def snapshot(self) -> Snapshot:
        queue, config = await both(
            self.client.get_json(QUEUE_PATH, provider=self.name),
            self.client.get_json(ACCOUNTS_PATH, provider=self.name),
        )
        now = datetime.now(UTC)
        jobs = parse_queue(queue, now)
        return Snapshot(
            provider=self.name, taken_at=now, jobs=jobs, accounts=parse_accounts(config, jobs)
        )

    async def job(self, job_id: str) -> JobResult:
        # An image job (`j…i-…`) is read where useapi keeps images; the body is alike.
        path = IMAGE_PATH if kind_from_id(job_id) == "image" else VIDEO_PATH
        body = await self.client.get_json(
            path.format(id=quote(job_id, safe="")), provider=self.name
        )
        return parse_video(body, job_id)

    async def accounts(self) -> tuple[AccountHealth, ...]:
        return await self._accounts_at(ACCOUNTS_PATH, parse_account_health)


PROVIDER = Dreamina
