"""MiniMax / Hailuo (useapi.net v1).

Quirks handled here:

* Queue items carry `videoId` or `imageId`; the documented example puts an *image* id under
  `videoId`, so the id's own `…-image:N` decides the kind before the key does.
  `started` is ISO in the example but `number` in the Model; both are read.
* `GET /v1/minimax/scheduler/available` counts **video jobs only**. Where that endpoint is
  missing (404) capacity falls back to the accounts map (`GET /v1/minimax/accounts`,
  `{account: {maxJobs, …}}`), counting the queue's video jobs per account the same way.
* `GET /v1/minimax/videos/{id}` answering **404 means the video was "most often moderated and
  removed after it was generated"** (useapi's words), so it is reported as MODERATED.
* `statusFinal` decides whether a job is done; numeric `status`: 0 pending, 1 processing,
  2 completed, 3 failed, 5/7/14 moderated, 11 queued, 12 processing.
* Account health: the same accounts map; `jwt.exp` is **float** epoch seconds (`jwt.exp_Expire`,
  ISO, when that is unreadable); 404 when no account is configured.
"""

from __future__ import annotations

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
)
from bot.providers.base import Provider
from bot.providers.parse import (
    account_from_id,
    accounts_from_config,
    accounts_health,
    available_accounts,
    both,
    expect_dict,
    first_time,
    flat_queue,
    kind_from_id,
    nested,
    opt_int,
    opt_str,
    outcome_from_word,
    reply_ref_of,
)

NAME: Final = "minimax"

QUEUE_PATH: Final = "/v1/minimax/scheduler/"
CAPACITY_PATH: Final = "/v1/minimax/scheduler/available"
ACCOUNTS_PATH: Final = "/v1/minimax/accounts"
VIDEO_PATH: Final = "/v1/minimax/videos/{id}"
UNTRACK_PATH: Final = "/v1/minimax/scheduler/{id}"

_ID_KEYS: Final[dict[str, Kind | None]] = {"videoId": "video", "imageId": "image", "id": None}
#: What counts against an account's maxJobs (as /scheduler/available counts): videos.
_CAPACITY_KINDS: Final[frozenset[Kind | None]] = frozenset({"video", None})
_BY_STATUS: Final[dict[int, Outcome]] = {
    2: Outcome.COMPLETED,
    3: Outcome.FAILED,
    5: Outcome.MODERATED,
    7: Outcome.MODERATED,
    14: Outcome.MODERATED,
}
_RUNNING_STATUS: Final = frozenset({0, 1, 11, 12})
REMOVED_MESSAGE: Final = (
    "not found: MiniMax says such a video was most often moderated and "
    "removed after it was generated"
)


def parse_queue(body: Any, now: datetime) -> tuple[Job, ...]:
    """Jobs from `GET /v1/minimax/scheduler/` (also takes the `/available` body's `executing`)."""
    if isinstance(body, dict) and "executing" in body:
        return flat_queue(body["executing"], NAME, "executing", _ID_KEYS, now)
    return flat_queue(body, NAME, "scheduler", _ID_KEYS, now)


def parse_capacity(body: Any, jobs: tuple[Job, ...] = ()) -> tuple[Account, ...]:
    """Accounts from `GET /v1/minimax/scheduler/available` (`available[{account, maxJobs, …}]`)."""
    return available_accounts(body, NAME, jobs)


def parse_accounts(body: Any, jobs: tuple[Job, ...]) -> tuple[Account, ...]:
    """Capacity from `GET /v1/minimax/accounts` plus the queue: executing = the account's
    running video jobs, available = max(0, maxJobs − executing)."""
    return accounts_from_config(body, NAME, "accounts", jobs, _CAPACITY_KINDS)


def _outcome(status: int | None, label: str | None, final: object) -> Outcome:
    if final is False:
        return Outcome.RUNNING
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    by_label = outcome_from_word(label)
    if by_label is not None:
        return by_label
    if final is None and status in _RUNNING_STATUS:
        return Outcome.RUNNING
    return Outcome.UNKNOWN


