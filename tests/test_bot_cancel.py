"""Untracking end to end: fake Discord ⇄ the real discord.py bot (started as `opsbot run` starts
it) ⇄ the simulator. `/cancel` and the *Untrack* button of a stuck alert: who may, the confirm
button, the DELETE the simulator sees, the job leaving the queue and one `cancelled` alert, the
alert message marked with who and when, and the button after a restart.

Ticks and deliveries are driven by the tests (`cycle`); waits are on recorded requests."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from typing import Any

from bot.alerts import job_event, stuck_event
from bot.models import Job, Outcome
from bot.sim import Simulator
from bot.text import redact_email, short_id
from bot.untrack import (
    CUSTOM_ID_MAX,
    JobRef,
    UntrackButton,
    alert_view,
    custom_id,
    job_hash,
    parse_custom_id,
)
from cogs.cancel import MEANING
from rig.botharness import Harness, cycle, make_sim, settled
from rig.fakediscord import ADMIN_PERMISSIONS, MEMBER_PERMISSIONS, FakeInteraction
from rig.received import count

JSON = dict[str, Any]
INF = math.inf
EPHEMERAL = 64
ROLE = 1200000000000000333
MEMBER = 1200000000000000777
ADMIN = 1200000000000000500  # the fake's default user


def delete_count(sim: Simulator, provider: str = "") -> int:
    return sim.request_count(provider and f"/{provider}/scheduler/", method="DELETE")


async def answered(h: Harness, inter: FakeInteraction) -> JSON:
    """The ephemeral message the interaction's callback created (or updated)."""
    body = await h.fake.wait_for_interaction_response(inter)
    assert body["type"] == 4 and body["data"]["flags"] & EPHEMERAL, body
    assert body["data"]["allowed_mentions"] == {"parse": []}
    assert inter.original_message_id is not None
    msg = h.fake.message(inter.original_message_id)
    assert msg is not None
    return msg


async def cancel(
    h: Harness,
    provider: str,
    job_id: str,
    *,
    permissions: int = ADMIN_PERMISSIONS,
    roles: tuple[int, ...] = (),
    user_id: int = ADMIN,
) -> JSON:
    inter = await h.fake.invoke(
        "cancel",
        {"provider": provider, "id": job_id},
        permissions=permissions,
        roles=roles,
        user_id=user_id,
    )
    return await answered(h, inter)


def button(msg: JSON, label: str) -> JSON:
    for row in msg.get("components") or []:
        for comp in row["components"]:
            if comp.get("label") == label:
                return dict(comp)
    raise LookupError(f"no button {label!r} in {msg.get('components')}")


def untrack_buttons(msg: JSON) -> list[JSON]:
    return [
        c
        for row in msg.get("components") or []
        for c in row["components"]
        if str(c.get("custom_id", "")).startswith("opsbot:untrack:")
    ]


async def confirm(h: Harness, msg: JSON, *, user_id: int = ADMIN, label: str = "Untrack") -> str:
    """Press the confirm message's `label` button; the answer the member ends up reading."""
    click = await h.fake.click(
        msg, button(msg, label)["custom_id"], user_id=user_id, permissions=ADMIN_PERMISSIONS
    )
    body = await h.fake.wait_for_interaction_response(click)
    assert body["type"] == 7 and body["data"]["components"] == []
    if label != "Untrack":
        return str(body["data"]["content"])
    edit = await h.fake.wait_for_original_edit(click, timeout=10)
    assert edit["allowed_mentions"] == {"parse": []}
    return str(edit["content"])


async def stuck_alert(h: Harness, job_id: str) -> JSON:
    await cycle(h)
    [msg] = [m for m in h.fake.messages(h.alert_channel) if job_id in str(m["embeds"])]
    return msg


# ------------------------------------------------------------------------------ /cancel


