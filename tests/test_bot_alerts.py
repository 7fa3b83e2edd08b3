"""Alerts end to end: simulator ⇄ the real bot (started through `bot.app.serve`, as `opsbot run`
starts it) ⇄ fake Discord, both on loopback.

Ticks and delivery passes are driven by the tests (`Harness.tick`, `Harness.deliver`); the
bot's own delivery loop still runs, and both share one lock, so once `deliver()` returns every
due row has been posted (or failed) by one of them.
"""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

import aiohttp
import pytest

from bot.delivery import reroute_held
from bot.events import EventKind
from bot.sim.providers import SPECS
from cogs.manage import NOT_ALLOWED
from rig.botharness import Harness, command, cycle, make_sim, settled
from rig.fakediscord import ADMIN_PERMISSIONS, MEMBER_PERMISSIONS, FakeDiscord
from rig.received import POSTS, alerts, count, plain

INF = math.inf
ROLE = 1200000000000000777
JSON = dict[str, Any]


# --------------------------------------------------------------------------- job outcomes


async def test_each_outcome_is_alerted_once_per_job(start_bot):
    sim = make_sim(accounts=len(SPECS), providers=tuple(SPECS))
    h = await start_bot(sim=sim, providers=list(sim.providers))  # every simulated provider
    words = ("completed", "failed", "moderated", "cancelled")
    jobs = {sim.start_job(p, duration=INF): (p, w) for p in sim.providers for w in words}
    await cycle(h)
    assert alerts(h.fake) == []  # running jobs are not news
    for job_id, (_, word) in jobs.items():
        sim.finish_job(job_id, word)
    await cycle(h)
    await cycle(h, ticks=2)  # later ticks find nothing new
    await settled(h)
    for job_id, (_, word) in jobs.items():
        assert count(h.fake, word, job_id, h.alert_channel) == 1, (job_id, word)
    assert len(alerts(h.fake)) == len(jobs)
    # one message per provider and tick, each alert its own embed with the provider's name
    messages = h.fake.messages(h.alert_channel)
    assert len(messages) == len(sim.providers)  # every simulated provider, Mureka too
    for m in messages:
        assert len(m["embeds"]) == 4 and m["content"] == ""
    titles = {t for t, _, _ in alerts(h.fake)}
    assert {
        "PixVerse job completed",
        "MiniMax job moderated",
        "Dreamina job cancelled",
        "Kling job completed",
        "Mureka job failed",
        "Runway job failed",
    } <= titles


async def test_alert_posts_carry_a_nonce_and_no_mentions(start_bot):
    sim = make_sim()
    h = await start_bot(sim=sim, providers=["pixverse"])
    job = sim.start_job("pixverse", duration=INF)
    await cycle(h)
    sim.finish_job(job, "completed")
    await cycle(h)
    (post,) = [r for r in h.fake.requests_matching(POSTS) if r.status == 200]
    assert post.json["enforce_nonce"] is True and 0 < len(post.json["nonce"]) <= 25
    assert post.json["allowed_mentions"] == {"parse": []}
    row = await h.bot.store.outbox_row(f"job:pixverse:{job}:completed")
    assert row is not None and row["state"] == "sent"
    assert row["sent_message_id"] == int(post.response["id"])


async def test_many_jobs_finishing_in_one_tick_make_one_summarised_message(start_bot):
    sim = make_sim()
    account = sim.accounts("dreamina")[0].account
    sim.set_max_jobs("dreamina", account, 250)
    h = await start_bot(sim=sim, providers=["dreamina"])
    jobs = [sim.start_job("dreamina", account, duration=INF) for _ in range(200)]
    await cycle(h)
    for i, job in enumerate(jobs):
        sim.finish_job(job, "failed" if i % 10 == 0 else "completed")
    await cycle(h)
    counts = await settled(h)
    assert counts == {"sent": 200}
    (message,) = h.fake.messages(h.alert_channel)
    assert 1 <= len(message["embeds"]) <= 10
    text = plain(str(message["embeds"]))
    assert "200 alerts at once" in text
    assert "180 jobs completed on Dreamina" in text and "20 failed" in text
    assert len(str(message["embeds"])) < 6000 + 2000  # within Discord's limits (+ JSON quoting)


# ----------------------------------------------------------- capacity, stuck, upstream


