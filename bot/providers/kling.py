"""Kling (useapi.net v1).

Quirks handled here:

* **Task ids are JSON numbers.** Each is kept exact as its decimal text: `bot.fastjson.loads`
  reads integers of 19 digits or more with the standard library (orjson would make a float of
  one past 64 bits), and Python's integers are exact, so 2^53 + 1 and 2^64 + 1 stay what they
  were. A float id (`1.5e20`, `12.0`: a JSON writer that already lost digits) is a
  `PayloadError`, never rounded; numeric text (`"123"`) is taken as it is.
* Queue **and** capacity come from one call, `GET /v1/kling/scheduler/available`
  (`{"executing": [scheduler items], "available": [{email, maxJobs, executing,
  available}]}`). Where it answers 404 (the endpoint absent) or its body holds no `available`
  (missing or null), the queue comes from `GET /v1/kling/scheduler` (a flat array) and the
  accounts are derived from it: one row per e-mail that runs jobs, `executing` its count,
  `max_jobs`/`available` unknown (None). No third call for limits: the fallback serves a
  degraded upstream, and an unknown limit never raises a false "exhausted".
* Each job's account is its `email`; scheduler items have no `type`, so `kind` is None.
  The documented examples hold impossible times (`12:45:67.890Z`), read leniently (rolled
  over, as `bot.providers.parse.times` does).
* One task: `GET /v1/kling/tasks/{task_id}?email=…` needs the account's e-mail when more than
  one account is configured, and `Provider.job(job_id)` gets the id alone. So the adapter
  remembers each id's e-mail from the snapshots it took (`_emails`, bounded; the watcher asks
  about jobs that left its last snapshot). For an id it never saw (`/job` on an old task, a
  pending job after a restart) it asks each account the last snapshot knew (else those of
  `GET /v1/kling/accounts`), one after another, up to `MAX_SEARCH`; a 400 or 404 means "not
  this account". Without any account it asks without `email` (useapi's single-account case).
* Outcome from `status_name` first (`succeed` → completed; anything `moderat…`/`censor…` →
  moderated; `cancel…` → cancelled; `fail`/`failed` → failed), then `status_final: false` →
  running, then status 99 (the one documented code, succeed) → completed; else unknown.
  Result urls are `works[].resource.resource` (an image work's shown; a video's
  `works[].cover.resource` shown as its cover); created is `task.createTime` (ms epoch); the
  error is `message` when failed or moderated.
* `GET /v1/kling/accounts` (keyed by e-mail): `session.ExpireTime` is an epoch number whose
  unit is not documented (the example, 123456789, is a placeholder): read by magnitude,
  milliseconds from 10^11 on, seconds below (`parse_time`); one outside 2000–2100 (the
  example's) gives way to `session.ExpireTimeUTC`. 404 = no account configured.
* `DELETE /v1/kling/scheduler/{task_id}` stops useapi tracking the task (Kling keeps
  generating); 404 `{"error":"Unable to locate running task_id …"}` → `errors.NotFound`. The
  task's own endpoint then still tells Kling's status (running while Kling generates it); the
  watcher reports the untracked job `cancelled` from the store's record of the untrack
  (`/cancel`), the one owner of that fact.
"""

from __future__ import annotations

from collections import Counter
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
    bound_count,
    first_previewable,
)
from bot.providers.base import Provider
from bot.providers.parse import (
    as_kind,
    available_accounts,
    expect_dict,
    flat_queue,
    opt_dict,
    opt_int,
    opt_list,
    opt_str,
    outcome_from_word,
    parse_time,
    reply_ref_of,
)
from bot.useapi import UseapiClient

NAME: Final = "kling"

QUEUE_PATH: Final = "/v1/kling/scheduler"
CAPACITY_PATH: Final = "/v1/kling/scheduler/available"
ACCOUNTS_PATH: Final = "/v1/kling/accounts"
TASK_PATH: Final = "/v1/kling/tasks/{id}"
UNTRACK_PATH: Final = "/v1/kling/scheduler/{id}"

#: Accounts asked in turn about a task whose account is not known.
MAX_SEARCH: Final = 20
#: Ids whose e-mail is remembered; past it the memory restarts from the latest snapshot.
MAX_REMEMBERED: Final = 50_000


_ID_KEYS: Final[dict[str, Kind | None]] = {"id": None}
_SUCCEED: Final = frozenset({"succeed", "succeeded", "success", "completed"})
_FAILED: Final = frozenset({"fail", "failed"})
_BY_STATUS: Final[dict[int, Outcome]] = {99: Outcome.COMPLETED}
_KINDS: Final[dict[str, Kind]] = {"audio": "music"}


def _text_ids(items: object, field: str) -> object:
    """`items` with each integer `id` as its decimal text (exact, and what the scheduler
    parser's fast path takes: five times quicker than its checked path at 10,000 jobs). A
    float id is an error of its own: its digits may be gone, and a rounded id would ask about
    another task. Anything else is left for `flat_queue` to judge."""
    if items.__class__ is not list:
        return items  # flat_queue names the wrong shape
    out: list[Any] = []
    for i, item in enumerate(items):
        if item.__class__ is dict:
            task_id = item.get("id")
            if task_id.__class__ is int:
                item = {**item, "id": str(task_id)}
            elif task_id.__class__ is float:
                raise errors.PayloadError(
                    f"task id {task_id!r} is not a whole number (its digits may be lost)",
                    provider=NAME,
                    field=f"{field}[{i}].id",
                )
        out.append(item)
    return out


