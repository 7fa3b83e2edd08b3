"""Runway (useapi.net v1, `/v1/runwayml/…`).

Quirks handled here:

* The scheduler lists `[{"taskId": "user:U-runwayml:EMAIL-task:uuid", "replyUrl", "replyRef"}]`
  and nothing else: **no `started`, no `elapsed`**. Each job is marked `Job.seen` with no
  start; the watcher counts its elapsed time from the first tick that saw it
  (`bot.models.with_first_sightings`) and the views say "seen for". Should an item ever carry
  `started` or `elapsed`, those are read and the job is an ordinary one. The account is the
  e-mail inside the `taskId`; the kind is not in it (`task`), so it is unknown.
* There is **no capacity endpoint**: `maxJobs` comes from the accounts map
  (`GET /v1/runwayml/accounts`, keyed by e-mail) and `executing` is the number of the
  account's jobs in the queue (as Dreamina's). The same map gives the account health: its
  `error` and the token's expiry `jwt.exp` (float epoch seconds).
* Task status is upper-case: PENDING, RUNNING, THROTTLED → running; SUCCEEDED → completed;
  FAILED → failed, or moderated when its `error` talks about moderation, safety, a content
  policy or sensitive content (our reading: Runway's own wording is not documented).
  Other words go through the shared table (CANCELLED → cancelled), else unknown.
* `progressRatio` is a **string** (`"0.42"`, `"1"`): read leniently into `extra["progress"]`
  (`"42%"`); a number is taken too, a ratio outside 0–1 is clamped, anything unreadable is
  left out (it is a hint, not an error).
* `GET /v1/runwayml/tasks/{taskId}` answering 404 (`{"error":"Not found.","code":404}`) is
  read as unknown with that error: useapi does not say what became of the task (unlike
  MiniMax, whose 404 means moderated), so nothing more is claimed.
* Untracking: no `DELETE …/scheduler/{taskId}` is documented for Runway, so `can_untrack`
  stays False.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from typing import Any, ClassVar, Final
from urllib.parse import quote

from bot import errors
from bot.models import (
    Account,
    AccountHealth,
    Job,
    JobResult,
    Kind,
    Outcome,
    Snapshot,
    first_previewable,
    make_job,
)
from bot.providers.base import Provider
from bot.providers.parse import (
    account_from_id,
    accounts_from_config,
    both,
    expect_dict,
    flat_queue,
    opt_dict,
    opt_list,
    opt_str,
    outcome_from_word,
    parse_time,
    reply_ref_of,
)
from bot.providers.parse.numeric import _MAX_TEXT, _number_from_text

NAME: Final = "runway"

QUEUE_PATH: Final = "/v1/runwayml/scheduler/"
ACCOUNTS_PATH: Final = "/v1/runwayml/accounts"
TASK_PATH: Final = "/v1/runwayml/tasks/{id}"

_ID_KEYS: Final[dict[str, Kind | None]] = {"taskId": None}
_BY_STATUS: Final[dict[str, Outcome]] = {
    "PENDING": Outcome.RUNNING,
    "RUNNING": Outcome.RUNNING,
    "THROTTLED": Outcome.RUNNING,
    "SUCCEEDED": Outcome.COMPLETED,
    "FAILED": Outcome.FAILED,
}
_MODERATION = re.compile(r"moderat|sensitive|violat|safety|content polic", re.IGNORECASE)
NOT_FOUND_MESSAGE: Final = "not found: useapi knows no such Runway task (any more)"


def parse_queue(body: Any, now: datetime) -> tuple[Job, ...]:
    """Jobs from `GET /v1/runwayml/scheduler/` (a flat array of `{taskId, replyUrl, replyRef}`).

    A job with neither `started` nor `elapsed` (every one, as documented) is `seen`, with no
    start: the watcher gives it its first sighting."""
    return tuple(
        make_job(NAME, j.id, j.kind, j.account, None, None, j.model, True, j.reply_ref)
        if j.started is None and j.elapsed_seconds is None
        else j
        for j in flat_queue(body, NAME, "scheduler", _ID_KEYS, now)
    )


def parse_accounts(body: Any, jobs: tuple[Job, ...]) -> tuple[Account, ...]:
    """Capacity from `GET /v1/runwayml/accounts` (`{email: {maxJobs, …}}`) and the queue:
    executing = the account's running jobs, available = max(0, maxJobs − executing)."""
    return accounts_from_config(body, NAME, "accounts", jobs)