async def test_capacity_exhausted_then_restored_with_flap_damping(start_bot):
    sim = make_sim(max_jobs=3)
    h = await start_bot(sim=sim, providers=["pixverse"])
    account = sim.accounts("pixverse")[0].account
    await cycle(h)

    sim.fill_account("pixverse", account, duration=INF)
    await cycle(h)  # full for one tick: not yet
    assert count(h.fake, "exhausted") == 0
    sim.free_account("pixverse", account)
    await cycle(h, ticks=2)  # a one-tick blip is never announced, nor its end
    assert count(h.fake, "exhausted") == 0 and count(h.fake, "restored") == 0

    sim.fill_account("pixverse", account, duration=INF)
    await cycle(h, ticks=2)
    assert count(h.fake, "exhausted", account) == 1
    await cycle(h, ticks=3)  # still full: said once
    sim.free_account("pixverse", account)
    await cycle(h)
    assert count(h.fake, "restored") == 0  # free for one tick only
    await cycle(h, ticks=3)
    await settled(h)
    assert count(h.fake, "exhausted", account) == 1
    assert count(h.fake, "restored", account) == 1
    # the other account had room all along: no provider-wide alert
    assert count(h.fake, "exhausted", "all accounts") == 0


async def test_every_account_full_is_one_provider_wide_alert(start_bot):
    sim = make_sim(max_jobs=2)
    h = await start_bot(sim=sim, providers=["minimax"])
    await cycle(h)
    for a in sim.accounts("minimax"):
        sim.fill_account("minimax", a.account, duration=INF)
    await cycle(h, ticks=3)
    await settled(h)
    assert count(h.fake, "exhausted", "all accounts") == 1
    assert count(h.fake, "exhausted") == 1 + len(sim.accounts("minimax"))


async def test_a_job_past_the_threshold_is_stuck_once(start_bot):
    sim = make_sim()
    h = await start_bot(sim=sim, stuck_after_minutes=20, providers=list(sim.providers))
    late = {p: sim.start_job(p, duration=INF, elapsed=21 * 60) for p in sim.providers}
    young = sim.start_job("pixverse", duration=INF, elapsed=19 * 60)
    await cycle(h)
    for job in late.values():
        assert count(h.fake, "stuck", job) == 1
    assert count(h.fake, "stuck", young) == 0
    sim.advance(2 * 60)  # the young one crosses the threshold now
    await cycle(h, ticks=3)
    await settled(h)
    assert count(h.fake, "stuck", young) == 1
    assert count(h.fake, "stuck") == len(sim.providers) + 1  # and nobody again
    # when a stuck job finally ends, that is news of its own
    sim.finish_job(late["pixverse"], "failed")
    await cycle(h)
    assert count(h.fake, "failed", late["pixverse"]) == 1
    assert count(h.fake, "stuck") == len(sim.providers) + 1


async def test_unauthorized_then_recovered(start_bot):
    sim = make_sim()
    h = await start_bot(sim=sim, providers=["pixverse", "minimax"])
    await cycle(h)
    sim.faults.set("pixverse", "status", status=401)
    await cycle(h)
    assert count(h.fake, "unauthorized") == 0  # one failed tick is not yet an outage
    await cycle(h, ticks=3)
    assert count(h.fake, "unauthorized", "PixVerse") == 1
    assert count(h.fake, "unauthorized") == 1  # MiniMax is fine
    sim.faults.clear()
    await cycle(h, ticks=3)
    await settled(h)
    assert count(h.fake, "recovered", "PixVerse") == 1
    assert count(h.fake, "unauthorized") == 1


# --------------------------------------------------------------------------- /alerts


