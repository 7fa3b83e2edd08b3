"""Lenient, pure helpers the provider adapters share: times, elapsed figures, ids, typed getters.

useapi.net's providers disagree on almost everything (see `useapi/endpoints.md` §10): the id key,
whether `started` is ISO or epoch, whether elapsed is `"03:57"`, `"1m 23s"` or a number of seconds,
and some documented examples hold impossible timestamps (`"12:45:67.890Z"`). The value parsers
here (`parse_time`, `parse_elapsed`, `account_from_id`, `kind_from_id`) therefore never raise: a
value they cannot read becomes `None`. The getters (`expect_*`, `opt_*`, `require_id`) are the
opposite: they guard the *shape* of a body and raise `PayloadError` naming provider and field, so
an adapter never lets a KeyError/TypeError escape and never turns a misunderstood body into an
empty queue.

Values that are readable but absurd are bounded here, per field, as `bot.models` documents
(issue 9, defect 4):

* elapsed figures (`elapsed`, `elapsedSeconds`, or computed from `started`): clamped to
  `MAX_ELAPSED_SECONDS` (a year), so 10^400 and 1e308 are a year, not an OverflowError;
* times (`started`, `created`, `updated`): outside [`EARLIEST`, `LATEST`) (2000–2100) → None;
* account counts (`maxJobs`, `executing`, `available`): clamped to 0 … `MAX_COUNT`;
* a scheduler list (or Dreamina group) that repeats a job id gives one job, the first;
  an `available` list that repeats an account gives one row, the first. Every item is still
  read, so a malformed repeat is a `PayloadError` like any malformed item.

Nothing but `PayloadError` leaves an adapter's parse functions, whatever the JSON.
"""

from __future__ import annotations

import asyncio
import math
import re
from collections import Counter
from collections.abc import Coroutine, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Final, TypeVar

from bot.errors import PayloadError
from bot.models import (
    MAX_ELAPSED_SECONDS,
    Account,
    Job,
    Kind,
    Outcome,
    bound_count,
    bound_elapsed,
    in_time_range,
    make_job,
)

__all__ = [
    "account_from_id",
    "accounts_from_config",
    "as_kind",
    "available_accounts",
    "both",
    "elapsed_since",
    "expect_dict",
    "expect_list",
    "flat_queue",
    "kind_from_id",
    "opt_dict",
    "opt_int",
    "opt_list",
    "opt_str",
    "outcome_from_word",
    "parse_elapsed",
    "parse_time",
    "require_id",
    "running_per_account",
    "unique_jobs",
]

_A = TypeVar("_A")
_B = TypeVar("_B")

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
#: Epoch numbers at or above this are milliseconds (1e11 s is the year 5138; 1e11 ms is 1973).
_MS_THRESHOLD: Final = 1e11

# ---------------------------------------------------------------------------------------- times

_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
#: Longer text is no time or elapsed figure (and bounds the regex work on hostile input).
_MAX_TEXT: Final = 64
_ISO = re.compile(
    r"""(?P<y>\d{4})-(?P<mo>\d{1,2})-(?P<d>\d{1,2})
        (?:[Tt\ ]+(?P<h>\d{1,2}):(?P<mi>\d{1,2})(?::(?P<s>\d{1,2})(?:[.,](?P<f>\d+))?)?)?
        \ *(?:(?P<z>[Zz]|UTC|GMT)|(?P<sign>[+-])(?P<oh>\d{2}):?(?P<om>\d{2})?)?""",
    re.VERBOSE,
)


def _from_epoch(value: float) -> datetime | None:
    try:
        if not math.isfinite(value) or value < 0:
            return None
        if value >= _MS_THRESHOLD:
            return _EPOCH + timedelta(milliseconds=value)
        return _EPOCH + timedelta(seconds=value)
    except (OverflowError, ValueError):
        return None


def _number_from_text(text: str) -> float | None:
    if not _NUMBER.fullmatch(text):
        return None
    try:
        number = float(text) if any(c in text for c in ".eE") else int(text)
    except (OverflowError, ValueError):
        return None
    return number


