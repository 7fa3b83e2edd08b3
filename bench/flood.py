"""The alert flood (issue 9): 10,000 events in one tick, then one unrelated alert.

1. **Claim** (`Store.claim_outbox`, SQLite): one tick's N pending rows for one channel, N =
   1,000, 3,000 and 10,000, each in a fresh database: seconds per claim (it takes the whole
   batch), and rows claimed per second.
2. **Flood, end to end** (`rig.botharness.running_bot`: the real bot in this process with its
   own tick loops every 5 s, real clock, the simulator and the fake Discord): PixVerse has
   10,000 accounts and every one becomes full at once (maxJobs 0); two ticks later (flap
   damping) one tick queues
   10,001 capacity events (the accounts and the provider). The moment that tick has committed,
   a running MiniMax job ends: the unrelated outcome, at the worst moment, with its tick still
   to come and the flood's delivery starting. Figures: the flood's delivery time (commit → the
   fake Discord received its message), the unrelated alert's latency (job end → its alert at
   Discord) over the poll interval, and ticks that failed meanwhile.
3. **SIGTERM during the flood**: `python -m bot run` in a process of its own (the accounts full
   before it starts), SIGTERM 0.1, 0.3 and 1 s after the flood's rows are in its outbox (read
   from its SQLite file), a fresh process each time: the slowest exit, and the exit statuses.

Every instant is `time.monotonic()` in this process. Figures are printed, never asserted.
"""

from __future__ import annotations

import asyncio
import math
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.alert_latency import MESSAGE_ROUTE, _text, _wait_first_ticks
from bench.common import DISCORD_TOKEN, SIM_TOKEN, child_env, running_bot
from bot.alerts import EXHAUSTED, CapacityObs, OutboxItem, capacity_event
from bot.delivery import nonce_for
from bot.sim import SimServer, Simulator
from bot.store import Store
from rig.botharness import Harness
from rig.fakediscord import FakeDiscord

CLAIM_SIZES = (1_000, 3_000, 10_000)
QUICK_CLAIM_SIZES = (1_000, 3_000)
ACCOUNTS = 10_000
QUICK_ACCOUNTS = 2_000
INTERVAL_S = 5.0
#: How long a stop may take: the delivery cog gives claimed alerts back within 3 s
#: (cogs.delivery.RELEASE_TIMEOUT) and the store waits up to 5 s for operations in flight
#: (bot.store.CLOSE_GRACE_SECONDS): 8 s, inside the 10 s Docker allows before SIGKILL.
STOP_BOUND_S = 10.0
#: SIGTERM this long after the flood's commit: before the claim, during it and the posting
#: (10,000 rows: some tenths of a second), and after.
DELAYS_S = (0.1, 0.3, 1.0)
QUICK_DELAYS_S = (0.1,)
PROVIDERS = ("pixverse", "minimax")
T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


# --------------------------------------------------------------------------- 1. the claim


def flood_items(n: int) -> list[OutboxItem]:
    """N `exhausted` events of one tick for one channel, as the watcher queues them."""
    return [
        OutboxItem(
            capacity_event(
                "pixverse", CapacityObs(f"a{i}@example.com", True, 5, 5), EXHAUSTED, 1, T0
            ),
            100,
            None,
            "pending",
        )
        for i in range(n)
    ]


async def claim_once(n: int, db_dir: Path) -> dict[str, float]:
    """Seconds to queue N rows in one tick and to claim them (one claim: a whole batch)."""
    store = await Store.open(f"sqlite+aiosqlite:///{db_dir / f'claim-{n}.db'}")
    try:
        items = flood_items(n)
        t0 = time.perf_counter()
        await store.commit_tick("pixverse", now=T0, batch="flood", outbox=items)
        t1 = time.perf_counter()
        rows = await store.claim_outbox(limit=200, now=T0, worker_id="bench")
        t2 = time.perf_counter()
        if len(rows) != n:
            raise RuntimeError(f"claimed {len(rows)} of {n} rows")
        return {"commit_s": t1 - t0, "claim_s": t2 - t1}
    finally:
        await store.close()


