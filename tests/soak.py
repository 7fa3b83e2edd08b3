"""The chaos soak: the real bot against the simulator and the fake Discord, under faults and
restarts, and a strict comparison of what Discord received with the simulator's ground truth.

Shared by `tests/test_soak.py` (the CI run, well under 90 s) and `bench/soak.py` (`--minutes N`).

The run, on one SQLite database throughout:

1. **Subprocess phase** – `python -m bot run` (real time, POLL_INTERVAL_SECONDS=5) is started
   and SIGKILLed `kills` times: the first kill lands while an alert POST is in flight (the fake
   Discord holds it), the next ones while a scheduler request is in flight (mid-tick).
   Meanwhile the simulator's ManualClock is moved on in quiet moments (no request in flight)
   so each real tick sees ~50 simulated seconds of churn.
2. **In-process phase** – the bot is started with `bot.app.serve` (the `opsbot run` path) in
   this process, its clock tied to the simulator's, and its provider ticks driven one round at a
   time (30–60 simulated seconds per round, no waiting for the 5 s poll interval). Random
   faults switch on and off upstream (429, 5xx, timeouts, garbage and HTML bodies, 401/402 for
   a while, job lookups failing) and on the fake Discord (429 with retry_after, 500, slow
   answers, dropped gateway, a 429 outage long enough for the outbox to back off), and the bot
   is hard-stopped at random moments (between ticks, mid-tick, mid-delivery) and restarted.
3. **Drain** – faults off, clean rounds until the outbox and the pending jobs are empty.
4. **Analysis** (`analyse`) – see its docstring: expected vs delivered, duplicates, lost,
   invented, capacity and upstream episode order.

Every wait has a deadline; nothing sleeps in the hope that something happened.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import functools
import json
import logging
import math
import os
import random
import re
import secrets
import shutil
import signal
import sqlite3
import sys
import tempfile
import time
from bisect import bisect_left, bisect_right
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import discord
import stamina

from bot import providers as provider_registry
from bot.app import OpsBot
from bot.delivery import nonce_for
from bot.embeds import alert_batch
from bot.settings import load_settings
from bot.sim import ManualClock, SimRequest, SimServer, Simulator
from bot.sim.faults import Fault as SimFault
from bot.store import decode_event
from bot.text import display_id, escape
from cogs.base import ProviderCog
from tests.botharness import launch
from tests.fakediscord import FakeDiscord, WaitTimeout

T = TypeVar("T")

PROVIDERS = ("pixverse", "minimax", "dreamina")
ROOT = Path(__file__).resolve().parent.parent
POST_MESSAGE = r"^POST /channels/\d+/messages$"

#: Scheduler (queue) and capacity paths per provider, as the adapters call them.
QUEUE_RE = {
    "pixverse": re.compile(r"^/v2/pixverse/scheduler/?$"),
    "minimax": re.compile(r"^/v1/minimax/scheduler/?$"),
    "dreamina": re.compile(r"^/v1/dreamina/scheduler/?$"),
}
CAPACITY_RE = {
    "pixverse": re.compile(r"^/v2/pixverse/scheduler/available/?$"),
    "minimax": re.compile(r"^/v1/minimax/(scheduler/available|accounts)/?$"),
    "dreamina": re.compile(r"^/v1/dreamina/accounts/?$"),
}
#: One job's lookup per provider (fault patterns; searched in the raw request path).
JOB_PATTERN = {
    "pixverse": r"^/v2/pixverse/videos/",
    "minimax": r"^/v1/minimax/(videos|images)/",
    "dreamina": r"^/v1/dreamina/videos/",
}
#: Faults every run has at least once, whatever the seed: round -> (where, what). The long
#: mode plays it again every `SCHEDULE_EVERY` rounds.
SCHEDULE: dict[int, tuple[str, str]] = {
    2: ("up", "401 echo"), 6: ("up", "429"), 10: ("up", "timeout"), 14: ("up", "garbage"),
    18: ("up", "5xx"), 22: ("up", "html"), 26: ("job", "500"), 30: ("discord", "429"),
    34: ("discord", "500"), 38: ("discord", "gateway"), 42: ("discord", "outage"),
    46: ("discord", "slow"), 50: ("up", "402"), 54: ("up", "capacity"), 58: ("up", "queue"),
    62: ("job", "garbage"),
}
SCHEDULE_EVERY = 120
#: Env variables of the bot's own settings: dropped from the inherited environment.
_SETTING_ENV = ("DISCORD_", "USEAPI_", "PROVIDERS", "GUILD_IDS", "ALERT_CHANNEL_ID",
                "POLL_INTERVAL_SECONDS", "STUCK_AFTER_MINUTES", "DATABASE_URL",
                "REDACT_ACCOUNTS", "HTTP_HOST", "HTTP_PORT", "LOG_LEVEL")


class SoakError(AssertionError):
    """The soak could not do what it set out to (a deadline passed, the bot died)."""


async def until(check: Callable[[], T | Awaitable[T | None] | None], timeout: float,  # noqa: ASYNC109
                what: str, *, every: float = 0.02) -> T:
    """Poll `check` (sync or async) until it returns something other than None/False."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if asyncio.iscoroutine(result) or isinstance(result, asyncio.Future):
            result = await result
        if result is not None and result is not False:
            return result  # type: ignore[return-value]
        if time.monotonic() >= deadline:
            raise SoakError(f"timed out after {timeout:g}s waiting for {what}")
        await asyncio.sleep(every)


def _pool_dump(bot: OpsBot) -> str:
    """Debugging aid: which pooled SQLite connections sit in a transaction."""
    out = []
    try:
        pool: Any = bot.store.engine.sync_engine.pool
        queue = getattr(pool._pool, "queue", None) or getattr(pool._pool, "_queue", None)
        queue = getattr(queue, "_queue", queue)
        for rec in list(queue or ()):
            adapted = rec.dbapi_connection
            aio = getattr(adapted, "_connection", None)
            raw = getattr(aio, "_connection", None)
            thread = getattr(aio, "_thread", None)
            out.append(f"rec(in_txn={getattr(raw, 'in_transaction', '?')}, running="
                       f"{getattr(aio, '_running', '?')}, thread_alive="
                       f"{thread.is_alive() if thread else '?'})")
    except Exception as exc:  # pragma: no cover - diagnostics only
        out.append(repr(exc))
    return ", ".join(out)


def _task_dump() -> str:
    """Where every task of the loop is waiting (for a deadline's error message)."""
    out = []
    for task in asyncio.all_tasks():
        chain: list[str] = []
        coro: Any = task.get_coro()
        while coro is not None and len(chain) < 30:
            frame = getattr(coro, "cr_frame", None) or getattr(coro, "gi_frame", None)
            if frame is not None:
                chain.append(f"{frame.f_code.co_name}@{Path(frame.f_code.co_filename).name}"
                             f":{frame.f_lineno}")
            coro = getattr(coro, "cr_await", None) or getattr(coro, "gi_yieldfrom", None)
        out.append(f"  {task.get_name()}: {' -> '.join(chain)}")
    return "\n".join(out)


