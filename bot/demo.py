"""`opsbot demo`: the whole product in a minute with no tokens.

Starts the useapi simulator in-process, runs the real watchers (adapters → diff → policy →
store → outbox) and the real delivery, and prints to the terminal what Discord would show: the
/queue and /capacity embeds, and each alert as it is posted. A short script of incidents (an
account filling up, a token rejected for a while, a job that hangs) makes sure every kind of
alert shows up.
"""

from __future__ import annotations

import asyncio
import secrets
import tempfile
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pydantic import SecretStr
from rich.console import Console
from rich.rule import Rule

from bot import embeds
from bot.delivery import Deliverer
from bot.events import Event
from bot.history.query import period_stats
from bot.history.stats import Stats
from bot.history.table import print_summary
from bot.models import Snapshot
from bot.providers.base import Provider
from bot.runtime import make_providers
from bot.settings import Settings
from bot.sim import SimServer, Simulator
from bot.store import Store
from bot.terminal import print_embeds
from bot.useapi import UseapiClient
from bot.watch import ProviderWatcher, WatchConfig

#: The pretend #alerts channel.
DEMO_CHANNEL = 1
#: The /queue and /capacity views are printed every this many ticks.
_VIEWS_EVERY = 4
#: What the demo's watchers call stuck; one job is started long past it.
_STUCK_AFTER = timedelta(minutes=5)


class _Script:
    """Incidents at fixed fractions of the demo's length."""

    def __init__(self, sim: Simulator, providers: Sequence[str]) -> None:
        self.sim = sim
        self.providers = list(providers)
        self.done: set[str] = set()
        self.filled: tuple[str, str] | None = None
        self.locked_out: str | None = None

    def at(self, fraction: float, console: Console) -> None:
        sim, first = self.sim, self.providers[0]
        if fraction >= 0.2 and "fill" not in self.done:
            self.done.add("fill")
            account = min(sim.accounts(first), key=lambda a: a.max_jobs).account
            sim.fill_account(first, account, duration=float("inf"))
            self.filled = (first, account)
            console.print(f"[dim]» simulator: {first} account {account} fills up[/]")
        if fraction >= 0.35 and "lock" not in self.done and len(self.providers) > 1:
            self.done.add("lock")
            self.locked_out = self.providers[1]
            sim.faults.set(self.locked_out, "status", status=401)
            console.print(
                f"[dim]» simulator: useapi starts rejecting the token for {self.locked_out}[/]"
            )
        if fraction >= 0.55 and "unlock" not in self.done and self.locked_out:
            self.done.add("unlock")
            sim.faults.clear()
            console.print(f"[dim]» simulator: {self.locked_out} accepts the token again[/]")
        if fraction >= 0.6 and "free" not in self.done and self.filled:
            self.done.add("free")
            sim.free_account(*self.filled)
            console.print(
                f"[dim]» simulator: {self.filled[0]} account {self.filled[1]} frees its slots[/]"
            )


async def run_demo(
    settings: Settings,
    *,
    seconds: float = 60.0,
    seed: int = 7,
    poll: float = 5.0,
    console: Console | None = None,
) -> int:
    """Run the demo for `seconds`; prints everything to `console` (stdout by default)."""
    console = console or Console()
    token = "demo-" + secrets.token_hex(8)
    sim, names = _simulator(settings, seed, token)
    titles: dict[str, str] = {}
    channel = _AlertsChannel(
        console, titles, redact=settings.redact_accounts, previews=settings.show_previews
    )
    with tempfile.TemporaryDirectory(prefix="opsbot-demo-") as tmp:
        db = f"sqlite+aiosqlite:///{Path(tmp) / 'demo.db'}"
        async with (
            SimServer(sim) as server,
            UseapiClient(server.url, SecretStr(token), attempts=2, wait_initial=0.2) as client,
        ):
            store = await Store.open(db)
            try:
                providers = make_providers(names, client)
                titles.update({p.name: p.title for p in providers})
                watchers = _watchers(providers, store, poll)
                console.print(
                    Rule(
                        f"opsbot demo · simulator at {server.url} · seed {seed} · "
                        f"{seconds:g} s · a tick every {poll:g} s"
                    )
                )
                started = datetime.now(UTC)
                await _run_ticks(
                    watchers,
                    Deliverer(store, channel.send),
                    _Script(sim, names),
                    titles,
                    console,
                    seconds=seconds,
                    poll=poll,
                    show=lambda: _show_views(
                        console,
                        [w.latest for w in watchers if w.latest],
                        titles,
                        settings,
                        _STUCK_AFTER,
                    ),
                )
                figures = await _history(store, started, names)
            finally:
                await store.close()
    _print_summary(console, channel.posted)
    console.print(Rule("history · what `opsbot history` prints", style="cyan"))
    print_summary(console, figures, titles=titles)
    return 0