async def measure_claims(sizes: tuple[int, ...] = CLAIM_SIZES) -> dict[str, Any]:
    claims: dict[str, float] = {}
    commits: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="opsbot-bench-") as tmp:
        for n in sizes:
            got = await claim_once(n, Path(tmp))
            claims[str(n)] = round(got["claim_s"], 3)
            commits[str(n)] = round(got["commit_s"], 3)
    largest = max(sizes)
    return {
        "claim_s": claims,
        "claim_rows_per_s": round(largest / max(claims[str(largest)], 1e-9)),
        "_claim": {"commit_s": commits, "sizes": list(sizes)},
    }


# --------------------------------------------------------------------------- 2. end to end


def flood_sim(accounts: int, *, seed: int = 4) -> Simulator:
    """PixVerse and MiniMax with `accounts` accounts each, a few jobs, static."""
    return Simulator(
        seed=seed, accounts=2 * accounts, jobs=40, token=SIM_TOKEN, providers=PROVIDERS, churn=False
    )


def exhaust(sim: Simulator) -> int:
    """Every PixVerse account full at once; returns how many were not full before."""
    fresh = [a for a in sim.accounts("pixverse") if a.available > 0]
    for a in sim.accounts("pixverse"):
        sim.set_max_jobs("pixverse", a.account, 0)
    return len(fresh)


def _arrival(
    rig: Harness, start: int, *, nonce: str | None = None, naming: str | None = None
) -> float | None:
    """When the fake Discord received the message with `nonce` (the flood's: one tick's rows
    for one channel are one message) or the one `naming` a job."""
    for rec in rig.fake.requests[start:]:
        if rec.route != MESSAGE_ROUTE or not isinstance(rec.json, dict):
            continue
        if (nonce is not None and rec.json.get("nonce") == nonce) or (
            naming is not None and naming in _text(rec.json)
        ):
            return rec.time
    return None


async def measure_flood(
    *, accounts: int = ACCOUNTS, interval: float = INTERVAL_S, deadline_s: float = 300.0
) -> dict[str, Any]:
    """The flood and the unrelated alert through the real bot (see the module's text).
    `interval` below 5 s (the settings' floor) is set on the watchers after start-up (tests)."""
    sim = flood_sim(accounts)
    victim = sim.running("minimax")[0].id
    failures: list[str] = []
    committed: dict[str, float] = {}
    nonce: list[str] = []
    with tempfile.TemporaryDirectory(prefix="opsbot-bench-") as tmp:
        async with running_bot(
            sim,
            Path(tmp),
            poll_interval=max(interval, 5.0),
            manual_ticks=False,
            providers=list(PROVIDERS),
        ) as rig:
            for cog in rig.provider_cogs():
                cog.watcher.config = replace(cog.watcher.config, poll_interval=interval)
                cog.poll.change_interval(seconds=interval)  # (the sleep under way too)
            await _wait_first_ticks(rig)
            flood_in = asyncio.Event()

            async def on_tick(provider: str, report: Any) -> None:
                if report.error:
                    failures.append(f"{provider}: {report.error}")
                if provider == "minimax" and f"job:minimax:{victim}:failed" in report.event_keys:
                    committed["victim_tick"] = time.monotonic()
                if provider == "pixverse" and n and report.queued >= n and not flood_in.is_set():
                    committed["flood"] = time.monotonic()
                    committed["events"] = report.queued
                    nonce.append(nonce_for(report.event_keys))
                    sim.finish_job(victim, "failed")
                    committed["victim_ended"] = time.monotonic()
                    flood_in.set()

            start = rig.fake.mark()
            n = exhaust(sim)
            rig.bot.add_listener(on_tick, "on_opsbot_tick")
            async with asyncio.timeout(4 * interval + 60):
                await flood_in.wait()
            flood_at = unrelated_at = None
            end = time.monotonic() + deadline_s
            while time.monotonic() < end and (flood_at is None or unrelated_at is None):
                await asyncio.sleep(0.05)
                flood_at = flood_at or _arrival(rig, start, nonce=nonce[0])
                unrelated_at = unrelated_at or _arrival(rig, start, naming=victim)
            messages = sum(1 for r in rig.fake.requests[start:] if r.route == MESSAGE_ROUTE)
    delivery = None if flood_at is None else flood_at - committed["flood"]
    latency = None if unrelated_at is None else unrelated_at - committed["victim_ended"]
    return {
        "flood": {
            "events": int(committed["events"]),
            "delivery_s": None if delivery is None else round(delivery, 2),
            "unrelated_alert_over_interval": None
            if latency is None
            else round(latency / interval, 2),
            "failed_ticks": len(failures),
        },
        "_flood": {
            "accounts": n,
            "interval_s": interval,
            "messages": messages,
            "unrelated_latency_s": None if latency is None else round(latency, 2),
            # from the commit of the MiniMax tick that saw the job end to Discord
            "unrelated_after_its_tick_s": None
            if unrelated_at is None or "victim_tick" not in committed
            else round(unrelated_at - committed["victim_tick"], 2),
            "waited_up_to_s": deadline_s,
            "tick_errors": failures[:5],
        },
    }


