"""Each alert exactly once across restarts: the bot stopped (or killed) between the diff and
the delivery, at each step, and started again on the same database.

Each runs on both backends (the `url` fixture). In-process restarts use the `start_bot` harness
(the real start-up path, `bot.app.serve`); the last test runs `python -m bot run` as a
subprocess and SIGKILLs it in the middle of a post.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import signal
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.alerts import OutboxItem
from bot.delivery import Deliverer, nonce_for
from bot.events import Event, EventKind
from bot.settings import Settings
from bot.sim import ManualClock, SimServer, Simulator
from bot.store import Store
from rig.botharness import DISCORD_TOKEN, TOKEN, Harness, cycle, make_sim, settled
from rig.fakediscord import FakeDiscord
from rig.process import wait_until
from rig.received import POSTS, alerts, count

INF = math.inf


async def reopen(h: Harness) -> Store:
    """The stopped bot's database, to look at."""
    return await Store.open(h.settings.database_url)


# --------------------------------------------------------------------------- in process


async def test_stopped_while_discord_fails_then_delivered_once_after_restart(start_bot, url):
    """(a) The events are committed to the outbox, but the post never lands (Discord answers
    500 and the bot is stopped while discord.py waits to retry)."""
    sim = make_sim()
    h = await start_bot(sim=sim, database_url=url, providers=["pixverse"])
    job = sim.start_job("pixverse", duration=INF)
    await cycle(h)
    h.fake.fail(POSTS, 500, count=None)
    sim.finish_job(job, "failed")
    await h.tick()  # wakes the bot's delivery loop, which posts and gets a 500
    await h.fake.wait_for_request("POST", r"/channels/\d+/messages$", status=500)
    await h.stop()
    assert alerts(h.fake) == []
    store = await reopen(h)
    try:
        row = await store.outbox_row(f"job:pixverse:{job}:failed")
        # still due, and given back on the way out: the next start need not wait for a lease
        assert row is not None and row["state"] == "pending" and row["claimed_by"] is None
    finally:
        await store.close()

    h.fake.clear_faults()
    h = await start_bot(sim=sim, database_url=url, providers=["pixverse"])
    await h.fake.wait_for_message(h.alert_channel)  # the first delivery pass sends it
    await cycle(h, ticks=2)
    assert await settled(h) == {"sent": 1}
    assert count(h.fake, "failed", job) == 1 and len(alerts(h.fake)) == 1


async def test_stopped_right_after_the_tick_then_delivered_once_after_restart(start_bot, url):
    """(a) Stopped after the tick committed its events, before any delivery pass."""
    sim = make_sim()
    h = await start_bot(sim=sim, database_url=url, providers=["pixverse", "minimax"])
    jobs = {p: sim.start_job(p, duration=INF) for p in ("pixverse", "minimax")}
    await cycle(h)
    await h.delivery.cog_unload()  # no delivery from here on
    for job in jobs.values():
        sim.finish_job(job, "completed")
    await h.tick()
    await h.stop()
    assert h.fake.requests_matching(POSTS) == []

    h = await start_bot(sim=sim, database_url=url, providers=["pixverse", "minimax"])
    await cycle(h, ticks=2)
    assert await settled(h) == {"sent": 2}
    for job in jobs.values():
        assert count(h.fake, "completed", job) == 1
    assert len(alerts(h.fake)) == 2


@pytest.mark.parametrize(
    "death", [RuntimeError("process died"), asyncio.CancelledError()], ids=["raise", "cancel"]
)
async def test_sent_but_not_marked_sent_is_not_posted_twice(start_bot, url, monkeypatch, death):
    """(b) Discord accepted the message, but the bot died before recording it: the same
    group goes out again with the same nonce, and Discord returns the first message."""
    sim = make_sim()
    h = await start_bot(sim=sim, database_url=url, providers=["pixverse"])
    jobs = [sim.start_job("pixverse", duration=INF) for _ in range(3)]
    await cycle(h)
    calls: list[list[str]] = []

    async def dies(keys, message_id, *, now=None, claim=None):
        calls.append(list(keys))
        raise death

    monkeypatch.setattr(h.bot.store, "mark_sent", dies)  # (this process's store only)
    for job in jobs:
        sim.finish_job(job, "completed")
    await h.tick()
    first = await h.fake.wait_for_message(h.alert_channel)
    with contextlib.suppress(asyncio.CancelledError):
        await h.deliver()  # (waits for the loop's pass to end)
    assert len(calls) == 1 and len(calls[0]) == 3
    await h.stop()

    h = await start_bot(sim=sim, database_url=url, providers=["pixverse"])
    await cycle(h, ticks=2)
    assert await settled(h) == {"sent": 3}
    assert h.fake.nonce_duplicates == 1
    assert [m["id"] for m in h.fake.messages()] == [first["id"]]
    posts = [r for r in h.fake.requests_matching(POSTS) if r.status == 200]
    assert len(posts) == 2 and posts[0].json["nonce"] == posts[1].json["nonce"]
    for job in jobs:
        assert count(h.fake, "completed", job) == 1
        row = await h.bot.store.outbox_row(f"job:pixverse:{job}:completed")
        assert row is not None and row["sent_message_id"] == int(first["id"])


