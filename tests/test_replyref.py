"""`replyRef` below the bot: the model's bounds, what the adapters read (and refuse), the
stored forms (old rows still decode), the policy's decision and the outbox's delivery of a
direct message."""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bot.alerts import AlertConfig, Mute, OutboxItem, job_event, plan, stuck_event
from bot.delivery import Deliverer, DeliveryFailed, nonce_for
from bot.events import Event, EventKind
from bot.models import (
    MAX_REPLY_REF,
    Job,
    JobResult,
    Outcome,
    Snapshot,
    bound_reply_ref,
    discord_user,
)
from bot.providers import dreamina, kling, minimax, mureka, pixverse, runway
from bot.providers.parse import reply_ref_of
from bot.snowflake import MAX_SNOWFLAKE
from bot.store import Store
from bot.store.codecs import decode_event, encode_event
from cogs.delivery import MAX_USER_MENTIONS, mentions
from rig.store import legacy_snapshot_rows, through_rows

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
USER = 222_333_444_555_666_777


# --------------------------------------------------------------------------- the model


@pytest.mark.parametrize(
    ("ref", "user"),
    [
        ("discord:1", 1),
        (f"discord:{MAX_SNOWFLAKE}", MAX_SNOWFLAKE),
        (f"discord:{USER}", USER),
        ("discord:0", None),
        (f"discord:{MAX_SNOWFLAKE + 1}", None),
        ("discord:" + "1" * 21, None),
        ("discord:" + "1" * 25, None),
        ("discord:", None),
        ("discord:<@everyone>", None),
        (f"discord:<@{USER}>", None),
        ("discord:123abc", None),
        ("discord:-5", None),
        ("discord:+5", None),
        ("discord:1_000", None),
        ("discord:\uff11", None),  # a full-width digit
        ("discord:\u0663", None),  # an Arabic-Indic digit
        (f"discord:{USER}\n", None),
        (f" discord:{USER}", None),
        (f"Discord:{USER}", None),
        (f"{USER}", None),
        ("@everyone", None),
        (None, None),
    ],
)
def test_discord_user_takes_exactly_discord_and_a_snowflake(
    ref: str | None, user: int | None
) -> None:
    assert discord_user(ref) == user


@pytest.mark.parametrize(
    ("raw", "kept"),
    [
        ("t", "t"),
        ("x" * MAX_REPLY_REF, "x" * MAX_REPLY_REF),
        ("x" * (MAX_REPLY_REF + 1), "x" * MAX_REPLY_REF),
        ("", None),
        (None, None),
        (12345, None),
        (1.5, None),
        (True, None),
        (["discord:1"], None),
        ({"discord": 1}, None),
    ],
)
def test_bound_reply_ref_keeps_text_only_and_at_most_1024(raw: object, kept: str | None) -> None:
    assert bound_reply_ref(raw) == kept


# --------------------------------------------------------------------------- the adapters


@pytest.mark.parametrize(
    ("raw", "kept"),
    [
        ("discord:42", "discord:42"),
        (42, None),
        ({"a": 1}, None),
        ("y" * 5000, "y" * MAX_REPLY_REF),
        (None, None),
    ],
)
@pytest.mark.parametrize("fast", [True, False], ids=["fast", "checked"])
def test_scheduler_items_give_their_reply_ref_on_either_path(
    raw: object, kept: str | None, fast: bool
) -> None:
    item: dict[str, object] = {"id": "user:1-pixverse:a@b.c-video:7", "replyRef": raw}
    if not fast:
        item["model"] = 5  # a number where text belongs: the checked path reads it
    [job] = pixverse.parse_queue([item], NOW)
    assert job.reply_ref == kept


def test_every_scheduler_that_lists_a_reply_ref_gives_it() -> None:
    pix = pixverse.parse_queue([{"id": "v1", "replyRef": "a"}], NOW)
    mini = minimax.parse_queue({"executing": [{"videoId": "m1", "replyRef": "b"}]}, NOW)
    mini_list = minimax.parse_queue([{"videoId": "m2", "replyRef": "c"}], NOW)
    kl = kling.parse_queue([{"id": 123, "email": "k@x", "replyRef": "d"}], NOW)
    rw = runway.parse_queue([{"taskId": "user:1-runwayml:r@x-task:t", "replyRef": "e"}], NOW)
    assert [j.reply_ref for j in pix + mini + mini_list + kl + rw] == ["a", "b", "c", "d", "e"]
    assert rw[0].seen  # still timed from its first sighting