#: The shape every scheduler sends (`2024-09-25T01:55:16.128Z`): parsed by the C fromisoformat,
#: ~40x faster than `_ISO` and the same result (other text, and values fromisoformat refuses,
#: such as `12:45:67.890Z`, take the lenient path below). Found by profiling a 10,000-job tick.
_CANONICAL_ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", re.ASCII)


def _from_iso(text: str) -> datetime | None:
    m = _ISO.fullmatch(text)
    if m is None:
        return None
    month, day = int(m["mo"]), int(m["d"])
    if not 1 <= month <= 12 or day < 1:
        return None
    fraction = (m["f"] or "")[:6].ljust(6, "0")
    # Out-of-range clock fields roll over (12:45:67 → 12:46:07, Feb 30 → Mar 1), as a JS Date does.
    shift = timedelta(days=day - 1, hours=int(m["h"] or 0), minutes=int(m["mi"] or 0),
                      seconds=int(m["s"] or 0), microseconds=int(fraction))
    if m["sign"]:
        offset = timedelta(hours=int(m["oh"]), minutes=int(m["om"] or 0))
        shift -= offset if m["sign"] == "+" else -offset
    try:
        return datetime(int(m["y"]), month, 1, tzinfo=UTC) + shift
    except (OverflowError, ValueError):
        return None


def parse_time(value: object) -> datetime | None:
    """An aware UTC datetime from whatever a provider put in a time field, or None.

    Accepts ISO-8601 text (`Z`, `±hh:mm`, `±hhmm`, with or without fractions; no zone = UTC),
    epoch seconds and epoch milliseconds (numbers ≥ 1e11) as numbers or numeric text, and
    `datetime` objects (naive = UTC). Impossible clock values roll over instead of failing
    (`12:45:67.890Z` → `12:46:07.890Z`); an impossible month, negative or non-finite epoch,
    a time outside 2000–2100 (`bot.models.EARLIEST`/`LATEST`: epoch 0 is "not set", not
    1970), or anything else unreadable gives None. Never raises.
    """
    if value is None:
        return None
    t = _read_time(value)
    return t if t is not None and in_time_range(t) else None


def _read_time(value: object) -> datetime | None:
    """`parse_time` without the 2000–2100 window."""
    if isinstance(value, bool):
        return None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        try:
            return value.astimezone(UTC)
        except (OverflowError, ValueError):
            return None
    if isinstance(value, int | float):
        return _from_epoch(value)
    if not isinstance(value, str):
        return None
    text = value.strip()
    if _CANONICAL_ISO.fullmatch(text):
        try:
            return datetime.fromisoformat(text)
        except ValueError:
            pass  # roll over as below
    if len(text) > _MAX_TEXT:
        return None
    number = _number_from_text(text)
    if number is not None:
        return _from_epoch(number)
    return _from_iso(text)


# -------------------------------------------------------------------------------------- elapsed

_CLOCK = re.compile(r"(\d+):(\d{1,2})(?::(\d{1,2}))?(?:\.\d*)?")
_UNITS_TEXT = re.compile(r"(?:[\s,]*\d+(?:\.\d+)?\s*[A-Za-z]+)+[\s,]*")
_UNIT_TOKEN = re.compile(r"(\d+(?:\.\d+)?)\s*([A-Za-z]+)")
_UNIT_SECONDS: Final[dict[str, float]] = {
    **dict.fromkeys(("ms", "msec", "msecs", "millisecond", "milliseconds"), 0.001),
    **dict.fromkeys(("s", "sec", "secs", "second", "seconds"), 1),
    **dict.fromkeys(("m", "min", "mins", "minute", "minutes"), 60),
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), 3600),
    **dict.fromkeys(("d", "day", "days"), 86400),
}


def _whole_seconds(number: float) -> int | None:
    """Whole seconds of a figure: NaN and negatives are unreadable (None); past
    `MAX_ELAPSED_SECONDS`, +inf included, it is that year (absurd, not unknown)."""
    if number != number or number < 0:
        return None
    return MAX_ELAPSED_SECONDS if number >= MAX_ELAPSED_SECONDS else math.floor(number)