# --------------------------------------------------------------------------- 3. SIGTERM


def _flood_rows(db: Path) -> int:
    """Capacity rows in the bot's outbox, read-only (0 while the file is not there yet)."""
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)
    except sqlite3.Error:
        return 0
    try:
        (n,) = conn.execute("SELECT count(*) FROM alert_outbox WHERE kind = 'capacity'").fetchone()
        return int(n)
    except sqlite3.Error:
        return 0
    finally:
        conn.close()


def _flood_states(db: Path) -> dict[str, int]:
    """The flood's rows by state (claimed ones as `claimed`), read-only."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)
    try:
        return {
            state: int(n)
            for state, n in conn.execute(
                "SELECT CASE WHEN state = 'pending' AND claimed_by IS NOT NULL THEN 'claimed' "
                "ELSE state END, count(*) FROM alert_outbox WHERE kind = 'capacity' GROUP BY 1"
            )
        }
    finally:
        conn.close()


async def measure_sigterm(
    *,
    accounts: int = ACCOUNTS,
    deadline_s: float = 180.0,
    start_timeout_s: float = 90.0,
    delay_s: float = 0.0,
) -> dict[str, Any]:
    """`python -m bot run` with every PixVerse account full from the start; SIGTERM as soon
    as the flood is in its outbox; seconds until it exited (None: killed at `deadline_s`)."""
    sim = flood_sim(accounts)
    exhaust(sim)
    fake = FakeDiscord()
    await fake.start()
    try:
        async with SimServer(sim) as server:
            with tempfile.TemporaryDirectory(prefix="opsbot-bench-") as tmp:
                db = Path(tmp) / "opsbot.db"
                env = child_env(
                    DISCORD_TOKEN=DISCORD_TOKEN,
                    USEAPI_TOKEN=SIM_TOKEN,
                    USEAPI_BASE_URL=server.url,
                    DISCORD_API_BASE_URL=fake.api_base,
                    DISCORD_GATEWAY_URL=fake.gateway_url,
                    GUILD_IDS=str(fake.guild_id),
                    ALERT_CHANNEL_ID=str(fake.channel_ids[0]),
                    POLL_INTERVAL_SECONDS=str(INTERVAL_S),
                    LOG_LEVEL="WARNING",
                    HTTP_PORT="0",
                    PROVIDERS=",".join(PROVIDERS),
                    REDACT_ACCOUNTS="false",
                    DATABASE_URL=f"sqlite+aiosqlite:///{db}",
                )
                proc = await asyncio.create_subprocess_exec(
                    sys.executable,
                    "-m",
                    "bot",
                    "run",
                    env=env,
                    cwd=tmp,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                )
                try:
                    async with asyncio.timeout(start_timeout_s):
                        while await asyncio.to_thread(_flood_rows, db) < accounts:
                            if proc.returncode is not None:
                                raise RuntimeError("the bot exited before the flood")
                            await asyncio.sleep(0.02)
                    await asyncio.sleep(delay_s)
                    at_sigterm = await asyncio.to_thread(_flood_states, db)
                    t0 = time.monotonic()
                    proc.send_signal(signal.SIGTERM)
                    killed = False
                    try:
                        _, err = await asyncio.wait_for(proc.communicate(), deadline_s)
                    except TimeoutError:
                        proc.kill()
                        killed = True
                        _, err = await proc.communicate()
                    exit_s = time.monotonic() - t0
                finally:
                    if proc.returncode is None:
                        proc.kill()
                        await proc.wait()
    finally:
        await fake.stop()
    return {
        "delay_s": delay_s,
        "exit_s": None if killed else round(exit_s, 2),
        "exit_code": proc.returncode,
        "flood_rows_at_sigterm": at_sigterm,
        "stderr_tail": err.decode(errors="replace")[-300:] if err else "",
    }


async def measure_sigterms(
    *, accounts: int = ACCOUNTS, delays: tuple[float, ...] = DELAYS_S, deadline_s: float = 180.0
) -> dict[str, Any]:
    """`measure_sigterm` once per delay after the flood's commit (the claim and the posting
    run at different moments of it); the figure is the slowest exit (None: one was killed)."""
    runs = [
        await measure_sigterm(accounts=accounts, delay_s=d, deadline_s=deadline_s) for d in delays
    ]
    times = [r["exit_s"] for r in runs]
    codes = [r["exit_code"] for r in runs]
    return {
        "sigterm_exit_s": None if None in times else max(times),
        "_sigterm": {
            "exit_code": max(codes, key=lambda c: c != 0),
            "runs": runs,
            "killed_after_s": deadline_s if None in times else None,
            "stop_bound_s": STOP_BOUND_S,
        },
    }


# --------------------------------------------------------------------------- the part


def growth(claims: dict[str, float]) -> float | None:
    """k in claim seconds ∝ rows^k between the smallest and the largest size (1 = linear)."""
    sizes = sorted(int(k) for k in claims)
    if len(sizes) < 2 or claims[str(sizes[0])] <= 0:
        return None
    a, b = sizes[0], sizes[-1]
    return math.log(claims[str(b)] / claims[str(a)]) / math.log(b / a)


async def measure(
    *,
    claim_sizes: tuple[int, ...] = CLAIM_SIZES,
    accounts: int = ACCOUNTS,
    interval: float = INTERVAL_S,
    deadline_s: float = 300.0,
    delays: tuple[float, ...] = DELAYS_S,
) -> dict[str, Any]:
    figures = await measure_claims(claim_sizes)
    figures.update(await measure_flood(accounts=accounts, interval=interval, deadline_s=deadline_s))
    sigterm = await measure_sigterms(
        accounts=accounts, delays=delays, deadline_s=min(deadline_s, 180.0)
    )
    figures["flood"]["claim_rows_per_s"] = figures.pop("claim_rows_per_s")
    figures["flood"]["sigterm_exit_s"] = sigterm.pop("sigterm_exit_s")
    figures.update(sigterm)
    return figures


def run(*, quick: bool = False) -> dict[str, Any]:
    if quick:
        return asyncio.run(
            measure(claim_sizes=QUICK_CLAIM_SIZES, accounts=QUICK_ACCOUNTS, delays=QUICK_DELAYS_S)
        )
    return asyncio.run(measure())