async def test_cancel_asks_untracks_and_the_job_is_reported_cancelled_once(start_bot, tmp_path):
    sim = make_sim()
    db = tmp_path / "cancel.db"
    h = await start_bot(sim=sim, db=db, providers=["pixverse", "minimax"])
    job = sim.start_job("pixverse", duration=INF)
    other = sim.start_job("pixverse", duration=INF)
    await cycle(h)

    asked = await cancel(h, "pixverse", job)
    assert asked["content"] == f"Untrack PixVerse job `{job}`?\n{MEANING}"
    assert [c["label"] for c in asked["components"][0]["components"]] == ["Untrack", "Keep it"]
    assert delete_count(sim) == 0  # nothing happens before the confirmation

    said = await confirm(h, asked)
    assert said.startswith(f"Untracked PixVerse job `{job}`: useapi no longer tracks it")
    assert "reported once as cancelled" in said
    assert delete_count(sim, "pixverse") == 1
    assert sim.request_count(re.escape(f"/v2/pixverse/scheduler/{job}"), method="DELETE") == 0
    assert not sim.job(job).running  # type: ignore[union-attr]
    [mark] = (await h.bot.store.untracked("pixverse", [job, other])).values()
    assert (mark.job_id, mark.by) == (job, ADMIN)

    await h.stop()  # the record outlives a restart before the next tick
    h = await start_bot(sim=sim, db=db, providers=["pixverse", "minimax"])
    await cycle(h)  # the next tick: gone from the queue, reported cancelled, useapi not asked
    snapshot = h.bot.state("pixverse").snapshot
    assert snapshot is not None and {j.id for j in snapshot.jobs} == {other}
    assert sim.request_count("/v2/pixverse/videos/") == 0
    await cycle(h, ticks=2)
    await settled(h)
    assert count(h.fake, "cancelled", job) == 1
    assert count(h.fake, "cancelled") == 1
    row = await h.bot.store.outbox_row(f"job:pixverse:{job}:cancelled")
    assert row is not None and row["state"] == "sent"

    await h.stop()  # exactly once across a restart too
    h = await start_bot(sim=sim, db=db, providers=["pixverse", "minimax"])
    await cycle(h, ticks=2)
    await settled(h)
    assert count(h.fake, "cancelled") == 1


async def test_a_member_with_the_cancel_role_may_and_others_may_not(start_bot, fake_discord):
    fake_discord.add_guild(  # the guild has the role before the bot connects
        fake_discord.guild_id, fake_discord.channel_ids, roles={ROLE: "cancellers"}
    )
    sim = make_sim()
    h = await start_bot(sim=sim, providers=["minimax"], cancel_role_id=ROLE)
    job = sim.start_job("minimax", duration=INF)
    await cycle(h)

    refused = await cancel(h, "minimax", job, permissions=MEMBER_PERMISSIONS, user_id=MEMBER)
    assert refused["content"] == (
        f"You cannot untrack jobs: that needs the **Manage Server** permission or the "
        f"<@&{ROLE}> role. Nothing was changed."
    )
    assert not refused.get("components")

    asked = await cancel(
        h, "minimax", job, permissions=MEMBER_PERMISSIONS, roles=(ROLE,), user_id=MEMBER
    )
    said = await confirm(h, asked, user_id=MEMBER)
    assert said.startswith(f"Untracked MiniMax job `{job}`")
    assert delete_count(sim, "minimax") == 1
    await cycle(h)
    await settled(h)
    assert count(h.fake, "cancelled", job) == 1


async def test_without_permission_nothing_is_asked_or_sent(start_bot):
    sim = make_sim()
    h = await start_bot(sim=sim, providers=["pixverse"])
    job = sim.start_job("pixverse", duration=INF)
    await cycle(h)
    refused = await cancel(h, "pixverse", job, permissions=MEMBER_PERMISSIONS, user_id=MEMBER)
    assert refused["content"] == (
        "You cannot untrack jobs: that needs the **Manage Server** permission. Nothing was changed."
    )
    assert not refused.get("components")
    assert delete_count(sim) == 0
    assert sim.job(job).running  # type: ignore[union-attr]