def parse_elapsed(value: object) -> int | None:
    """Whole seconds from an upstream elapsed figure, or None.

    `"03:57"` → 237 (mm:ss), `"1:02:03"` → 3723 (h:mm:ss), `"1m 23s"` → 83, `"45s"` → 45,
    `"2h 3m"` → 7380; numbers and numeric text are seconds (fractions floored). A figure past
    `MAX_ELAPSED_SECONDS` (a year: 10^400, 1e308, 1e400, `"99999999:00"`, `"99999999999h"`) is that
    year. Negative, NaN or unreadable values give None. Never raises.
    """
    seconds: int | None
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        seconds = value if value >= 0 else None
    elif isinstance(value, float):
        return _whole_seconds(value)
    elif isinstance(value, str):
        seconds = _read_elapsed_text(value)
    else:
        return None
    # The one bound of every integer path (`bound_elapsed`, inlined: Dreamina's figures come
    # here unmemoised, 10,000s a tick).
    return seconds if seconds is None or seconds <= MAX_ELAPSED_SECONDS else MAX_ELAPSED_SECONDS


def _read_elapsed_text(value: str) -> int | None:
    """`parse_elapsed` of text, unbounded above."""
    text = value.strip()
    if ":" in text and len(text) <= _MAX_TEXT and text.isascii():
        # "mm:ss" and "h:mm:ss" in ASCII digits, the common shapes, without the regexes below
        # (the same figures `_CLOCK` reads; text with a colon is never a number).
        parts = text.split(":")
        if len(parts) == 2:
            a, b = parts
            if a.isdigit() and b.isdigit() and len(b) <= 2:
                return int(a) * 60 + int(b)
        elif len(parts) == 3:
            a, b, c = parts
            if a.isdigit() and b.isdigit() and c.isdigit() and len(b) <= 2 and len(c) <= 2:
                return int(a) * 3600 + int(b) * 60 + int(c)
    if len(text) > _MAX_TEXT:
        return None
    number = _number_from_text(text)
    if number is not None:
        return _whole_seconds(number)
    clock = _CLOCK.fullmatch(text)
    if clock is not None:
        a, b, c = clock.groups()
        if c is None:
            return int(a) * 60 + int(b)
        return int(a) * 3600 + int(b) * 60 + int(c)
    if not _UNITS_TEXT.fullmatch(text):
        return None
    total = 0.0
    for amount, unit in _UNIT_TOKEN.findall(text):
        factor = _UNIT_SECONDS.get(unit.lower())
        if factor is None:
            return None
        total += float(amount) * factor
    return _whole_seconds(total)


def elapsed_since(started: datetime | None, now: datetime) -> int | None:
    """Whole seconds from `started` to `now` (0 … `MAX_ELAPSED_SECONDS`: a start in the
    future is 0), or None without a start."""
    if started is None:
        return None
    return bound_elapsed(max(0, math.floor((now - started).total_seconds())))


# ------------------------------------------------------------------------------------------ ids

# user:<user>-<provider>:<account>-<kind>:<n>  (PixVerse v2, MiniMax, Runway: …-task:<uuid>).
# The account is greedy so e-mails with hyphens survive; the user part stops at the first
# "-<word>:" so user ids with hyphens do too.
_USER_ID = re.compile(r"user:[^:]*?-[A-Za-z0-9_.]+:(?P<account>.+)-(?P<kind>[A-Za-z]+):[^:]*")
# j<digits><letter>-u<user>-<account>:<provider>  (Dreamina: account is REGION:email).
_J_ID = re.compile(r"j\d*(?P<kind>[A-Za-z])-u[^-:]*-(?P<account>.+):[A-Za-z][\w.-]*")
# The letter after a j-id's digits: v(ideo) in the Dreamina docs, m(usic) in Mureka's. [inferred]
_J_KINDS: Final[dict[str, Kind]] = {"v": "video", "i": "image", "m": "music"}