# =============================================================================== config/result

@dataclass
class SoakConfig:
    seed: int = 1
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="opsbot-soak-")))
    #: In-process rounds (CI). With `minutes`, rounds run until that much wall time is used.
    rounds: int = 100
    minutes: float | None = None
    accounts: int = 24
    jobs: int = 150
    step: tuple[float, float] = (30.0, 60.0)
    #: SIGKILLs of the `python -m bot run` subprocess (at least two).
    kills: int = 2
    #: In-process hard stops (spread over the rounds; long mode: about one per `restart_every`
    #: seconds of wall time).
    restarts: int = 8
    restart_every: float = 20.0
    #: stamina's test mode in-process (same attempts, no backoff sleeps): the ManualClock of
    #: the round-driven phase already compresses time, and real backoffs would not fit CI.
    fast_retries: bool = True
    #: Longer, slower faults (real client timeouts, Discord 5xx outages): the long mode.
    heavy_faults: bool = False
    #: Upstream / Discord fault rates per round.
    upstream_rate: float = 0.035
    discord_rate: float = 0.05
    stuck_after_minutes: float = 20.0
    subprocess_log_level: str = "DEBUG"
    verbose: bool = False
    #: Called with one progress line now and then (long mode).
    progress: Callable[[str], None] | None = None


@dataclass
class Incarnation:
    index: int
    kind: str               # "subprocess" | "inprocess"
    first_request: int      # index into Soak.log
    clean_end: bool = False  # stopped with no tick in flight
    how: str = ""           # how it ended


@dataclass
class Report:
    seed: int
    jobs_finished: int = 0          # simulator jobs that finished (non-legacy)
    jobs_seen: int = 0              # ... of which a committed scheduler read showed running
    expected: int = 0               # job alerts the bot must have posted (outcomes + stuck)
    expected_outcomes: int = 0
    expected_stuck: int = 0
    delivered: int = 0              # distinct job alerts Discord received
    delivered_total: int = 0        # distinct alerts of any kind
    duplicated: int = 0             # extra copies of any alert
    lost: int = 0                   # expected job alerts never delivered
    invented: int = 0               # delivered alerts without a matching truth
    unexpected_ok: int = 0          # delivered, true, but not required (seen only by a read
    #                                 that may not have been committed)
    capacity_exhausted: int = 0
    capacity_restored: int = 0
    capacity_required: int = 0      # lower bound from the damped truth
    capacity_lost: int = 0
    upstream_alerts: int = 0
    messages: int = 0               # alert messages Discord holds
    summarised: int = 0             # ... of which summaries (ids matched through the nonce)
    nonce_repeats: int = 0          # POSTs Discord answered with an earlier message
    restarts: int = 0
    kills: int = 0                  # SIGKILLs of the subprocess
    hard_stops: int = 0             # in-process stops at a random moment
    rounds: int = 0
    ticks_ok: int = 0               # committed snapshots (all providers)
    faults: Counter[str] = field(default_factory=Counter)
    fault_hits: int = 0
    seconds: float = 0.0
    subprocess_seconds: float = 0.0
    drain_rounds: int = 0
    sim_seconds: float = 0.0
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def faults_injected(self) -> int:
        return sum(self.faults.values())

    def lines(self) -> list[str]:
        kinds = ", ".join(f"{k} {v}" for k, v in sorted(self.faults.items()))
        return [
            f"soak seed {self.seed}: {self.seconds:.1f} s wall ({self.subprocess_seconds:.1f} s "
            f"of it with the bot as a subprocess), {self.sim_seconds / 3600:.1f} h simulated, "
            f"{self.rounds} rounds ({self.drain_rounds} to drain), {self.ticks_ok} committed "
            f"in-process snapshots",
            f"  jobs finished {self.jobs_finished}, seen running {self.jobs_seen}",
            f"  job alerts: expected {self.expected} ({self.expected_outcomes} outcomes + "
            f"{self.expected_stuck} stuck), delivered {self.delivered}, duplicated "
            f"{self.duplicated}, lost {self.lost}, invented {self.invented}, "
            f"true-but-optional {self.unexpected_ok}",
            f"  capacity: {self.capacity_exhausted} exhausted / {self.capacity_restored} "
            f"restored (at least {self.capacity_required} required, {self.capacity_lost} lost); "
            f"upstream alerts "
            f"{self.upstream_alerts}",
            f"  messages {self.messages} ({self.summarised} summaries), nonce repeats dropped "
            f"by Discord {self.nonce_repeats}",
            f"  restarts {self.restarts} ({self.kills} SIGKILL, {self.hard_stops} in-process "
            f"hard stops), faults injected "
            f"{self.faults_injected} ({kinds}); fault hits "
            f"{self.fault_hits}",
            *(f"  NOTE: {n}" for n in self.notes[:10]),
            *(f"  PROBLEM: {p}" for p in self.problems[:40]),
            *([f"  … {len(self.problems) - 40} more problems"] if len(self.problems) > 40
              else []),
        ]

    def __str__(self) -> str:
        return "\n".join(self.lines())


@dataclass
class SoakResult:
    report: Report
    discord_token: str
    useapi_token: str
    db_path: Path
    workdir: Path
    subprocess_output: list[Path]
    log_text: str                       # in-process logging, every record rendered
    errors: list[str]                   # exception texts the bot recorded (health, watcher)
    request_bodies: list[str]           # every body the fake Discord received, as text
    settings_text: list[str]            # repr/str of the settings used
    emails: list[str]                   # every simulator account e-mail
    engine: Soak                        # for re-running `analyse` (tests of the checker)


# =============================================================================== the run

