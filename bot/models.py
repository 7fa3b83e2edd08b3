"""The normalised model every provider adapter produces. No I/O, no Discord.

**Bounds** (issue 9, defect 4). Upstream numbers can be anything JSON allows (10^400, 1e308,
-3) and upstream times any date; each consumer breaks on them differently (the diff's
`float()` overflows, `timedelta` overflows, a 300-digit day count reaches the screen). So every
field is bounded once, where the adapters read it (`bot/providers/parse/`), and everything
downstream (diff, store, embeds) may rely on the bounds below:

* `Job.elapsed_seconds`: 0 … `MAX_ELAPSED_SECONDS` (one year) or None. A larger figure is
  clamped to it, not dropped: shown as absurd ("over 365d") but finite, and such a job still
  counts as stuck (the stuck threshold is minutes to days).
* `Job.started`, `JobResult.created`/`updated`: aware UTC in [`EARLIEST`, `LATEST`) or None.
  A time outside is unknown: no job of this bot's users ran before 2000 (an epoch 0 is "not
  set", not 1970, and must not make a job 56 years old) or will after 2100, and the window
  keeps every time far from `datetime`'s and the float epoch's edges.
* `Account.max_jobs`, `executing`, `available`: 0 … `MAX_COUNT` (None where unknown). A
  negative count is 0 (`available: -2` is an over-committed account: full); a larger one is
  `MAX_COUNT` (absurd, bounded, and still adds up without overflow).
* `Job.started` of a job marked `seen` is not upstream's time but the first tick that saw the
  job (Runway lists no start): the adapter leaves it None, the watcher fills it
  (`with_first_sightings`) and the store keeps it, so a restart does not reset it.
* `Job.id` and every text field: no lone UTF-16 surrogate (`bot.fastjson.loads` makes each
  U+FFFD), so every database and HTTP library can encode it. Ids are otherwise kept as given.
* `Snapshot.jobs`: one job per id; when a scheduler list repeats an id, the first item is the
  job and the repeats are dropped, so it is listed and counted for capacity once.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime
from types import MemberDescriptorType
from typing import Any, Final, Literal, Protocol

from bot.snowflake import is_snowflake

Kind = Literal["video", "image", "music"]

#: What decoding (`bot.fastjson.loads`) puts in place of a character no database or HTTP
#: library can carry: a lone surrogate, a NUL.
REPLACEMENT: Final = "\ufffd"
#: The longest a job can have been running, as far as the model is concerned: one year.
MAX_ELAPSED_SECONDS: Final = 365 * 86_400
#: The largest per-account job count (`max_jobs`, `executing`, `available`).
MAX_COUNT: Final = 100_000
#: Upstream times before `EARLIEST` or from `LATEST` on are unknown (None).
EARLIEST: Final = datetime(2000, 1, 1, tzinfo=UTC)
LATEST: Final = datetime(2100, 1, 1, tzinfo=UTC)


#: The longest `replyRef` kept: useapi's own limit (a create call refuses a longer one).
MAX_REPLY_REF: Final = 1024
_DISCORD_REF: Final = re.compile(r"discord:([0-9]{1,20})")


def bound_reply_ref(value: object) -> str | None:
    """A `replyRef` as the model keeps it: text only (a number, a list, an object is not
    one: None), empty is None, and at most `MAX_REPLY_REF` characters."""
    if value.__class__ is not str or not value:
        return None
    assert isinstance(value, str)
    return value[:MAX_REPLY_REF]


def discord_user(reply_ref: str | None) -> int | None:
    """The Discord user a `replyRef` names: exactly `discord:<digits>` where the digits are a
    Discord id (`bot.snowflake`); None for anything else, which is never pinged."""
    if reply_ref is None:
        return None
    m = _DISCORD_REF.fullmatch(reply_ref)
    if m is None:
        return None
    user = int(m.group(1))
    return user if is_snowflake(user) else None


#: The longest URL Discord takes in an embed's image or thumbnail (its API refuses a longer
#: one with "Must be 2048 or fewer in length", and the whole message with it).
PREVIEW_URL_MAX: Final = 2048


#: What a URL never holds unescaped (RFC 3986), and what decoding put in place of the
#: unencodable (`REPLACEMENT`) or left of it (a lone surrogate).
_NOT_IN_URL: Final = re.compile(r'[\x00-\x20\x7f-\x9f"<>\\^`{|}\ufffd\ud800-\udfff]')


def previewable(url: object) -> str | None:
    """`url` when Discord may show it as an embed's image or thumbnail, else None (the one
    definition: the adapters pick previews with it, the store and the embeds check again).

    Only `https` (Discord fetches it through its media proxy, and `http:`, `javascript:`,
    `data:` have no business there), with a host, at most `PREVIEW_URL_MAX` characters, and
    nothing a URL cannot hold unescaped (spaces, controls, quotes, angle brackets). Anything
    else stays a plain link, where the link rules apply."""
    if url.__class__ is not str:
        return None
    assert isinstance(url, str)
    if len(url) > PREVIEW_URL_MAX or url[:8].lower() != "https://":
        return None
    if _NOT_IN_URL.search(url) is not None:
        return None
    host = url[8:].split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
    return url if host.rsplit("@", 1)[-1].split(":", 1)[0] else None


def first_previewable(*urls: object) -> str | None:
    """The first of `urls` that is `previewable`, else None."""
    for url in urls:
        ok = previewable(url)
        if ok is not None:
            return ok
    return None


def bound_elapsed(seconds: int) -> int:
    """A non-negative elapsed figure clamped to `MAX_ELAPSED_SECONDS`."""
    return seconds if seconds <= MAX_ELAPSED_SECONDS else MAX_ELAPSED_SECONDS


def bound_count(n: int) -> int:
    """A job count clamped to 0 … `MAX_COUNT`."""
    return 0 if n < 0 else n if n <= MAX_COUNT else MAX_COUNT


def is_stuck(elapsed_seconds: float | None, limit_seconds: float) -> bool:
    """A job is stuck once it has run `limit_seconds` (`STUCK_AFTER_MINUTES`) or longer: the
    diff reports it then, once, and `/queue` marks it ⚠ from then on."""
    return elapsed_seconds is not None and elapsed_seconds >= limit_seconds


def in_time_range(t: datetime) -> bool:
    """Whether an (aware) upstream time lies in [`EARLIEST`, `LATEST`)."""
    return EARLIEST <= t < LATEST


class Outcome(enum.StrEnum):
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    MODERATED = "moderated"
    CANCELLED = "cancelled"
    UNKNOWN = "unknown"

    @property
    def final(self) -> bool:
        return self is not Outcome.RUNNING


@dataclass(frozen=True, slots=True)
class Job:
    """One job useapi is executing right now (bounds: see the module docstring)."""

    provider: str
    id: str
    kind: Kind | None = None
    account: str | None = None
    started: datetime | None = None
    elapsed_seconds: int | None = None
    model: str | None = None
    #: `started` is when opsbot first saw the job, not upstream's start (a provider whose
    #: queue says nothing of it: Runway). Views say "seen for" instead of "running".
    seen: bool = False
    #: What the job's submitter put in useapi's `replyRef` (`bound_reply_ref`); `discord:<id>`
    #: names the Discord user to tell (`discord_user`). Anything else is only shown, as text.
    reply_ref: str | None = None

    def elapsed(self, now: datetime, taken_at: datetime | None = None) -> float | None:
        """Seconds this job has been running at `now`: upstream's own figure, aged by the time
        since it was read (`taken_at`, its snapshot's time), else counted from `started`
        (naive = UTC; a start in the future is 0); None when neither is known. The one
        definition the diff (stuck), the views and the alerts use."""
        if self.elapsed_seconds is not None:
            age = 0.0 if taken_at is None else max((now - taken_at).total_seconds(), 0.0)
            return self.elapsed_seconds + age
        if self.started is not None:
            started = self.started if self.started.tzinfo else self.started.replace(tzinfo=UTC)
            return max((now - started).total_seconds(), 0.0)
        return None

    def run_seconds(self, left_at: datetime) -> float | None:
        """How long this job ran: from its start to `left_at`, when it left the queue (a
        `PendingJob.left_at`, or when a callback told its end). The start is `started`
        (upstream's, or the first sighting of a `seen` job); without one, upstream's own
        elapsed figure as last read stands (a lower bound). None when neither is known. The
        one definition the history's poll and callback paths use."""
        if self.started is not None:
            started = self.started if self.started.tzinfo else self.started.replace(tzinfo=UTC)
            return max((left_at - started).total_seconds(), 0.0)
        return None if self.elapsed_seconds is None else float(self.elapsed_seconds)

    @property
    def elapsed_words(self) -> str:
        """How its elapsed time reads: "running for", or "seen for" where it counts from
        opsbot's first sighting (`seen`: the provider publishes no start)."""
        return "seen for" if self.seen else "running for"

    @property
    def start_label(self) -> str:
        """What its `started` is called: "started", or "first seen" (`seen`)."""
        return "first seen" if self.seen else "started"

    @property
    def askable(self) -> bool:
        """Whether useapi can be asked about this job: not when its id held a character that
        decoding had to replace (`REPLACEMENT`), since that id is not the one useapi knows."""
        return REPLACEMENT not in self.id


_JOB_FIELDS: Final = (
    "provider",
    "id",
    "kind",
    "account",
    "started",
    "elapsed_seconds",
    "model",
    "seen",
    "reply_ref",
)


class JobMaker(Protocol):
    def __call__(
        self,
        provider: str,
        id: str,
        kind: Kind | None,
        account: str | None,
        started: datetime | None,
        elapsed_seconds: int | None,
        model: str | None,
        seen: bool = False,
        reply_ref: str | None = None,
    ) -> Job: ...


def _job_maker() -> JobMaker:
    """`make_job`: the hot paths (a scheduler list, a stored snapshot: 10,000s of jobs a tick)
    build jobs with every field given. The frozen dataclass's `__init__` sets each slot through
    `object.__setattr__`; writing the slots through their descriptors gives the very same object
    in less than half the time (README, Performance). Should `Job` ever gain a field or stop
    being a plain slotted class, this is `Job` itself."""
    slots: list[Any] = [Job.__dict__.get(name) for name in _JOB_FIELDS]
    if (
        tuple(f.name for f in fields(Job)) != _JOB_FIELDS
        or hasattr(Job, "__post_init__")
        or not all(isinstance(s, MemberDescriptorType) for s in slots)
    ):
        return Job  # pragma: no cover
    new = object.__new__
    provider_, id_, kind_, account_, started_, elapsed_, model_, seen_, ref_ = (
        s.__set__ for s in slots
    )

    def make_job(
        provider: str,
        id: str,
        kind: Kind | None,
        account: str | None,
        started: datetime | None,
        elapsed_seconds: int | None,
        model: str | None,
        seen: bool = False,
        reply_ref: str | None = None,
    ) -> Job:
        job: Job = new(Job)
        provider_(job, provider)
        id_(job, id)
        kind_(job, kind)
        account_(job, account)
        started_(job, started)
        elapsed_(job, elapsed_seconds)
        model_(job, model)
        seen_(job, seen)
        ref_(job, reply_ref)
        return job

    return make_job


#: `Job(provider, id, kind, account, started, elapsed_seconds, model, seen=False,
#: reply_ref=None)`, every
#: field given; the same object, built faster (see `_job_maker`).
make_job: JobMaker = _job_maker()


@dataclass(frozen=True, slots=True)
class Account:
    """Capacity of one provider account. `max_jobs`/`available` are None when unknown;
    counts lie in 0 … `MAX_COUNT`."""

    account: str
    max_jobs: int | None
    executing: int
    available: int | None

    @property
    def full(self) -> bool | None:
        """Whether useapi would start no new job on this account; None when the provider does
        not say (Mureka publishes no limit).

        useapi places a job on "an account with available capacity" by its own count of free
        slots, so that count decides: `available` where the provider publishes it (PixVerse,
        MiniMax, Kling: `/scheduler/available`), or `maxJobs` minus the running jobs where the
        adapter had to work it out (Dreamina, Runway). Not `executing >= max_jobs`: MiniMax's
        `available` counts video jobs only, so an account running 3 of 3 with an image job
        among them still takes a video, and is not full. Without `available`, an account is
        full when it runs `maxJobs` jobs or more."""
        if self.available is not None:
            return self.available <= 0
        if self.max_jobs is not None:
            return self.executing >= self.max_jobs
        return None


def all_full(accounts: Iterable[Account]) -> bool | None:
    """Whether a provider can take no new job at all: False when any account has room, True
    when every account is full, None when that cannot be told (no account, or none with room
    but some that do not say)."""
    told = [a.full for a in accounts]
    if any(full is False for full in told):
        return False
    if told and all(told):
        return True
    return None


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What one provider was doing at `taken_at` (UTC): one job per id."""

    provider: str
    taken_at: datetime
    jobs: tuple[Job, ...] = ()
    accounts: tuple[Account, ...] = ()

    @property
    def used(self) -> int:
        """Jobs running on its accounts, by their own counts."""
        return sum(a.executing for a in self.accounts)

    @property
    def capacity(self) -> int | None:
        """The slots of the accounts whose limit is known; None when none says."""
        known = [a.max_jobs for a in self.accounts if a.max_jobs is not None]
        return sum(known) if known else None

    @property
    def no_limit(self) -> bool:
        """Whether it reports accounts but publishes no limit for any of them (Mureka): no
        `maxJobs`, no `available`, so no account's fullness is known (`Account.full` None) and
        its views say "N running · no limit published" (`bot.text.no_limit`)."""
        return bool(self.accounts) and all(a.full is None for a in self.accounts)

    @property
    def full(self) -> bool | None:
        """Whether this provider can take no new job at all (`all_full`)."""
        return all_full(self.accounts)

    @property
    def full_accounts(self) -> tuple[Account, ...]:
        """The accounts that can take no new job (`Account.full`)."""
        return tuple(a for a in self.accounts if a.full)


def with_first_sightings(cur: Snapshot, prev: Snapshot | None) -> Snapshot:
    """`cur` with a start on each `seen` job that has none: the first sighting `prev` holds
    for that id (the stored snapshot, so a restart keeps it), else `cur.taken_at` (first seen
    now). A job that left and came back counts from its return. `cur` itself when no job
    needs one (every provider but those that publish no start: one pass, no copy)."""
    if not any(j.seen and j.started is None for j in cur.jobs):
        return cur
    before = {j.id: j.started for j in prev.jobs if j.seen} if prev is not None else {}
    now = cur.taken_at
    jobs = tuple(
        # `make_job`, not `dataclasses.replace`: 100 times cheaper, for 10,000s of jobs
        make_job(
            j.provider,
            j.id,
            j.kind,
            j.account,
            before.get(j.id) or now,
            None,
            j.model,
            True,
            j.reply_ref,
        )
        if j.seen and j.started is None
        else j
        for j in cur.jobs
    )
    return replace(cur, jobs=jobs)


@dataclass(frozen=True, slots=True)
class AccountHealth:
    """One provider account as useapi's accounts endpoint describes it.

    `error` is useapi's own message when the account is in error ("re-add the account"), None
    when it is fine; `expires` is when its session or token ends (aware UTC, within
    [`EARLIEST`, `LATEST`)), None where the provider does not publish it."""

    provider: str
    account: str
    error: str | None = None
    expires: datetime | None = None


@dataclass(frozen=True, slots=True)
class JobResult:
    """What became of one job, read from the provider's job endpoint."""

    provider: str
    id: str
    outcome: Outcome
    account: str | None = None
    kind: Kind | None = None
    created: datetime | None = None
    updated: datetime | None = None
    prompt: str | None = None
    model: str | None = None
    urls: tuple[str, ...] = ()
    error: str | None = None
    raw_status: str | None = None
    extra: dict[str, str] = field(default_factory=dict)
    #: Whole percent done, where the provider says (MiniMax `percent`, Runway `progressRatio`).
    progress: int | None = None
    #: False where no job record answered (a 404 read as an outcome: MiniMax's "moderated and
    #: removed", Mureka's expiry): an outcome only for a job this bot saw running, never for
    #: an id that only a callback named (`bot.hooks`).
    found: bool = True
    reply_ref: str | None = None
    #: The result picture to show (an image job's first image), `previewable` or None.
    image: str | None = None
    #: A video's or song's cover or thumbnail to show, `previewable` or None; the video or
    #: audio itself stays in `urls`, a link.
    cover: str | None = None
