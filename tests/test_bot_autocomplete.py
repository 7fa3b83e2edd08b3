"""Autocomplete of `/job id` and `/cancel id` end to end: fake Discord ⇄ the real discord.py bot
⇄ the simulator. The chosen provider's running jobs from the watcher's last snapshot (no upstream
call), most recently started first, filtered by what was typed, within Discord's limits (25
choices; names and values of at most 100 characters), each named "id · account"."""

from __future__ import annotations

import dataclasses
import json
import math
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import pytest

from bot.complete import ACCOUNT_CHARS, CHOICE_MAX, CHOICES_MAX, Ambiguous, job_choices, unmask
from bot.models import Job, Snapshot
from bot.text import redact_email, short_id, truncate
from cogs.status import MASKED_GONE, MASKED_TWICE
from rig.botharness import Harness, StartBot, command, make_sim
from rig.fakediscord import ADMIN_PERMISSIONS, MEMBER_PERMISSIONS

JSON = dict[str, Any]
INF = math.inf
ALL = ("pixverse", "minimax", "dreamina", "kling", "runway", "mureka")
UNTRACKABLE = ("pixverse", "minimax", "kling")


async def offered(
    h: Harness,
    command_name: str,
    options: JSON,
    *,
    permissions: int = ADMIN_PERMISSIONS,
) -> list[JSON]:
    """The choices the bot answers an autocomplete of option `id` with."""
    inter = await h.fake.autocomplete(command_name, options, "id", permissions=permissions)
    body = await h.fake.wait_for_interaction_response(inter)
    assert body["type"] == 8
    return list(body["data"]["choices"])


def choice(job_id: str, account: str) -> JSON:
    """What a user sees for one job: the id (its distinguishing part when long) and account."""
    name = f"{short_id(job_id, CHOICE_MAX - 3 - len(account))} · {account}"
    return {"name": name, "value": job_id}


def unique_part(job_id: str, others: list[str]) -> str:
    """Six characters of `job_id` found in no other id (what a member would type)."""
    for i in range(len(job_id) - 5):
        part = job_id[i : i + 6]
        if not any(part in o for o in others):
            return part
    raise AssertionError(f"no unique part in {job_id}")


async def start_jobs(h: Harness, provider: str, elapsed: list[float]) -> list[str]:
    """Start one job per `elapsed`, oldest first, each seen by its own tick (Runway times a
    job from the first tick that sees it, the others from upstream's start)."""
    ids = []
    for seconds in elapsed:
        ids.append(h.sim.start_job(provider, duration=INF, elapsed=seconds))
        await h.tick(provider)
    return ids


@pytest.mark.parametrize("provider", ALL)
async def test_job_id_completes_from_the_snapshot_newest_first(
    start_bot: StartBot, provider: str
) -> None:
    h = await start_bot(sim=make_sim(accounts=4, providers=[provider]), providers=[provider])
    oldest, middle, newest = await start_jobs(h, provider, [900, 300, 0])
    account = {j.id: str(j.account) for j in h.sim.running(provider)}
    # the adapter reads the same account as the simulator gave the job
    assert {j.id: j.account for j in h.bot.state(provider).snapshot.jobs} == account  # type: ignore[union-attr]
    before = h.sim.request_count()

    everything = await offered(h, "job", {"provider": provider, "id": ""})
    assert everything == [choice(i, account[i]) for i in (newest, middle, oldest)]
    # filtered by what was typed, in any case
    typed = unique_part(middle, [oldest, newest])
    assert await offered(h, "job", {"provider": provider, "id": typed.upper()}) == [
        choice(middle, account[middle])
    ]
    # or by the account
    acc = account[middle]
    by_account = [c for c in everything if acc.lower() in (c["value"] + c["name"]).lower()]
    assert await offered(h, "job", {"provider": provider, "id": acc}) == by_account
    assert await offered(h, "job", {"provider": provider, "id": "no-such-job-here"}) == []
    assert h.sim.request_count() == before  # no upstream call

    # the value picked is the id /job looks up
    await command(h, "job", {"provider": provider, "id": newest})
    assert quote(newest, safe="") in h.sim.requests[-1].path or newest in h.sim.requests[-1].path