async def test_an_id_that_is_not_running_is_answered_without_asking_useapi(start_bot):
    sim = make_sim()
    h = await start_bot(sim=sim, providers=["pixverse"])
    await cycle(h)
    before = len(sim.requests)
    missing = "user:1-pixverse:nobody@example.com-video:1"
    said = await cancel(h, "pixverse", missing)
    assert said["content"] == (
        f"PixVerse is not running `{missing}` (as of the last poll): there is nothing to untrack."
    )
    assert not said.get("components")
    assert len(sim.requests) == before  # no upstream call at all


async def test_a_404_from_useapi_is_a_clear_answer_and_nothing_is_recorded(start_bot):
    sim = make_sim()
    h = await start_bot(sim=sim, providers=["minimax"])
    job = sim.start_job("minimax", duration=INF)
    await cycle(h)
    asked = await cancel(h, "minimax", job)
    sim.finish_job(job, "completed")  # it ends between the question and the click
    said = await confirm(h, asked)
    assert said == (
        f"useapi is not running MiniMax job `{job}` (404): it may have just finished. "
        "Nothing was changed."
    )
    assert delete_count(sim, "minimax") == 1
    assert await h.bot.store.untracked("minimax", [job]) == {}
    await cycle(h)
    await settled(h)
    assert count(h.fake, "completed", job) == 1 and count(h.fake, "cancelled") == 0


async def test_dreamina_is_refused_in_words_and_keep_it_changes_nothing(start_bot):
    sim = make_sim()
    h = await start_bot(sim=sim)
    dream = sim.start_job("dreamina", duration=INF)
    pix = sim.start_job("pixverse", duration=INF)
    await cycle(h)
    said = await cancel(h, "dreamina", dream)
    assert said["content"] == (
        "Dreamina jobs cannot be untracked: useapi offers no way to stop tracking a Dreamina "
        "job. Nothing was changed."
    )
    asked = await cancel(h, "pixverse", pix)
    assert await confirm(h, asked, label="Keep it") == "Kept: nothing was changed."
    assert delete_count(sim) == 0
    assert sim.job(pix).running and sim.job(dream).running  # type: ignore[union-attr]


async def test_an_unanswered_question_changes_nothing(start_bot):
    sim = make_sim()
    h = await start_bot(sim=sim, providers=["pixverse"])
    cog: Any = h.bot.get_cog("Cancel")
    cog.confirm_timeout = 0.2
    job = sim.start_job("pixverse", duration=INF)
    await cycle(h)
    inter = await h.fake.invoke(
        "cancel", {"provider": "pixverse", "id": job}, permissions=ADMIN_PERMISSIONS
    )
    asked = await answered(h, inter)
    assert asked["content"].startswith("Untrack PixVerse job")
    edit = await h.fake.wait_for_original_edit(inter, timeout=10)
    assert edit["content"] == "Not untracked: the question went unanswered. Nothing was changed."
    assert edit["components"] == []
    assert delete_count(sim) == 0


async def test_upstream_failure_is_one_line(start_bot):
    sim = make_sim()
    h = await start_bot(sim=sim, providers=["pixverse"])
    job = sim.start_job("pixverse", duration=INF)
    await cycle(h)
    asked = await cancel(h, "pixverse", job)
    sim.faults.set("/v2/pixverse/scheduler/", "status", status=503, count=1)
    said = await confirm(h, asked)
    assert said.startswith(f"Could not untrack PixVerse job `{job}`: pixverse: ")
    assert "\n" not in said and "(503)" in said
    assert delete_count(sim, "pixverse") == 1  # not retried
    assert sim.job(job).running  # type: ignore[union-attr]


# ------------------------------------------------------------------------------ the button