async def _history(store: Store, started: datetime, names: Sequence[str]) -> Stats:
    """The demo's own history (its ticks recorded it), as `opsbot history` shows it."""
    until = datetime.now(UTC)
    # Samples stand at whole minutes: from the minute the demo started.
    since = started.replace(second=0, microsecond=0)
    return await period_stats(store, since=since, until=until, providers=names, now=until)


def _simulator(settings: Settings, seed: int, token: str) -> tuple[Simulator, list[str]]:
    """The demo's simulator, and the providers shown: every one it simulates, unless
    `PROVIDERS` is set (then those of them it simulates; all when none is)."""
    sim = Simulator(seed=seed, accounts=18, jobs=36, token=token)
    chosen = settings.providers if "providers" in settings.model_fields_set else sim.providers
    names = [n for n in chosen if n in sim.providers] or list(sim.providers)
    # One job that has been running far too long, to show a `stuck` alert.
    sim.start_job(names[-1], duration=float("inf"), elapsed=_STUCK_AFTER.total_seconds() + 60)
    return sim, names


class _AlertsChannel:
    """The pretend #alerts channel: `send` (the deliverer's) prints each message's embeds and
    keeps its events in `posted`."""

    def __init__(
        self, console: Console, titles: dict[str, str], *, redact: bool, previews: bool = True
    ) -> None:
        self.console = console
        self.titles = titles
        self.redact = redact
        self.previews = previews
        self.posted: list[Event] = []

    async def send(self, channel_id: int, events: Sequence[Event], role_id: int | None) -> int:
        # Who the message would ping (the people whose jobs are in it), as Discord shows it.
        users = dict.fromkeys(f"@{e.mention_user_id}" for e in events if e.mention_user_id)
        pings = f" · mentions {' '.join(users)}" if users else ""
        self.console.print(Rule(f"#alerts · {len(events)} alert(s) posted{pings}", style="yellow"))
        print_embeds(
            self.console,
            embeds.alert_batch(
                events, titles=self.titles, redact=self.redact, previews=self.previews
            ),
        )
        self.posted.extend(events)
        return len(self.posted)


def _watchers(providers: Sequence[Provider], store: Store, poll: float) -> list[ProviderWatcher]:
    """One watcher per provider, quick to alert (a state announced on its first tick, an
    unreachable provider after two), to the demo's channel."""
    config = WatchConfig(
        stuck_after=_STUCK_AFTER,
        poll_interval=poll,
        default_channel=DEMO_CHANNEL,
        flap_ticks=1,
        unreachable_after=2,
    )
    return [ProviderWatcher(p, store, config) for p in providers]


async def _run_ticks(
    watchers: Sequence[ProviderWatcher],
    deliverer: Deliverer,
    script: _Script,
    titles: dict[str, str],
    console: Console,
    *,
    seconds: float,
    poll: float,
    show: Callable[[], None],
) -> None:
    """Tick every watcher each `poll` seconds for `seconds`: the script's incidents first,
    then delivery; the views every `_VIEWS_EVERY` ticks, and each failed tick's error."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    tick = 0
    while True:
        script.at((loop.time() - started) / seconds, console)
        reports = await asyncio.gather(*(w.tick() for w in watchers))
        await deliverer.run_once()
        if tick % _VIEWS_EVERY == 0:
            show()
        for r in reports:
            if r.error:
                console.print(f"[red]✗ {titles[r.provider]}: {r.error}[/]")
        tick += 1
        remaining = seconds - (loop.time() - started)
        if remaining <= 0:
            break
        await asyncio.sleep(min(poll, remaining))


def _print_summary(console: Console, posted: Sequence[Event]) -> None:
    """How many alerts were posted, by word."""
    words: dict[str, int] = {}
    for e in posted:
        words[e.word] = words.get(e.word, 0) + 1
    console.print(Rule("demo over"))
    console.print(
        f"{len(posted)} alert(s) posted: "
        + (", ".join(f"{n} {w}" for w, n in sorted(words.items())) or "none")
    )


def _show_views(
    console: Console,
    snapshots: list[Snapshot],
    titles: dict[str, str],
    settings: Settings,
    stuck_after: timedelta,
) -> None:
    now = datetime.now(UTC)
    console.print(Rule("/queue", style="cyan"))
    print_embeds(
        console,
        embeds.queue_pages(
            snapshots,
            now=now,
            stuck_after=stuck_after,
            redact=settings.redact_accounts,
            titles=titles,
        )[:1],
    )
    console.print(Rule("/capacity", style="cyan"))
    print_embeds(
        console,
        embeds.capacity_pages(snapshots, now=now, titles=titles, redact=settings.redact_accounts)[
            :1
        ],
    )
