"""The person who asked (issue 12, part 2), through the real bot, the simulator and the fake
Discord: a job whose `replyRef` is `discord:<id>` mentions that user in its alert (or DMs
them, or neither, by their `/alerts notify`); any other `replyRef` is shown as text and never
pings; `/queue mine:true` lists the caller's jobs."""

from __future__ import annotations

import asyncio
import math
from typing import Any

import pytest

from bot.embeds.layout import REPLY_REF_CHARS
from bot.events import EventKind
from bot.models import MAX_REPLY_REF
from bot.text import escape, truncate
from cogs.alerts import NOTIFY_SAYS
from rig.botharness import Harness, cycle, make_sim, settled
from rig.fakediscord import MEMBER_PERMISSIONS
from rig.received import POSTS, plain

INF = math.inf
JSON = dict[str, Any]
ALICE = 1200000000000000500  # the fake Discord's default invoker
BOB = 1200000000000000601
ROLE = 1200000000000000777
HOOK = "https://hooks.example/useapi"
DM_OPEN = r"POST /users/@me/channels$"
NO_PINGS: JSON = {"parse": []}


async def run(
    h: Harness,
    name: str,
    options: JSON | None = None,
    *,
    subcommand: str | None = None,
    permissions: int = MEMBER_PERMISSIONS,
    user_id: int | None = None,
) -> JSON:
    """Invoke a slash command as a plain member and return what the invoker ends up seeing,
    once the bot's handler has finished."""
    qualified = f"{name} {subcommand}" if subcommand else name
    done = asyncio.ensure_future(
        h.bot.wait_for(
            "app_command_completion", check=lambda i, c: c.qualified_name == qualified, timeout=10
        )
    )
    await asyncio.sleep(0)  # let wait_for register its listener
    inter = await h.fake.invoke(
        name, options or {}, subcommand=subcommand, permissions=permissions, user_id=user_id
    )
    await done
    assert inter.callback is not None
    if inter.callback["type"] == 4:  # answered at once: the answer as sent
        data: JSON = inter.callback["data"]
        return data
    original = h.fake.original_message(inter)  # deferred, then edited
    assert original is not None
    return original


def start(h: Harness, ref: str | None, *, elapsed: float = 0.0) -> str:
    """A running PixVerse job submitted with `ref` as its replyRef (None: none; a replyUrl
    either way, so the simulator draws no ref of its own)."""
    return h.sim.start_job("pixverse", duration=INF, elapsed=elapsed, reply_url=HOOK, reply_ref=ref)


async def finish(h: Harness, refs: list[str | None], outcome: str = "completed") -> list[str]:
    """One job per ref, seen running, then all finished in one tick and delivered."""
    jobs = [start(h, ref) for ref in refs]
    await cycle(h)
    for job in jobs:
        h.sim.finish_job(job, outcome)
    await cycle(h)
    await settled(h)
    return jobs


def posts_to(h: Harness, channel: int) -> list[JSON]:
    """The bodies of the posts to `channel` Discord accepted, in order."""
    return [
        r.json
        for r in h.fake.requests_matching(rf"POST /channels/{channel}/messages$")
        if r.status == 200 and isinstance(r.json, dict)
    ]


def channel_posts(h: Harness) -> list[JSON]:
    """The bodies of the alert posts Discord accepted, in order."""
    return posts_to(h, h.alert_channel)


def description_of(message: JSON, job: str) -> str:
    """The description of the alert embed about `job` (unescaped)."""
    [found] = [plain(e["description"]) for e in message["embeds"] if job in plain(e["description"])]
    return found


async def test_a_discord_ref_mentions_exactly_that_user_in_the_content(start_bot):
    h = await start_bot(sim=make_sim(), providers=["pixverse"])
    mine, plain_job, ticket = await finish(h, [f"discord:{ALICE}", None, "ticket-7"])
    [post] = channel_posts(h)
    assert post["content"] == f"<@{ALICE}>"
    assert post["allowed_mentions"] == {"parse": [], "users": [ALICE]}
    [message] = h.fake.messages(h.alert_channel)
    assert len(message["embeds"]) == 3  # one message: the jobs of nobody in particular too
    assert f"\n**For** <@{ALICE}>\n" in description_of(message, mine)
    assert "**For**" not in description_of(message, plain_job)
    assert "**Ref**" not in description_of(message, plain_job)
    assert "\n**Ref** ticket-7\n" in description_of(message, ticket)
    assert h.fake.requests_matching(DM_OPEN) == []