def parse_video(body: Any, job_id: str) -> JobResult:
    """The outcome in a 200 body of `GET /v1/minimax/videos/{id}`.

    `statusFinal: false` → running; then `status` (2, 3, 5/7/14), then `statusLabel`, then
    an unfinished numeric status (when `statusFinal` is absent); else unknown. `message` is
    the error of a failed or moderated job. `percent` is clamped to 0–100.
    """
    video = expect_dict(body, NAME, "(body)")
    status = opt_int(video.get("status"), NAME, "status")
    label = opt_str(video.get("statusLabel"), NAME, "statusLabel")
    outcome = _outcome(status, label, video.get("statusFinal"))
    if label is not None and "cancel" in label.lower():
        # A cancelled job shares status 3 with failures; the label tells them apart.
        outcome = Outcome.CANCELLED
    message = opt_str(video.get("message"), NAME, "message")
    urls: list[str] = []
    for key in ("videoURL", "downloadURL"):
        url = opt_str(video.get(key), NAME, key)
        if url and url not in urls:
            urls.append(url)
    cover = opt_str(video.get("coverURL"), NAME, "coverURL")
    kind: Kind = kind_from_id(job_id) or "video"
    raw = " ".join(str(part) for part in (status, label) if part is not None) or None
    percent = opt_int(video.get("percent"), NAME, "percent")
    if percent is not None:
        percent = min(max(percent, 0), 100)
    return JobResult(
        provider=NAME,
        id=job_id,
        outcome=outcome,
        account=account_from_id(job_id),
        kind=kind,
        urls=tuple(urls),
        error=message if outcome in (Outcome.FAILED, Outcome.MODERATED) else None,
        raw_status=raw,
        extra={"percent": str(percent)} if percent is not None else {},
        progress=percent,
        reply_ref=reply_ref_of(video),
        # An image's `videoURL`/`downloadURL` are the picture (the first shown, both linked),
        # its `coverURL` a resized copy; a video's `coverURL` is its cover.
        image=first_previewable(*urls, cover) if kind == "image" else None,
        cover=first_previewable(cover) if kind != "image" else None,
    )


def removed(job_id: str) -> JobResult:
    """What a 404 from `GET /v1/minimax/videos/{id}` means: moderated and removed."""
    return JobResult(
        provider=NAME,
        id=job_id,
        outcome=Outcome.MODERATED,
        account=account_from_id(job_id),
        kind=kind_from_id(job_id) or "video",
        error=REMOVED_MESSAGE,
        raw_status="404",
        found=False,
    )


def _token_expiry(entry: dict[str, Any], provider: str, where: str) -> object:
    return first_time(
        nested(entry, provider, where, "jwt", "exp"),
        nested(entry, provider, where, "jwt", "exp_Expire"),
    )


def parse_account_health(body: Any) -> tuple[AccountHealth, ...]:
    """Health from `GET /v1/minimax/accounts` (`{account: {error?, jwt: {exp, exp_Expire}}}`)."""
    return accounts_health(body, NAME, _token_expiry)


class MiniMax(Provider):
    """MiniMax v1: queue from `/scheduler/`, capacity from `/scheduler/available` (or accounts)."""

    name: ClassVar[str] = NAME
    title: ClassVar[str] = "MiniMax"
    reply_keys: ClassVar[tuple[str, ...]] = ("videoId", "imageId")

    id_marker: ClassVar[str] = "-minimax:"

    can_untrack: ClassVar[bool] = True

    async def _capacity(self) -> tuple[bool, Any]:
        """(True, available body), or (False, accounts map) where /available is a 404."""
        try:
            return True, await self.client.get_json(CAPACITY_PATH, provider=self.name)
        except errors.NotFound:
            return False, await self.client.get_json(ACCOUNTS_PATH, provider=self.name)

    async def snapshot(self) -> Snapshot:
        queue, (has_available, capacity) = await both(
            self.client.get_json(QUEUE_PATH, provider=self.name), self._capacity()
        )
        now = datetime.now(UTC)
        jobs = parse_queue(queue, now)
        accounts = (
            parse_capacity(capacity, jobs) if has_available else parse_accounts(capacity, jobs)
        )
        return Snapshot(provider=self.name, taken_at=now, jobs=jobs, accounts=accounts)

    async def job(self, job_id: str) -> JobResult:
        try:
            body = await self.client.get_json(
                VIDEO_PATH.format(id=quote(job_id, safe="")), provider=self.name
            )
        except errors.NotFound:
            return removed(job_id)
        return parse_video(body, job_id)

    async def untrack(self, job_id: str) -> None:
        """`DELETE /v1/minimax/scheduler/{id}` (a videoId or imageId); `NotFound` ("Unable to
        locate running <id>") when useapi runs no such job."""
        await self.client.delete(UNTRACK_PATH.format(id=quote(job_id, safe="")), provider=self.name)

    async def accounts(self) -> tuple[AccountHealth, ...]:
        return await self._accounts_at(ACCOUNTS_PATH, parse_account_health)


PROVIDER = MiniMax
