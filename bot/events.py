"""Events: what the diff found worth telling a team. Pure data, no I/O."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime


class EventKind(enum.StrEnum):
    JOB = "job"  # words: completed, failed, moderated, cancelled, stuck, unknown
    CAPACITY = "capacity"  # words: exhausted, still exhausted, restored
    # words: unreachable, unauthorized, payment required, still unreachable, recovered
    # (`still unreachable` is also the account kind's reminder: an account in error, the
    # subscription inactive)
    UPSTREAM = "upstream"
    # words: subscription inactive/active, account error/ok, expires soon, failure rate
    # high/normal (of one account, or of the provider's accounts together)
    ACCOUNT = "account"
    DIGEST = "digest"  # the daily /stats at DIGEST_HOUR (bot.history.digest); word: digest


class AlertWord(enum.StrEnum):
    """The one word an alert says, as users read it (public and fixed). The values stand in
    event keys and stored rows, so they never change; the order is the order summaries list
    them in."""

    COMPLETED = "completed"
    FAILED = "failed"
    MODERATED = "moderated"
    CANCELLED = "cancelled"
    STUCK = "stuck"
    UNKNOWN = "unknown"
    EXHAUSTED = "exhausted"
    STILL_EXHAUSTED = "still exhausted"
    RESTORED = "restored"
    UNREACHABLE = "unreachable"
    UNAUTHORIZED = "unauthorized"
    PAYMENT_REQUIRED = "payment required"
    STILL_UNREACHABLE = "still unreachable"
    RECOVERED = "recovered"
    SUBSCRIPTION_INACTIVE = "subscription inactive"
    SUBSCRIPTION_ACTIVE = "subscription active"
    ACCOUNT_ERROR = "account error"
    ACCOUNT_OK = "account ok"
    EXPIRES_SOON = "expires soon"
    FAILURE_RATE_HIGH = "failure rate high"
    FAILURE_RATE_NORMAL = "failure rate normal"


@dataclass(frozen=True, slots=True)
class Event:
    """One thing that happened. `key` is stable: the same happening always gets the same key,
    so the outbox can refuse a second copy after a restart."""

    key: str
    kind: EventKind
    provider: str
    word: str
    at: datetime
    job_id: str | None = None
    account: str | None = None
    detail: str | None = None
    urls: tuple[str, ...] = ()
    extra: dict[str, str] = field(default_factory=dict)
    #: The job's `replyRef` (job events only): shown in the alert; `discord:<id>` names the
    #: person who asked (`bot.models.discord_user`).
    reply_ref: str | None = None
    #: The user this alert mentions in its message, decided by the alert policy (`plan`)
    #: from `reply_ref` and that user's `/alerts notify` choice; None: nobody.
    mention_user_id: int | None = None
    #: What the alert shows of a completed job's result (`bot.models.previewable` URLs): its
    #: picture (an image job's) and its cover or thumbnail (a video's, a song's).
    image: str | None = None
    cover: str | None = None
