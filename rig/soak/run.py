"""The soak's driver: the bot as a process SIGKILLed (`kills.py`), then in process round by
round, faults switched on and off (`chaos.py`) and hard stops at random moments, then the
drain; what it saw goes to `analysis.analyse`."""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import functools
import json
import logging
import os
import random
import re
import secrets
import shutil
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import discord
import stamina
from sqlalchemy import func, or_, select
from sqlalchemy.engine import make_url

from bot.app import OpsBot
from bot.settings import load_settings
from bot.sim import ManualClock, SimRequest, SimServer, Simulator
from bot.store import Store, _to_db, outbox_table, pending_table
from cogs.base import ProviderCog
from rig.botharness import launch, provider_cogs
from rig.fakediscord import FakeDiscord, WaitTimeout
from rig.process import wait_until
from rig.soak.analysis import analyse
from rig.soak.chaos import Chaos
from rig.soak.config import (
    POST_MESSAGE,
    PROVIDERS,
    QUEUE_RE,
    Incarnation,
    Report,
    SoakConfig,
    SoakError,
    SoakResult,
)
from rig.soak.debug import LogCapture, pool_dump, task_dump
from rig.soak.kills import subprocess_phase


@dataclass
class _Live:
    """One in-process incarnation."""

    bot: OpsBot
    task: asyncio.Task[None]
    inc: Incarnation