async def test_muted_kinds_post_nothing(start_bot):
    sim = make_sim()
    h = await start_bot(sim=sim, providers=["pixverse", "minimax"])
    body = await command(
        h, "alerts", {"provider": "pixverse", "kind": "job", "duration": "2h"}, subcommand="mute"
    )
    assert body["data"]["flags"] & 64 and "Muted job alerts for pixverse" in body["data"]["content"]
    (mute,) = await h.bot.store.mutes()
    assert (mute.provider, mute.kind) == ("pixverse", EventKind.JOB)
    muted = sim.start_job("pixverse", duration=INF)
    loud = sim.start_job("minimax", duration=INF)
    await cycle(h)
    sim.finish_job(muted, "completed")
    sim.finish_job(loud, "completed")
    await cycle(h, ticks=2)
    counts = await settled(h)
    assert count(h.fake, "completed", loud) == 1
    assert count(h.fake, "completed", muted) == 0
    assert counts == {"sent": 1, "muted": 1}
    # lifting the mute does not post what was dropped while muted
    body = await command(h, "alerts", subcommand="unmute")
    assert "Lifted 1 mute" in body["data"]["content"]
    again = sim.start_job("pixverse", duration=INF)
    await cycle(h)
    sim.finish_job(again, "failed")
    await cycle(h, ticks=2)
    await settled(h)
    assert count(h.fake, "failed", again) == 1 and count(h.fake, "completed", muted) == 0


async def test_routed_kinds_go_to_their_channel(start_bot):
    sim = make_sim(max_jobs=1)
    h = await start_bot(sim=sim, providers=["pixverse"])
    default, other = h.fake.channel_ids
    body = await command(h, "alerts", {"kind": "capacity", "channel": other}, subcommand="route")
    assert f"<#{other}>" in body["data"]["content"]
    await cycle(h)
    account = sim.accounts("pixverse")[0].account
    (job,) = sim.fill_account("pixverse", account, duration=INF)
    await cycle(h, ticks=2)
    sim.finish_job(job, "completed")
    await cycle(h, ticks=2)
    await settled(h)
    assert count(h.fake, "exhausted", account, other) == 1
    assert count(h.fake, "restored", account, other) == 1
    assert count(h.fake, "completed", job, default) == 1
    assert count(h.fake, "exhausted", channel=default) == 0
    assert count(h.fake, "completed", channel=other) == 0
    show = await command(h, "alerts", subcommand="show")
    assert f"capacity → <#{other}>" in str(show["data"]["embeds"])


async def test_a_role_mention_pings_only_that_role(start_bot, fake_discord):
    fake_discord.add_guild(fake_discord.guild_id, fake_discord.channel_ids, roles={ROLE: "on-call"})
    sim = make_sim()
    h = await start_bot(sim=sim, providers=["pixverse"])
    body = await command(h, "alerts", {"kind": "job", "role": ROLE}, subcommand="mention")
    assert f"<@&{ROLE}>" in body["data"]["content"]
    assert body["data"]["allowed_mentions"] == {"parse": []}  # the reply itself pings nobody
    job = sim.start_job("pixverse", duration=INF)
    await cycle(h)
    sim.finish_job(job, "failed")
    await cycle(h)
    await settled(h)
    (message,) = h.fake.messages(h.alert_channel)
    assert message["content"] == f"<@&{ROLE}>"
    (post,) = [r for r in h.fake.requests_matching(POSTS) if r.status == 200]
    mentions = post.json["allowed_mentions"]
    assert mentions.get("parse") == []  # never @everyone/@here, never users
    assert [str(r) for r in mentions.get("roles", [])] == [str(ROLE)]
    assert not mentions.get("users") and not mentions.get("replied_user")
    assert set(mentions) <= {"parse", "roles", "replied_user"}
    # a kind without a mention pings nobody
    await command(h, "alerts", {"kind": "job"}, subcommand="mention")
    job2 = sim.start_job("pixverse", duration=INF)
    await cycle(h)
    sim.finish_job(job2, "completed")
    await cycle(h)
    assert h.fake.messages(h.alert_channel)[-1]["content"] == ""
    assert h.fake.requests_matching(POSTS)[-1].json["allowed_mentions"] == {"parse": []}


@pytest.mark.parametrize(
    ("name", "subcommand", "options"),
    [
        ("alerts", "mute", {"duration": "1h"}),
        ("alerts", "route", {"kind": "job", "channel": 1200000000000000202}),
        ("alerts", "mention", {"kind": "job"}),
        ("alerts", "unmute", {}),
        ("alerts", "show", {}),
        ("board", None, {}),
    ],
)
async def test_members_without_manage_server_are_refused(start_bot, name, subcommand, options):
    h = await start_bot(sim=make_sim(), providers=["pixverse"])
    synced = {c["name"]: c for c in h.fake.synced_commands(h.fake.guild_id)}
    # /board is hidden from them; /alerts is not (`notify` is everyone's): the cog refuses
    wanted = None if name == "alerts" else 1 << 5  # Manage Server
    assert synced[name].get("default_member_permissions") == wanted
    await h.bot.store.mute("pixverse", EventKind.CAPACITY, None)  # something to keep
    store = h.bot.store
    before = (await store.alert_config(), await store.boards(), await store.mutes())
    posts = len(h.fake.messages())
    body = await command(h, name, options, subcommand=subcommand, permissions=MEMBER_PERMISSIONS)
    assert body["type"] == 4
    assert body["data"]["flags"] & 64  # ephemeral
    assert body["data"]["content"] == NOT_ALLOWED
    assert (await store.alert_config(), await store.boards(), await store.mutes()) == before
    assert len(h.fake.messages()) == posts  # no board posted either