class _CaptureHandler(logging.Handler):
    """Every log record of the process, rendered (the secrets test reads them all); with
    `keep` set, only the last `keep` lines (the long mode)."""

    def __init__(self, keep: int | None = None) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.keep = keep
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.lines.append(self.format(record))
        except Exception:  # pragma: no cover - a broken record must not stop the soak
            self.lines.append(f"<unformattable record from {record.name}>")
        if self.keep is not None and len(self.lines) > 2 * self.keep:
            del self.lines[:-self.keep]


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
        tag = f"{config.seed}-{secrets.token_hex(6)}"
        self.discord_token = f"SOAKdiscordTOKEN.{tag}.zz"
        self.useapi_token = f"SOAKuseapiTOKEN-{tag}-yy"
        start = datetime.now(UTC).replace(microsecond=0)
        self.clock = ManualClock(start)
        self.sim = Simulator(seed=config.seed, accounts=config.accounts, jobs=config.jobs,
                             token=self.useapi_token, clock=self.clock)
        self.initial_full: dict[tuple[str, str], bool] = {
            (p, a.account): a.available == 0 for p in PROVIDERS for a in self.sim.accounts(p)}
        self.server = SimServer(self.sim)
        self.fake = FakeDiscord(token=self.discord_token)
        self.log: list[tuple[int, SimRequest]] = []
        self.incs: list[Incarnation] = []
        self.inc: Incarnation | None = None
        self.last_request = time.monotonic()
        self.report = Report(seed=config.seed)
        self.sim_faults: list[SimFault] = []
        self.errors: list[str] = []
        self._error_set: set[str] = set()
        self.outputs: list[Path] = []
        self.settings_text: list[str] = []
        self._q_event = asyncio.Event()
        self._started = time.monotonic()
        self._orig_log_request = self.sim.log_request
        self.sim.log_request = self._log_request  # type: ignore[method-assign]
        self._windows: dict[str, tuple[int, list[Any]]] = {}  # name -> (rounds left, undo)
        self.round = 0
        self._next_stop = time.monotonic() + config.restart_every
        self._scheduled: set[tuple[int, int]] = set()

    # ------------------------------------------------------------------ bookkeeping
    def _log_request(self, method: str, path: str, query: str) -> SimRequest:
        entry = self._orig_log_request(method, path, query)
        self.log.append((self.inc.index if self.inc else -1, entry))
        self.last_request = time.monotonic()
        if any(rx.match(path) for rx in QUEUE_RE.values()):
            self._q_event.set()
        return entry

    def _say(self, line: str) -> None:
        if self.cfg.progress is not None:
            self.cfg.progress(line)

    def _new_inc(self, kind: str) -> Incarnation:
        inc = Incarnation(len(self.incs), kind, len(self.log))
        self.incs.append(inc)
        self.inc = inc
        self.report.restarts = max(0, len(self.incs) - 1)
        return inc

    def _in_flight(self) -> bool:
        return any(e.seconds is None for _, e in self.log[-40:])

    def _fault(self, pattern: str, kind: str, label: str, **kwargs: Any) -> SimFault:
        f = self.sim.faults.set(pattern, kind, **kwargs)
        self.sim_faults.append(f)
        self.report.faults[label] += 1
        return f

    def settings_values(self, **overrides: Any) -> dict[str, Any]:
        values: dict[str, Any] = dict(
            discord_token=self.discord_token, useapi_token=self.useapi_token,
            useapi_base_url=self.server.url, discord_api_base_url=self.fake.api_base,
            discord_gateway_url=self.fake.gateway_url, guild_ids=[self.fake.guild_id],
            alert_channel_id=self.alert_channel, poll_interval_seconds=5,
            stuck_after_minutes=self.cfg.stuck_after_minutes,
            database_url=f"sqlite+aiosqlite:///{self.db_path}")
        values.update(overrides)
        return values

    @property
    def alert_channel(self) -> int:
        return self.fake.channel_ids[0]

    # ------------------------------------------------------------------ top level
    async def run(self) -> SoakResult:
        capture = self._capture = _CaptureHandler(
            None if self.cfg.minutes is None else 20_000)
        loggers = {name: logging.getLogger(name) for name in
                   ("bot", "cogs", "discord", "httpx", "httpcore", "aiohttp")}
        old_levels = {name: lg.level for name, lg in loggers.items()}
        for name, lg in loggers.items():
            lg.setLevel(logging.DEBUG if name in ("bot", "cogs", "discord", "httpx")
                        else logging.INFO)
        root = logging.getLogger()
        root.addHandler(capture)
        route_base = discord.http.Route.BASE
        gateway = discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
        testing = (stamina.set_testing(True, attempts=4, cap=True) if self.cfg.fast_retries
                   else contextlib.nullcontext())
        try:
            await self.server.start()
            await self.fake.start()
            with testing:
                await self._subprocess_phase()
                self.report.subprocess_seconds = time.monotonic() - self._started
                await self._inprocess_phase()
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
        self.report.fault_hits = (sum(f.hits for f in self.sim_faults)
                                  + sum(f.hits for f in self._fake_faults)
                                  + sum(d.hits for d in self._fake_delays))
        self.report.nonce_repeats = int(getattr(self.fake, "nonce_duplicates", 0))
        analyse(self, self.report)
        bodies = []
        for r in self.fake.requests:
            if r.json is not None:
                bodies.append(r.json if isinstance(r.json, str)
                              else json.dumps(r.json, ensure_ascii=False))
        emails = sorted({a.email for p in PROVIDERS for a in self.sim.accounts(p) if a.email})
        return SoakResult(
            report=self.report, discord_token=self.discord_token,
            useapi_token=self.useapi_token, db_path=self.db_path, workdir=self.workdir,
            subprocess_output=self.outputs, log_text="\n".join(capture.lines),
            errors=self.errors, request_bodies=bodies, settings_text=self.settings_text,
            emails=emails, engine=self)

    _fake_faults: list[Any]
    _fake_delays: list[Any]

    # ------------------------------------------------------------------ subprocess phase
    async def _subprocess_phase(self) -> None:
        self._fake_faults, self._fake_delays = [], []
        stop = asyncio.Event()
        driver = asyncio.create_task(self._drive_clock(stop))
        try:
            for n in range(self.cfg.kills):
                await self._one_subprocess(n)
        finally:
            stop.set()
            await driver

    async def _drive_clock(self, stop: asyncio.Event) -> None:
        """Move simulated time on (~10x real) only in quiet moments, so that a tick's
        scheduler and capacity reads always see the same simulated instant."""
        owed = 0.0
        last = time.monotonic()
        while not stop.is_set():
            await asyncio.sleep(0.05)
            now = time.monotonic()
            owed += (now - last) * 10.0
            last = now
            if owed >= 2.0 and now - self.last_request > 0.06 and not self._in_flight():
                self.sim.advance(owed)
                owed = 0.0

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.upper().startswith(_SETTING_ENV)}
        env.update({
            "DISCORD_TOKEN": self.discord_token, "USEAPI_TOKEN": self.useapi_token,
            "USEAPI_BASE_URL": self.server.url, "DISCORD_API_BASE_URL": self.fake.api_base,
            "DISCORD_GATEWAY_URL": self.fake.gateway_url, "GUILD_IDS": str(self.fake.guild_id),
            "ALERT_CHANNEL_ID": str(self.alert_channel),
            "DATABASE_URL": f"sqlite+aiosqlite:///{self.db_path}",
            "POLL_INTERVAL_SECONDS": "5",
            "STUCK_AFTER_MINUTES": f"{self.cfg.stuck_after_minutes:g}",
            "LOG_LEVEL": self.cfg.subprocess_log_level, "PYTHONUNBUFFERED": "1",
            "PYTHONPATH": str(ROOT) + os.pathsep + env.get("PYTHONPATH", ""),
        })
        return env

    def _q_requests(self, inc: Incarnation, provider: str) -> int:
        rx = QUEUE_RE[provider]
        return sum(1 for i, e in self.log[inc.first_request:] if i == inc.index
                   and rx.match(e.path))

    async def _one_subprocess(self, n: int) -> None:
        inc = self._new_inc("subprocess")
        out = self.workdir / f"bot-{inc.index}.log"
        self.outputs.append(out)
        mark = self.fake.mark()
        mid_delivery = n % 2 == 0
        if mid_delivery:  # hold the first alert POST so that the kill lands while it is out
            self._fake_delays.append(self.fake.delay(POST_MESSAGE, 3.0, count=1))
            self.report.faults["discord slow answer"] += 1
        job_fault = self._fault(JOB_PATTERN[PROVIDERS[n % 3]], "status", "upstream job 500",
                                status=500, probability=0.3)
        hostile = None
        if n == 1:  # 401 whose body echoes the token back: a hostile upstream / proxy
            hostile = self._fault("minimax", "status", "upstream 401 (echoing the token)",
                                  status=401, body={"error": f"Invalid API token "
                                                    f"{self.useapi_token}", "code": 401})
        with out.open("wb") as sink:
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "run", cwd=str(self.workdir), env=self._env(),
                stdout=sink, stderr=asyncio.subprocess.STDOUT)
            try:
                await self.fake.wait_for(
                    lambda r: r.method == "PUT" and r.path.endswith("/commands"),
                    timeout=40, start=mark)
                if mid_delivery:
                    await self.fake.wait_for(
                        lambda r: r.method == "POST" and re.match(POST_MESSAGE, r.key)
                        is not None, timeout=40, start=mark, answered=False)
                    inc.how = "SIGKILL mid-delivery"
                else:
                    # one tick of every provider, then hold the next scheduler read, kill
                    await until(lambda: all(self._q_requests(inc, p) >= 1 for p in PROVIDERS)
                                and not self._in_flight(), 40, "the subprocess's first ticks")
                    target = PROVIDERS[self.rng.randrange(3)]
                    held = self._fault(QUEUE_RE[target].pattern, "latency",
                                       "upstream slow answer", seconds=3.0, count=1)
                    await until(lambda: held.hits >= 1, 30, "the held scheduler read")
                    inc.how = "SIGKILL mid-tick"
                proc.send_signal(signal.SIGKILL)
                self.report.kills += 1
            finally:
                if proc.returncode is None:
                    with contextlib.suppress(ProcessLookupError):
                        proc.kill()
                await proc.wait()
        self.sim.faults.remove(job_fault.id)
        if hostile is not None:
            self.sim.faults.remove(hostile.id)
        self._say(f"subprocess {n + 1}: {inc.how}")

    # ------------------------------------------------------------------ in-process phase
    def _bot_clock(self) -> datetime:
        return self.sim.now()

    async def _start(self) -> _Live:
        # A restart takes a moment (and two ticks never share an instant, nor a batch name).
        self.sim.advance(self.rng.uniform(0.5, 3.0))
        inc = self._new_inc("inprocess")
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
        for c in self._provider_cogs(bot):
            def ticked(c: ProviderCog = c) -> bool:
                return c.watcher.last_report is not None and not c.watcher._lock.locked()

            await until(ticked, 60, "the start-up tick")
            if c.watcher.ticks != 1:
                raise SoakError(f"{c.provider.name}: the poll loop ticked twice at start-up")
            c.poll.cancel()
        return _Live(bot, task, inc)

    @staticmethod
    def _provider_cogs(bot: OpsBot) -> list[ProviderCog]:
        return [c for c in bot.cogs.values() if isinstance(c, ProviderCog)]

    async def _stop(self, live: _Live, how: str, *, clean: bool, graceful: bool = False
                    ) -> None:
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
            recent = [line[:3000] for line in self._capture.lines[-20000:]
                      if line.startswith("ERROR") or "sqlalchemy" in line][-12:]
            raise SoakError(
                f"the bot did not stop ({how}) in round {self.round}; pool "
                f"{live.bot.store.engine.pool.status()} {_pool_dump(live.bot)}; threads "
                f"{[t.name for t in threading.enumerate()]}; tasks:\n{_task_dump()}\n"
                + "\n".join(recent))
        if not live.task.cancelled() and live.task.exception() is not None:
            raise SoakError(f"the bot failed ({how}): {live.task.exception()!r}")

    def _record_errors(self, bot: OpsBot) -> None:
        for c in self._provider_cogs(bot):
            if c.watcher.last_error:
                self.errors.append(c.watcher.last_error)

    async def _ticks(self, live: _Live) -> list[asyncio.Task[None]]:
        return [asyncio.create_task(c._tick()) for c in self._provider_cogs(live.bot)]

    async def _round(self, live: _Live) -> None:
        self.round += 1
        self.report.rounds += 1
        self.sim.advance(self.rng.uniform(*self.cfg.step))
        tasks = await self._ticks(live)
        await asyncio.gather(*tasks)
        self._count_ok(live)
        self._wake(live)

    def _count_ok(self, live: _Live) -> None:
        for c in self._provider_cogs(live.bot):
            report = c.watcher.last_report
            if report is not None and report.ok:
                self.report.ticks_ok += 1
            elif report is not None and report.error and report.error not in self._error_set:
                self._error_set.add(report.error)
                self.errors.append(report.error)

    @staticmethod
    def _delivery_cog(bot: OpsBot) -> Any:
        return bot.get_cog("Delivery")

    def _wake(self, live: _Live) -> None:
        cog = self._delivery_cog(live.bot)
        if cog is not None:
            cog.deliverer.wake()

    def _hard_stop_due(self, restarts_done: int) -> bool:
        if self.cfg.minutes is not None:
            if time.monotonic() < self._next_stop:
                return False
            self._next_stop = time.monotonic() + self.cfg.restart_every * self.rng.uniform(
                0.5, 1.5)
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
        deadline = (time.monotonic() + self.cfg.minutes * 60 if self.cfg.minutes is not None
                    else None)
        last_say = time.monotonic()
        while (self.round < self.cfg.rounds if deadline is None
               else time.monotonic() < deadline):
            await self._chaos()
            if self._hard_stop_due(stops):
                stops += 1
                live = await self._hard_stop(live, stops)
                continue
            await self._round(live)
            if time.monotonic() - last_say > 15:
                last_say = time.monotonic()
                self._say(f"round {self.round}: {len(self.sim.events('job_finished'))} jobs "
                          f"finished, {len(self.fake.messages(self.alert_channel))} messages, "
                          f"{len(self.incs) - 1} restarts")
        await self._drain(live)

    async def _hard_stop(self, live: _Live, n: int) -> _Live:
        way = ("between ticks", "mid-tick", "mid-delivery")[n % 3]
        if way == "between ticks":
            await self._stop(live, "hard stop between ticks", clean=True)
        elif way == "mid-tick":
            self.sim.advance(self.rng.uniform(*self.cfg.step))
            self._q_event.clear()
            tasks = await self._ticks(live)
            await until(lambda: self._q_event.is_set(), 10, "a scheduler read")
            for _ in range(self.rng.randrange(4)):  # anywhere from the read to the commit
                await asyncio.sleep(0)
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self._stop(live, "hard stop mid-tick", clean=False)
        else:
            delay = self.fake.delay(POST_MESSAGE, 0.6, count=1)
            self._fake_delays.append(delay)
            self.report.faults["discord slow answer"] += 1
            mark = self.fake.mark()
            for _ in range(20):  # rounds until a tick has something to post
                await self._round(live)
                with contextlib.suppress(WaitTimeout):
                    await self.fake.wait_for(
                        lambda r: r.method == "POST" and re.match(POST_MESSAGE, r.key)
                        is not None, timeout=1.5, start=mark, answered=False)
                    break
            await self._stop(live, "hard stop mid-delivery", clean=True)
            if delay in self.fake.delays:
                self.fake.delays.remove(delay)
        self.report.hard_stops += 1
        return await self._start()

    # ------------------------------------------------------------------ faults
    def _window(self, name: str, rounds: int, undo: list[Any]) -> None:
        self._windows[name] = (rounds, undo)

    def _close_window(self, name: str) -> None:
        _, undo = self._windows.pop(name)
        for item in undo:
            if isinstance(item, SimFault):
                self.sim.faults.remove(item.id)
            elif item in self.fake.faults:
                self.fake.faults.remove(item)
            elif item in self.fake.delays:
                self.fake.delays.remove(item)

    async def _chaos(self) -> None:
        """Switch faults on and off for the coming round."""
        for name in list(self._windows):
            left, undo = self._windows[name]
            if left <= 1:
                self._close_window(name)
            else:
                self._windows[name] = (left - 1, undo)
        rng = self.rng
        cycle, at = ((0, self.round) if self.cfg.minutes is None
                     else divmod(self.round, SCHEDULE_EVERY))
        # every planned fault whose round has come (a mid-delivery stop runs rounds itself)
        due = [k for k in sorted(SCHEDULE) if k <= at and (cycle, k) not in self._scheduled]
        for k in due:
            self._scheduled.add((cycle, k))
            where, what = SCHEDULE[k]
            p = PROVIDERS[rng.randrange(3)]
            name = "discord" if where == "discord" else f"{where}:{p}"
            if name in self._windows:
                self._close_window(name)
            if where == "up":
                self._upstream(p, what)
            elif where == "job":
                self._job_fault(p, what)
            else:
                await self._discord(what)
        for p in PROVIDERS:
            if f"up:{p}" not in self._windows and rng.random() < self.cfg.upstream_rate:
                self._upstream(p, rng.choice(("5xx", "429", "401", "402", "garbage", "html",
                                              "timeout", "queue", "capacity", "5xx")))
            if f"job:{p}" not in self._windows and rng.random() < self.cfg.upstream_rate:
                self._job_fault(p, rng.choice(("500", "429", "401", "garbage", "html")))
        if "discord" not in self._windows and rng.random() < self.cfg.discord_rate:
            await self._discord(rng.choice(("429", "429", "500", "slow", "slow", "outage",
                                            "gateway")))

    def _upstream(self, p: str, choice: str) -> None:
        """A provider-wide (or queue-only / capacity-only) upstream fault for a few rounds."""
        rng, heavy = self.rng, self.cfg.heavy_faults
        rounds = rng.randint(1, 4)
        if choice == "5xx":
            status = rng.choice((500, 502, 503))
            f = self._fault(p, "status", f"upstream {status}", status=status)
            rounds = rng.randint(3, 5)  # long enough to be announced as unreachable
        elif choice == "429":
            f = self._fault(p, "status", "upstream 429", status=429)
        elif choice in ("401", "402", "401 echo"):
            status = int(choice[:3])
            body = ({"error": f"token {self.useapi_token} is not valid", "code": 401}
                    if choice == "401 echo" else None)
            label = "upstream 401 (echoing the token)" if body else f"upstream {status}"
            f = self._fault(p, "status", label, status=status, body=body)
            rounds = rng.randint(3, 5)
        elif choice == "garbage":
            f = self._fault(p, "garbage", "upstream garbage body")
        elif choice == "html":
            f = self._fault(p, "html", "upstream html page", status=502)
        elif choice == "timeout":
            # heavy: longer than the client's 10 s timeout, so the client gives up itself
            f = self._fault(p, "timeout", "upstream timeout", seconds=11.0 if heavy else 0.05,
                            probability=0.3 if heavy else 0.5)
            rounds = 1 if heavy else rng.randint(1, 2)
        elif choice == "queue":
            f = self._fault(QUEUE_RE[p].pattern, "status", "upstream queue 503", status=503,
                            probability=0.5)
        else:
            f = self._fault(CAPACITY_RE[p].pattern, "status", "upstream capacity 500",
                            status=500, probability=0.5)
        self._window(f"up:{p}", rounds, [f])

    def _job_fault(self, p: str, kind: str) -> None:
        """Job lookups failing now and then: jobs wait in `pending` and are resolved later."""
        rng = self.rng
        prob = rng.uniform(0.3, 0.8)
        if kind in ("garbage", "html"):
            f = self._fault(JOB_PATTERN[p], kind, f"upstream job {kind}", probability=prob)
        else:
            f = self._fault(JOB_PATTERN[p], "status", f"upstream job {kind}", status=int(kind),
                            probability=prob)
        self._window(f"job:{p}", rng.randint(1, 5), [f])

    async def _discord(self, choice: str) -> None:
        rng, heavy = self.rng, self.cfg.heavy_faults
        undo: list[Any] = []
        rounds = rng.randint(1, 3)
        if choice == "429":
            f = self.fake.fail(POST_MESSAGE, 429, count=rng.randint(1, 3),
                               retry_after=rng.uniform(0.05, 0.3))
            self.report.faults["discord 429"] += 1
            undo.append(f)
        elif choice == "500":
            # discord.py retries a 5xx itself, sleeping 1 s, 3 s, …; five in a row make it
            # give up (the outbox retries later): only in the long mode.
            f = self.fake.fail(POST_MESSAGE, 500, count=5 if heavy else 1)
            self.report.faults["discord 500"] += 1
            undo.append(f)
        elif choice == "slow":
            d = self.fake.delay(POST_MESSAGE, rng.uniform(0.1, 0.5), count=rng.randint(1, 4))
            self.report.faults["discord slow answer"] += 1
            self._fake_delays.append(d)
            undo.append(d)
        elif choice == "outage":  # long enough for discord.py to give up: outbox back-off
            f = self.fake.fail(POST_MESSAGE, 429, count=None, retry_after=0.02)
            self.report.faults["discord 429 outage"] += 1
            undo.append(f)
            rounds = rng.randint(1, 4)
        else:
            if self.fake.connected:
                await self.fake.drop_gateway()
                self.report.faults["discord gateway dropped"] += 1
            rounds = 1
        for item in undo:
            if item not in self._fake_delays:
                self._fake_faults.append(item)
        self._window("discord", rounds, undo)

    # ------------------------------------------------------------------ drain
    def _outbox(self, now: datetime) -> tuple[int, int]:
        """(rows due or claimed now, rows pending in all) – read from the database file."""
        t = now.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
        conn = sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, timeout=30)
        try:
            due = conn.execute(
                "SELECT count(*) FROM alert_outbox WHERE state = 'pending' AND "
                "(next_attempt_at <= ? OR claimed_until IS NOT NULL)", (t,)).fetchone()[0]
            total = conn.execute(
                "SELECT count(*) FROM alert_outbox WHERE state = 'pending'").fetchone()[0]
        finally:
            conn.close()
        return int(due), int(total)

    async def _drain(self, live: _Live) -> None:
        for name in list(self._windows):
            self._close_window(name)
        self.sim.faults.clear()
        self.fake.clear_faults()
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
            def due_sent(now: datetime = now) -> bool:
                return self._outbox(now)[0] == 0

            await until(due_sent, 20, "the due alerts to go out", every=0.05)
            waiting = self._outbox(now)[1]
            settled = settled + 1 if waiting == 0 and pending_jobs == 0 else 0
            if settled >= 2:
                break
        else:
            self.report.problems.append(
                f"drain did not settle: outbox {await store.outbox_counts()}")
        await self._stop(live, "clean stop after the drain", clean=True, graceful=True)