async def test_cancel_id_completes_only_where_untracking_is_possible(start_bot: StartBot) -> None:
    h = await start_bot(sim=make_sim(accounts=12, providers=ALL), providers=list(ALL))
    started = {p: await start_jobs(h, p, [600, 0]) for p in ALL}
    before = h.sim.request_count()
    for provider in ALL:
        jobs = await offered(h, "job", {"provider": provider, "id": ""})
        assert [c["value"] for c in jobs] == started[provider][::-1]
        cancel = await offered(h, "cancel", {"provider": provider, "id": ""})
        # Dreamina, Runway and Mureka jobs cannot be untracked: nothing to offer
        assert cancel == (jobs if provider in UNTRACKABLE else []), provider
        # filtered by what was typed, as /job's
        old, new = started[provider]
        typed = {"id": unique_part(old, [new]).upper(), "provider": provider}
        assert await offered(h, "cancel", typed) == (
            [c for c in jobs if c["value"] == old] if provider in UNTRACKABLE else []
        )
        # a member who may not untrack is offered nothing either
        assert (
            await offered(
                h, "cancel", {"provider": provider, "id": ""}, permissions=MEMBER_PERMISSIONS
            )
            == []
        )
        # /job is everyone's
        assert (
            await offered(
                h, "job", {"provider": provider, "id": ""}, permissions=MEMBER_PERMISSIONS
            )
            == jobs
        )
    assert h.sim.request_count() == before  # no upstream call


async def test_nothing_is_offered_before_a_provider_is_chosen(start_bot: StartBot) -> None:
    h = await start_bot(sim=make_sim(), providers=["pixverse"])
    await start_jobs(h, "pixverse", [0])
    assert await offered(h, "job", {"id": ""}) == []
    assert await offered(h, "cancel", {"id": ""}) == []
    # a choice synced before its provider was unloaded
    assert await offered(h, "job", {"provider": "minimax", "id": ""}) == []
    assert await offered(h, "cancel", {"provider": "minimax", "id": ""}) == []


async def test_choices_stay_within_discords_limits(start_bot: StartBot) -> None:
    h = await start_bot(sim=make_sim(providers=["kling"]), providers=["kling"])
    await h.tick("kling")
    snap = h.bot.state("kling").snapshot
    assert snap is not None
    now = h.bot.clock()

    def job(job_id: str, minutes: float, account: str = "ops@example.com") -> Job:
        return Job("kling", job_id, account=account, started=now - timedelta(minutes=minutes))

    at_limit = "9" * CHOICE_MAX  # Kling ids are numbers kept as text
    over = "8" * (CHOICE_MAX + 1)
    long_account = "a" * 150 + "@example.com"
    bidi = "evil\u202egnp.exe@example.com"
    jobs = [job(str(100 + i), minutes=10 + i) for i in range(30)]
    jobs += [
        job(at_limit, 1),
        job(over, 2),
        job("7001", 3, long_account),
        job("7002", 4, bidi),
        Job("kling", "7003", account=None),  # no start known: after every timed one
    ]
    h.bot.state("kling").snapshot = dataclasses.replace(snap, jobs=tuple(jobs), taken_at=now)

    got = await offered(h, "job", {"provider": "kling", "id": ""})
    assert len(got) == CHOICES_MAX
    assert all(len(c["name"]) <= CHOICE_MAX and len(c["value"]) <= CHOICE_MAX for c in got)
    cut_account = truncate("a" * 150 + "@example.com", ACCOUNT_CHARS)
    assert got[:3] == [
        # exactly 100 characters: offered, its name shortened to fit the account beside it
        {"name": f"…{'9' * (CHOICE_MAX - 4 - 15)} · ops@example.com", "value": at_limit},
        # 101 characters cannot be a value (it would come back cut, naming no job): left out,
        # so the member pastes it whole
        {"name": f"7001 · {cut_account}", "value": "7001"},
        {"name": "7002 · evil<U+202E>gnp.exe@example.com", "value": "7002"},
    ]
    assert [c["value"] for c in got[3:]] == [str(100 + i) for i in range(22)]
    assert await offered(h, "job", {"provider": "kling", "id": "888"}) == []
    # the one with no start comes last
    assert await offered(h, "job", {"provider": "kling", "id": "700"}) == [
        got[1],
        got[2],
        {"name": "7003 · —", "value": "7003"},
    ]