@pytest.mark.parametrize(
    ("name", "subcommand", "options", "reply"),
    [
        ("alerts", "mute", {"duration": "forever"}, "Give a duration like `30m`, `2h` or `1d`."),
        ("alerts", "mute", {"duration": "31d"}, "A mute lasts from one minute to 30 days."),
        ("alerts", "mute", {"provider": "minimax"}, "Provider minimax is not enabled here."),
        (
            "alerts",
            "route",
            {"kind": "job", "channel": 1200000000000000202, "provider": "minimax"},
            "Provider minimax is not enabled here.",
        ),
        (
            "alerts",
            "mention",
            {"kind": "job", "provider": "minimax"},
            "Provider minimax is not enabled here.",
        ),
        ("board", None, {"provider": "minimax"}, "Provider minimax is not enabled here."),
    ],
)
async def test_input_errors_are_told_to_the_invoker_alone(
    start_bot, name, subcommand, options, reply
):
    """A choice synced before its provider was unloaded, or a duration out of range: refused
    in words, nothing changed."""
    h = await start_bot(sim=make_sim(), providers=["pixverse"])
    store = h.bot.store
    before = (await store.alert_config(), await store.boards(), await store.mutes())
    posts = len(h.fake.messages())
    body = await command(h, name, options, subcommand=subcommand)
    assert body["type"] == 4 and body["data"]["flags"] == 64
    assert body["data"]["content"] == reply and not body["data"].get("embeds")
    assert (await store.alert_config(), await store.boards(), await store.mutes()) == before
    assert len(h.fake.messages()) == posts


# --------------------------------------------------------------------------- Discord failures


async def test_429_is_waited_out_and_posted_once(start_bot):
    sim = make_sim()
    h = await start_bot(sim=sim, providers=["pixverse"])
    job = sim.start_job("pixverse", duration=INF)
    await cycle(h)
    h.fake.fail(POSTS, 429, count=2, retry_after=0.05)
    sim.finish_job(job, "completed")
    await cycle(h)
    assert await settled(h) == {"sent": 1}
    assert count(h.fake, "completed", job) == 1
    posts = h.fake.requests_matching(POSTS)
    assert [r.status for r in posts] == [429, 429, 200]
    assert len({r.json["nonce"] for r in posts}) == 1


async def test_500_loses_nothing(start_bot):
    sim = make_sim()
    h = await start_bot(sim=sim, providers=["pixverse"])
    job = sim.start_job("pixverse", duration=INF)
    await cycle(h)
    h.fake.fail(POSTS, 500, count=1)  # discord.py retries a 500 itself after a second
    sim.finish_job(job, "failed")
    await cycle(h)
    assert await settled(h) == {"sent": 1}
    assert count(h.fake, "failed", job) == 1
    assert [r.status for r in h.fake.requests_matching(POSTS)] == [500, 200]


async def test_discord_down_for_longer_is_retried_from_the_outbox(start_bot):
    sim = make_sim()
    h = await start_bot(sim=sim, providers=["pixverse"])
    job = sim.start_job("pixverse", duration=INF)
    await cycle(h)
    h.fake.fail(POSTS, 503, count=None)  # no retry inside discord.py: the outbox retries
    sim.finish_job(job, "completed")
    await cycle(h)
    key = f"job:pixverse:{job}:completed"
    row = await h.bot.store.outbox_row(key)
    assert row is not None and row["state"] == "pending" and row["attempts"] >= 1
    assert "503" in (row["last_error"] or "") and row["next_attempt_at"] > row["created_at"]
    assert alerts(h.fake) == []
    h.fake.clear_faults()
    later = h.bot.clock() + timedelta(minutes=11)  # past any backoff
    await h.delivery.deliverer.run_once(later)
    await h.deliver()
    assert count(h.fake, "completed", job) == 1
    assert (await h.bot.store.outbox_row(key) or {})["state"] == "sent"
    await h.delivery.deliverer.run_once(later + timedelta(hours=1))
    assert count(h.fake, "completed", job) == 1