# =============================================================================== analysis

@dataclass(frozen=True)
class _Group:
    """One scheduler+capacity read pair of one provider by one incarnation."""

    inc: int
    provider: str
    t: datetime
    q_ok: bool
    c_ok: bool
    first_pos: int  # position of its queue read in the log

    @property
    def ok(self) -> bool:
        return self.q_ok and self.c_ok


def _groups(soak: Soak) -> dict[str, list[tuple[_Group, bool]]]:
    """Per provider, every read group in log order with whether it is known committed.

    A group is known committed when its tick finished within the same incarnation (the
    provider's next scheduler read came from the same process: ticks of one provider never
    overlap), or the incarnation stopped with no tick in flight."""
    raw: dict[tuple[int, str, datetime], dict[str, Any]] = {}
    q_positions: dict[tuple[int, str], list[int]] = defaultdict(list)
    for pos, (inc, e) in enumerate(soak.log):
        if inc < 0 or e.method != "GET":
            continue
        for p in PROVIDERS:
            is_q = QUEUE_RE[p].match(e.path) is not None
            is_c = not is_q and CAPACITY_RE[p].match(e.path) is not None
            if not (is_q or is_c):
                continue
            ok = e.status == 200 and e.fault is None
            g = raw.setdefault((inc, p, e.t), {"q": False, "c": False, "pos": None})
            if is_q:
                g["q"] = g["q"] or ok
                if g["pos"] is None:
                    g["pos"] = pos
                q_positions[(inc, p)].append(pos)
            else:
                g["c"] = g["c"] or ok
            break
    clean = {i.index: i.clean_end for i in soak.incs}
    out: dict[str, list[tuple[_Group, bool]]] = {p: [] for p in PROVIDERS}
    for (inc, p, t), g in raw.items():
        if g["pos"] is None:
            continue
        group = _Group(inc, p, t, g["q"], g["c"], g["pos"])
        later = any(pos > g["pos"] and soak.log[pos][1].t > t
                    for pos in q_positions[(inc, p)])
        out[p].append((group, later or clean.get(inc, False)))
    for p in PROVIDERS:
        out[p].sort(key=lambda item: item[0].first_pos)
    return out


