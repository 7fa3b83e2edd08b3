"""Failover as processes (issue 13): two `opsbot run` on one PostgreSQL database, one shared
simulator and one fake Discord.

Each bot reaches the simulator through a door of its own (`Door`: one `SimServer` each over the
same `Simulator`), so the polls are counted per bot at the simulator; the fake Discord (this
process) sees both bots, one gateway session each. The test goes through:

1. both running: exactly one polls each provider, both answer slash commands from the state
   they share;
2. the leader SIGKILLed while Discord holds its post: the other takes the polls over at once
   and the post within the outbox lease; every alert once (the re-sent post is dropped by its
   nonce);
3. the killed one restarted: it follows;
4. the new leader SIGSTOPped (a partition from the database) while it holds claimed rows of two
   groups, the first one's post in flight: the follower takes them over and posts them; Discord's
   nonce window then passes, the old leader wakes, and its fence keeps it from posting or
   recording anything.

Every alert is then compared with the simulator's ground truth: expected, posted, duplicated,
lost (printed in the run's summary).

The bots run as `python -m rig.quickrun run`: `opsbot run` with the outbox claim lease at 4 s
(its default is 10 s) and polls every 2 s (the setting's floor is 5 s), so that the two takeovers
and the ticks the test waits for take less than half the time; the claims, renewals, fences and
leases are the same code.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import signal
import socket
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from sqlalchemy import text

from bot.events import EventKind
from bot.sim import ManualClock, SimServer, Simulator
from bot.store import Store
from rig.botharness import DISCORD_TOKEN, TOKEN
from rig.fakediscord import ADMIN_PERMISSIONS, FakeDiscord
from rig.process import base_env, wait_until
from rig.quickrun import CLAIM_LEASE_VARIABLE, MIN_POLL_VARIABLE
from rig.received import POSTS, count

PROVIDERS = ("pixverse", "minimax")
#: The poll (a scheduler list, or its capacity): what only the leader of a provider asks for.
POLL = re.compile(r"^/v\d/(\w+)/scheduler")
#: The poll interval (below the setting's floor of 5 s: `rig.quickrun`).
POLL_SECONDS = 2
#: The outbox claim's lease (`Deliverer`'s default 10 s, shortened by `rig.quickrun`) and the
#: delivery interval (cogs.delivery).
CLAIM_LEASE = 4.0
DELIVER_INTERVAL = 2.0
#: A takeover of the outbox: the lease, a delivery pass, and room for a loaded machine.
TAKEOVER = CLAIM_LEASE + 2 * DELIVER_INTERVAL + 10
#: What the bots log when the fence refuses them (bot.delivery).
FENCED = "was taken over by another worker; not posting them"
RECORDED_NOTHING = "after their claim was taken over"
INF = float("inf")

pytestmark = pytest.mark.timeout(240)


class Door(SimServer):
    """One bot's way into the shared simulator: counts the polls per provider."""

    def __init__(self, sim: Simulator) -> None:
        super().__init__(sim)
        self.polls: Counter[str] = Counter()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        m = POLL.match(request.path)
        if m:
            self.polls[m.group(1)] += 1
        return await super()._handle(request)


@dataclass
class Bot:
    """One `opsbot run` process, its door and log; `session` its gateway session."""

    name: str
    door: Door
    env: dict[str, str]
    log: Path
    proc: asyncio.subprocess.Process | None = None
    session: str = ""
    starts: list[int] = field(default_factory=list)

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def holds(self, holder: str | None) -> bool:
        """Whether a lease holder or claim token is this process's (host/pid/…)."""
        return holder is not None and f"{socket.gethostname()}/{self.pid}/" in holder

    async def start(self, fake: FakeDiscord, cwd: Path) -> None:
        identified = fake.identify_count
        with self.log.open("ab") as out:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "rig.quickrun",
                "run",
                env=self.env,
                cwd=cwd,
                stdout=out,
                stderr=asyncio.subprocess.STDOUT,
            )
        self.starts.append(self.proc.pid)
        await fake.wait_ready(timeout=30, identifies=identified + 1)
        self.session = str(fake.session_id)

    def signal(self, sig: signal.Signals) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def bot_env(fake: FakeDiscord, door: Door, database_url: str) -> dict[str, str]:
    env = base_env()
    env.update(
        {
            "DISCORD_TOKEN": DISCORD_TOKEN,
            "USEAPI_TOKEN": TOKEN,
            "USEAPI_BASE_URL": door.url,
            "DISCORD_API_BASE_URL": fake.api_base,
            "DISCORD_GATEWAY_URL": fake.gateway_url,
            "GUILD_IDS": str(fake.guild_id),
            "ALERT_CHANNEL_ID": str(fake.channel_ids[0]),
            "POLL_INTERVAL_SECONDS": str(POLL_SECONDS),
            "PROVIDERS": ",".join(PROVIDERS),
            "DATABASE_URL": database_url,
            "LOG_LEVEL": "INFO",
            CLAIM_LEASE_VARIABLE: f"{CLAIM_LEASE:g}",
            MIN_POLL_VARIABLE: f"{POLL_SECONDS:g}",
        }
    )
    return env