def account_from_id(job_id: object) -> str | None:
    """The account a job id embeds, or None when it embeds none.

    `user:U-pixverse:EMAIL-video:N` → `EMAIL`; `user:U-minimax:ACCOUNT-image:N` → `ACCOUNT`;
    `j0223140530123456789v-u12345-US:a@x.com:dreamina` → `US:a@x.com` (Dreamina's
    `REGION:email`, the same key as its scheduler groups and accounts map). Never raises.
    """
    if not isinstance(job_id, str):
        return None
    m = _USER_ID.fullmatch(job_id) or _J_ID.fullmatch(job_id)
    return m["account"] if m else None


def kind_from_id(job_id: object) -> Kind | None:
    """`video`/`image`/`music` as the id spells it (`…-image:N`; Dreamina's `j…v-`), else None."""
    if not isinstance(job_id, str):
        return None
    m = _USER_ID.fullmatch(job_id)
    if m is not None:
        return as_kind(m["kind"])
    m = _J_ID.fullmatch(job_id)
    if m is not None:
        return _J_KINDS.get(m["kind"].lower())
    return None


def as_kind(value: object) -> Kind | None:
    """`value` if it is one of the kinds the model knows (case-insensitive), else None."""
    if not isinstance(value, str):
        return None
    word = value.strip().lower()
    if word == "video":
        return "video"
    if word == "image":
        return "image"
    if word == "music":
        return "music"
    return None


# ------------------------------------------------------------------------------------ memos

#: A job stays in the scheduler list for many ticks, and its id and `started` text with it: the
#: pure readers of those are memoised, so from a job's second tick on each costs one dict
#: lookup instead of regular expressions. Bounded: a memo is emptied when it reaches `_MEMO_MAX`
#: entries (finished jobs' keys go with it), and text longer than `_MEMO_KEY_MAX` is not kept.
_MEMO_MAX: Final = 1 << 17
_MEMO_KEY_MAX: Final = 256
_ID_INFO: dict[str, tuple[Kind | None, str | None]] = {}
_STARTED: dict[str, datetime | None] = {}
_ELAPSED: dict[str, int | None] = {}
_KIND_WORDS: Final[dict[str, Kind]] = {"video": "video", "image": "image", "music": "music"}


def id_info(job_id: str) -> tuple[Kind | None, str | None]:
    """`(kind_from_id(job_id), account_from_id(job_id))` from one match, memoised."""
    info = _ID_INFO.get(job_id)
    if info is None:
        m = _USER_ID.fullmatch(job_id)
        if m is not None:
            info = (as_kind(m["kind"]), m["account"])
        else:
            m = _J_ID.fullmatch(job_id)
            info = (None, None) if m is None else (_J_KINDS.get(m["kind"].lower()), m["account"])
        _remember(_ID_INFO, job_id, info)
    return info


def _remember(memo: dict[str, _A], key: str, value: _A) -> None:
    if len(key) <= _MEMO_KEY_MAX:
        if len(memo) >= _MEMO_MAX:
            memo.clear()
        memo[key] = value


def _started(text: str) -> datetime | None:
    """`parse_time(text)`, memoised (a job's `started` does not change)."""
    try:
        return _STARTED[text]
    except KeyError:
        value = parse_time(text)
    _remember(_STARTED, text, value)
    return value


def _elapsed(text: str) -> int | None:
    """`parse_elapsed(text)`, memoised (a few thousand figures, `"0:00"`…`"5:59:59"`, cover
    every job of a day)."""
    value = _ELAPSED.get(text, -1)
    if value == -1:
        value = parse_elapsed(text)
        _remember(_ELAPSED, text, value)
    return value


def _text_kind(text: str) -> Kind | None:
    """`as_kind(text)`, the exact words without the case folding."""
    return _KIND_WORDS.get(text) or as_kind(text)


# ------------------------------------------------------------------------------------- statuses