class Soak:
    def __init__(self, config: SoakConfig) -> None:
        self.cfg = config
        self.rng = random.Random(f"soak:{config.seed}")
        self.workdir = config.workdir
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.db_path = self.workdir / "opsbot.db"
        #: One database throughout, for the processes and the in-process bots alike.
        self.database_url = config.database_url or f"sqlite+aiosqlite:///{self.db_path}"
        #: What the database holds once the bot stopped (`read_final`), for the analysis.
        self.outbox_rows: list[dict[str, Any]] = []
        self.pending_left = 0
        tag = f"{config.seed}-{secrets.token_hex(6)}"
        self.discord_token = f"SOAKdiscordTOKEN.{tag}.zz"
        self.useapi_token = f"SOAKuseapiTOKEN-{tag}-yy"
        start = datetime.now(UTC).replace(microsecond=0)
        self.clock = ManualClock(start)
        self.sim = Simulator(
            seed=config.seed,
            accounts=config.accounts,
            jobs=config.jobs,
            token=self.useapi_token,
            clock=self.clock,
            providers=PROVIDERS,  # the ones its bot watches: no churn that nobody sees
        )
        self.initial_full: dict[tuple[str, str], bool] = {
            (p, a.account): a.available == 0 for p in PROVIDERS for a in self.sim.accounts(p)
        }
        self.server = SimServer(self.sim)
        self.fake = FakeDiscord(token=self.discord_token)
        self.log: list[tuple[int, SimRequest]] = []
        self.incs: list[Incarnation] = []
        self.inc: Incarnation | None = None
        self.last_request = time.monotonic()
        self.report = Report(
            seed=config.seed, backend=make_url(self.database_url).get_backend_name()
        )
        self.chaos = Chaos(config, self.sim, self.fake, self.rng, self.report, self.useapi_token)
        self.errors: list[str] = []
        self._error_set: set[str] = set()
        self.outputs: list[Path] = []
        self.settings_text: list[str] = []
        self._q_event = asyncio.Event()
        self._started = time.monotonic()
        self._orig_log_request = self.sim.log_request
        self.sim.log_request = self._log_request  # type: ignore[method-assign]
        self.round = 0
        self._next_stop = time.monotonic() + config.restart_every

    # ------------------------------------------------------------------ bookkeeping
    def _log_request(self, method: str, path: str, query: str) -> SimRequest:
        entry = self._orig_log_request(method, path, query)
        self.log.append((self.inc.index if self.inc else -1, entry))
        self.last_request = time.monotonic()
        if any(rx.match(path) for rx in QUEUE_RE.values()):
            self._q_event.set()
        return entry

    def say(self, line: str) -> None:
        if self.cfg.progress is not None:
            self.cfg.progress(line)

    def new_incarnation(self, kind: str) -> Incarnation:
        inc = Incarnation(len(self.incs), kind, len(self.log))
        self.incs.append(inc)
        self.inc = inc
        self.report.restarts = max(0, len(self.incs) - 1)
        return inc

    def in_flight(self) -> bool:
        return any(e.seconds is None for _, e in self.log[-40:])

    def settings_values(self, **overrides: Any) -> dict[str, Any]:
        values: dict[str, Any] = dict(
            discord_token=self.discord_token,
            useapi_token=self.useapi_token,
            useapi_base_url=self.server.url,
            discord_api_base_url=self.fake.api_base,
            discord_gateway_url=self.fake.gateway_url,
            guild_ids=[self.fake.guild_id],
            alert_channel_id=self.alert_channel,
            poll_interval_seconds=5,
            stuck_after_minutes=self.cfg.stuck_after_minutes,
            database_url=self.database_url,
        )
        values.update(overrides)
        return values

    @property
    def alert_channel(self) -> int:
        return self.fake.channel_ids[0]

    # ------------------------------------------------------------------ top level
    async def run(self) -> SoakResult:
        capture = self._capture = LogCapture(None if self.cfg.minutes is None else 20_000)
        loggers = {
            name: logging.getLogger(name)
            for name in ("bot", "cogs", "discord", "httpx", "httpcore", "aiohttp")
        }
        old_levels = {name: lg.level for name, lg in loggers.items()}
        for name, lg in loggers.items():
            lg.setLevel(
                logging.DEBUG if name in ("bot", "cogs", "discord", "httpx") else logging.INFO
            )
        root = logging.getLogger()
        root.addHandler(capture)
        route_base = discord.http.Route.BASE
        gateway = discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
        testing = (
            stamina.set_testing(True, attempts=4, cap=True)
            if self.cfg.fast_retries
            else contextlib.nullcontext()
        )
        try:
            await self.server.start()
            await self.fake.start()
            with testing:
                await subprocess_phase(self)
                self.report.subprocess_seconds = time.monotonic() - self._started
                await self._inprocess_phase()
            await self.read_final()
            self.report.seconds = time.monotonic() - self._started
            self.report.sim_seconds = (self.sim.now() - self.sim.t0).total_seconds()
        finally:
            root.removeHandler(capture)
            for name, lg in loggers.items():
                lg.setLevel(old_levels[name])
            discord.http.Route.BASE = route_base
            discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = gateway
            await self.fake.stop()
            await self.server.stop()
        self.report.fault_hits = self.chaos.hits()
        self.report.nonce_repeats = self.fake.nonce_duplicates
        analyse(self, self.report)
        return self._result(capture)

    def _result(self, capture: LogCapture) -> SoakResult:
        bodies = []
        for r in self.fake.requests:
            if r.json is not None:
                bodies.append(
                    r.json if isinstance(r.json, str) else json.dumps(r.json, ensure_ascii=False)
                )
        emails = sorted({a.email for p in PROVIDERS for a in self.sim.accounts(p) if a.email})
        return SoakResult(
            report=self.report,
            discord_token=self.discord_token,
            useapi_token=self.useapi_token,
            database_url=self.database_url,
            db_path=self.db_path,
            workdir=self.workdir,
            subprocess_output=self.outputs,
            log_text="\n".join(capture.lines),
            errors=self.errors,
            request_bodies=bodies,
            settings_text=self.settings_text,
            emails=emails,
            engine=self,
        )

    # ------------------------------------------------------------------ in-process phase
    def _bot_clock(self) -> datetime:
        return self.sim.now()

    async def _start(self) -> _Live:
        # A restart takes a moment (and two ticks never share an instant, nor a batch name).
        self.sim.advance(self.rng.uniform(0.5, 3.0))
        inc = self.new_incarnation("inprocess")
        settings = load_settings(**self.settings_values(poll_interval_seconds=30))
        self.settings_text += [repr(settings), str(settings)]

        def on_ready(bot: OpsBot) -> None:
            bot.clock = self._bot_clock  # tied to the simulator: leases, backoffs, give-ups

        try:
            bot, task = await launch(settings, on_ready=on_ready, wait_seconds=30)
        except (TimeoutError, RuntimeError) as exc:
            raise SoakError(f"start-up failed: {exc}") from None
        # Let the loop's own first tick finish, then drive ticks from here (no 5 s waits).
        # No await between the check and the cancel: the loop is asleep, not mid-tick.
        for c in provider_cogs(bot):

            def ticked(c: ProviderCog = c) -> bool:
                return c.watcher.last_report is not None and not c.watcher._lock.locked()

            await wait_until("the start-up tick", ticked, 60, every=0.02)
            if c.watcher.ticks != 1:
                raise SoakError(f"{c.provider.name}: the poll loop ticked twice at start-up")
            c.poll.cancel()
        return _Live(bot, task, inc)

    async def _stop(self, live: _Live, how: str, *, clean: bool, graceful: bool = False) -> None:
        """Stop an in-process bot: `graceful` closes it, otherwise its task is cancelled at
        whatever it is doing. `clean`: no watcher tick was in flight."""
        self._record_errors(live.bot)
        live.inc.clean_end = clean
        live.inc.how = how
        if graceful:
            await live.bot.close()
        else:
            live.task.cancel()
        # A stop cut into the middle of a database write must not leave SQLite's write lock
        # behind (the store lets a cancelled caller's SQL finish), so the bot ends at once.
        done, _ = await asyncio.wait({live.task}, timeout=10)
        if not done:
            import threading

            recent = [
                line[:3000]
                for line in self._capture.lines[-20000:]
                if line.startswith("ERROR") or "sqlalchemy" in line
            ][-12:]
            raise SoakError(
                f"the bot did not stop ({how}) in round {self.round}; pool "
                f"{live.bot.store.engine.pool.status()} {pool_dump(live.bot)}; threads "
                f"{[t.name for t in threading.enumerate()]}; tasks:\n{task_dump()}\n"
                + "\n".join(recent)
            )
        if not live.task.cancelled() and live.task.exception() is not None:
            raise SoakError(f"the bot failed ({how}): {live.task.exception()!r}")

    def _record_errors(self, bot: OpsBot) -> None:
        for c in provider_cogs(bot):
            if c.watcher.last_error:
                self.errors.append(c.watcher.last_error)

    async def _ticks(self, live: _Live) -> list[asyncio.Task[None]]:
        return [asyncio.create_task(c._tick()) for c in provider_cogs(live.bot)]

    async def _round(self, live: _Live) -> None:
        self.round += 1
        self.report.rounds += 1
        self.sim.advance(self.rng.uniform(*self.cfg.step))
        tasks = await self._ticks(live)
        await asyncio.gather(*tasks)
        self._count_ok(live)
        self._wake(live)

    def _count_ok(self, live: _Live) -> None:
        for c in provider_cogs(live.bot):
            report = c.watcher.last_report
            if report is not None and report.ok:
                self.report.ticks_ok += 1
            elif report is not None and report.error and report.error not in self._error_set:
                self._error_set.add(report.error)
                self.errors.append(report.error)

    def _wake(self, live: _Live) -> None:
        cog: Any = live.bot.get_cog("Delivery")
        if cog is not None:
            cog.deliverer.wake()

    def _hard_stop_due(self, restarts_done: int) -> bool:
        if self.cfg.minutes is not None:
            if time.monotonic() < self._next_stop:
                return False
            self._next_stop = time.monotonic() + self.cfg.restart_every * self.rng.uniform(0.5, 1.5)
            return True
        if restarts_done >= self.cfg.restarts:
            return False
        every = self.cfg.rounds / (self.cfg.restarts + 1)
        return self.round >= every * (restarts_done + 1)

    async def _inprocess_phase(self) -> None:
        # Everything the killed processes claimed or scheduled (real time) is due now.
        gap = (datetime.now(UTC) + timedelta(seconds=120) - self.sim.now()).total_seconds()
        if gap > 0:
            self.sim.advance(gap)
        live = await self._start()
        self._next_stop = time.monotonic() + self.cfg.restart_every
        stops = 0
        deadline = (
            time.monotonic() + self.cfg.minutes * 60 if self.cfg.minutes is not None else None
        )
        last_say = time.monotonic()
        while self.round < self.cfg.rounds if deadline is None else time.monotonic() < deadline:
            await self.chaos.before_round(self.round)
            if self._hard_stop_due(stops):
                stops += 1
                live = await self._hard_stop(live, stops)
                continue
            await self._round(live)
            if time.monotonic() - last_say > 15:
                last_say = time.monotonic()
                self.say(
                    f"round {self.round}: {len(self.sim.events('job_finished'))} jobs "
                    f"finished, {len(self.fake.messages(self.alert_channel))} messages, "
                    f"{len(self.incs) - 1} restarts"
                )
        await self._drain(live)

    async def _hard_stop(self, live: _Live, n: int) -> _Live:
        way = ("between ticks", "mid-tick", "mid-delivery")[n % 3]
        if way == "between ticks":
            await self._stop(live, "hard stop between ticks", clean=True)
        elif way == "mid-tick":
            await self._stop_mid_tick(live)
        else:
            await self._stop_mid_delivery(live)
        self.report.hard_stops += 1
        return await self._start()

    async def _stop_mid_tick(self, live: _Live) -> None:
        self.sim.advance(self.rng.uniform(*self.cfg.step))
        self._q_event.clear()
        tasks = await self._ticks(live)
        await wait_until("a scheduler read", self._q_event.is_set, 10, every=0.02)
        for _ in range(self.rng.randrange(4)):  # anywhere from the read to the commit
            await asyncio.sleep(0)
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self._stop(live, "hard stop mid-tick", clean=False)

    async def _stop_mid_delivery(self, live: _Live) -> None:
        delay = self.chaos.slow_post(0.6, 1)
        mark = self.fake.mark()
        for _ in range(20):  # rounds until a tick has something to post
            await self._round(live)
            with contextlib.suppress(WaitTimeout):
                await self.fake.wait_for(
                    lambda r: r.method == "POST" and re.match(POST_MESSAGE, r.key) is not None,
                    timeout=1.5,
                    start=mark,
                    answered=False,
                )
                break
        await self._stop(live, "hard stop mid-delivery", clean=True)
        if delay in self.fake.delays:
            self.fake.delays.remove(delay)

    # ------------------------------------------------------------------ drain
    async def _outbox(self, store: Store, now: datetime) -> tuple[int, int]:
        """(rows due or claimed now, rows pending in all), read through the bot's store."""
        o = outbox_table.c
        pending = o.state == "pending"
        due = or_(o.next_attempt_at <= _to_db(now), o.claimed_until.is_not(None))
        async with store.engine.connect() as conn:
            n_due = (await conn.execute(select(func.count()).where(pending, due))).scalar_one()
            total = (await conn.execute(select(func.count()).where(pending))).scalar_one()
        return int(n_due), int(total)

    async def read_final(self) -> None:
        """Read what the analysis checks from the database, the bot stopped: every outbox
        row and the jobs still awaiting their outcome."""
        store = await Store.open(self.database_url)
        try:
            async with store.engine.connect() as conn:
                rows = await conn.execute(
                    select(
                        outbox_table.c.id,
                        outbox_table.c.key,
                        outbox_table.c.batch,
                        outbox_table.c.channel_id,
                        outbox_table.c.mention_role_id,
                        outbox_table.c.state,
                        outbox_table.c.event,
                        outbox_table.c.sent_message_id,
                    ).order_by(outbox_table.c.id)
                )
                self.outbox_rows = [dict(r._mapping) for r in rows]
                left = await conn.execute(select(func.count()).select_from(pending_table))
                self.pending_left = int(left.scalar_one())
        finally:
            await store.close()

    async def _drain(self, live: _Live) -> None:
        self.chaos.clear()
        store = live.bot.store
        settled = 0
        for _ in range(80):
            self.report.drain_rounds += 1
            await self._round(live)
            now = self.sim.now()
            pending_jobs = 0
            for p in PROVIDERS:
                pending_jobs += len((await store.load_watch(p, now=now)).pending)

            # Wait until the deliverer has posted everything that is due (rows in back-off
            # become due as the simulated clock moves on with the next rounds).
            async def due_sent(now: datetime = now) -> bool:
                return (await self._outbox(store, now))[0] == 0

            await wait_until("the due alerts to go out", due_sent, 20)
            waiting = (await self._outbox(store, now))[1]
            settled = settled + 1 if waiting == 0 and pending_jobs == 0 else 0
            if settled >= 2:
                break
        else:
            self.report.problems.append(
                f"drain did not settle: outbox {await store.outbox_counts()}"
            )
        await self._stop(live, "clean stop after the drain", clean=True, graceful=True)