async def test_403_holds_alerts_until_routed_to_a_working_channel(start_bot):
    sim = make_sim()
    h = await start_bot(sim=sim, providers=["pixverse"])
    default, other = h.fake.channel_ids
    jobs = [sim.start_job("pixverse", duration=INF) for _ in range(2)]
    await cycle(h)
    h.fake.fail(rf"POST /channels/{default}/messages$", 403, count=None)
    for job in jobs:
        sim.finish_job(job, "completed")
    await cycle(h)
    assert await settled(h) == {"held": 2}
    assert alerts(h.fake) == []
    show = await command(h, "alerts", subcommand="show")
    assert "Held (2)" in str(show["data"]["embeds"])
    body = await command(h, "alerts", {"kind": "job", "channel": other}, subcommand="route")
    assert "2 held alert(s) will be sent again" in body["data"]["content"]
    assert await settled(h) == {"sent": 2}
    for job in jobs:
        assert count(h.fake, "completed", job, other) == 1
    assert count(h.fake, "completed", channel=default) == 0


async def test_403_held_alerts_go_out_once_the_channel_works_again(start_bot):
    sim = make_sim()
    h = await start_bot(sim=sim, providers=["pixverse"])
    job = sim.start_job("pixverse", duration=INF)
    await cycle(h)
    h.fake.fail(POSTS, 403, count=None)
    sim.finish_job(job, "moderated")
    await cycle(h, ticks=2)
    assert await settled(h) == {"held": 1}
    h.fake.clear_faults()  # e.g. the bot got its Send Messages permission back
    released = await reroute_held(h.bot.store, h.settings.alert_channel_id, now=h.bot.clock())
    assert released == 1
    assert await settled(h) == {"sent": 1}
    assert count(h.fake, "moderated", job, h.alert_channel) == 1


async def test_pruning_runs_in_its_own_loop_and_every_loop_ends_with_its_cog(start_bot):
    """Delivery, pruning and the boards are each a tasks.loop; pruning forgets alerts
    delivered more than 30 days ago and expired mutes."""
    sim = make_sim()
    h = await start_bot(sim=sim, providers=["pixverse"])
    job = sim.start_job("pixverse", duration=INF)
    await cycle(h)
    sim.finish_job(job, "completed")
    await cycle(h)
    assert await settled(h) == {"sent": 1}
    now = h.bot.clock()
    await h.bot.store.mute("pixverse", EventKind.CAPACITY, now + timedelta(hours=1))
    await h.bot.store.mute("pixverse", EventKind.JOB, None)  # until unmuted: kept
    loops = [h.delivery.deliver, h.delivery.prune_loop, h.board.refresh_loop]
    assert all(loop.is_running() for loop in loops)
    assert (h.delivery.prune_loop.seconds, h.board.refresh_loop.seconds) == (3600, 60)

    h.bot.clock = lambda: now + timedelta(days=31)
    await h.delivery.prune_loop()  # one round of the loop, as if the hour had passed
    assert await h.bot.store.outbox_counts() == {}
    assert [(m.provider, m.kind) for m in await h.bot.store.mutes()] == [
        ("pixverse", EventKind.JOB)
    ]

    tasks = [loop.get_task() for loop in loops]
    await h.bot.unload_extension("cogs.delivery")
    await h.bot.unload_extension("cogs.board")
    assert all(task is not None and task.done() for task in tasks)
    assert not any(loop.is_running() for loop in loops)


async def test_at_close_delivery_and_boards_stop_before_any_provider_leaves(start_bot, monkeypatch):
    """A delivery pass run after a provider's cog was removed would post its alerts without
    the provider's name (the chaos soak caught it): the shared cogs are unloaded first."""
    h = await start_bot(sim=make_sim())
    gone_before: dict[str, bool] = {}
    for name in h.bot.providers:
        cog = h.cog(name)

        async def unload(name: str = name, unload: Any = cog.cog_unload) -> None:
            gone_before[name] = all(h.bot.get_cog(c) is None for c in ("Delivery", "Board"))
            await unload()

        monkeypatch.setattr(cog, "cog_unload", unload)
    await h.stop()
    assert gone_before == {"pixverse": True, "minimax": True, "dreamina": True}