_WORDS: Final[dict[str, Outcome]] = {
    **dict.fromkeys(("created", "started", "progress", "in_progress", "processing", "pending",
                     "queued", "generating", "running", "waiting", "submitted"), Outcome.RUNNING),
    **dict.fromkeys(("completed", "complete", "succeeded", "succeed", "success", "done",
                     "finished"), Outcome.COMPLETED),
    **dict.fromkeys(("failed", "failure", "fail", "error", "errored"), Outcome.FAILED),
    **dict.fromkeys(("moderated", "moderation", "blocked", "rejected"), Outcome.MODERATED),
    **dict.fromkeys(("cancelled", "canceled", "cancel", "aborted"), Outcome.CANCELLED),
}


def outcome_from_word(word: object) -> Outcome | None:
    """The outcome a status word means (`COMPLETED`, `queued`, `Canceled`, …), else None."""
    if not isinstance(word, str):
        return None
    key = re.sub(r"[\s-]+", "_", word.strip().lower())
    if key in _WORDS:
        return _WORDS[key]
    if "moderat" in key:  # MODERATION_FAILED and friends
        return Outcome.MODERATED
    return None


# -------------------------------------------------------------------------------------- getters

def _type_name(value: object) -> str:
    if value is None:
        return "null"
    return {bool: "a boolean", int: "a number", float: "a number", str: "a string",
            list: "an array", dict: "an object"}.get(type(value), type(value).__name__)


def expect_dict(value: object, provider: str, field: str) -> dict[str, Any]:
    """`value` if it is a JSON object, else PayloadError."""
    if not isinstance(value, dict):
        raise PayloadError(f"expected an object, got {_type_name(value)}",
                           provider=provider, field=field)
    return value


def expect_list(value: object, provider: str, field: str) -> list[Any]:
    """`value` if it is a JSON array, else PayloadError."""
    if not isinstance(value, list):
        raise PayloadError(f"expected an array, got {_type_name(value)}",
                           provider=provider, field=field)
    return value


def opt_dict(value: object, provider: str, field: str) -> dict[str, Any]:
    """An optional JSON object: null → `{}`, an object as it is, anything else → error."""
    return {} if value is None else expect_dict(value, provider, field)


def opt_list(value: object, provider: str, field: str) -> list[Any]:
    """An optional JSON array: null → `[]`, an array as it is, anything else → error."""
    return [] if value is None else expect_list(value, provider, field)


def require_id(value: object, provider: str, field: str, *, what: str = "a job id") -> str:
    """An id as text: non-empty strings as they are, integers (Kling) coerced; else error."""
    if isinstance(value, str) and value.strip():
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    got = "an empty string" if isinstance(value, str) else _type_name(value)
    raise PayloadError(f"expected {what}, got {got}", provider=provider, field=field)


def opt_str(value: object, provider: str, field: str) -> str | None:
    """Optional text: null/empty → None, numbers coerced; booleans, arrays, objects → error."""
    if value is None:
        return None
    if isinstance(value, str):
        return value or None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise PayloadError(f"expected a string, got {_type_name(value)}",
                       provider=provider, field=field)


def opt_int(value: object, provider: str, field: str) -> int | None:
    """Optional whole number: null → None; floats floored; numeric text read; else error."""
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    number: float | None = None
    if isinstance(value, float):
        number = value
    elif isinstance(value, str) and len(value) <= _MAX_TEXT:
        number = _number_from_text(value.strip())
    if number is not None and math.isfinite(number):
        return math.floor(number)
    raise PayloadError(f"expected a number, got {_type_name(value)}",
                       provider=provider, field=field)


# ------------------------------------------------------------------------ shared body shapes

def flat_queue(body: object, provider: str, field: str, id_keys: Mapping[str, Kind | None],
               now: datetime) -> tuple[Job, ...]:
    """Jobs from a flat scheduler array: `[{<id key>, type?, started?, elapsed?, …}]`.

    `id_keys` maps each accepted id key to the kind it implies (`imageId` → image); the first
    key present wins. Kind: an explicit `type`, else the id (`…-image:N`), else the key's kind.
    Account: the id, else an `email`/`account` field. `elapsed_seconds` is the upstream
    `elapsed` figure, else computed from `started`. An id that repeats gives one job, the
    first (`unique_jobs`).

    Each item takes `_flat_fast` (text and nulls where text belongs, as every scheduler
    sends), and `_flat_job` (every field checked, numbers coerced, `PayloadError` naming the
    field) when the fast path declines it: the two give the same job.
    """
    keys = tuple(id_keys)
    jobs: list[Job] = []
    for i, item in enumerate(expect_list(body, provider, field)):
        job = _flat_fast(item, provider, keys, id_keys, now) if item.__class__ is dict else None
        jobs.append(job if job is not None else _flat_job(item, i, provider, field, id_keys, now))
    return unique_jobs(jobs)


