"""The daily digest: when it is due, where it goes, and that it is posted exactly once across
replicas and restarts, including a crash between Discord's answer and "marked sent"."""

from __future__ import annotations

import asyncio
import contextlib
import struct
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from discord.utils import format_dt

from bot.alerts import AlertConfig, Route
from bot.embeds.help import missing_setup
from bot.events import EventKind
from bot.history import Finished, digest
from bot.models import Account, Snapshot
from cogs.digest import DigestCog
from rig.botharness import Harness, command
from rig.received import POSTS

DAY = date(2026, 11, 29)


def at(hour: int, minute: int = 0, second: int = 0, day: date = DAY) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=UTC)


# --------------------------------------------------------------------------- pure


def test_due_from_the_hour_on_for_yesterday() -> None:
    today = DAY + timedelta(days=1)
    assert digest.due_day(at(6, 59, 59, today), 7) is None
    assert digest.due_day(at(7, 0, 0, today), 7) == DAY
    assert digest.due_day(at(23, 59, 59, today), 7) == DAY
    assert digest.due_day(at(0, 0, 0, today), 0) == DAY  # the first hour and the first second
    assert digest.due_day(at(22, 59, 59, today), 23) is None
    # another zone's clock reads as UTC
    local = at(8, 30, 0, today).astimezone(__import__("zoneinfo").ZoneInfo("Asia/Tokyo"))
    assert digest.due_day(local, 8) == DAY


def test_event_key_day_and_bounds() -> None:
    e = digest.event(DAY, at(7))
    assert (e.key, e.kind, e.word, e.provider) == (
        "digest:2026-11-29",
        EventKind.DIGEST,
        "digest",
        "",
    )
    assert digest.day_of(e) == DAY
    assert digest.bounds(DAY) == (at(0), at(0, day=DAY + timedelta(days=1)))


def test_help_asks_for_a_digest_route_only_while_the_digest_is_on() -> None:
    kinds = [k for k in EventKind if k is not EventKind.DIGEST]
    config = AlertConfig(routes=tuple(Route(k, None, 1) for k in kinds))

    def missing(config: AlertConfig, *, digest: bool) -> list[str]:
        return missing_setup(
            config, [(1, None)], default=None, providers=["pixverse"], admin=True, digest=digest
        )

    assert missing(config, digest=False) == []
    assert missing(config, digest=True) == ["no channel for digest alerts: run `/alerts route`"]
    # a route for every provider covers a provider's alerts, never the digest (one message)
    per_provider = AlertConfig(routes=(*config.routes, Route(EventKind.DIGEST, "pixverse", 1)))
    assert missing(per_provider, digest=True) == [
        "no channel for digest alerts: run `/alerts route`"
    ]
    covered = AlertConfig(routes=(*config.routes, Route(EventKind.DIGEST, None, 1)))
    assert missing(covered, digest=True) == []


# --------------------------------------------------------------------------- the bot


def cog(h: Harness) -> DigestCog:
    return h.digest


def digests(h: Harness) -> list[dict[str, Any]]:
    return [
        m
        for m in h.fake.messages()
        if m["embeds"] and m["embeds"][0].get("title", "").startswith("Daily digest")
    ]


async def test_digest_is_posted_once_with_its_chart_and_not_again_after_a_restart(start_bot, url):
    h = await start_bot(database_url=url, providers=["pixverse"], digest_hour=7)
    # "today" is yesterday: every instant below has passed, so the row is due at once
    today = datetime.now(UTC).date() - timedelta(days=1)
    assert await cog(h).queue_due(at(6, 59, 59, today)) == 0  # not yet
    assert await cog(h).queue_due(at(7, 0, 0, today)) == 1
    assert await cog(h).queue_due(at(7, 1, 0, today)) == 0  # this process: queued already
    await h.fake.wait_for_message(h.alert_channel)  # (the delivery loop was woken)
    await h.deliver()
    [message] = digests(h)
    yesterday = today - timedelta(days=1)
    assert message["channel_id"] == str(h.alert_channel)
    [embed] = message["embeds"]
    assert embed["title"] == f"Daily digest · {yesterday:%A %d %B %Y} (UTC)"
    assert embed["image"] == {"url": "attachment://stats.png"}
    assert embed["fields"] == [
        {
            "name": "PixVerse",
            "value": "no capacity history in this period\nno finished jobs",
            "inline": False,
        }
    ]
    assert [a["filename"] for a in message["attachments"]] == ["stats.png"]
    [post] = [r for r in h.fake.requests_matching(POSTS) if r.files]
    assert struct.unpack(">II", post.files[0]["data"][16:24]) == (700, 300)
    await h.stop()

    # Restarted later the same day (or a second replica): the key is taken, nothing is queued.
    h = await start_bot(database_url=url, providers=["pixverse"], digest_hour=7)
    assert await cog(h).queue_due(at(9, 0, 0, today)) == 0
    assert await h.bot.store.outbox_counts() == {"sent": 1}
    await h.deliver()
    assert len(digests(h)) == 1


async def test_digest_off_without_digest_hour(start_bot):
    h = await start_bot(providers=["pixverse"])
    assert await cog(h).queue_due(at(12, 0, 0, datetime.now(UTC).date())) == 0
    assert not cog(h).loop.is_running()