def make_sim() -> Simulator:
    sim = Simulator(
        seed=13,
        accounts=4,
        jobs=0,
        token=TOKEN,
        clock=ManualClock(),
        churn=False,
        providers=PROVIDERS,
    )
    for p in PROVIDERS:
        for a in sim.accounts(p):
            sim.set_max_jobs(p, a.account, 20)
            # The account checks run on the bots' real clock, not this ManualClock: sessions
            # a month from now, so that the only alerts are the jobs'.
            sim.set_account_expiry(p, a.account, time.time() + 30 * 86_400)
    return sim


async def in_transaction(store: Store) -> int:
    """Connections to this database that are inside a transaction right now (other than the
    one asking)."""
    async with store.engine.connect() as conn:
        return int(
            (
                await conn.execute(
                    text(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                        " AND state LIKE 'idle in transaction%' AND pid <> pg_backend_pid()"
                    )
                )
            ).scalar_one()
        )


async def pause(bot: Bot, store: Store, *, others_idle: bool = False) -> None:
    """SIGSTOP `bot` outside any database transaction: paused inside one (a claim holds an
    advisory lock, a renewal row locks) it would stall the other bot's claims, which no
    lease undoes. When the other bot may be in one (`others_idle` False) a transaction seen
    is taken for this bot's all the same: it is resumed a moment and paused again."""
    for _ in range(50):
        bot.signal(signal.SIGSTOP)
        await asyncio.sleep(0.05)  # a paused process's backend shows its state at once
        if not await in_transaction(store):
            return
        if not others_idle:
            await asyncio.sleep(0.1)  # the other bot's transaction is milliseconds
            if not await in_transaction(store):
                return
        bot.signal(signal.SIGCONT)
        await asyncio.sleep(0.02)
    raise AssertionError(f"{bot.name} could not be paused outside a transaction")


async def polls_in(bots: list[Bot], ticks: int) -> dict[str, dict[str, int]]:
    """Polls per bot and provider while every provider is polled `ticks` more times."""
    before = {b.name: Counter(b.door.polls) for b in bots}

    def total(p: str) -> int:
        return sum(b.door.polls[p] - before[b.name][p] for b in bots)

    await wait_until(
        f"{ticks} polls of each provider",
        lambda: all(total(p) >= ticks for p in PROVIDERS),
        ticks * POLL_SECONDS * 2 + 20,
    )
    return {b.name: {p: b.door.polls[p] - before[b.name][p] for p in PROVIDERS} for b in bots}


async def ask_queue(fake: FakeDiscord, bot: Bot) -> str:
    """/queue through `bot`'s gateway session: its answer (the jobs, by account)."""
    fake.activate(bot.session)
    inter = await fake.invoke("queue", permissions=ADMIN_PERMISSIONS)
    body = await fake.wait_for_interaction_response(inter, timeout=15)
    if body["type"] == 5:  # deferred: the answer comes as an edit of the original
        body = {"data": await fake.wait_for_original_edit(inter, timeout=15)}
    embeds = body["data"]["embeds"]
    text = str(embeds)
    assert "running" in text and "PixVerse" in text and "MiniMax" in text, text
    # What each shows of the shared state; how old it is ("Data from 1s ago", a job's "· 1s")
    # depends on when each was asked.
    return str(
        [
            (
                e.get("title"),
                e.get("description"),
                [(f["name"], re.findall(r"video:\d+", f["value"])) for f in e.get("fields", [])],
            )
            for e in embeds
        ]
    )