def parse_health(body: Any) -> tuple[AccountHealth, ...]:
    """Each account of `GET /v1/runwayml/accounts`: its `error` (useapi's message, when the
    account must be re-added) and its token's expiry, `jwt.exp` (epoch seconds; an
    unreadable or out-of-range time is unknown, None)."""
    accounts = expect_dict(body, NAME, "accounts")
    out: list[AccountHealth] = []
    for name, raw in accounts.items():
        where = f"accounts.{name}"
        entry = expect_dict(raw, NAME, where)
        jwt = opt_dict(entry.get("jwt"), NAME, f"{where}.jwt")
        out.append(
            AccountHealth(
                provider=NAME,
                account=name,
                error=opt_str(entry.get("error"), NAME, f"{where}.error"),
                expires=parse_time(jwt.get("exp")),
            )
        )
    return tuple(out)


def parse_progress(value: object) -> int | None:
    """Whole percent from a `progressRatio` (`"0.42"` → 42, `"1"` → 100, also a number);
    clamped to 0–100; None for anything unreadable (never an error)."""
    number: float | None = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and len(value) <= _MAX_TEXT:
        number = _number_from_text(value.strip())
    if number is None or number != number or number in (math.inf, -math.inf):
        return None  # (no `math.isfinite`: it overflows on a huge integer, 10**400)
    return math.floor(min(max(number, 0), 1) * 100)


def _outcome(status: str | None, error: str | None) -> Outcome:
    word = (status or "").strip().upper()
    outcome = _BY_STATUS.get(word) or outcome_from_word(status) or Outcome.UNKNOWN
    if outcome is Outcome.FAILED and error and _MODERATION.search(error):
        return Outcome.MODERATED
    return outcome


def _urls(task: dict[str, Any]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The artifacts' urls (each once) and their preview pictures (`previewUrls[]`, which
    Runway gives for videos and images alike)."""
    urls: list[str] = []
    previews: list[str] = []
    for i, raw in enumerate(opt_list(task.get("artifacts"), NAME, "artifacts")):
        where = f"artifacts[{i}]"
        artifact = expect_dict(raw, NAME, where)
        url = opt_str(artifact.get("url"), NAME, f"{where}.url")
        if url and url not in urls:
            urls.append(url)
        for j, p in enumerate(opt_list(artifact.get("previewUrls"), NAME, f"{where}.previewUrls")):
            preview = opt_str(p, NAME, f"{where}.previewUrls[{j}]")
            if preview:
                previews.append(preview)
    return tuple(urls), tuple(previews)


def parse_task(body: Any, job_id: str) -> JobResult:
    """The outcome in a 200 body of `GET /v1/runwayml/tasks/{taskId}` (see the module doc):
    `status`, `error`, `progressRatio` (→ `extra["progress"]`), `artifacts[].url`,
    `createdAt`."""
    task = expect_dict(body, NAME, "(body)")
    status = opt_str(task.get("status"), NAME, "status")
    error = opt_str(task.get("error"), NAME, "error")
    outcome = _outcome(status, error)
    extra: dict[str, str] = {}
    progress = parse_progress(task.get("progressRatio"))
    if progress is not None:
        extra["progress"] = f"{progress}%"
    urls, previews = _urls(task)
    return JobResult(
        provider=NAME,
        id=job_id,
        outcome=outcome,
        account=account_from_id(job_id),
        created=parse_time(task.get("createdAt")),
        updated=parse_time(task.get("updatedAt")),
        urls=urls,
        error=error if outcome.final else None,
        raw_status=status,
        extra=extra,
        progress=progress,
        reply_ref=reply_ref_of(task),
        # The kind is unknown (see the module doc): an artifact's preview is its thumbnail.
        cover=first_previewable(*previews),
    )


def not_found(job_id: str) -> JobResult:
    """What a 404 from `GET /v1/runwayml/tasks/{taskId}` means: useapi does not say."""
    return JobResult(
        provider=NAME,
        id=job_id,
        outcome=Outcome.UNKNOWN,
        account=account_from_id(job_id),
        error=NOT_FOUND_MESSAGE,
        raw_status="404",
        found=False,
    )


class Runway(Provider):
    """Runway v1: queue from `/scheduler/`, capacity from `/accounts` minus running jobs."""

    name: ClassVar[str] = NAME
    title: ClassVar[str] = "Runway"
    reply_keys: ClassVar[tuple[str, ...]] = ("taskId",)

    id_marker: ClassVar[str] = "-runwayml:"

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
        try:
            body = await self.client.get_json(
                TASK_PATH.format(id=quote(job_id, safe="")), provider=self.name
            )
        except errors.NotFound:
            return not_found(job_id)
        return parse_task(body, job_id)

    async def accounts(self) -> tuple[AccountHealth, ...]:
        return await self._accounts_at(ACCOUNTS_PATH, parse_health)


PROVIDER = Runway