async def test_people_and_the_role_are_mentioned_together_each_once(start_bot):
    h = await start_bot(sim=make_sim(), providers=["pixverse"])
    await h.bot.store.set_mention(EventKind.JOB, ROLE)
    await finish(h, [f"discord:{ALICE}", f"discord:{BOB}", f"discord:{ALICE}", None])
    [post] = channel_posts(h)
    assert post["content"] == f"<@&{ROLE}> <@{ALICE}> <@{BOB}>"
    assert post["allowed_mentions"] == {"parse": [], "users": [ALICE, BOB], "roles": [ROLE]}


async def test_a_message_mentions_only_people_whose_jobs_are_in_it(start_bot):
    """Two ticks, two messages: each pings the owner of a job in it and nobody else."""
    h = await start_bot(sim=make_sim(), providers=["pixverse"])
    first = await finish(h, [f"discord:{ALICE}"])
    second = await finish(h, [f"discord:{BOB}", None])
    one, two = channel_posts(h)
    assert (one["content"], one["allowed_mentions"]) == (
        f"<@{ALICE}>",
        {"parse": [], "users": [ALICE]},
    )
    assert (two["content"], two["allowed_mentions"]) == (f"<@{BOB}>", {"parse": [], "users": [BOB]})
    m1, m2 = h.fake.messages(h.alert_channel)
    assert [first[0] in plain(str(e)) for e in m1["embeds"]] == [True]
    assert {second[0], second[1]} == {j for j in second for e in m2["embeds"] if j in plain(str(e))}


async def test_notify_stores_and_shows_the_choice(start_bot):
    h = await start_bot(sim=make_sim(), providers=["pixverse"])
    shown = await run(h, "alerts", subcommand="notify")
    assert shown["content"] == NOTIFY_SAYS["mention"].format(user=ALICE)  # the default
    assert shown["flags"] & 64 and shown["allowed_mentions"] == NO_PINGS
    for how in ("dm", "off", "mention", "dm"):
        said = await run(h, "alerts", {"how": how}, subcommand="notify")
        assert said["content"] == NOTIFY_SAYS[how].format(user=ALICE)
        assert await h.bot.store.notify_choice(ALICE) == how
    assert (await run(h, "alerts", subcommand="notify"))["content"] == NOTIFY_SAYS["dm"].format(
        user=ALICE
    )
    # each member's own: Bob's choice is not Alice's
    await run(h, "alerts", {"how": "off"}, subcommand="notify", user_id=BOB)
    assert (await h.bot.store.alert_config()).notify == {ALICE: "dm", BOB: "off"}


async def test_dm_sends_a_direct_message_and_the_channel_alert_pings_nobody(start_bot):
    h = await start_bot(sim=make_sim(), providers=["pixverse"])
    await run(h, "alerts", {"how": "dm"}, subcommand="notify")
    [job] = await finish(h, [f"discord:{ALICE}"])
    [opened] = h.fake.requests_matching(DM_OPEN)
    assert opened.json == {"recipient_id": ALICE}
    dm_channel = int(opened.response["id"])
    [channel_post] = posts_to(h, h.alert_channel)
    assert (channel_post["content"], channel_post["allowed_mentions"]) == (None, NO_PINGS)
    [dm_post] = posts_to(h, dm_channel)
    assert dm_post["allowed_mentions"] == NO_PINGS
    assert dm_post["nonce"] != channel_post["nonce"]  # its own exactly-once
    [dm] = h.fake.messages(dm_channel)
    [alert] = h.fake.messages(h.alert_channel)
    assert dm["content"] == "" and dm["embeds"] == alert["embeds"]
    assert f"**For** <@{ALICE}>" in description_of(dm, job)
    row = await h.bot.store.outbox_row(f"job:pixverse:{job}:completed#dm")
    assert row is not None and (row["state"], row["dm"]) == ("sent", 1)
    assert row["sent_message_id"] == int(dm["id"])


async def test_a_refused_dm_fails_once_and_does_not_block_the_channel(start_bot):
    h = await start_bot(sim=make_sim(), providers=["pixverse"])
    h.fake.closed_dms.add(ALICE)
    await run(h, "alerts", {"how": "dm"}, subcommand="notify")
    [job] = await finish(h, [f"discord:{ALICE}"])
    [alert] = h.fake.messages(h.alert_channel)
    assert job in plain(str(alert["embeds"])) and alert["content"] == ""
    row = await h.bot.store.outbox_row(f"job:pixverse:{job}:completed#dm")
    assert row is not None and (row["state"], row["attempts"]) == ("failed", 1)
    assert "Cannot send messages to this user" in row["last_error"]
    refused = [r for r in h.fake.requests_matching(POSTS) if r.status == 403]
    assert len(refused) == 1
    await cycle(h, ticks=2)  # later passes do not try again
    assert len([r for r in h.fake.requests_matching(POSTS) if r.status == 403]) == 1
    assert (await h.bot.store.outbox_counts()).get("held", 0) == 0
    # the next job's channel alert goes out as usual
    [later] = await finish(h, [None])
    assert later in plain(str(h.fake.messages(h.alert_channel)[-1]["embeds"]))


