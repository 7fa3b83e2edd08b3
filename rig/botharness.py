"""The real bot, started through `opsbot run`'s own start-up path (`bot.app.serve`), against the
fake Discord and the simulator, all three on loopback in this process and on one event loop.

`start_bot` starts one against a fake Discord the caller owns (the tests' `start_bot` fixture
wraps it); `running_bot` brings its own fake Discord too (the benchmarks). Either way the
caller gets a `Harness`; with `manual_ticks` (the default) the provider loops are stopped once
their start-up tick is over, and the caller ticks (`Harness.tick`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, cast

from bot.app import OpsBot, serve
from bot.settings import DEFAULT_PROVIDERS, Settings, load_settings
from bot.sim import ManualClock, SimServer, Simulator
from cogs.alerts import AlertsCog
from cogs.base import ProviderCog
from cogs.board import BoardCog
from cogs.delivery import DeliveryCog
from cogs.digest import DigestCog
from rig.fakediscord import ADMIN_PERMISSIONS, FakeDiscord

_CogT = TypeVar("_CogT")

TOKEN = "sim-token-E2E-abcdef123456"
DISCORD_TOKEN = "discord-token-E2E-XYZ.987654321"

JSON = dict[str, Any]
MakeSettings = Callable[..., Settings]
#: The tests' `start_bot` fixture: `await start_bot(sim=…, manual_ticks=…, db=…, **settings)`.
StartBot = Callable[..., Awaitable["Harness"]]


@dataclass
class Harness:
    bot: OpsBot
    fake: FakeDiscord
    sim: Simulator
    server: SimServer
    settings: Settings
    task: asyncio.Task[None]

    @property
    def alert_channel(self) -> int:
        return self.fake.channel_ids[0]

    def cog(self, provider: str) -> ProviderCog:
        cog = self.bot.get_cog(self.bot.providers[provider].title)
        assert isinstance(cog, ProviderCog)
        return cog

    def provider_cogs(self) -> list[ProviderCog]:
        return provider_cogs(self.bot)

    def _shared_cog(self, name: str, cls: type[_CogT]) -> _CogT:
        # load_extension imports a cog's module afresh, so isinstance against this module's
        # import of it would fail: compare by name.
        cog = self.bot.get_cog(name)
        assert cog is not None and type(cog).__name__ == cls.__name__
        return cast(_CogT, cog)

    @property
    def alerts(self) -> AlertsCog:
        return self._shared_cog("Alerts", AlertsCog)

    @property
    def digest(self) -> DigestCog:
        return self._shared_cog("Digest", DigestCog)

    @property
    def board(self) -> BoardCog:
        return self._shared_cog("Board", BoardCog)

    @property
    def delivery(self) -> DeliveryCog:
        return self._shared_cog("Delivery", DeliveryCog)

    async def tick(self, *providers: str) -> None:
        """One watcher tick for each provider (all when none given), as the loop would."""
        for name in providers or tuple(self.bot.providers):
            await self.cog(name)._tick()

    async def deliver(self) -> Any:
        return await self.delivery.deliverer.run_once()

    async def stop(self, grace: float = 10.0) -> None:
        """Close the bot (as a stop does) and wait for `serve` to return: each within
        `grace` seconds, else TimeoutError."""
        if not self.task.done():
            await asyncio.wait_for(self.bot.close(), grace)
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(self.task, grace)


def provider_cogs(bot: OpsBot) -> list[ProviderCog]:
    return [c for c in bot.cogs.values() if isinstance(c, ProviderCog)]


async def launch(
    settings: Settings,
    *,
    on_ready: Callable[[OpsBot], None] | None = None,
    wait_seconds: float = 15.0,
) -> tuple[OpsBot, asyncio.Task[None]]:
    """Run `bot.app.serve` (`opsbot run`'s start-up path) as a task and wait until the bot is
    connected and its commands are synced. Raises what start-up raised, or TimeoutError."""
    created: asyncio.Future[OpsBot] = asyncio.get_running_loop().create_future()

    def handed(bot: OpsBot) -> None:
        if on_ready is not None:
            on_ready(bot)
        created.set_result(bot)

    task = asyncio.create_task(serve(settings, on_ready=handed, guild_ready_timeout=0.05))
    try:
        bot = await asyncio.wait_for(created, wait_seconds)
        ready = asyncio.create_task(bot.wait_until_ready())
        done, _ = await asyncio.wait(
            {ready, task}, timeout=wait_seconds, return_when=asyncio.FIRST_COMPLETED
        )
        if task in done:
            ready.cancel()
            task.result()  # raises what start-up raised
            raise RuntimeError("the bot stopped during start-up")
        if ready not in done:
            ready.cancel()
            raise TimeoutError("the bot did not become ready")
        await asyncio.wait_for(bot.synced.wait(), wait_seconds)
    except BaseException:
        task.cancel()
        with contextlib.suppress(BaseException):
            await task
        raise
    return bot, task


async def stop_polling(bot: OpsBot) -> None:
    """Stop every provider's tick loop, once its tick in flight (the start-up one) is over:
    from then on the caller ticks."""
    for cog in provider_cogs(bot):
        cog.poll.cancel()
        async with cog.watcher._lock:
            pass


def quiet_sim(accounts: int = 6, jobs: int = 9, *, seed: int = 3) -> Simulator:
    """The default simulator of `start_bot`: small, on a ManualClock, no churn; the providers
    the bot loads by default (`PROVIDERS`' default), not every one the simulator knows."""
    return Simulator(
        seed=seed,
        accounts=accounts,
        jobs=jobs,
        token=TOKEN,
        clock=ManualClock(),
        churn=False,
        providers=DEFAULT_PROVIDERS,
    )


def make_sim(
    accounts: int = 6, max_jobs: int = 10, providers: Sequence[str] = DEFAULT_PROVIDERS
) -> Simulator:
    """No running jobs (and no churn): only what a test starts happens. `accounts` are split
    over `providers` (by default those the bot loads by default), each with `max_jobs` slots."""
    sim = Simulator(
        seed=5,
        accounts=accounts,
        jobs=0,
        token=TOKEN,
        clock=ManualClock(),
        churn=False,
        providers=tuple(providers),
    )
    for p in sim.providers:
        for a in sim.accounts(p):
            sim.set_max_jobs(p, a.account, max_jobs)
    return sim


def _without_account_checks(bot: OpsBot) -> None:
    bot.shared_cogs = tuple(c for c in bot.shared_cogs if c != "cogs.health")


async def start_bot(
    fake: FakeDiscord,
    sim: Simulator,
    *,
    db: Path,
    manual_ticks: bool = True,
    make_settings: MakeSettings = load_settings,
    wait_seconds: float = 15.0,
    account_checks: bool = False,
    **overrides: Any,
) -> Harness:
    """Serve `sim`, start the bot against it and `fake` (already started and patched into
    discord.py) on the SQLite database `db`; `overrides` are settings. The caller stops the
    harness (`Harness.stop`) and its server (`Harness.server.stop`).

    The account checks (`cogs.health`) are left out unless `account_checks`: they check at
    start, and the simulator's ManualClock is not the bot's clock (its sessions would all
    read as ended), nor are their requests what the other tests count."""
    server = SimServer(sim)
    await server.start()
    try:
        values: dict[str, Any] = dict(
            discord_token=DISCORD_TOKEN,
            useapi_token=TOKEN,
            useapi_base_url=server.url,
            discord_api_base_url=fake.api_base,
            discord_gateway_url=fake.gateway_url,
            guild_ids=[fake.guild_id],
            alert_channel_id=fake.channel_ids[0],
            poll_interval_seconds=30,
            database_url=f"sqlite+aiosqlite:///{db}",
        )
        values.update(overrides)
        settings = make_settings(**values)
        bot, task = await launch(
            settings,
            wait_seconds=wait_seconds,
            on_ready=None if account_checks else _without_account_checks,
        )
    except BaseException:
        await server.stop()
        raise
    if manual_ticks:
        # The caller drives ticks (`Harness.tick`); the loop's own timing is not what it
        # measures. The loop's first tick at start-up has already run or is running.
        await stop_polling(bot)
    return Harness(bot, fake, sim, server, settings, task)


@contextlib.asynccontextmanager
async def running_bot(
    sim: Simulator,
    db_dir: Path,
    *,
    poll_interval: float = 600,
    manual_ticks: bool = True,
    make_settings: MakeSettings = load_settings,
    **overrides: Any,
) -> AsyncIterator[Harness]:
    """A fake Discord of its own, `sim` served, the bot started (`start_bot`, database in
    `db_dir`) and, at the end, all three stopped. Without `manual_ticks` the loops keep
    running every `poll_interval` seconds, as in production."""
    async with FakeDiscord() as fake:
        fake.patch_discord()
        h = await start_bot(
            fake,
            sim,
            db=db_dir / "opsbot.db",
            manual_ticks=manual_ticks,
            make_settings=make_settings,
            wait_seconds=30,
            poll_interval_seconds=poll_interval,
            **overrides,
        )
        try:
            yield h
        finally:
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await h.stop(15)
            if not h.task.done():
                h.task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await h.task
            await h.server.stop()


async def cycle(h: Harness, *providers: str, ticks: int = 1) -> None:
    """`ticks` ticks of the providers (all when none given), then one delivery pass."""
    for _ in range(ticks):
        await h.tick(*providers)
    await h.deliver()


async def settled(h: Harness) -> dict[str, int]:
    """Outbox counts once nothing is due any more."""
    await h.deliver()
    counts = await h.bot.store.outbox_counts()
    assert counts.get("pending", 0) == 0, counts
    return counts


async def command(
    h: Harness,
    name: str,
    options: JSON | None = None,
    *,
    subcommand: str | None = None,
    permissions: int = ADMIN_PERMISSIONS,
    channel_id: int | None = None,
) -> JSON:
    """Invoke a slash command; return the bot's answer once the command has finished (an
    allowed one) or answered (a refused one)."""
    done = asyncio.ensure_future(
        h.bot.wait_for(
            "app_command_completion", check=lambda i, c: i.data.get("name") == name, timeout=10
        )
    )
    try:
        inter = await h.fake.invoke(
            name,
            options or {},
            subcommand=subcommand,
            permissions=permissions,
            channel_id=channel_id,
        )
        body: JSON = await h.fake.wait_for_interaction_response(inter)
        if permissions & (1 << 5):
            await done
    finally:
        done.cancel()
    return body
