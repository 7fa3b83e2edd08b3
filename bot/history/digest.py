"""The daily digest: yesterday's /stats and its chart, posted at `DIGEST_HOUR` (UTC) to the
`digest` route, once a day across restarts and replicas.

Once: the digest of day D is one outbox row whose key is `digest:D` (a second writer, another
replica or this one after a restart, is ignored by the outbox's unique key). The row carries
only the day; the message is drawn when it is sent (`cogs.delivery`), so the outbox needs no
attachments and a retried post shows the same figures (the day is over). Its nonce comes from
the key, like any alert's: a crash between Discord's answer and "marked sent" re-sends the
same nonce and Discord drops the copy.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from bot.events import Event, EventKind

#: The word of a digest event (not an alert word: nothing happened, it is a report).
WORD = "digest"
#: Digest events concern no one provider.
PROVIDER = ""


def due_day(now: datetime, hour: int) -> date | None:
    """The day whose digest is due at `now`: yesterday (UTC) from `hour` o'clock today on;
    None before it. A bot that was down at that hour posts it when it is back that day."""
    now = now.astimezone(UTC)
    if now.hour < hour:
        return None
    return now.date() - timedelta(days=1)


def key(day: date) -> str:
    return f"digest:{day.isoformat()}"


def event(day: date, now: datetime) -> Event:
    """The outbox's digest of `day` (the figures are drawn when it is sent)."""
    return Event(
        key=key(day),
        kind=EventKind.DIGEST,
        provider=PROVIDER,
        word=WORD,
        at=now,
        detail=day.isoformat(),
    )


def day_of(e: Event) -> date:
    """The day a digest event stands for."""
    if e.kind is not EventKind.DIGEST or e.detail is None:
        raise ValueError(f"not a digest event: {e.key}")
    return date.fromisoformat(e.detail)


def bounds(day: date) -> tuple[datetime, datetime]:
    """[00:00, 24:00) UTC of `day`."""
    start = datetime.combine(day, time(0), tzinfo=UTC)
    return start, start + timedelta(days=1)