@contextlib.asynccontextmanager
async def doors(sim: Simulator) -> AsyncIterator[tuple[Door, Door]]:
    """Two doors into `sim`, one per bot."""
    a, b = Door(sim), Door(sim)
    await a.start()
    try:
        await b.start()
        try:
            yield a, b
        finally:
            await b.stop()
    finally:
        await a.stop()


async def test_two_bots_one_database_fail_over_with_every_alert_once(
    fake_discord: FakeDiscord,
    pg_url: str,
    tmp_path: Path,
    failover_summary: Callable[[str], None],
) -> None:
    fake = fake_discord
    y, x = fake.channel_ids[0], fake.channel_ids[1]  # the alert channel; minimax's jobs
    sim = make_sim()
    jobs: dict[str, list[str]] = {p: [] for p in PROVIDERS}
    for p in PROVIDERS:
        for _ in range(4):
            # A second apart: /queue puts the longest-running account first, and accounts
            # whose jobs all started at one instant come in whatever order a snapshot holds
            # them (the leader's as upstream listed them, the follower's as the store reads).
            sim.advance(1)
            jobs[p].append(sim.start_job(p, duration=INF))
    store = await Store.open(pg_url)
    await store.set_route(EventKind.JOB, "minimax", x)
    finished: list[str] = []

    def finish(provider: str, i: int, outcome: str) -> str:
        job = jobs[provider][i]
        sim.finish_job(job, outcome)
        finished.append(job)
        return job

    async def row(job: str, word: str) -> dict[str, Any] | None:
        for p in PROVIDERS:
            r = await store.outbox_row(f"job:{p}:{job}:{word}")
            if r is not None:
                return r
        return None

    async def post_to(channel: int, since: int) -> Any:
        """The first post to `channel` among the requests from number `since` on, as soon as
        it arrives (Discord may hold its answer)."""
        return await fake.wait_for(
            lambda r: r.key == f"POST /channels/{channel}/messages",
            timeout=30,
            start=since,
            answered=False,
        )

    async def leads(bot: Bot) -> bool:
        """Whether `bot` holds the poll lease of every provider."""
        return all([bot.holds(await store.lease_holder(f"watch:{p}")) for p in PROVIDERS])

    bots: list[Bot] = []
    async with doors(sim) as (door_a, door_b):
        a = Bot("a", door_a, bot_env(fake, door_a, pg_url), tmp_path / "a.log")
        b = Bot("b", door_b, bot_env(fake, door_b, pg_url), tmp_path / "b.log")
        bots = [a, b]
        try:
            # ---- 1. both running: one poller per provider, both answer
            await a.start(fake, tmp_path)

            await wait_until("a leads every provider", lambda: leads(a), 30)
            await b.start(fake, tmp_path)
            polls = await polls_in(bots, ticks=3)
            assert all(polls["a"][p] >= 3 and polls["b"][p] == 0 for p in PROVIDERS), polls
            assert sum(b.door.polls.values()) == 0
            assert await ask_queue(fake, a) == await ask_queue(fake, b)

            # ---- 2. SIGKILL the leader while Discord holds its post
            await pause(b, store)  # so that the leader is the one that claims the alerts
            gate = fake.hold(POSTS)
            mark = len(fake.requests)
            killed_alerts = [finish("pixverse", 0, "completed"), finish("pixverse", 1, "failed")]
            post = await post_to(y, mark)
            r0 = await row(killed_alerts[0], "completed")
            assert r0 is not None and a.holds(r0["claimed_by"]), r0
            a.signal(signal.SIGKILL)
            assert await asyncio.wait_for(a.proc.wait(), 10) == -signal.SIGKILL  # type: ignore[union-attr]
            killed_at = time.monotonic()
            gate.set()  # Discord had the request before the kill: the message is created
            first = await fake.wait_for_message(y, timeout=10)
            assert first["nonce"] == post.json["nonce"]
            b.signal(signal.SIGCONT)
            finish("minimax", 0, "completed")  # while the leader is dead: b polls it now

            async def all_sent() -> bool:
                counts = await store.outbox_counts()
                return set(counts) == {"sent"} and counts["sent"] == len(finished)

            await wait_until("b posts what a held, and what a never saw", all_sent, TAKEOVER)
            takeover = time.monotonic() - killed_at
            assert await leads(b)
            assert fake.nonce_duplicates == 1  # b's repeat of a's post, dropped by its nonce

            # ---- 3. the killed one restarted: it follows
            await a.start(fake, tmp_path)
            polls = await polls_in(bots, ticks=3)
            assert all(polls["b"][p] >= 3 and polls["a"][p] == 0 for p in PROVIDERS), polls
            assert await leads(b)
            assert await ask_queue(fake, a) == await ask_queue(fake, b)

            # ---- 4. SIGSTOP the leader while it holds claimed rows, mid-delivery
            await pause(a, store)  # the follower: the leader claims
            gate_x = fake.hold(rf"POST /channels/{x}/messages$")
            mark = len(fake.requests)
            finish("minimax", 1, "failed")
            await post_to(x, mark)  # b's delivery pass waits on Discord...
            stalled: list[str] = []
            for i in (2, 3):  # ...while two ticks queue a group each for channel y
                stalled.append(finish("pixverse", i, "completed"))

                async def queued(job: str = stalled[-1]) -> bool:
                    return await row(job, "completed") is not None

                await wait_until(f"pixverse job {i}'s alert queued", queued, 30)
            r2, r3 = [await row(j, "completed") for j in stalled]
            assert r2 is not None and r3 is not None and r2["batch"] != r3["batch"]
            posts_y = len(fake.requests_matching(rf"POST /channels/{y}/messages$"))
            gate_y = fake.hold(rf"POST /channels/{y}/messages$")
            mark = len(fake.requests)
            gate_x.set()  # b's pass ends; its next claims both groups and posts the first
            await post_to(y, mark)
            assert len(fake.requests_matching(rf"POST /channels/{y}/messages$")) == posts_y + 1
            await pause(b, store, others_idle=True)
            r2, r3 = [await row(j, "completed") for j in stalled]
            assert r2 is not None and r3 is not None
            assert b.holds(r2["claimed_by"]) and r2["claimed_by"] == r3["claimed_by"], (
                r2,
                r3,
                b.output()[-4000:],
            )
            a.signal(signal.SIGCONT)
            gate_y.set()  # b's first group reached Discord before the pause
            await wait_until("a takes b's claimed groups over", all_sent, TAKEOVER)
            assert fake.nonce_duplicates == 2  # a's repeat of b's in-flight post
            # The old leader wakes after Discord's nonce window has passed: only the fence
            # stands between it and a second post of what a posted.
            fake.nonce_window = 0
            posts = len(fake.requests_matching(POSTS))
            sent = {j: await row(j, "completed") for j in stalled}
            b.signal(signal.SIGCONT)
            await wait_until(
                "b's delivery pass to go on (its fence refusing, or a post)",
                lambda: FENCED in b.output() or len(fake.requests_matching(POSTS)) > posts,
                30,
            )
            assert len(fake.requests_matching(POSTS)) == posts
            # its in-flight post's answer came, and it recorded nothing over a's bookkeeping
            assert RECORDED_NOTHING in b.output()
            assert {j: await row(j, "completed") for j in stalled} == sent

            for bot in bots:
                bot.signal(signal.SIGTERM)
            for bot in bots:
                assert bot.proc is not None
                assert await asyncio.wait_for(bot.proc.wait(), 20) == 0, bot.output()[-3000:]
        finally:
            for bot in bots:
                if bot.proc is not None and bot.proc.returncode is None:
                    with contextlib.suppress(ProcessLookupError):
                        bot.proc.send_signal(signal.SIGCONT)
                        bot.proc.kill()
                    await bot.proc.wait()
            await store.close()

    # ---- every alert, against the simulator's ground truth
    truth = {str(e.job_id): str(e.outcome) for e in sim.events("job_finished")}
    assert set(truth) == set(finished)
    shown = {job: count(fake, outcome, job) for job, outcome in truth.items()}
    expected, posted = len(truth), sum(shown.values())
    duplicated = sum(n - 1 for n in shown.values() if n > 1)
    lost = sum(1 for n in shown.values() if n == 0)
    failover_summary(
        f"alerts expected {expected}, posted {posted}, duplicated {duplicated}, lost {lost}; "
        f"takeover after SIGKILL {takeover:.1f} s (claim lease {CLAIM_LEASE:g} s); "
        f"Discord dropped {fake.nonce_duplicates} repeat(s) by nonce",
    )
    assert (expected, posted, duplicated, lost) == (len(finished), len(finished), 0, 0), shown
    for bot in bots:
        assert "Traceback" not in bot.output(), bot.output()[-3000:]
    assert fake.nonce_duplicates == 2