async def test_redacted_accounts_are_offered_masked_and_the_masked_id_still_works(
    start_bot: StartBot,
) -> None:
    h = await start_bot(sim=make_sim(), providers=["pixverse"], redact_accounts=True)
    old, new = await start_jobs(h, "pixverse", [600, 0])
    account = {j.id: str(j.account) for j in h.sim.running("pixverse")}
    masked = {i: redact_email(i) for i in (old, new)}
    assert all(masked[i] != i for i in masked)
    got = await offered(h, "job", {"provider": "pixverse", "id": ""})
    assert got == [choice(masked[i], redact_email(account[i])) for i in (new, old)]
    sent = json.dumps([r.json for r in h.fake.requests if r.json is not None])
    for email in account.values():
        assert email not in sent

    # /job with the masked value looks up the running job's own id
    await command(h, "job", {"provider": "pixverse", "id": masked[new]})
    assert h.sim.requests[-1].path == "/v2/pixverse/videos/" + quote(new, safe="")

    # /cancel too: the question shows the masked id, the DELETE names the job
    inter = await h.fake.invoke(
        "cancel", {"provider": "pixverse", "id": masked[old]}, permissions=ADMIN_PERMISSIONS
    )
    body = await h.fake.wait_for_interaction_response(inter)
    assert body["data"]["content"].startswith(f"Untrack PixVerse job `{masked[old]}`?")
    [row] = body["data"]["components"]
    assert inter.original_message_id is not None
    click = await h.fake.click(
        h.fake.message(inter.original_message_id),
        row["components"][0]["custom_id"],
        permissions=ADMIN_PERMISSIONS,
    )
    await h.fake.wait_for_original_edit(click, timeout=10)
    assert h.sim.request_count(f"/scheduler/{quote(old, safe='')}$", method="DELETE") == 1

    # once the job has left the queue its masked id names nothing: said, no upstream call
    h.sim.finish_job(new)
    await h.tick("pixverse")
    before = h.sim.request_count()
    body = await command(h, "job", {"provider": "pixverse", "id": masked[new]})
    assert body["data"]["embeds"][0]["description"].endswith(MASKED_GONE)
    assert h.sim.request_count() == before


@pytest.mark.parametrize("running", [1, CHOICES_MAX, CHOICES_MAX + 1])
def test_at_most_25_are_offered_the_oldest_left_out(running: int) -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    jobs = tuple(
        Job("kling", str(1000 + i), account="a@x.io", started=now - timedelta(minutes=i))
        for i in range(running)
    )
    snap = Snapshot("kling", taken_at=now, jobs=jobs[::-1])  # the queue's own order: oldest first
    got = job_choices(snap, "", now=now, redact=False)
    assert [c.value for c in got] == [str(1000 + i) for i in range(min(running, CHOICES_MAX))]
    assert job_choices(None, "", now=now, redact=False) == []


def test_unmask_finds_one_running_job_and_refuses_two() -> None:
    now_snap = Snapshot(
        "pixverse",
        taken_at=datetime(2026, 1, 1, tzinfo=UTC),
        jobs=(
            Job("pixverse", "user:1-pixverse:alice@x.io-video:1"),
            Job("pixverse", "user:1-pixverse:adam@x.io-video:1"),
            Job("pixverse", "user:1-pixverse:bob@x.io-video:2"),
        ),
    )
    assert unmask(now_snap, "user:1-pixverse:b***@x.io-video:2", redact=True) == (
        "user:1-pixverse:bob@x.io-video:2"
    )
    with pytest.raises(Ambiguous):
        unmask(now_snap, "user:1-pixverse:a***@x.io-video:1", redact=True)
    # without REDACT_ACCOUNTS, or for an unmasked id, the id is what was typed
    assert unmask(now_snap, "user:1-pixverse:b***@x.io-video:2", redact=False) == (
        "user:1-pixverse:b***@x.io-video:2"
    )
    assert unmask(now_snap, "other", redact=True) == "other"
    assert unmask(None, "user:1-pixverse:b***@x.io-video:2", redact=True) == (
        "user:1-pixverse:b***@x.io-video:2"
    )


async def test_a_masked_id_that_reads_as_two_running_jobs_is_refused_in_words(
    start_bot: StartBot,
) -> None:
    h = await start_bot(sim=make_sim(), providers=["pixverse"], redact_accounts=True)
    await h.tick("pixverse")
    snap = h.bot.state("pixverse").snapshot
    assert snap is not None
    twins = ("user:1-pixverse:alice@x.io-video:1", "user:1-pixverse:adam@x.io-video:1")
    jobs = tuple(Job("pixverse", i, account=i.split(":")[2].split("-")[0]) for i in twins)
    h.bot.state("pixverse").snapshot = dataclasses.replace(snap, jobs=jobs)
    masked = "user:1-pixverse:a***@x.io-video:1"
    # neither is offered (the value would name neither), but one typed by hand is answered
    assert await offered(h, "job", {"provider": "pixverse", "id": ""}) == []
    before = h.sim.request_count()
    body = await command(h, "job", {"provider": "pixverse", "id": masked})
    assert body["data"]["embeds"][0]["description"].endswith(MASKED_TWICE)
    inter = await h.fake.invoke(
        "cancel", {"provider": "pixverse", "id": masked}, permissions=ADMIN_PERMISSIONS
    )
    body = await h.fake.wait_for_interaction_response(inter)
    assert body["data"]["content"] == (
        "With e-mails masked that id reads the same for more than one running job. "
        "Paste the job's full id. Nothing was changed."
    )
    assert h.sim.request_count() == before