@pytest.mark.parametrize(
    ("body", "ref"),
    [
        ({"request": {"replyRef": "r"}, "response": {"replyRef": "s"}, "replyRef": "t"}, "r"),
        ({"request": {}, "response": {"replyRef": "s"}, "replyRef": "t"}, "s"),
        ({"request": "no object", "response": [1], "replyRef": "t"}, "t"),
        ({"request": {"replyRef": 7}, "replyRef": "t"}, "t"),
        ({"request": {"replyRef": ""}, "response": {"replyRef": None}}, None),
        ({}, None),
    ],
)
def test_a_job_body_gives_request_then_response_then_top_level(
    body: dict[str, object], ref: str | None
) -> None:
    assert reply_ref_of(body) == ref


def test_job_bodies_give_their_reply_ref() -> None:
    pix = pixverse.parse_video({"video_status": 1, "replyRef": "p"}, "user:1-pixverse:a-video:1")
    pix_resp = pixverse.parse_video({"video_status": 1, "response": {"replyRef": "q"}}, "v")
    mini = minimax.parse_video({"status": 2, "statusFinal": True, "replyRef": "m"}, "m1")
    drm = dreamina.parse_video(
        {"status": "completed", "request": {"replyRef": "d"}}, "j-u1-US:a@x:dreamina"
    )
    mur = mureka.parse_job({"status": "completed", "request": {"replyRef": "u"}}, "j1")
    none = mureka.parse_job({"status": "completed", "request": {"replyRef": ["x"]}}, "j2")
    assert [r.reply_ref for r in (pix, pix_resp, mini, drm, mur, none)] == [
        "p",
        "q",
        "m",
        "d",
        "u",
        None,
    ]


# --------------------------------------------------------------------------- stored forms


def test_snapshots_keep_the_reply_ref_and_old_rows_decode() -> None:
    jobs = (
        Job("pixverse", "a", "video", "x@y", NOW, 5, "m"),
        Job("pixverse", "b", None, None, None, None, None, False, "discord:42"),
        Job("pixverse", "c", None, None, NOW, None, None, True, "ticket \u2603"),
        Job("pixverse", "d", None, None, NOW, None, None, True),
    )
    snap = Snapshot("pixverse", NOW, jobs)
    assert through_rows(snap) == snap
    # snapshots stored before there were replyRefs (carried over by revision 0003): six
    # elements, or seven with `seen`
    rows = [["e", None, None, None, 3, None], ["f", None, None, NOW.timestamp(), None, None, 1]]
    old = json.dumps({"v": 1, "t": NOW.timestamp(), "j": rows, "a": []})
    e, f = legacy_snapshot_rows("pixverse", old, None)[0]
    assert (e["reply_ref"], e["seen"], f["reply_ref"], f["seen"]) == (None, 0, None, 1)
    # a reference that is not text (written by hand) is no reference
    odd_row = ["g", None, None, None, 1, None, 0, 9]
    odd = json.dumps({"v": 1, "t": NOW.timestamp(), "j": [odd_row], "a": []})
    assert legacy_snapshot_rows("pixverse", odd, None)[0][0]["reply_ref"] is None


def test_events_keep_ref_and_mention_and_old_events_decode() -> None:
    event = Event(
        key="job:p:a:completed",
        kind=EventKind.JOB,
        provider="p",
        word="completed",
        at=NOW,
        job_id="a",
        reply_ref="discord:42",
        mention_user_id=42,
    )
    assert decode_event(encode_event(event)) == event
    plain_event = Event(key="k", kind=EventKind.JOB, provider="p", word="failed", at=NOW)
    assert set(json.loads(encode_event(plain_event))) == {
        "key", "kind", "provider", "word", "at", "job_id", "account", "detail", "urls", "extra"
    }  # fmt: skip
    assert decode_event(encode_event(plain_event)) == plain_event
    forged = json.loads(encode_event(event)) | {"mention_user_id": 0, "reply_ref": 5}
    decoded = decode_event(json.dumps(forged))
    assert (decoded.mention_user_id, decoded.reply_ref) == (None, None)


# --------------------------------------------------------------------------- the policy