async def test_what_happened_while_stopped_is_reported_and_nothing_twice(start_bot, url):
    sim = make_sim(max_jobs=5)
    full, spare = (a.account for a in sim.accounts("pixverse"))
    sim.set_max_jobs("pixverse", full, 2)
    h = await start_bot(sim=sim, database_url=url, providers=["pixverse"], stuck_after_minutes=20)
    done = sim.start_job("pixverse", spare, duration=INF)
    later = sim.start_job("pixverse", spare, duration=INF)
    stuck = sim.start_job("pixverse", full, duration=INF, elapsed=30 * 60)
    sim.start_job("pixverse", full, duration=INF)
    await cycle(h, ticks=2)
    sim.finish_job(done, "completed")
    await cycle(h)
    await settled(h)
    before = [(t, d) for t, d, _ in alerts(h.fake)]
    assert count(h.fake, "completed", done) == 1 and count(h.fake, "stuck", stuck) == 1
    assert count(h.fake, "exhausted", full) == 1
    await h.stop()

    sim.finish_job(later, "failed")  # while the bot is down
    sim.advance(600)
    h = await start_bot(sim=sim, database_url=url, providers=["pixverse"], stuck_after_minutes=20)
    await cycle(h, ticks=3)
    await settled(h)
    after = [(t, d) for t, d, _ in alerts(h.fake)][len(before) :]
    assert len(after) == 1 and count(h.fake, "failed", later) == 1
    assert count(h.fake, "completed", done) == 1 and count(h.fake, "stuck", stuck) == 1
    assert count(h.fake, "exhausted") == 1 and count(h.fake, "restored") == 0


async def test_a_slow_send_keeps_its_claim_and_a_dead_one_loses_it(url):
    """The outbox lease is short (a killed bot's alerts come back within seconds), so a send
    that takes long (discord.py waiting out a 429) renews it, and nobody else takes its rows."""
    store = await Store.open(url)
    try:
        event = Event(
            key="job:pixverse:j1:completed",
            kind=EventKind.JOB,
            provider="pixverse",
            word="completed",
            at=datetime.now(UTC),
            job_id="j1",
        )
        await store.enqueue(
            [OutboxItem(event, 100, None, "pending")], batch="b1", now=datetime.now(UTC)
        )
        lease = timedelta(seconds=0.2)
        entered, go = asyncio.Event(), asyncio.Event()
        posts: list[str] = []

        async def slow(channel: int, events: Any, mention: int | None) -> int:
            entered.set()
            await go.wait()
            posts.append(nonce_for(events))
            return 1

        async def fast(channel: int, events: Any, mention: int | None) -> int:
            posts.append(nonce_for(events))
            return 2

        one = Deliverer(store, slow, lease=lease)
        sending = asyncio.create_task(one.run_once())
        await entered.wait()
        await asyncio.sleep(5 * lease.total_seconds())  # the first claim alone has lapsed
        other = Deliverer(store, fast, lease=lease)
        assert (await other.run_once()).claimed == 0  # renewed: still taken
        go.set()
        assert (await sending).sent == 1 and len(posts) == 1

        # a worker that dies mid-send (no release) holds its rows for one lease only
        await store.enqueue(
            [OutboxItem(replace(event, key="job:pixverse:j2:failed"), 100, None, "pending")],
            batch="b2",
            now=datetime.now(UTC),
        )
        go.clear()
        entered.clear()
        dying = asyncio.create_task(Deliverer(store, slow, lease=lease).run_once())
        await entered.wait()
        dying.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await dying
        assert (await other.run_once()).claimed == 0
        later = datetime.now(UTC) + 2 * lease
        report = await other.run_once(later)
        assert (report.claimed, report.sent) == (1, 1) and len(posts) == 2
    finally:
        await store.close()