def parse_queue(body: Any, now: datetime) -> tuple[Job, ...]:
    """Jobs from `GET /v1/kling/scheduler` (a flat array) or the `executing` list of
    `GET /v1/kling/scheduler/available`: ids as exact decimal text, account = `email`."""
    if isinstance(body, dict) and "executing" in body:
        body, field = body["executing"], "executing"
    else:
        field = "scheduler"
    return flat_queue(_text_ids(body, field), NAME, field, _ID_KEYS, now)


def has_available(body: Any) -> bool:
    """Whether a `/scheduler/available` body holds its `available` rows (missing or null:
    the fallback). A body that is no object is a `PayloadError`, not a reason to fall back."""
    return expect_dict(body, NAME, "(body)").get("available") is not None


def parse_capacity(body: Any, jobs: tuple[Job, ...] = ()) -> tuple[Account, ...]:
    """Accounts from `/scheduler/available`'s `available[{email, maxJobs, executing,
    available}]` (see `available_accounts`)."""
    return available_accounts(body, NAME, jobs)


def derived_accounts(jobs: tuple[Job, ...]) -> tuple[Account, ...]:
    """The fallback's accounts: each e-mail that runs jobs, limits unknown."""
    running = Counter(j.account for j in jobs if j.account is not None)
    return tuple(
        Account(account=name, max_jobs=None, executing=bound_count(n), available=None)
        for name, n in sorted(running.items())
    )


def _outcome(status: int | None, name: str | None, final: object) -> Outcome:
    word = (name or "").strip().lower()
    if word in _SUCCEED:
        return Outcome.COMPLETED
    if "moderat" in word or "censor" in word:
        return Outcome.MODERATED
    if word.startswith("cancel"):
        return Outcome.CANCELLED
    if word in _FAILED:
        return Outcome.FAILED
    if final is False:
        return Outcome.RUNNING
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    if final is None and outcome_from_word(word) is Outcome.RUNNING:
        return Outcome.RUNNING
    return Outcome.UNKNOWN


def _works(body: dict[str, Any]) -> tuple[tuple[str, ...], Kind | None, tuple[str, ...]]:
    """Result urls (`works[].resource.resource`, each once), the kind of the first work
    that says (`contentType`), and the works' covers (`works[].cover.resource`)."""
    urls: list[str] = []
    covers: list[str] = []
    kind: Kind | None = None
    for i, raw in enumerate(opt_list(body.get("works"), NAME, "works")):
        work = expect_dict(raw, NAME, f"works[{i}]")
        resource = opt_dict(work.get("resource"), NAME, f"works[{i}].resource")
        url = opt_str(resource.get("resource"), NAME, f"works[{i}].resource.resource")
        if url and url not in urls:
            urls.append(url)
        cover = opt_dict(work.get("cover"), NAME, f"works[{i}].cover")
        cover_url = opt_str(cover.get("resource"), NAME, f"works[{i}].cover.resource")
        if cover_url:
            covers.append(cover_url)
        if kind is None:
            content = opt_str(work.get("contentType"), NAME, f"works[{i}].contentType")
            kind = as_kind(content) or _KINDS.get((content or "").lower())
    return tuple(urls), kind, tuple(covers)


def _arguments(task: dict[str, Any]) -> dict[str, str]:
    """`task.taskInfo.arguments[{name, value}]` as a map (the prompt and the model's
    version live there); entries that are not name/value text are skipped."""
    info = opt_dict(task.get("taskInfo"), NAME, "task.taskInfo")
    out: dict[str, str] = {}
    for i, raw in enumerate(opt_list(info.get("arguments"), NAME, "task.taskInfo.arguments")):
        arg = expect_dict(raw, NAME, f"task.taskInfo.arguments[{i}]")
        name = arg.get("name")
        value = opt_str(arg.get("value"), NAME, f"task.taskInfo.arguments[{i}].value")
        if isinstance(name, str) and value:
            out.setdefault(name, value)
    return out


def parse_task(body: Any, job_id: str, email: str | None = None) -> JobResult:
    """The outcome in a 200 body of `GET /v1/kling/tasks/{task_id}` (see the module doc);
    the status fields are read at the top, else in `task`."""
    top = expect_dict(body, NAME, "(body)")
    task = opt_dict(top.get("task"), NAME, "task")
    where = top if any(k in top for k in ("status", "status_name", "status_final")) else task
    prefix = "" if where is top else "task."
    status = opt_int(where.get("status"), NAME, f"{prefix}status")
    name = opt_str(where.get("status_name"), NAME, f"{prefix}status_name")
    outcome = _outcome(status, name, where.get("status_final"))
    message = opt_str(top.get("message"), NAME, "message")
    urls, kind, covers = _works(top)
    args = _arguments(task)
    version = args.get("kling_version")
    raw = " ".join(str(part) for part in (status, name) if part is not None) or None
    return JobResult(
        provider=NAME,
        id=job_id,
        outcome=outcome,
        account=email,
        kind=kind,
        created=parse_time(task.get("createTime")),
        updated=parse_time(task.get("updateTime")),
        prompt=args.get("prompt"),
        model=f"kling {version}" if version else None,
        urls=urls,
        error=message if outcome in (Outcome.FAILED, Outcome.MODERATED) else None,
        raw_status=raw,
        reply_ref=reply_ref_of(top),
        # An image work's resource is the picture; a video's (or audio's) cover is shown.
        image=first_previewable(*urls) if kind == "image" else None,
        cover=first_previewable(*covers) if kind != "image" else None,
    )