def result(ref: str | None) -> JobResult:
    return JobResult("pixverse", "a", Outcome.COMPLETED, reply_ref=ref)


def test_job_event_takes_the_jobs_ref_else_the_results() -> None:
    job = Job("pixverse", "a", reply_ref="from-queue")
    body = result("from-body")
    done = Outcome.COMPLETED
    assert job_event("pixverse", job, body, done, now=NOW).reply_ref == "from-queue"
    assert job_event("pixverse", Job("pixverse", "a"), body, done, now=NOW).reply_ref == "from-body"
    assert job_event("pixverse", None, result(None), Outcome.FAILED, now=NOW).reply_ref is None
    assert stuck_event("pixverse", job, 1300, now=NOW).reply_ref == "from-queue"
    # the key does not change
    assert job_event("pixverse", job, None, done, now=NOW).key == "job:pixverse:a:completed"


def ev(ref: str | None, kind: EventKind = EventKind.JOB) -> Event:
    return Event(key="k", kind=kind, provider="pixverse", word="completed", at=NOW, reply_ref=ref)


def test_plan_by_notify_choice() -> None:
    mine = ev(f"discord:{USER}")
    pinged = replace(mine, mention_user_id=USER)
    assert plan([mine], AlertConfig(), default_channel=1, now=NOW) == [
        OutboxItem(pinged, 1, None, "pending")
    ]
    assert plan([mine], AlertConfig(notify={USER: "mention"}), default_channel=1, now=NOW) == [
        OutboxItem(pinged, 1, None, "pending")
    ]
    assert plan([mine], AlertConfig(notify={USER: "dm"}), default_channel=1, now=NOW) == [
        OutboxItem(mine, 1, None, "pending"),
        OutboxItem(mine, USER, None, "pending", dm=True),
    ]
    assert plan([mine], AlertConfig(notify={USER: "off"}), default_channel=1, now=NOW) == [
        OutboxItem(mine, 1, None, "pending")
    ]
    # another member's choice is not this one's
    assert plan([mine], AlertConfig(notify={USER + 1: "off"}), default_channel=1, now=NOW) == [
        OutboxItem(pinged, 1, None, "pending")
    ]


def test_plan_dm_follows_mutes_but_not_a_missing_channel() -> None:
    mine = ev(f"discord:{USER}")
    dm_config = AlertConfig(notify={USER: "dm"}, mutes=(Mute(None, EventKind.JOB, None),))
    assert plan([mine], dm_config, default_channel=1, now=NOW) == [
        OutboxItem(mine, 1, None, "muted"),
        OutboxItem(mine, USER, None, "muted", dm=True),
    ]
    assert plan([mine], AlertConfig(notify={USER: "dm"}), default_channel=None, now=NOW) == [
        OutboxItem(mine, None, None, "unrouted"),
        OutboxItem(mine, USER, None, "pending", dm=True),
    ]


@pytest.mark.parametrize("ref", ["discord:<@everyone>", "discord:123abc", "@everyone", "x" * 1024])
def test_plan_never_pings_for_another_ref_or_a_non_job_event(ref: str) -> None:
    for event in (ev(ref), ev(f"discord:{USER}", EventKind.CAPACITY)):
        [item] = plan([event], AlertConfig(notify={USER: "dm"}), default_channel=1, now=NOW)
        assert item == OutboxItem(event, 1, None, "pending")


# --------------------------------------------------------------------------- delivery


class Posts:
    def __init__(self, dm_error: Exception | None = None) -> None:
        self.channel: list[tuple[int, list[str]]] = []
        self.dms: list[tuple[int, list[str]]] = []
        self.dm_error = dm_error

    async def send(self, channel_id: int, events: Sequence[Event], role: int | None) -> int:
        self.channel.append((channel_id, [e.key for e in events]))
        return 1000 + len(self.channel)

    async def send_dm(self, user_id: int, events: Sequence[Event]) -> int:
        if self.dm_error is not None:
            raise self.dm_error
        self.dms.append((user_id, [e.key for e in events]))
        return 2000 + len(self.dms)


async def queue_dm(store: Store) -> None:
    mine = ev(f"discord:{USER}")
    items = plan([mine], AlertConfig(notify={USER: "dm"}), default_channel=100, now=NOW)
    await store.enqueue(items, batch="b", now=NOW)