# --------------------------------------------------------------------------- /board


def board_messages(fake: FakeDiscord) -> list[JSON]:
    return [
        m for m in fake.messages() if m["embeds"] and m["embeds"][0].get("title") == "opsbot board"
    ]


def patches(fake: FakeDiscord, message_id: int | str, start: int = 0) -> int:
    return sum(
        1
        for r in fake.requests[start:]
        if r.method == "PATCH" and r.path.endswith(f"/messages/{message_id}")
    )


async def post_board(h: Harness) -> JSON:
    body = await command(h, "board", channel_id=h.fake.channel_ids[1])
    assert body["data"]["flags"] & 64
    board = await h.fake.wait_for_message(
        h.fake.channel_ids[1], lambda m: m["embeds"][0].get("title") == "opsbot board"
    )
    (stored,) = await h.bot.store.boards()
    assert stored.message_id == int(board["id"])
    assert stored.channel_id == h.fake.channel_ids[1]
    return board


async def test_board_is_edited_only_on_change_and_at_most_once_per_interval(start_bot):
    sim = make_sim()
    h = await start_bot(sim=sim, providers=["pixverse"])
    cog = h.board
    assert cog.board_interval == 60  # the production cadence
    await cycle(h)
    board = await post_board(h)
    assert "Queue: 0 running" in board["embeds"][0]["fields"][0]["value"]

    mark = h.fake.mark()
    await h.tick()
    assert await cog.refresh_boards() == 0  # nothing changed: no request at all
    assert h.fake.requests[mark:] == []

    sim.start_job("pixverse", duration=INF)
    await h.tick()
    assert await cog.refresh_boards() == 0  # changed, but edited less than a minute ago
    assert patches(h.fake, board["id"], mark) == 0

    cog.board_interval = 0  # (as if the minute had passed)
    assert await cog.refresh_boards() == 1
    assert patches(h.fake, board["id"], mark) == 1
    edited = h.fake.message(board["id"])
    assert edited is not None and "Queue: 1 running" in edited["embeds"][0]["fields"][0]["value"]
    assert await cog.refresh_boards() == 0
    await h.tick()
    assert await cog.refresh_boards() == 0  # same jobs, same capacity: no edit
    assert patches(h.fake, board["id"], mark) == 1
    assert len(board_messages(h.fake)) == 1


async def test_board_survives_a_restart_and_is_reposted_when_deleted(start_bot):
    sim = make_sim()
    h = await start_bot(sim=sim, providers=["pixverse"])
    await cycle(h)
    board = await post_board(h)
    await h.stop()

    sim.start_job("pixverse", duration=INF)
    mark = h.fake.mark()
    h = await start_bot(sim=sim, providers=["pixverse"])  # same database
    await h.tick()
    await h.board.refresh_boards()  # (or the board loop's first round did it)
    assert patches(h.fake, board["id"], mark) == 1  # the same message, edited
    assert len(board_messages(h.fake)) == 1
    edited = h.fake.message(board["id"])
    assert edited is not None and "Queue: 1 running" in str(edited["embeds"])

    # someone deletes it; the state stays the same, but the next look notices
    channel = h.fake.channel_ids[1]
    async with aiohttp.ClientSession() as http:
        url = f"{h.fake.api_base}/channels/{channel}/messages/{board['id']}"
        async with http.delete(url, headers={"Authorization": "Bot x"}) as resp:
            assert resp.status == 204
    h.board.board_check_interval = 0
    assert await h.board.refresh_boards() == 1
    boards = board_messages(h.fake)
    assert len(boards) == 2 and h.fake.is_deleted(board["id"])
    new_id = int(boards[-1]["id"])
    assert [b.message_id for b in await h.bot.store.boards()] == [new_id]
    mark = h.fake.mark()
    h.board.board_check_interval = 600
    assert await h.board.refresh_boards() == 0
    assert h.fake.requests[mark:] == []