def _full_timeline(soak: Soak, jobs: list[Any]
                   ) -> dict[tuple[str, str], tuple[list[datetime], list[bool]]]:
    """Per account: change times and whether it is full from each of them on, as useapi
    shows it: running jobs (MiniMax: running *video* jobs, which is what its capacity
    counts) against maxJobs. The simulator's own account_exhausted/account_restored history
    counts every job; for PixVerse and Dreamina it is checked to agree (see `analyse`)."""
    t0 = soak.sim.t0.timestamp()
    deltas: dict[tuple[str, str], list[tuple[float, int]]] = defaultdict(list)
    for job in jobs:
        if job.account is None or (job.provider == "minimax" and job.kind != "video"):
            continue
        deltas[(job.provider, job.account)].append((max(job.started_ts, t0), 1))
        if job.finished_ts is not None:
            deltas[(job.provider, job.account)].append((job.finished_ts, -1))
    lines: dict[tuple[str, str], tuple[list[datetime], list[bool]]] = {}
    for p in PROVIDERS:
        for acct in soak.sim.accounts(p):
            times, values = [soak.sim.t0], [False]
            n = 0
            changes = sorted(deltas[(p, acct.account)])
            i = 0
            while i < len(changes):
                t = changes[i][0]
                while i < len(changes) and changes[i][0] == t:
                    n += changes[i][1]
                    i += 1
                full = n >= acct.max_jobs
                if full != values[-1]:
                    times.append(datetime.fromtimestamp(t, UTC))
                    values.append(full)
            lines[(p, acct.account)] = (times, values)
    return lines


