"""SIGTERM drains the outbox (issue 12): `opsbot run` as a process stops claiming, lets the
post in flight finish within `cogs.delivery.DRAIN_TIMEOUT`, gives back whatever is still
claimed, and exits 0 inside Docker's 10 s grace. An alert being posted when the signal comes
is posted exactly once and marked sent; one Discord never answers stays pending, not lost."""

from __future__ import annotations

import asyncio
import signal
import sys
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot import embeds
from bot.alerts import OutboxItem
from bot.events import Event, EventKind
from bot.sim import ManualClock, SimServer, Simulator
from bot.store import Store
from cogs.delivery import DRAIN_TIMEOUT
from rig.fakediscord import FakeDiscord
from rig.process import base_env
from rig.received import POSTS
from rig.simhttp import SIM_TOKEN

#: Docker's grace between SIGTERM and SIGKILL: the whole stop must fit in it.
DOCKER_GRACE = 10.0
KEY = "job:pixverse:user:1-pixverse:ops@example.com-video:42:completed"
EVENT = Event(
    key=KEY,
    kind=EventKind.JOB,
    provider="pixverse",
    word="completed",
    at=datetime(2026, 11, 30, 12, 0, tzinfo=UTC),
    job_id="user:1-pixverse:ops@example.com-video:42",
    account="ops@example.com",
    urls=("https://cdn.example/42.mp4",),
    extra={"kind": "video"},
)


@pytest.fixture
async def useapi() -> AsyncIterator[SimServer]:
    """PixVerse with no jobs and sessions a month away: the bot itself has nothing to say."""
    sim = Simulator(
        seed=3, accounts=1, jobs=0, token=SIM_TOKEN, clock=ManualClock(), churn=False,
        providers=["pixverse"],
    )  # fmt: skip
    for a in sim.accounts("pixverse"):
        sim.set_account_expiry("pixverse", a.account, time.time() + 30 * 86_400)
    async with SimServer(sim) as server:
        yield server


async def bot_with_one_alert(
    fake: FakeDiscord, useapi: SimServer, tmp_path: Path
) -> tuple[asyncio.subprocess.Process, str]:
    """`python -m bot run` on a database holding one alert due for the first channel; returns
    the process once Discord holds that alert's POST (claimed, in flight)."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'opsbot.db'}"
    store = await Store.open(url)
    try:
        item = OutboxItem(EVENT, fake.channel_ids[0], None, "pending")
        await store.enqueue([item], batch="before-the-start", now=datetime.now(UTC))
    finally:
        await store.close()
    env = base_env()
    env.update(
        {
            "DISCORD_TOKEN": "drain-DISCORD-token",
            "DISCORD_API_BASE_URL": fake.api_base,
            "DISCORD_GATEWAY_URL": fake.gateway_url,
            "GUILD_IDS": str(fake.guild_id),
            "USEAPI_BASE_URL": useapi.url,
            "USEAPI_TOKEN": SIM_TOKEN,
            "PROVIDERS": "pixverse",
            "DATABASE_URL": url,
        }
    )
    with (tmp_path / "bot.log").open("wb") as out:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            env=env,
            cwd=tmp_path,
            stdout=out,
            stderr=asyncio.subprocess.STDOUT,
        )
    try:
        await fake.wait_for(
            lambda r: r.key.startswith("POST /channels/"), timeout=30, answered=False
        )
    except BaseException:
        proc.kill()
        await proc.wait()
        raise
    return proc, url


async def stop(proc: asyncio.subprocess.Process) -> tuple[int, float]:
    """SIGTERM; (exit code, seconds until the process ended)."""
    start = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    try:
        code = await asyncio.wait_for(proc.wait(), DOCKER_GRACE + 5)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    return code, time.monotonic() - start


async def row(url: str) -> dict[str, Any] | None:
    store = await Store.open(url)
    try:
        return await store.outbox_row(KEY)
    finally:
        await store.close()


async def test_an_alert_being_posted_at_sigterm_is_posted_once_and_marked_sent(
    fake_discord: FakeDiscord, useapi: SimServer, tmp_path: Path
) -> None:
    fake = fake_discord
    fake.delay(POSTS, 1.5, count=1)  # Discord holds the post a moment
    proc, url = await bot_with_one_alert(fake, useapi, tmp_path)
    code, took = await stop(proc)
    log = (tmp_path / "bot.log").read_text()
    assert code == 0, log
    assert took < DOCKER_GRACE, log
    assert "Traceback" not in log and "drain-DISCORD-token" not in log
    expected = [
        e.to_dict()
        for e in embeds.alert_batch([EVENT], titles={"pixverse": "PixVerse"}, redact=False)
    ]
    assert [m["embeds"] for m in fake.messages()] == [expected]  # once, as the user sees it
    assert len(fake.requests_matching(POSTS)) == 1 and fake.nonce_duplicates == 0
    posted = await row(url)
    assert posted is not None
    assert (posted["state"], posted["claimed_by"], posted["sent_message_id"]) == (
        "sent",
        None,
        int(fake.messages()[0]["id"]),
    )


async def test_a_discord_that_never_answers_still_exits_0_in_time_and_the_alert_waits(
    fake_discord: FakeDiscord, useapi: SimServer, tmp_path: Path
) -> None:
    fake = fake_discord
    fake.delay(POSTS, 60, count=1)  # longer than any stop may take
    proc, url = await bot_with_one_alert(fake, useapi, tmp_path)
    code, took = await stop(proc)
    log = (tmp_path / "bot.log").read_text()
    assert code == 0, log
    assert DRAIN_TIMEOUT <= took < DOCKER_GRACE, log  # it waited for the post, then gave up
    assert "Traceback" not in log
    assert (
        f"alerts still being posted after {DRAIN_TIMEOUT:g} s; stopping, and giving them back"
        in log
    )
    waiting = await row(url)
    assert waiting is not None
    # given back: due again at once for the next start (same group, same nonce)
    assert (waiting["state"], waiting["claimed_by"], waiting["sent_message_id"]) == (
        "pending",
        None,
        None,
    )