def parse_accounts(body: Any) -> tuple[AccountHealth, ...]:
    """Each account of `GET /v1/kling/accounts` (`{email: {session: {ExpireTime,
    ExpireTimeUTC}, error?}}`): its `error`, and when its session ends (see the module doc)."""
    out: list[AccountHealth] = []
    for key, raw in expect_dict(body, NAME, "(body)").items():
        entry = expect_dict(raw, NAME, key)
        session = opt_dict(entry.get("session"), NAME, f"{key}.session")
        expires = parse_time(session.get("ExpireTime")) or parse_time(session.get("ExpireTimeUTC"))
        error = opt_str(entry.get("error"), NAME, f"{key}.error")
        out.append(AccountHealth(provider=NAME, account=key, error=error, expires=expires))
    return tuple(out)


class Kling(Provider):
    """Kling v1: queue and capacity from `/scheduler/available` (else `/scheduler`)."""

    name: ClassVar[str] = NAME
    title: ClassVar[str] = "Kling"
    reply_keys: ClassVar[tuple[str, ...]] = ("task.id", "task_id", "id")

    def owns(self, value: object) -> bool:
        return isinstance(value, int) and not isinstance(value, bool)  # ids are JSON numbers

    can_untrack: ClassVar[bool] = True

    def __init__(self, client: UseapiClient) -> None:
        super().__init__(client)
        #: Task id → its account's e-mail, from the snapshots taken (see the module doc).
        self._emails: dict[str, str] = {}
        #: The accounts of the last snapshot, asked in turn about a task of unknown account.
        self._known: tuple[str, ...] = ()

    async def snapshot(self) -> Snapshot:
        try:
            body: Any = await self.client.get_json(CAPACITY_PATH, provider=self.name)
        except errors.NotFound:
            body = None
        if body is not None and has_available(body):
            now = datetime.now(UTC)
            jobs = parse_queue(body, now)
            accounts = parse_capacity(body, jobs)
        else:
            queue = await self.client.get_json(QUEUE_PATH, provider=self.name)
            now = datetime.now(UTC)
            jobs = parse_queue(queue, now)
            accounts = derived_accounts(jobs)
        self._remember(jobs, accounts)
        return Snapshot(provider=self.name, taken_at=now, jobs=jobs, accounts=accounts)

    def _remember(self, jobs: tuple[Job, ...], accounts: tuple[Account, ...]) -> None:
        current = {j.id: j.account for j in jobs if j.account is not None}
        if len(self._emails) + len(current) > MAX_REMEMBERED:
            self._emails = {}
        self._emails.update(current)
        self._known = tuple(a.account for a in accounts)

    async def _task(self, job_id: str, email: str | None) -> Any:
        params = {"email": email} if email is not None else None
        return await self.client.get_json(
            TASK_PATH.format(id=quote(job_id, safe="")), provider=self.name, params=params
        )

    async def job(self, job_id: str) -> JobResult:
        """The task's outcome, asked with its account's e-mail (see the module doc)."""
        email = self._emails.get(job_id)
        if email is not None:
            return parse_task(await self._task(job_id, email), job_id, email)
        return await self._search(job_id)

    async def _candidates(self) -> tuple[str, ...]:
        if self._known:
            return self._known
        try:
            body = await self.client.get_json(ACCOUNTS_PATH, provider=self.name)
        except errors.NotFound:
            return ()
        return tuple(expect_dict(body, NAME, "(body)"))

    async def _search(self, job_id: str) -> JobResult:
        """Ask each known account about `job_id` (see the module doc)."""
        candidates = (await self._candidates())[:MAX_SEARCH]
        if not candidates:
            return parse_task(await self._task(job_id, None), job_id)
        for email in candidates:
            try:
                body = await self._task(job_id, email)
            except (errors.NotFound, errors.BadRequest):
                continue
            self._emails[job_id] = email
            return parse_task(body, job_id, email)
        raise errors.NotFound(
            f"none of {len(candidates)} Kling account(s) knows task {job_id}",
            provider=self.name,
            status=404,
        )

    async def accounts(self) -> tuple[AccountHealth, ...]:
        return await self._accounts_at(ACCOUNTS_PATH, parse_accounts)

    async def untrack(self, job_id: str) -> None:
        await self.client.delete(UNTRACK_PATH.format(id=quote(job_id, safe="")), provider=self.name)


PROVIDER = Kling