def _history_timeline(soak: Soak) -> dict[tuple[str, str], tuple[list[datetime], list[bool]]]:
    """The same from the simulator's account_exhausted / account_restored events."""
    t0 = soak.sim.t0
    lines: dict[tuple[str, str], tuple[list[datetime], list[bool]]] = {
        key: ([t0], [full]) for key, full in soak.initial_full.items()}
    for ev in soak.sim.history:
        if ev.kind not in ("account_exhausted", "account_restored") or ev.account is None:
            continue
        times, values = lines.setdefault((ev.provider, ev.account), ([t0], [False]))
        times.append(ev.t)
        values.append(ev.kind == "account_exhausted")
    return lines


def _full_at(line: tuple[list[datetime], list[bool]], t: datetime) -> bool:
    times, values = line
    i = bisect_right(times, t) - 1
    return values[max(i, 0)]


def _runs(values: list[tuple[bool, bool]]) -> list[tuple[bool, int, int]]:
    """(value, reads, known-committed reads) of each maximal run of equal values."""
    runs: list[tuple[bool, int, int]] = []
    for value, safe in values:
        if runs and runs[-1][0] == value:
            v, n, s = runs[-1]
            runs[-1] = (v, n + 1, s + int(safe))
        else:
            runs.append((value, 1, int(safe)))
    return runs