async def test_off_neither_pings_nor_messages(start_bot):
    h = await start_bot(sim=make_sim(), providers=["pixverse"])
    await run(h, "alerts", {"how": "off"}, subcommand="notify")
    [job] = await finish(h, [f"discord:{ALICE}"], outcome="failed")
    [post] = channel_posts(h)
    assert (post["content"], post["allowed_mentions"]) == (None, NO_PINGS)
    [alert] = h.fake.messages(h.alert_channel)
    assert f"**For** <@{ALICE}>" in description_of(alert, job)  # still says whose it is
    assert h.fake.requests_matching(DM_OPEN) == []


HOSTILE = [
    "discord:<@everyone>",
    "discord:123abc",
    "@everyone",
    "@here <@&1200000000000000777> <@1200000000000000500>",
    "discord:" + "1" * 25,
    "discord:0",
    f"discord:{1 << 64}",
    " discord:1200000000000000500",
    "discord:1200000000000000500 ",
    "x" * 2000,
    "**bold** `code` [link](https://evil.example) ~~s~~ ||spoiler||",
]


@pytest.mark.parametrize("ref", HOSTILE, ids=range(len(HOSTILE)))
async def test_any_other_ref_is_shown_verbatim_escaped_and_never_pings(start_bot, ref):
    h = await start_bot(sim=make_sim(), providers=["pixverse"])
    [job] = await finish(h, [ref])
    [post] = channel_posts(h)
    assert (post["content"], post["allowed_mentions"]) == (None, NO_PINGS)
    [alert] = h.fake.messages(h.alert_channel)
    [embed] = [e for e in alert["embeds"] if job in plain(e["description"])]
    kept = ref[:MAX_REPLY_REF]
    assert f"\n**Ref** {escape(truncate(kept, REPLY_REF_CHARS))}\n" in embed["description"]
    assert h.fake.requests_matching(DM_OPEN) == []


async def test_queue_mine_lists_the_callers_jobs_first_last_or_alone(start_bot):
    h = await start_bot(sim=make_sim(), providers=["pixverse"])
    await h.tick()
    empty = await run(h, "queue", {"mine": True})
    [page] = empty["embeds"]
    assert page["title"] == "Nothing running · your jobs"
    assert page["description"].startswith(
        f"None of the running jobs was submitted for you (a `replyRef` of `discord:{ALICE}`)."
    )
    # Alice's job runs longest (listed first), Bob's next, Alice's other one last
    oldest = start(h, f"discord:{ALICE}", elapsed=600)
    bobs = start(h, f"discord:{BOB}", elapsed=300)
    newest = start(h, f"discord:{ALICE}", elapsed=10)
    await h.tick()
    mine = await run(h, "queue", {"mine": True})
    [page] = mine["embeds"]
    assert page["title"] == "Queue · your jobs — 2 running"
    lines = [ln for f in page["fields"] for ln in plain(f["value"]).split("\n")]
    assert len(lines) == 2
    assert oldest.rsplit("-", 1)[-1] in lines[0] and newest.rsplit("-", 1)[-1] in lines[1]
    assert all(line.endswith(f" · for <@{ALICE}>") for line in lines)
    assert bobs.rsplit("-", 1)[-1] not in plain(str(page))
    assert mine["allowed_mentions"] == NO_PINGS
    # Bob: his one job, alone
    [page] = (await run(h, "queue", {"mine": True}, user_id=BOB))["embeds"]
    assert page["title"] == "Queue · your jobs — 1 running"
    [line] = [ln for f in page["fields"] for ln in plain(f["value"]).split("\n")]
    assert bobs.rsplit("-", 1)[-1] in line and line.endswith(f" · for <@{BOB}>")
    # without mine: everyone's jobs, each saying whose it is
    [page] = (await run(h, "queue"))["embeds"]
    assert page["title"] == "Queue — 3 running"


async def test_job_shows_whose_job_it_is(start_bot):
    h = await start_bot(sim=make_sim(), providers=["pixverse"])
    [job] = await finish(h, [f"discord:{BOB}"])
    shown = await run(h, "job", {"provider": "pixverse", "id": job})
    [embed] = shown["embeds"]
    assert {"name": "For", "value": f"<@{BOB}>", "inline": True} in embed["fields"]