async def test_a_dm_goes_to_its_user_beside_the_channel_post(store: Store) -> None:
    await queue_dm(store)
    posts = Posts()
    report = await Deliverer(store, posts.send, send_dm=posts.send_dm).run_once(NOW)
    assert (posts.channel, posts.dms) == ([(100, ["k"])], [(USER, ["k"])])
    assert (report.messages, report.sent) == (2, 2)
    assert (await store.outbox_row("k#dm") or {})["sent_message_id"] == 2001


async def test_a_refused_dm_fails_for_good_and_a_flaky_one_is_retried(store: Store) -> None:
    await queue_dm(store)
    refused = Posts(
        DeliveryFailed("Cannot send messages to this user", retryable=False, status=403)
    )
    report = await Deliverer(store, refused.send, send_dm=refused.send_dm).run_once(NOW)
    assert (report.sent, report.failed, report.held) == (1, 1, 0)
    row = await store.outbox_row("k#dm")
    assert row is not None and row["state"] == "failed" and row["attempts"] == 1


async def test_a_dm_that_fails_for_now_is_retried(store: Store) -> None:
    await queue_dm(store)
    flaky = Posts(DeliveryFailed("bad gateway", retryable=True, status=502))
    deliverer = Deliverer(store, flaky.send, send_dm=flaky.send_dm, rng=random.Random(1))
    report = await deliverer.run_once(NOW)
    assert (report.sent, report.retried) == (1, 1)
    row = await store.outbox_row("k#dm")
    assert row is not None and (row["state"], row["attempts"]) == ("pending", 1)


async def test_a_deliverer_without_dms_gives_them_up(store: Store) -> None:
    await queue_dm(store)
    posts = Posts()
    report = await Deliverer(store, posts.send).run_once(NOW)
    assert (report.sent, report.failed) == (1, 1)
    row = await store.outbox_row("k#dm")
    assert row is not None and row["last_error"] == "this deliverer sends no direct messages"


async def test_a_dm_cut_short_by_a_crash_goes_again_as_the_same_group(store: Store) -> None:
    """Killed after Discord took the DM but before it was marked sent: after the lease the same
    user gets the same events again (the cog's nonce, made from them, lets Discord drop it)."""
    await queue_dm(store)
    posts = Posts()
    lease = timedelta(seconds=60)

    async def dm_then_die(user_id: int, events: Sequence[Event]) -> int:
        await posts.send_dm(user_id, events)
        raise asyncio.CancelledError  # the process is killed here

    with pytest.raises(asyncio.CancelledError):
        await Deliverer(store, posts.send, send_dm=dm_then_die, lease=lease).run_once(NOW)
    again = Deliverer(store, posts.send, send_dm=posts.send_dm, lease=lease)
    assert (await again.run_once(NOW + timedelta(seconds=30))).claimed == 0
    assert (await again.run_once(NOW + timedelta(seconds=61))).sent == 1
    assert posts.dms == [(USER, ["k"]), (USER, ["k"])]
    assert posts.channel == [(100, ["k"])]  # the channel post was not held back, nor repeated
    # the cog's DM nonce is the row's key's, not the channel post's
    assert nonce_for(["k#dm"]) != nonce_for(["k"])


def test_a_message_mentions_at_most_fifty_people_within_the_content_limit() -> None:
    many = [
        replace(ev(f"discord:{u}"), key=f"k{u}", mention_user_id=u)
        for u in range(MAX_SNOWFLAKE - 59, MAX_SNOWFLAKE + 1)  # 60 people, 20-digit ids
    ]
    content, allowed = mentions(1 << 63, many)
    assert content is not None and len(content) <= 2000
    wanted = [e.mention_user_id for e in many[:MAX_USER_MENTIONS]]
    assert content == " ".join([f"<@&{1 << 63}>"] + [f"<@{u}>" for u in wanted])
    assert dict(allowed.to_dict()) == {"parse": [], "users": wanted, "roles": [1 << 63]}
    assert MAX_USER_MENTIONS == 50
    # exactly fifty: all of them
    content, allowed = mentions(None, many[:50])
    assert dict(allowed.to_dict()) == {"parse": [], "users": wanted}
    assert dict(mentions(None, [ev("x")])[1].to_dict()) == {"parse": []}