@pytest.mark.parametrize(
    "death", [RuntimeError("process died"), asyncio.CancelledError()], ids=["raise", "cancel"]
)
async def test_digest_sent_but_not_marked_sent_is_not_posted_twice(
    start_bot, url, monkeypatch, death
):
    """Discord took the digest, the bot died before recording it: after the restart the same
    digest goes out again with the same nonce and Discord returns the first message."""
    h = await start_bot(database_url=url, providers=["pixverse"], digest_hour=0)
    calls: list[list[str]] = []

    async def dies(keys, message_id, *, now=None, claim=None):
        calls.append(list(keys))
        raise death

    monkeypatch.setattr(h.bot.store, "mark_sent", dies)  # (this process's store only)
    today = datetime.now(UTC).date()
    assert await cog(h).queue_due(at(0, 0, 0, today)) == 1  # (today's midnight has passed)
    await h.fake.wait_for_message(h.alert_channel)
    with contextlib.suppress(asyncio.CancelledError):
        await h.deliver()  # (waits for the loop's pass to end)
    key = digest.key(today - timedelta(days=1))
    assert calls == [[key]]
    [first] = digests(h)
    await h.stop()

    h = await start_bot(database_url=url, providers=["pixverse"], digest_hour=0)
    await h.deliver()
    assert h.fake.nonce_duplicates == 1
    assert [m["id"] for m in digests(h)] == [first["id"]]
    posts = [r for r in h.fake.requests_matching(POSTS) if r.status == 200 and r.files]
    assert len(posts) == 2 and posts[0].json["nonce"] == posts[1].json["nonce"]
    row = await h.bot.store.outbox_row(key)
    assert row is not None and row["state"] == "sent"
    assert row["sent_message_id"] == int(first["id"])


def fin(n: str, at_: datetime, outcome: str = "completed") -> Finished:
    return Finished("pixverse", n, "a@x", "video", "v5", outcome, 60.0, "poll", at_)


async def test_digest_goes_to_the_digest_route_with_yesterdays_figures_only(start_bot, url):
    h = await start_bot(database_url=url, providers=["pixverse"], digest_hour=0)
    default, other = h.fake.channel_ids
    body = await command(h, "alerts", {"kind": "digest", "channel": other}, subcommand="route")
    assert f"<#{other}>" in body["data"]["content"]
    today = datetime.now(UTC).date()  # (today's midnight has passed: the row is due at once)
    since, until = digest.bounds(today - timedelta(days=1))
    tick = timedelta(microseconds=1)
    # each edge of the day: its first instant in, the next day's first instant out
    jobs = [
        fin("before", since - tick),
        fin("first", since),
        fin("last", until - tick, "failed"),
        fin("today", until),
    ]
    await h.bot.store.commit_tick("pixverse", now=until, batch="jobs", finished=jobs)
    # capacity: every account full from 06:00 to 09:30, and from 23:00 on into today (a tick
    # every quarter hour: a point holds at most that long)
    for quarter in range(24 * 4 + 1):
        hour = quarter / 4
        running = 2 if 6 <= hour < 9.5 or 23 <= hour < 24 else 1
        at_ = since + timedelta(hours=hour)
        snapshot = Snapshot("pixverse", at_, accounts=(Account("a@x", 2, running, 2 - running),))
        await h.bot.store.commit_tick("pixverse", now=at_, batch=str(at_), snapshot=snapshot)
    assert await cog(h).queue_due(at(0, 0, 0, today)) == 1
    await h.fake.wait_for_message(other)
    await h.deliver()
    [message] = digests(h)
    assert message["channel_id"] == str(other)
    [embed] = message["embeds"]
    assert embed == {
        "type": "rich",
        "title": f"Daily digest · {since:%A %d %B %Y} (UTC)",
        "description": f"{format_dt(since, 'f')} to {format_dt(until, 'f')}\n"
        "1 completed · 1 failed · 0 moderated · failure 50 %",
        "color": 0x5865F2,
        "flags": 0,
        "fields": [
            {
                "name": "PixVerse",
                "value": "4.5 h at full capacity\n**v5**: 1 completed · 1 failed · 0 moderated"
                " · failure 50 % · run time p50 1m 00s, p95 1m 00s",
                "inline": False,
            }
        ],
        "image": {"url": "attachment://stats.png"},
    }
    assert [a["filename"] for a in message["attachments"]] == ["stats.png"]
    [post] = [r for r in h.fake.requests_matching(POSTS) if r.files]
    assert post.path == f"/channels/{other}/messages"
    assert post.json["attachments"] == [
        {"id": 0, "filename": "stats.png", "description": embed["title"]}
    ]
    assert struct.unpack(">II", post.files[0]["data"][16:24]) == (700, 300)
    assert [m for m in h.fake.messages() if m["channel_id"] == str(default)] == []


async def test_two_replicas_at_the_hour_post_one_digest(start_bot, url):
    first = await start_bot(database_url=url, providers=["pixverse"], digest_hour=0)
    second = await start_bot(database_url=url, providers=["pixverse"], digest_hour=0)
    now = at(0, 0, 30, datetime.now(UTC).date())
    # both clocks look at the same moment: one row between them (each may count it as its
    # own when both inserts race: `outbox.queue` counts what it tried, the key keeps one)
    queued = await asyncio.gather(cog(first).queue_due(now), cog(second).queue_due(now))
    assert 1 in queued
    await first.fake.wait_for_message(first.alert_channel)
    await asyncio.gather(first.deliver(), second.deliver())
    assert len(digests(first)) == 1
    assert await first.bot.store.outbox_counts() == {"sent": 1}
    # and each replica, asked again that day, queues nothing
    assert [await cog(h).queue_due(now + timedelta(hours=5)) for h in (first, second)] == [0, 0]
    assert len(digests(first)) == 1
