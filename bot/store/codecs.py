"""How values become columns and back: times, Discord ids, pending jobs, events.

Times are stored as naive UTC and handed out as aware UTC. Every text read back is decoded by
`bot.fastjson.loads`, the one boundary that heals what no database could hold.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, TypeDecorator

from bot.events import Event, EventKind
from bot.fastjson import loads
from bot.models import MAX_ELAPSED_SECONDS, Job, make_job, previewable
from bot.snowflake import RANGE_TEXT, is_snowflake

_TWO_64 = 1 << 64
_INT64 = range(-(1 << 63), 1 << 63)

#: Stored in place of None in key columns ("any provider", "any kind").
ANY = ""


class Snowflake(TypeDecorator[int]):
    """A Discord id (unsigned 64-bit, never 0) in a signed 64-bit BIGINT column: ids from 2**63
    up are stored as their two's complement (negative), so the whole range fits on both
    backends and ids below 2**63 are stored as they always were (no migration).

    Writing anything else raises ValueError (the store's methods check first, to name the
    argument). A stored value that maps to no Discord id (0, or on SQLite a real or a text
    someone put there) reads as None, and the readers skip or retire that row."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: int | None, dialect: Any) -> int | None:
        if value is None:
            return None
        check_id("Discord id", value)
        return value - _TWO_64 if value >= 1 << 63 else value

    def process_result_value(self, value: Any, dialect: Any) -> int | None:
        if type(value) is not int or value not in _INT64 or value == 0:
            return None
        return value + _TWO_64 if value < 0 else value


def check_id(name: str, value: object, *, optional: bool = False) -> None:
    """Refuse what is not a Discord id before it reaches SQL (where an int beyond 64 bits
    fails as "Python int too large" in the middle of a transaction)."""
    if (value is None and optional) or is_snowflake(value):
        return
    raise ValueError(f"{name}: {value!r} is not {RANGE_TEXT}")


def opt(value: str) -> str | None:
    """A key column read back: `ANY` is None."""
    return None if value == ANY else value


def refused_text(dialect: str, text: str | None) -> bool:
    """Whether a text column of `dialect` cannot hold `text`: no database takes what UTF-8
    cannot encode (a lone surrogate), and PostgreSQL takes no NUL."""
    if text is None:
        return False
    try:
        text.encode()
    except UnicodeEncodeError:
        return True
    return dialect == "postgresql" and "\x00" in text


# --------------------------------------------------------------------------- times


def to_db(dt: datetime | None) -> datetime | None:
    if dt is None:
        return None
    if dt.tzinfo is not None:
        dt = dt.astimezone(UTC).replace(tzinfo=None)
    return dt


def from_db(dt: datetime | None) -> datetime | None:
    if dt is None:
        return None
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def req(dt: datetime | None) -> datetime:
    """`from_db` of a NOT NULL column."""
    out = from_db(dt)
    assert out is not None
    return out


def _ts(dt: datetime) -> float:
    return (dt if dt.tzinfo else dt.replace(tzinfo=UTC)).timestamp()


def _dt(ts: float | None) -> datetime | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC)


# --------------------------------------------------------------------------- jobs, snapshots


#: A job's row ends in a 1 when its `started` is opsbot's first sighting (`Job.seen`), and has
#: no seventh element otherwise: rows stored before there were such jobs read as they were.
#: A job with a `reply_ref` has it as an eighth element (the seventh then 0 or 1).
_SEEN: dict[bool, tuple[int, ...]] = {False: (), True: (1,)}


def _tail(seen: bool, reply_ref: str | None) -> tuple[Any, ...]:
    return _SEEN[seen] if reply_ref is None else (int(seen), reply_ref)


def _job_row(j: Job) -> list[Any]:
    started = j.started
    return [
        j.id,
        j.kind,
        j.account,
        None if started is None else _ts(started),
        j.elapsed_seconds,
        j.model,
        *_tail(j.seen, j.reply_ref),
    ]


def encode_job(j: Job) -> str:
    """A pending job's `job` column."""
    return json.dumps(_job_row(j), separators=(",", ":"))


def row_job(provider: str, r: Sequence[Any]) -> Job:
    # Elapsed bounded again on the way back: a snapshot stored by older code may not be.
    elapsed = r[4] if r[4] is None or r[4] <= MAX_ELAPSED_SECONDS else MAX_ELAPSED_SECONDS
    n = len(r)
    ref = r[7] if n > 7 and r[7].__class__ is str else None
    return make_job(provider, r[0], r[1], r[2], _dt(r[3]), elapsed, r[5], n > 6 and r[6] == 1, ref)


# --------------------------------------------------------------------------- events


def encode_event(e: Event) -> str:
    return json.dumps(
        {
            "key": e.key,
            "kind": e.kind.value,
            "provider": e.provider,
            "word": e.word,
            "at": e.at.isoformat(),
            "job_id": e.job_id,
            "account": e.account,
            "detail": e.detail,
            "urls": list(e.urls),
            "extra": e.extra,
            **({} if e.reply_ref is None else {"reply_ref": e.reply_ref}),
            **({} if e.mention_user_id is None else {"mention_user_id": e.mention_user_id}),
            **({} if e.image is None else {"image": e.image}),
            **({} if e.cover is None else {"cover": e.cover}),
        },
        separators=(",", ":"),
    )


def decode_event(text: str) -> Event:
    d = loads(text)
    at = datetime.fromisoformat(d["at"])
    return Event(
        key=d["key"],
        kind=EventKind(d["kind"]),
        provider=d["provider"],
        word=d["word"],
        at=at if at.tzinfo else at.replace(tzinfo=UTC),
        job_id=d.get("job_id"),
        account=d.get("account"),
        detail=d.get("detail"),
        urls=tuple(d.get("urls") or ()),
        extra=dict(d.get("extra") or {}),
        reply_ref=ref if (ref := d.get("reply_ref")).__class__ is str else None,
        mention_user_id=user if is_snowflake(user := d.get("mention_user_id")) else None,
        # Rows from before previews have neither key; a row from elsewhere is checked again.
        image=previewable(d.get("image")),
        cover=previewable(d.get("cover")),
    )