def unique_jobs(jobs: list[Job]) -> tuple[Job, ...]:
    """`jobs` with each id once: the first job of an id stays where it stood, its repeats go
    (a scheduler that lists a job three times runs it once, and counts it once)."""
    if len({j.id for j in jobs}) == len(jobs):  # the usual case: one cheap pass
        return tuple(jobs)
    first: dict[str, Job] = {}
    for job in jobs:
        first.setdefault(job.id, job)
    return tuple(first.values())


def _flat_fast(item: dict[str, Any], provider: str, keys: tuple[str, ...],
               id_keys: Mapping[str, Kind | None], now: datetime) -> Job | None:
    """`_flat_job` for an item whose id, type, email, account and model are text or null;
    None (never an error) for anything else. (The memos are read inline: 10,000s of items.)"""
    get = item.get
    for key in keys:
        job_id = get(key)
        if job_id is not None:
            break
    else:
        return None
    if job_id.__class__ is not str or not job_id or job_id.isspace():
        return None
    id_kind, account = _ID_INFO.get(job_id) or id_info(job_id)
    kind = get("type")
    if kind is not None:
        if kind.__class__ is not str:
            return None
        kind = _text_kind(kind)
    if account is None:
        for name in ("email", "account"):
            value = get(name)
            if value is not None:
                if value.__class__ is not str:
                    return None
                if value:
                    account = value
                    break
    model = get("model")
    if model is not None:
        if model.__class__ is not str:
            return None
        model = model or None
    started = get("started")
    if started.__class__ is str:
        started = _STARTED.get(started) or _started(started)
    else:
        started = parse_time(started)
    elapsed = get("elapsed")
    if elapsed.__class__ is str:
        seconds = _ELAPSED.get(elapsed, -1)
        elapsed = _elapsed(elapsed) if seconds == -1 else seconds
    else:
        elapsed = parse_elapsed(elapsed)
    if elapsed is None:
        elapsed = elapsed_since(started, now)
    return make_job(provider, job_id, kind or id_kind or id_keys[key], account, started,
                    elapsed, model)


def _flat_job(raw: object, i: int, provider: str, field: str,
              id_keys: Mapping[str, Kind | None], now: datetime) -> Job:
    """One item of a flat scheduler array, every field checked (see `flat_queue`)."""
    where = f"{field}[{i}]"
    item = expect_dict(raw, provider, where)
    key = next((k for k in id_keys if item.get(k) is not None), None)
    if key is None:
        raise PayloadError(f"job has no id (none of {', '.join(id_keys)})",
                           provider=provider, field=where)
    job_id = require_id(item[key], provider, f"{where}.{key}")
    kind = (as_kind(opt_str(item.get("type"), provider, f"{where}.type"))
            or kind_from_id(job_id) or id_keys[key])
    account = (account_from_id(job_id)
               or opt_str(item.get("email"), provider, f"{where}.email")
               or opt_str(item.get("account"), provider, f"{where}.account"))
    started = parse_time(item.get("started"))
    elapsed = parse_elapsed(item.get("elapsed"))
    return Job(
        provider=provider, id=job_id, kind=kind, account=account, started=started,
        elapsed_seconds=elapsed if elapsed is not None else elapsed_since(started, now),
        model=opt_str(item.get("model"), provider, f"{where}.model"),
    )


def running_per_account(jobs: Iterable[Job],
                        kinds: frozenset[Kind | None] | None = None) -> Counter[str]:
    """How many of `jobs` each account runs (only those of `kinds`, when given)."""
    return Counter(j.account for j in jobs
                   if j.account is not None and (kinds is None or j.kind in kinds))