# --------------------------------------------------------------------------- kill -9


def bot_env(fake: FakeDiscord, sim_url: str, database_url: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k.upper() not in {name.upper() for name in Settings.model_fields}
    }
    env.update(
        {
            "DISCORD_TOKEN": DISCORD_TOKEN,
            "USEAPI_TOKEN": TOKEN,
            "USEAPI_BASE_URL": sim_url,
            "DISCORD_API_BASE_URL": fake.api_base,
            "DISCORD_GATEWAY_URL": fake.gateway_url,
            "GUILD_IDS": str(fake.guild_id),
            "ALERT_CHANNEL_ID": str(fake.channel_ids[0]),
            "POLL_INTERVAL_SECONDS": "5",
            "PROVIDERS": "pixverse",
            "DATABASE_URL": database_url,
            "LOG_LEVEL": "INFO",
        }
    )
    return env


async def run_bot(env: dict[str, str], cwd: Path, log: Path) -> asyncio.subprocess.Process:
    with log.open("ab") as out:
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            env=env,
            cwd=cwd,
            stdout=out,
            stderr=asyncio.subprocess.STDOUT,
        )


async def test_kill_9_mid_post_then_restart_posts_every_alert_once(fake_discord, tmp_path, url):
    fake = fake_discord
    sim = Simulator(
        seed=9,
        accounts=2,
        jobs=0,
        token=TOKEN,
        clock=ManualClock(),
        churn=False,
        providers=["pixverse"],
    )
    for a in sim.accounts("pixverse"):
        sim.set_max_jobs("pixverse", a.account, 10)
        # The bot's account checks run on the real clock, not this ManualClock: sessions a
        # month from now, so that the only alerts are the jobs'.
        sim.set_account_expiry("pixverse", a.account, time.time() + 30 * 86_400)
    jobs = [sim.start_job("pixverse", duration=INF) for _ in range(4)]
    log = tmp_path / "bot.log"
    procs: list[asyncio.subprocess.Process] = []
    async with SimServer(sim) as server:
        env = bot_env(fake, server.url, url)
        store: Store | None = None
        try:
            procs.append(await run_bot(env, tmp_path, log))
            # the bot opens its database before it logs in and syncs its commands
            await fake.wait_for_request("PUT", r"/commands$", timeout=20)
            store = await Store.open(env["DATABASE_URL"])

            async def baseline() -> bool:
                assert store is not None
                snap = await store.load_snapshot("pixverse")
                return snap is not None and {j.id for j in snap.jobs} == set(jobs)

            await wait_until("the first tick", baseline, 20)

            # two jobs end; the bot's next tick posts them, and Discord is slow to answer
            fake.delay(POSTS, 1.0, count=1)
            sim.finish_job(jobs[0], "completed")
            sim.finish_job(jobs[1], "moderated")
            post = await fake.wait_for(
                lambda r: r.key.startswith("POST /channels/"), timeout=15, answered=False
            )
            procs[0].send_signal(signal.SIGKILL)  # before Discord's answer (and mark_sent)
            assert await asyncio.wait_for(procs[0].wait(), 10) == -signal.SIGKILL
            first = await fake.wait_for_message(fake.channel_ids[0])  # yet Discord posted it
            assert post.json["nonce"] == first["nonce"]
            counts = await store.outbox_counts()
            assert counts == {"pending": 2}

            sim.finish_job(jobs[2], "failed")  # while the bot is dead
            procs.append(await run_bot(env, tmp_path, log))

            async def all_sent() -> bool:
                assert store is not None
                return await store.outbox_counts() == {"sent": 3}

            await wait_until("every alert marked sent", all_sent, 25)
            procs[1].send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(procs[1].wait(), 15) == 0
        finally:
            for p in procs:
                if p.returncode is None:
                    p.kill()
                    await p.wait()
            if store is not None:
                await store.close()

    # what Discord shows, against the simulator's ground truth
    finished = {e.job_id: e.outcome for e in sim.events("job_finished") if e.job_id in jobs}
    assert finished == {jobs[0]: "completed", jobs[1]: "moderated", jobs[2]: "failed"}
    for job_id, outcome in finished.items():
        assert outcome is not None
        assert count(fake, outcome, job_id) == 1, (job_id, outcome, log.read_text()[-3000:])
    assert count(fake, "completed", jobs[3]) == 0
    assert len(alerts(fake)) == 3 and len(fake.messages()) == 2
    assert fake.nonce_duplicates == 1  # the repeat after the kill was dropped by its nonce