async def test_the_untrack_button_of_a_stuck_alert(start_bot, tmp_path):
    sim = make_sim()
    db = tmp_path / "button.db"
    h = await start_bot(sim=sim, db=db, stuck_after_minutes=20)
    jobs = {p: sim.start_job(p, duration=INF, elapsed=21 * 60) for p in sim.providers}
    await cycle(h)
    for provider in ("pixverse", "minimax"):
        msg = await stuck_alert(h, jobs[provider])
        [b] = untrack_buttons(msg)
        assert b["label"] == "Untrack" and b["style"] == 4
        assert b["custom_id"] == f"opsbot:untrack:{provider}:id:{jobs[provider]}"
    assert untrack_buttons(await stuck_alert(h, jobs["dreamina"])) == []  # cannot untrack
    alert = await stuck_alert(h, jobs["pixverse"])
    cid = untrack_buttons(alert)[0]["custom_id"]

    # someone without the permission: told why, alone; nothing changes
    click = await h.fake.click(alert, cid, user_id=MEMBER, permissions=MEMBER_PERMISSIONS)
    body = await h.fake.wait_for_interaction_response(click)
    assert body["type"] == 4 and body["data"]["flags"] & EPHEMERAL
    assert body["data"]["content"].startswith("You cannot untrack jobs")
    assert h.fake.message(alert["id"]) == alert
    assert delete_count(sim) == 0

    # after a restart the same button still works
    await h.stop()
    h = await start_bot(sim=sim, db=db, stuck_after_minutes=20)
    click = await h.fake.click(alert, cid, user_id=ADMIN, permissions=ADMIN_PERMISSIONS)
    asked = await answered(h, click)
    assert asked["content"] == f"Untrack PixVerse job `{jobs['pixverse']}`?\n{MEANING}"
    mark = h.fake.mark()
    said = await confirm(h, asked)
    assert said.startswith(f"Untracked PixVerse job `{jobs['pixverse']}`")
    assert delete_count(sim, "pixverse") == 1

    edit = await h.fake.wait_for_request(
        "PATCH", rf"/channels/\d+/messages/{alert['id']}$", start=mark
    )
    assert edit.json["allowed_mentions"] == {"parse": []}
    now = h.fake.message(alert["id"])
    assert now is not None
    assert re.fullmatch(rf"Untracked by <@{ADMIN}> at <t:\d+:f>", now["content"])
    assert now["embeds"] == alert["embeds"]
    [used] = untrack_buttons(now)
    assert used["custom_id"] == cid and used["disabled"] is True

    await cycle(h, ticks=2)
    await settled(h)
    assert count(h.fake, "cancelled", jobs["pixverse"]) == 1
    assert count(h.fake, "cancelled") == 1


async def test_redacted_accounts_and_long_ids_use_a_hash_in_the_button(start_bot):
    sim = make_sim()
    h = await start_bot(
        sim=sim, providers=["pixverse"], stuck_after_minutes=20, redact_accounts=True
    )
    job = sim.start_job("pixverse", duration=INF, elapsed=21 * 60)
    alert = await stuck_alert(h, "video:")
    [b] = untrack_buttons(alert)
    assert b["custom_id"] == f"opsbot:untrack:pixverse:h:{job_hash(job)}"
    assert "@" not in b["custom_id"]
    asked = await answered(
        h, await h.fake.click(alert, b["custom_id"], permissions=ADMIN_PERMISSIONS)
    )
    shown_id = redact_email(job)
    assert shown_id != job
    assert asked["content"] == f"Untrack PixVerse job `{shown_id}`?\n{MEANING}"
    assert (await confirm(h, asked)).startswith(f"Untracked PixVerse job `{shown_id}`")
    assert not sim.job(job).running  # type: ignore[union-attr]