async def test_a_new_board_in_the_same_channel_replaces_the_old_one(start_bot):
    h = await start_bot(sim=make_sim(), providers=["pixverse"])
    await cycle(h)
    first = await post_board(h)
    await command(h, "board", channel_id=h.fake.channel_ids[1])
    await h.fake.wait_for_request("DELETE", rf"/messages/{first['id']}$")
    boards = await h.bot.store.boards()
    assert len(boards) == 1 and boards[0].message_id != int(first["id"])
    assert h.fake.is_deleted(first["id"])


async def test_held_alerts_follow_once_a_later_post_to_the_channel_lands(start_bot):
    """The usual fix for a 403 is a permission grant, not a route change: the first post that
    lands again releases what was held for that channel."""
    sim = make_sim()
    h = await start_bot(sim=sim, providers=["pixverse"])
    first, second = (sim.start_job("pixverse", duration=INF) for _ in range(2))
    await cycle(h)
    h.fake.fail(POSTS, 403, count=None)
    sim.finish_job(first, "failed")
    await cycle(h, ticks=2)
    assert await settled(h) == {"held": 1}
    h.fake.clear_faults()
    sim.finish_job(second, "completed")
    await cycle(h)  # posts the new alert, which releases the held one
    await h.deliver()
    assert await settled(h) == {"sent": 2}
    assert count(h.fake, "failed", first, h.alert_channel) == 1
    assert count(h.fake, "completed", second, h.alert_channel) == 1


async def test_alerts_are_managed_only_from_the_teams_server(start_bot, fake_discord):
    other_guild, other_channel = 1300000000000000100, 1300000000000000201
    fake_discord.add_guild(other_guild, [other_channel], name="Someone else's server")
    h = await start_bot(providers=["pixverse"])
    inter = await h.fake.invoke(
        "alerts",
        {"kind": "job", "channel": other_channel},
        subcommand="route",
        permissions=ADMIN_PERMISSIONS,
        guild_id=other_guild,
        channel_id=other_channel,
    )
    body = await h.fake.wait_for_interaction_response(inter)
    assert body["data"]["flags"] & 64
    assert "team's own server" in body["data"]["content"]
    assert await h.bot.store.routes() == []


# --------------------------------------------------------------------------- @everyone


async def test_mention_refuses_the_everyone_role(start_bot, fake_discord):
    """The @everyone role's id is the server's id; Discord offers it in a role option."""
    fake_discord.add_guild(fake_discord.guild_id, fake_discord.channel_ids, roles={ROLE: "on-call"})
    sim = make_sim()
    h = await start_bot(sim=sim, providers=["pixverse"])
    before = await h.bot.store.alert_config()
    body = await command(
        h, "alerts", {"kind": "job", "role": h.fake.guild_id}, subcommand="mention"
    )
    assert body == {
        "type": 4,
        "data": {
            "content": "`@everyone` cannot be mentioned in alerts: it would ping the whole server. "
            "Pick a role made for this, such as an on-call role.",
            "flags": 64,
            "tts": False,
            "allowed_mentions": {"parse": []},
        },
    }
    assert await h.bot.store.alert_config() == before
    assert await h.bot.store.mentions() == []
    # and the next alert pings nobody
    job = sim.start_job("pixverse", duration=INF)
    await cycle(h)
    sim.finish_job(job, "failed")
    await cycle(h)
    await settled(h)
    assert_one_post_pinging_nobody(h)


def assert_one_post_pinging_nobody(h: Harness) -> None:
    (message,) = h.fake.messages(h.alert_channel)
    assert message["content"] == ""
    (post,) = [r for r in h.fake.requests_matching(POSTS) if r.status == 200]
    assert post.json["allowed_mentions"] == {"parse": []}


async def test_an_everyone_mention_stored_earlier_is_posted_without_the_ping(start_bot):
    """A mention of @everyone kept from before /alerts mention refused it is not obeyed."""
    sim = make_sim()
    h = await start_bot(sim=sim, providers=["pixverse"])
    await h.bot.store.set_mention(EventKind.JOB, h.fake.guild_id)
    job = sim.start_job("pixverse", duration=INF)
    await cycle(h)
    sim.finish_job(job, "completed")
    await cycle(h)
    await settled(h)
    assert_one_post_pinging_nobody(h)
    assert count(h.fake, "completed", job, h.alert_channel) == 1