def _free(max_jobs: int | None, executing: int) -> int | None:
    return None if max_jobs is None else max(0, max_jobs - executing)


def _opt_count(value: object, provider: str, field: str) -> int | None:
    """`opt_int`, clamped to 0 … `MAX_COUNT` (see `bot.models`)."""
    n = opt_int(value, provider, field)
    return None if n is None else bound_count(n)


def available_accounts(body: object, provider: str,
                       jobs: Iterable[Job] = ()) -> tuple[Account, ...]:
    """Capacity rows from a `…/scheduler/available` body: `{available: [{email|account,
    maxJobs, executing, available}], executing: […]}`. A row that leaves out `executing` gets
    the count of `jobs` it runs; one that leaves out `available` gets `maxJobs - executing`.
    Counts are clamped to 0 … `MAX_COUNT`; an account listed twice is its first row."""
    field = "available"
    rows = expect_list(expect_dict(body, provider, "(body)").get(field), provider, field)
    running: Counter[str] | None = None  # counted only when a row leaves `executing` out
    accounts: dict[str, Account] = {}
    for i, raw in enumerate(rows):
        where = f"{field}[{i}]"
        row = expect_dict(raw, provider, where)
        name_key = "email" if row.get("email") is not None else "account"
        name = require_id(row.get(name_key), provider, f"{where}.{name_key}",
                          what="an account name")
        max_jobs = _opt_count(row.get("maxJobs"), provider, f"{where}.maxJobs")
        executing = _opt_count(row.get("executing"), provider, f"{where}.executing")
        if executing is None:
            if running is None:
                running = running_per_account(jobs)
            executing = bound_count(running[name])
        available = _opt_count(row.get("available"), provider, f"{where}.available")
        if available is None:
            available = _free(max_jobs, executing)
        accounts.setdefault(name, Account(account=name, max_jobs=max_jobs, executing=executing,
                                          available=available))
    return tuple(accounts.values())


def accounts_from_config(body: object, provider: str, field: str, jobs: Iterable[Job],
                         kinds: frozenset[Kind | None] | None = None) -> tuple[Account, ...]:
    """Capacity from an accounts map (`{account: {maxJobs, …}}`) and the running `jobs`.

    For providers without a capacity endpoint: `executing` counts the queue's jobs of that
    account (of `kinds`, when given), `available` is `max(0, maxJobs - executing)`. Accounts
    that run jobs but have no config entry follow, with `max_jobs`/`available` None. Counts
    are clamped to 0 … `MAX_COUNT`.
    """
    config = expect_dict(body, provider, field)
    running = running_per_account(jobs, kinds)
    accounts: list[Account] = []
    for name, raw in config.items():
        where = f"{field}.{name}"
        entry = expect_dict(raw, provider, where)
        max_jobs = _opt_count(entry.get("maxJobs"), provider, f"{where}.maxJobs")
        executing = bound_count(running.pop(name, 0))
        accounts.append(Account(account=name, max_jobs=max_jobs, executing=executing,
                                available=_free(max_jobs, executing)))
    accounts.extend(Account(account=name, max_jobs=None, executing=bound_count(n),
                            available=None)
                    for name, n in sorted(running.items()))
    return tuple(accounts)


# ----------------------------------------------------------------------------------- fetching

async def both(first: Coroutine[Any, Any, _A], second: Coroutine[Any, Any, _B]) -> tuple[_A, _B]:
    """Await two calls concurrently; if one fails, cancel the other and raise its error as is.

    Unlike a bare `TaskGroup` this raises the `UpstreamError` itself (not an ExceptionGroup),
    and unlike `gather` it does not leave the other request running. (The one non-pure
    helper here: every adapter's `snapshot()` needs it.)
    """
    try:
        async with asyncio.TaskGroup() as group:
            a = group.create_task(first)
            b = group.create_task(second)
    except BaseExceptionGroup as failed:
        raise failed.exceptions[0] from None
    return a.result(), b.result()