def test_custom_ids_fit_discord_and_read_back() -> None:
    short = "user:1-pixverse:a@b.c-video:7"
    assert custom_id("pixverse", short) == f"opsbot:untrack:pixverse:id:{short}"
    assert parse_custom_id(custom_id("pixverse", short)) == JobRef("pixverse", job_id=short)
    fits = "x" * (CUSTOM_ID_MAX - len("opsbot:untrack:minimax:id:"))
    assert len(custom_id("minimax", fits)) == CUSTOM_ID_MAX
    assert parse_custom_id(custom_id("minimax", fits)) == JobRef("minimax", job_id=fits)
    longer = fits + "y"
    cid = custom_id("minimax", longer)
    assert cid == f"opsbot:untrack:minimax:h:{job_hash(longer)}" and len(cid) <= CUSTOM_ID_MAX
    ref = parse_custom_id(cid)
    assert ref == JobRef("minimax", hash=job_hash(longer))
    assert ref.matches(longer) and not ref.matches(fits)
    assert parse_custom_id("opsbot:page:next:1") is None
    assert parse_custom_id("opsbot:untrack:pixverse:zz:1") is None


def labels(view: Any) -> list[str]:
    return [str(b.item.label) for b in view.children if isinstance(b, UntrackButton)]


def test_an_alert_view_has_one_button_per_untrackable_stuck_job() -> None:
    now = datetime(2026, 11, 30, tzinfo=UTC)
    jobs = [Job(provider="pixverse", id=f"user:1-pixverse:a@b.c-video:{n}") for n in range(30)]
    stuck = [stuck_event("pixverse", j, 1500, now=now) for j in jobs]
    done = job_event("pixverse", jobs[0], None, Outcome.COMPLETED, now=now)
    dream = stuck_event(
        "dreamina", Job(provider="dreamina", id="j1-US:a@b.c:dreamina"), 1500, now=now
    )
    assert alert_view([done, dream], {"pixverse"}) is None
    one = alert_view([done, stuck[0], dream], {"pixverse"})
    assert one is not None and labels(one) == ["Untrack"]
    many = alert_view(stuck, {"pixverse"})
    assert many is not None and len(many.children) == 25  # what one message can carry
    assert labels(many) == [f"Untrack {short_id(j.id)}" for j in jobs[:25]]
    assert many.timeout is None


# ------------------------------------------------------------------- the providers of issue 11


async def test_kling_is_untracked_by_its_numeric_task_id_and_reported_cancelled_once(start_bot):
    """Kling's task ids are JSON numbers: the one past 2^53 goes to the DELETE and into the
    `cancelled` alert digit for digit."""
    sim = make_sim(providers=("kling",))
    h = await start_bot(sim=sim, providers=["kling"])
    started = [sim.start_job("kling", duration=INF) for _ in range(16)]  # one in 16 is wide
    [task] = [j for j in started if int(j) > 2**53]  # a float would round it
    await cycle(h)
    asked = await cancel(h, "kling", task)
    assert asked["content"] == f"Untrack Kling job `{task}`?\n{MEANING}"
    said = await confirm(h, asked)
    assert said.startswith(f"Untracked Kling job `{task}`: useapi no longer tracks it")
    assert sim.request_count(f"/v1/kling/scheduler/{task}$", method="DELETE") == 1
    await cycle(h)
    snapshot = h.bot.state("kling").snapshot
    assert snapshot is not None and task not in {j.id for j in snapshot.jobs}
    await cycle(h, ticks=2)
    await settled(h)
    assert count(h.fake, "cancelled", task) == 1
    assert count(h.fake, "cancelled") == 1
    assert all(sim.job(j).running for j in started if j != task)  # type: ignore[union-attr]


async def test_runway_and_mureka_are_refused_in_words(start_bot):
    sim = make_sim(providers=("runway", "mureka"))
    h = await start_bot(sim=sim, providers=["runway", "mureka"])
    jobs = {p: sim.start_job(p, duration=INF) for p in ("runway", "mureka")}
    await cycle(h)
    for provider, title in (("runway", "Runway"), ("mureka", "Mureka")):
        said = await cancel(h, provider, jobs[provider])
        assert said["content"] == (
            f"{title} jobs cannot be untracked: useapi offers no way to stop tracking a "
            f"{title} job. Nothing was changed."
        )
        assert not said.get("components")
    assert delete_count(sim) == 0
    assert all(sim.job(j).running for j in jobs.values())  # type: ignore[union-attr]