async def run_soak(config: SoakConfig) -> SoakResult:
    return await Soak(config).run()


#: The CI soak's seed (override with OPSBOT_SOAK_SEED to explore others).
CI_SEED = int(os.environ.get("OPSBOT_SOAK_SEED", "20261128"))

#: The CI soak's size on PostgreSQL, smaller than on SQLite (the default `SoakConfig`) to keep
#: the suite's time: the same two SIGKILLs (mid-delivery, mid-tick), a hard stop of each kind
#: (between ticks, mid-tick, mid-delivery), and rounds enough for every planned fault
#: (`chaos.SCHEDULE`, up to round 62).
PG_SIZE: dict[str, Any] = {"rounds": 64, "restarts": 3}


@functools.cache
def ci_result(backend: str = "sqlite") -> SoakResult:
    """The CI soak on `backend` ("sqlite": a file; "postgresql": a database of its own on the
    test server, dropped once read), run once per test session and shared by the tests that
    inspect it."""
    workdir = Path(tempfile.mkdtemp(prefix="opsbot-soak-"))
    atexit.register(shutil.rmtree, workdir, True)
    if backend == "sqlite":
        return asyncio.run(run_soak(SoakConfig(seed=CI_SEED, workdir=workdir)))
    from rig.store import create_pg_database, drop_pg_database

    url = create_pg_database()
    try:
        config = SoakConfig(seed=CI_SEED, workdir=workdir, database_url=url, **PG_SIZE)
        return asyncio.run(run_soak(config))
    finally:
        drop_pg_database(url)
