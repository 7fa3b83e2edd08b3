"""Kling in every view, end to end: the simulator ⇄ the real bot (as `opsbot run` starts it) ⇄
the fake Discord. A task id past 2^53 (a float would round it) shows unchanged in `/queue`,
`/job`, the alerts and `opsbot status --json`; Kling has its place in `/capacity`, `/status`
and `/board`, and its alerts follow routes and mutes like every provider's."""

from __future__ import annotations

import asyncio
import json
import math
from typing import Any

import pytest

from bot import cli
from bot.events import EventKind
from bot.sim import ManualClock, Simulator
from rig.botharness import TOKEN, Harness, cycle, settled
from rig.fakediscord import ADMIN_PERMISSIONS, FakeInteraction
from rig.received import alerts, count
from rig.threadsim import threaded_sim

INF = math.inf
JSON = dict[str, Any]


async def invoke(
    h: Harness, name: str, options: JSON | None = None, *, subcommand: str | None = None
) -> tuple[FakeInteraction, JSON]:
    """Invoke a slash command as a Manage Server member, once it has finished (every request
    it made answered): the interaction and the bot's first answer to it."""
    done = asyncio.ensure_future(
        h.bot.wait_for(
            "app_command_completion", check=lambda i, c: i.data.get("name") == name, timeout=10
        )
    )
    try:
        inter = await h.fake.invoke(
            name, options or {}, subcommand=subcommand, permissions=ADMIN_PERMISSIONS
        )
        body: JSON = await h.fake.wait_for_interaction_response(inter)
        await done
    finally:
        done.cancel()
    return inter, body


async def command(
    h: Harness, name: str, options: JSON | None = None, *, subcommand: str | None = None
) -> JSON:
    return (await invoke(h, name, options, subcommand=subcommand))[1]


async def answer(h: Harness, name: str, options: JSON | None = None) -> JSON:
    """The message the invoker of `/name` ends up looking at (after a defer, the edit)."""
    inter, _ = await invoke(h, name, options)
    msg = h.fake.message(inter.original_message_id) if inter.original_message_id else None
    assert msg is not None
    return dict(msg)


def text_of(msg: JSON) -> str:
    parts = [msg.get("content") or ""]
    for e in msg.get("embeds") or []:
        parts += [e.get("title") or "", e.get("description") or ""]
        parts += [f"{f['name']}\n{f['value']}" for f in e.get("fields") or []]
    return "\n".join(parts)


async def post_board(h: Harness) -> JSON:
    channel = h.fake.channel_ids[1]
    await h.fake.invoke("board", {}, permissions=ADMIN_PERMISSIONS, channel_id=channel)
    board: JSON = await h.fake.wait_for_message(
        channel, lambda m: m["embeds"][0].get("title") == "opsbot board"
    )
    return board


def kling_sim(accounts: int = 2, max_jobs: int = 20) -> Simulator:
    """No job running, no churn; Kling's accounts with `max_jobs` slots each."""
    sim = Simulator(
        seed=7,
        accounts=accounts,
        jobs=0,
        token=TOKEN,
        clock=ManualClock(),
        churn=False,
        providers=["kling", "pixverse"],
    )
    for p in sim.providers:
        for a in sim.accounts(p):
            sim.set_max_jobs(p, a.account, max_jobs)
    return sim


def wide_job(sim: Simulator, account: str | None = None) -> str:
    """Start Kling jobs until one has an id past 2^53 (one job in 16 has); the others run on."""
    for _ in range(16):
        job_id = sim.start_job("kling", account, duration=INF)
        if int(job_id) > 2**53:
            return job_id
    raise AssertionError("no id past 2^53 in 16 jobs")


async def started(start_bot: Any, sim: Simulator) -> Harness:
    h: Harness = await start_bot(sim=sim, providers=["kling", "pixverse"])
    return h