def _required_transitions(runs: list[tuple[bool, int, int]]) -> tuple[int, int, bool | None]:
    """From the damped truth (a value is announced once two committed reads in a row show
    it): the fewest exhausted and restored announcements, and the final announced state
    (None when the last settled run does not decide it)."""
    announced = False
    exhausted = restored = 0
    final: bool | None = False
    for value, _, safe in runs:
        if safe < 2:
            final = None if value != announced else final
            continue
        if value and not announced:
            exhausted += 1
        elif not value and announced:
            restored += 1
        announced = value
        final = value
    return exhausted, restored, final


def _shown(times: list[float], start: float, end: float) -> bool:
    """Whether any read time t (sorted) has start <= t < end."""
    i = bisect_left(times, start)
    return i < len(times) and times[i] < end


def _db_rows(db_path: Path) -> list[dict[str, Any]]:
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        conn.row_factory = sqlite3.Row
        rows = conn.execute("SELECT id, key, batch, channel_id, mention_role_id, state, event, "
                            "sent_message_id FROM alert_outbox ORDER BY id").fetchall()
        return [dict(r) for r in rows]
    finally:
        conn.close()


def _db_count(db_path: Path, table: str) -> int:
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
    finally:
        conn.close()


def _embed_text(e: Mapping[str, Any]) -> tuple[str, str, str]:
    return (e.get("title") or "", e.get("description") or "",
            (e.get("footer") or {}).get("text") or "")


