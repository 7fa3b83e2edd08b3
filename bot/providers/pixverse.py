"""PixVerse (useapi.net v2, plus the v1 job endpoint for legacy Discord-era job ids).

Quirks handled here:

* The queue items changed key: older revisions list `{"videoId": …}`, the current one
  `{"id": …, "type": "video"|"image"|"music"}`. Both are read; without `type` the kind comes
  from the id (`…-video:N` / `…-image:N`).
* `GET /v2/pixverse/videos/{id}` answers **404 while the video is still processing**, so a
  404 there means RUNNING, not gone.
* The docs mark `video_status` 5 (QUEUED) as final, which it cannot be; it is read as running.
  7 (moderation failed) and 8 (failed) come from PixVerse's own platform docs.
* Ids that are not `user:…` ones are legacy v1 jobs, read from `GET /v1/pixverse/jobs/?jobid=`;
  those expire after 31+ days and then answer 410 Gone (→ UNKNOWN, error "expired").
* Account health: `GET /v2/pixverse/accounts`, a map keyed by e-mail whose `jwt.ExpireTime`
  (epoch seconds; `jwt.ExpireTimeUTC` when that is unreadable) says when the token ends;
  404 when no account is configured.
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
    accounts_health,
    available_accounts,
    both,
    expect_dict,
    first_time,
    flat_queue,
    kind_from_id,
    nested,
    opt_int,
    opt_list,
    opt_str,
    outcome_from_word,
    parse_time,
    reply_ref_of,
)

NAME: Final = "pixverse"

QUEUE_PATH: Final = "/v2/pixverse/scheduler/"
CAPACITY_PATH: Final = "/v2/pixverse/scheduler/available"
VIDEO_PATH: Final = "/v2/pixverse/videos/{id}"
LEGACY_JOB_PATH: Final = "/v1/pixverse/jobs/"
UNTRACK_PATH: Final = "/v2/pixverse/scheduler/{id}"
ACCOUNTS_PATH: Final = "/v2/pixverse/accounts"

_ID_KEYS: Final[dict[str, Kind | None]] = {"id": None, "videoId": "video", "imageId": "image"}
_BY_STATUS: Final[dict[int, Outcome]] = {
    1: Outcome.COMPLETED,
    5: Outcome.RUNNING,  # QUEUED; "final: true" in the docs is a mistake
    7: Outcome.MODERATED,
    8: Outcome.FAILED,
    10: Outcome.RUNNING,  # GENERATING
}


def parse_queue(body: Any, now: datetime) -> tuple[Job, ...]:
    """Jobs from `GET /v2/pixverse/scheduler/` (a flat array).

    Also takes the `/scheduler/available` body, whose `executing` holds the same items.
    """
    if isinstance(body, dict) and "executing" in body:
        return flat_queue(body["executing"], NAME, "executing", _ID_KEYS, now)
    return flat_queue(body, NAME, "scheduler", _ID_KEYS, now)


def parse_capacity(body: Any, jobs: tuple[Job, ...] = ()) -> tuple[Account, ...]:
    """Accounts from `GET /v2/pixverse/scheduler/available` (`available[{email, maxJobs, …}]`)."""
    return available_accounts(body, NAME, jobs)


def _video_outcome(status: int | None, name: str | None, final: object) -> Outcome:
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    by_name = outcome_from_word(name)
    if by_name is not None:
        return by_name
    return Outcome.RUNNING if final is False else Outcome.UNKNOWN


def parse_video(body: Any, job_id: str) -> JobResult:
    """The outcome in a 200 body of `GET /v2/pixverse/videos/{id}` (also the replyUrl body).

    `video_status` decides where it is known (1, 5, 7, 8, 10); otherwise `video_status_name`,
    otherwise `video_status_final: false` means running and anything else unknown.
    """
    video = expect_dict(body, NAME, "(body)")
    status = opt_int(video.get("video_status"), NAME, "video_status")
    name = opt_str(video.get("video_status_name"), NAME, "video_status_name")
    outcome = _video_outcome(status, name, video.get("video_status_final"))
    if name is not None and "cancel" in name.lower():
        # A cancelled job shares a numeric status with failures; the name tells them apart.
        outcome = Outcome.CANCELLED
    err = opt_str(video.get("error"), NAME, "error")
    code = opt_str(video.get("errCode"), NAME, "errCode")
    if code is not None and code != "0":
        err = f"{err} (errCode {code})" if err else f"errCode {code}"
    url = opt_str(video.get("url"), NAME, "url")
    raw = " ".join(str(part) for part in (status, name) if part is not None) or None
    kind = kind_from_id(job_id) or "video"
    return JobResult(
        provider=NAME,
        id=job_id,
        outcome=outcome,
        account=account_from_id(job_id),
        kind=kind,
        created=parse_time(video.get("created_at")),
        prompt=opt_str(video.get("prompt"), NAME, "prompt"),
        model=opt_str(video.get("model"), NAME, "model"),
        urls=(url,) if url else (),
        error=err,
        raw_status=raw,
        reply_ref=reply_ref_of(video),
        # An image job's `url` is the picture itself; a video's is the video (no cover).
        image=first_previewable(url) if kind == "image" else None,
    )


def still_processing(job_id: str) -> JobResult:
    """What a 404 from `GET /v2/pixverse/videos/{id}` means: the video is not done yet."""
    return JobResult(
        provider=NAME,
        id=job_id,
        outcome=Outcome.RUNNING,
        account=account_from_id(job_id),
        kind=kind_from_id(job_id) or "video",
        raw_status="404 (still processing)",
        found=False,
    )


def parse_legacy_job(body: Any, job_id: str) -> JobResult:
    """The outcome in a v1 `GET /v1/pixverse/jobs/?jobid=` body (Discord-era jobs).

    `created`/`started`/`progress` are running; `completed`, `failed`, `moderated` and
    `cancelled` are what they say; video urls are `attachments[].url`.
    """
    job = expect_dict(body, NAME, "(body)")
    status = opt_str(job.get("status"), NAME, "status")
    urls: list[str] = []
    for i, raw in enumerate(opt_list(job.get("attachments"), NAME, "attachments")):
        url = opt_str(
            expect_dict(raw, NAME, f"attachments[{i}]").get("url"), NAME, f"attachments[{i}].url"
        )
        if url:
            urls.append(url)
    details = [opt_str(job.get(key), NAME, key) for key in ("error", "errorDetails")]
    verb = opt_str(job.get("verb"), NAME, "verb")
    return JobResult(
        provider=NAME,
        id=job_id,
        outcome=outcome_from_word(status) or Outcome.UNKNOWN,
        kind="video",
        created=parse_time(job.get("created")),
        updated=parse_time(job.get("updated")),
        prompt=opt_str(job.get("prompt"), NAME, "prompt"),
        urls=tuple(urls),
        error=": ".join(d for d in details if d) or None,
        raw_status=status,
        extra={"verb": verb} if verb else {},
        reply_ref=reply_ref_of(job),
    )


def legacy_expired(job_id: str) -> JobResult:
    """What 410 Gone from the v1 job endpoint means: the job outlived its 31+ days."""
    return JobResult(
        provider=NAME,
        id=job_id,
        outcome=Outcome.UNKNOWN,
        kind="video",
        error="expired",
        raw_status="410",
    )


def _token_expiry(entry: dict[str, Any], provider: str, where: str) -> object:
    return first_time(
        nested(entry, provider, where, "jwt", "ExpireTime"),
        nested(entry, provider, where, "jwt", "ExpireTimeUTC"),
    )


def parse_account_health(body: Any) -> tuple[AccountHealth, ...]:
    """Health from `GET /v2/pixverse/accounts` (`{email: {error?, jwt: {ExpireTime,
    ExpireTimeUTC}}}`)."""
    return accounts_health(body, NAME, _token_expiry)


class PixVerse(Provider):
    """PixVerse v2: queue from `/scheduler/`, capacity from `/scheduler/available`."""

    name: ClassVar[str] = NAME
    title: ClassVar[str] = "PixVerse"
    reply_keys: ClassVar[tuple[str, ...]] = ("video_id", "id", "image_id", "response.video_id")

    id_marker: ClassVar[str] = "-pixverse:"

    can_untrack: ClassVar[bool] = True

    async def snapshot(self) -> Snapshot:
        queue, capacity = await both(
            self.client.get_json(QUEUE_PATH, provider=self.name),
            self.client.get_json(CAPACITY_PATH, provider=self.name),
        )
        now = datetime.now(UTC)
        jobs = parse_queue(queue, now)
        return Snapshot(
            provider=self.name, taken_at=now, jobs=jobs, accounts=parse_capacity(capacity, jobs)
        )

    async def job(self, job_id: str) -> JobResult:
        if not job_id.startswith("user:"):
            try:
                body = await self.client.get_json(
                    LEGACY_JOB_PATH, provider=self.name, params={"jobid": job_id}
                )
            except errors.Gone:
                return legacy_expired(job_id)
            return parse_legacy_job(body, job_id)
        try:
            body = await self.client.get_json(
                VIDEO_PATH.format(id=quote(job_id, safe="")), provider=self.name
            )
        except errors.NotFound:
            return still_processing(job_id)
        return parse_video(body, job_id)

    async def untrack(self, job_id: str) -> None:
        """`DELETE /v2/pixverse/scheduler/{id}` (a video or image id); `NotFound` when useapi
        runs no such job. Whatever a 2xx carries is not needed."""
        await self.client.delete(UNTRACK_PATH.format(id=quote(job_id, safe="")), provider=self.name)

    async def accounts(self) -> tuple[AccountHealth, ...]:
        return await self._accounts_at(ACCOUNTS_PATH, parse_account_health)


PROVIDER = PixVerse