async def test_queue_capacity_job_status_and_board_show_kling(start_bot: Any) -> None:
    sim = kling_sim(accounts=4, max_jobs=20)  # kling gets two accounts
    first, second = sim.accounts("kling")
    wide = wide_job(sim, first.account)
    h = await started(start_bot, sim)
    await h.tick()

    queue = await answer(h, "queue", {"provider": "kling"})
    [embed] = queue["embeds"]
    running = sim.running("kling")
    assert embed["description"] == f"**Kling** — {len(running)} running"
    assert f"Kling · {first.account} ({len(running)} jobs)" in [f["name"] for f in embed["fields"]]
    lines = [ln for f in embed["fields"] for ln in f["value"].split("\n")]
    assert sorted(ln.split(" ")[1].strip("`") for ln in lines) == sorted(j.id for j in running)
    assert any(wide in ln for ln in lines)

    capacity = await answer(h, "capacity", {"provider": "kling"})
    text = text_of(capacity)
    assert "Kling" in text
    assert f"{len(running)}/20" in text and "0/20" in text  # the busy and the idle account
    assert second.account in text

    job = await answer(h, "job", {"provider": "kling", "id": f" {wide} "})
    [shown] = job["embeds"]
    assert shown["title"] == "Kling job running"
    assert wide in shown["description"]
    assert f"/v1/kling/tasks/{wide}" in {r.path for r in sim.requests}

    status = await answer(h, "status")
    assert "Kling" in text_of(status) and "PixVerse" in text_of(status)

    board = await post_board(h)
    assert "Kling" in json.dumps(board["embeds"])


async def test_alerts_name_the_exact_id_and_follow_routes_and_mutes(start_bot: Any) -> None:
    sim = kling_sim()
    h = await started(start_bot, sim)
    default, other = h.fake.channel_ids
    body = await command(
        h, "alerts", {"kind": "job", "channel": other, "provider": "kling"}, subcommand="route"
    )
    assert "job alerts for kling" in body["data"]["content"]
    wide = wide_job(sim)
    plain = sim.start_job("pixverse", duration=INF)
    await cycle(h)
    sim.finish_job(wide, "failed")
    sim.finish_job(plain, "completed")
    await cycle(h, ticks=2)
    await settled(h)
    assert count(h.fake, "failed", wide, other) == 1  # routed, the id as it is
    assert count(h.fake, "failed", wide, default) == 0
    assert count(h.fake, "completed", plain, default) == 1
    [(title, desc, _)] = [a for a in alerts(h.fake, other)]
    assert title == "Kling job failed" and wide in desc

    body = await command(
        h, "alerts", {"provider": "kling", "kind": "job", "duration": "2h"}, subcommand="mute"
    )
    assert "Muted job alerts for kling" in body["data"]["content"]
    (mute,) = await h.bot.store.mutes()
    assert (mute.provider, mute.kind) == ("kling", EventKind.JOB)
    muted = sim.start_job("kling", duration=INF)
    await cycle(h)
    sim.finish_job(muted, "completed")
    await cycle(h, ticks=2)
    counts = await settled(h)
    assert count(h.fake, "completed", muted) == 0
    assert counts["muted"] == 1


async def test_capacity_alerts_for_a_kling_account(start_bot: Any) -> None:
    sim = kling_sim(max_jobs=1)
    h = await started(start_bot, sim)
    account = sim.accounts("kling")[0].account
    await cycle(h)
    (job,) = sim.fill_account("kling", account, duration=INF)
    await cycle(h, ticks=2)
    sim.finish_job(job, "completed")
    await cycle(h, ticks=2)
    await settled(h)
    assert count(h.fake, "exhausted", account) == 1
    assert count(h.fake, "restored", account) == 1
    assert count(h.fake, "completed", job) == 1


@pytest.fixture
def kling_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> Any:
    monkeypatch.chdir(tmp_path)
    for name in ("DISCORD_TOKEN", "PROVIDERS", "DATABASE_URL", "LOG_LEVEL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("USEAPI_TOKEN", TOKEN)
    monkeypatch.setenv("PROVIDERS", "kling")
    with threaded_sim(seed=7, token=TOKEN, accounts=2, jobs=0, churn=False) as (url, sim):
        monkeypatch.setenv("USEAPI_BASE_URL", url)
        yield sim


def test_status_json_carries_the_exact_id(
    kling_env: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    sim = kling_env
    for a in sim.accounts("kling"):
        sim.set_max_jobs("kling", a.account, 20)
    wide = wide_job(sim)
    code = cli.main(["status", "--json", "--provider", "kling"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 0
    [entry] = doc["providers"]
    assert (entry["provider"], entry["ok"], entry["error"]) == ("kling", True, None)
    ids = [j["id"] for j in entry["jobs"]]
    assert sorted(ids) == sorted(j.id for j in sim.running("kling")) and wide in ids
    assert all(isinstance(i, str) for i in ids)
    [row] = [j for j in entry["jobs"] if j["id"] == wide]
    assert row["account"] == sim.job(wide).account  # type: ignore[union-attr]
    assert row["kind"] is None and row["started"].endswith("Z")
    assert {a["account"]: (a["max_jobs"], a["executing"]) for a in entry["accounts"]} == {
        a.account: (20, a.executing) for a in sim.accounts("kling")
    }