def analyse(soak: Soak, report: Report) -> None:
    """Compare what the fake Discord received with the simulator's ground truth.

    *Reads*: the simulator's request log, tagged with the incarnation that made each request.
    A snapshot succeeded when the scheduler and the capacity read of one tick (same
    incarnation, same simulated instant) were both answered 200 without a fault; it is *known
    committed* when the same process later started another tick of that provider (ticks of a
    provider never overlap, and a tick commits before it ends), or stopped cleanly.

    *Expected job alerts*: a finished job shown running by a known-committed snapshot, when a
    later known-committed snapshot was taken after it finished, must be reported once with the
    simulator's outcome; a job that a known-committed snapshot showed running for at least
    STUCK_AFTER_MINUTES must be reported `stuck` once. A job that started and ended between
    two reads was never seen and is not expected.

    *Delivered*: every message in the alert channel is matched to its outbox group through its
    nonce (a hash of the group's event keys), and its embeds must equal what those events
    render to; a single-alert embed must name the job (escaped id) and the word literally.
    Messages Discord dropped as nonce repeats are not messages.

    *Invented*: a delivered job alert whose job the simulator never ran, whose outcome differs
    from the simulator's, that no successful read could have shown, or `stuck` for a job that
    never ran that long; a capacity `exhausted` for an account no successful read showed full
    (all accounts full for the provider-wide one); a `restored` without the same episode's
    `exhausted` delivered before it; an upstream alert without such a failure upstream.
    """
    sim = soak.sim
    stuck_s = soak.cfg.stuck_after_minutes * 60
    problems = report.problems
    groups = _groups(soak)

    # ---- truth: jobs
    jobs = {}
    for sim_ev in sim.history:
        if sim_ev.kind == "job_finished" and not sim_ev.legacy and sim_ev.job_id:
            job = sim.job(sim_ev.job_id)
            if job is not None:
                jobs[job.id] = job
    running = {j.id: j for j in sim.running()}
    report.jobs_finished = len(jobs)

    def reads(p: str, *, committed_only: bool) -> list[datetime]:
        return sorted(g.t for g, safe in groups[p]
                      if (g.ok if committed_only else g.q_ok) and (safe or not committed_only))

    must: set[str] = set()
    allowed: set[str] = set()
    seen: set[str] = set()
    for p in PROVIDERS:
        committed = reads(p, committed_only=True)
        any_read = reads(p, committed_only=False)
        last_committed = committed[-1] if committed else None
        c_ts = [t.timestamp() for t in committed]
        a_ts = [t.timestamp() for t in any_read]
        for job in [j for j in jobs.values() if j.provider == p] + [
                j for j in running.values() if j.provider == p]:
            s = job.started_ts
            f = job.finished_ts if job.finished_ts is not None else math.inf
            key_final = f"job:{p}:{job.id}:{job.outcome}"
            key_stuck = f"job:{p}:{job.id}:stuck"
            if _shown(c_ts, s, f):
                seen.add(job.id)
                if (job.finished_ts is not None and last_committed is not None
                        and last_committed.timestamp() >= job.finished_ts):
                    must.add(key_final)
            if job.finished_ts is not None and _shown(a_ts, s, f):
                allowed.add(key_final)
            if _shown(c_ts, s + stuck_s, f):
                must.add(key_stuck)
            if _shown(a_ts, s + stuck_s, f):
                allowed.add(key_stuck)
    report.jobs_seen = len(seen)
    report.expected = len(must)
    report.expected_stuck = sum(1 for k in must if k.endswith(":stuck"))
    report.expected_outcomes = report.expected - report.expected_stuck

    # ---- what Discord received, decoded through the outbox
    rows = _db_rows(soak.db_path)
    by_group: dict[tuple[Any, str, Any], list[dict[str, Any]]] = defaultdict(list)
    by_message: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        if r["state"] in ("muted", "unrouted"):
            continue
        by_group[(r["channel_id"], r["batch"], r["mention_role_id"])].append(r)
        if r["sent_message_id"] is not None:
            by_message[str(r["sent_message_id"])].append(r)
    by_nonce = {nonce_for([r["key"] for r in g]): g for g in by_group.values()}
    titles = {p: provider_registry.load(p).title for p in PROVIDERS}
    delivered: list[str] = []
    for msg in soak.fake.messages():
        if msg["channel_id"] != str(soak.alert_channel):
            problems.append(f"message {msg['id']} in an unexpected channel {msg['channel_id']}")
            continue
        nonce = str(msg.get("nonce"))
        # The rows the bot marked sent with this message, else (it died before it could
        # mark them) the outbox group with this nonce.
        group = by_message.get(str(msg["id"])) or by_nonce.get(nonce)
        if group is None or nonce_for([r["key"] for r in group]) != nonce:
            problems.append(f"message {msg['id']} matches no outbox group (nonce "
                            f"{nonce!r}): invented")
            report.invented += 1
            continue
        events = [decode_event(r["event"]) for r in group]
        want = [_embed_text(e.to_dict()) for e in alert_batch(events, titles=titles,
                                                               redact=False)]
        got = [_embed_text(e) for e in msg.get("embeds") or []]
        if want != got:
            problems.append(f"message {msg['id']} does not show its alerts: got {got[:2]!r}")
            report.invented += 1
            continue
        report.messages += 1
        if any("summarised" in footer for _, _, footer in got):
            report.summarised += 1
        else:
            for ev, (title, desc, _) in zip(events, got, strict=True):
                if ev.word not in title:
                    problems.append(f"{ev.key}: the word is not in the title {title!r}")
                if ev.job_id and f"**Job** {escape(display_id(ev.job_id, False))}" not in desc:
                    problems.append(f"{ev.key}: the job id is not in the embed")
        delivered += [r["key"] for r in group]
    counts = Counter(delivered)
    report.duplicated = sum(n - 1 for n in counts.values())
    for key, n in counts.items():
        if n > 1:
            problems.append(f"{key} delivered {n} times")

    # ---- job alerts
    job_keys = {k for k in counts if k.startswith("job:")}
    report.delivered = len(job_keys)
    report.delivered_total = len(counts)
    lost = sorted(must - job_keys)
    report.lost = len(lost)
    for k in lost[:20]:
        problems.append(f"lost: {k}")
    for k in sorted(job_keys - must):
        if k in allowed:
            report.unexpected_ok += 1
        else:
            report.invented += 1
            problems.append(f"invented: {k}")

    # ---- capacity
    timeline = _full_timeline(soak, [*jobs.values(), *running.values()])
    history = _history_timeline(soak)
    order = {k: i for i, k in enumerate(dict.fromkeys(delivered))}
    for p in PROVIDERS:
        accounts = [a.account for a in sim.accounts(p)]
        ok_groups = [(g, safe) for g, safe in groups[p] if g.ok]
        if p != "minimax":
            for a in accounts:
                differ = [g.t for g, _ in ok_groups if _full_at(timeline[(p, a)], g.t)
                          != _full_at(history[(p, a)], g.t)]
                if differ:
                    problems.append(f"{p} {a}: the simulator's history and its jobs disagree "
                                    f"on fullness at {differ[:3]}")
        per_acct: dict[str, list[tuple[bool, bool]]] = {
            a: [(_full_at(timeline[(p, a)], g.t), safe) for g, safe in ok_groups]
            for a in accounts}
        per_acct["*"] = [(all(per_acct[a][i][0] for a in accounts), ok_groups[i][1])
                         for i in range(len(ok_groups))]
        for acct, values in per_acct.items():
            prefix = f"capacity:{p}:{acct}:"
            keys = sorted((k for k in counts if k.startswith(prefix)), key=order.__getitem__)
            words = [(int(k[len(prefix):].split(":")[0]), k.rsplit(":", 1)[1]) for k in keys]
            ex = [n for n, w in words if w == "exhausted"]
            re_ = [n for n, w in words if w == "restored"]
            report.capacity_exhausted += len(ex)
            report.capacity_restored += len(re_)
            expect = [(i // 2 + 1, "exhausted" if i % 2 == 0 else "restored")
                      for i in range(len(words))]
            if words != expect:
                problems.append(f"{prefix} episodes out of order: {words}")
                report.invented += 1
            full_runs = sum(1 for v, _, _ in _runs(values) if v)
            if len(ex) > full_runs:
                problems.append(f"{prefix} {len(ex)} exhausted alerts but only {full_runs} "
                                f"full periods were ever read")
                report.invented += len(ex) - full_runs
            need_ex, need_re, final = _required_transitions(_runs(values))
            report.capacity_required += need_ex + need_re
            if len(ex) < need_ex or len(re_) < need_re:
                problems.append(f"{prefix} lost capacity alerts: {len(ex)}/{need_ex} exhausted, "
                                f"{len(re_)}/{need_re} restored")
                report.capacity_lost += max(0, need_ex - len(ex)) + max(0, need_re - len(re_))
            if final is not None and words and (words[-1][1] == "exhausted") != final:
                problems.append(f"{prefix} ends announced {words[-1][1]} but the account is "
                                f"{'full' if final else 'free'}")

    # ---- upstream
    failures: dict[str, set[str]] = {p: set() for p in PROVIDERS}
    for _, e in soak.log:
        for p in PROVIDERS:
            if QUEUE_RE[p].match(e.path) or CAPACITY_RE[p].match(e.path):
                if e.status == 401:
                    failures[p].add("unauthorized")
                elif e.status == 402:
                    failures[p].add("payment required")
                elif e.fault is not None or (e.status or 200) >= 400 or e.status is None:
                    failures[p].add("unreachable")
    for p in PROVIDERS:
        prefix = f"upstream:{p}:"
        keys = sorted((k for k in counts if k.startswith(prefix)), key=order.__getitem__)
        report.upstream_alerts += len(keys)
        words = [(int(k[len(prefix):].split(":")[0]), k.split(":", 3)[3]) for k in keys]
        # Episodes are announced in order (one bad condition may replace another without a
        # recovery in between); `recovered` closes the episode announced just before it.
        last_episode, last_word = 0, "recovered"
        for n, w in words:
            if w == "recovered":
                if last_word == "recovered" or n != last_episode:
                    problems.append(f"{prefix}{n}:recovered without its announcement: {words}")
                    report.invented += 1
            else:
                if n != last_episode + 1:
                    problems.append(f"{prefix}{n}:{w} out of order: {words}")
                    report.invented += 1
                if w not in failures[p]:
                    problems.append(f"{prefix}{n}:{w} without such a failure upstream")
                    report.invented += 1
                last_episode = n
            last_word = w

    # ---- everything went out, nothing is left waiting
    left = Counter(r["state"] for r in rows)
    if left.get("pending") or left.get("held") or left.get("failed"):
        problems.append(f"outbox not empty at the end: {dict(left)}")
    pending_jobs = _db_count(soak.db_path, "watch_pending")
    if pending_jobs:
        problems.append(f"{pending_jobs} jobs still await their outcome at the end")
    for inc in soak.incs:
        if not inc.how:
            problems.append(f"incarnation {inc.index} did not end as planned")


async def run_soak(config: SoakConfig) -> SoakResult:
    return await Soak(config).run()


#: The CI soak's seed (override with OPSBOT_SOAK_SEED to explore others).
CI_SEED = int(os.environ.get("OPSBOT_SOAK_SEED", "20261128"))


@functools.cache
def ci_result() -> SoakResult:
    """The CI soak, run once per test session and shared by the tests that inspect it."""
    workdir = Path(tempfile.mkdtemp(prefix="opsbot-soak-"))
    atexit.register(shutil.rmtree, workdir, True)
    return asyncio.run(run_soak(SoakConfig(seed=CI_SEED, workdir=workdir)))
