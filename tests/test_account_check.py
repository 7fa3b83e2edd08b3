"""The account checks end to end over real HTTP: the simulator's `/v2/account` and accounts
endpoints, the real client and adapters, `AccountChecker` and the store. Each word once,
recovery, flap damping across a restart (a new checker over the same store), exactly once
through the outbox, one checker per lease, what a check costs upstream."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from bot import cli
from bot.accounts.check import AccountChecker, CheckConfig, CheckReport
from bot.providers import Provider, load
from bot.settings import DEFAULT_PROVIDERS
from bot.sim import ManualClock, SimServer, Simulator
from bot.store import Store, decode_event, outbox_table
from bot.useapi import UseapiClient
from rig.simhttp import SIM_TOKEN, small_sim
from rig.threadsim import TOKEN as THREAD_TOKEN
from rig.threadsim import threaded_sim

CONFIG = CheckConfig(interval=timedelta(minutes=15), warn=timedelta(days=3), default_channel=1)
ERROR = "pending error, re-add the account"


@pytest.fixture
async def served() -> AsyncIterator[tuple[Simulator, UseapiClient]]:
    sim = small_sim(DEFAULT_PROVIDERS)  # two accounts each
    async with SimServer(sim) as server:
        client = UseapiClient(server.url, SecretStr(SIM_TOKEN))
        yield sim, client
        await client.aclose()


def checker(
    sim: Simulator,
    client: UseapiClient,
    store: Store,
    *,
    config: CheckConfig = CONFIG,
    holder: str | None = None,
) -> AccountChecker:
    providers: dict[str, Provider] = {p: load(p)(client) for p in sim.providers}
    return AccountChecker(client, lambda: providers, store, config, clock=sim.now, holder=holder)


async def posted(store: Store) -> list[tuple[str, str, str | None, str | None]]:
    """Every outbox row, in order: (provider, word, account, detail)."""
    async with store.engine.connect() as conn:
        rows = (await conn.execute(select(outbox_table).order_by(outbox_table.c.id))).all()
    return [
        (e.provider, e.word, e.account, e.detail) for e in (decode_event(r.event) for r in rows)
    ]


async def checked(c: AccountChecker, sim: Simulator) -> CheckReport:
    report = await c.check()
    sim.advance(CONFIG.interval.total_seconds())
    return report


async def test_each_word_once_and_recovery_over_http(
    served: tuple[Simulator, UseapiClient], store: Store
) -> None:
    sim, client = served
    broken = sim.accounts("pixverse")[0].account
    soon = sim.accounts("minimax")[0].account
    sim.set_account_error("pixverse", broken, ERROR)
    sim.set_subscription(False)
    sim.set_account_expiry("minimax", soon, sim.now_ts() + 3 * 86_400)  # exactly the threshold
    c = checker(sim, client, store)
    first = await checked(c, sim)
    assert (first.events, first.queued, first.failures) == (1, 1, ())
    assert await posted(store) == [
        ("minimax", "expires soon", soon, "its session or token ends in 3d 00h")
    ]
    await checked(c, sim)
    assert (await posted(store))[1:] == [
        (
            "useapi",
            "subscription inactive",
            None,
            "useapi's subscription is not active: its API calls will be refused",
        ),
        ("pixverse", "account error", broken, ERROR),
    ]
    sim.set_account_error("pixverse", broken, None)
    sim.set_subscription(True)
    for _ in range(4):
        await checked(c, sim)
    assert (await posted(store))[3:] == [
        ("useapi", "subscription active", None, "useapi's subscription is active again"),
        ("pixverse", "account ok", broken, "the account works again"),
    ]
    assert c.health is not None and c.health == await store.load_health()
    assert c.health.subscription.subscription is not None
    assert c.health.subscription.subscription.errors == 0


async def test_one_check_costs_one_request_plus_one_per_provider(
    served: tuple[Simulator, UseapiClient], store: Store
) -> None:
    sim, client = served
    before = len(sim.requests)
    await checker(sim, client, store).check()
    paths = sorted(r.path for r in list(sim.requests)[before:])
    assert paths == [
        "/v1/dreamina/accounts",
        "/v1/minimax/accounts",
        "/v2/account",
        "/v2/pixverse/accounts",
    ]


async def test_flap_damping_holds_across_a_restart_and_nothing_is_posted_twice(
    served: tuple[Simulator, UseapiClient], store: Store, url: str
) -> None:
    sim, client = served
    broken = sim.accounts("dreamina")[-1].account
    sim.set_account_error("dreamina", broken, ERROR)
    await checked(checker(sim, client, store), sim)  # one error reading: not news yet
    assert await posted(store) == []
    again = await Store.open(url)  # a restarted bot: a new store and checker, same database
    try:
        report = await checker(sim, client, again).check()
        assert (report.events, report.queued) == (1, 1)
        rerun = await checker(sim, client, again).check()  # the same instant, checked again
        assert (rerun.events, rerun.queued) == (0, 0)
        assert await posted(again) == [("dreamina", "account error", broken, ERROR)]
    finally:
        await again.close()


async def test_an_error_still_on_is_reminded_once_across_a_restart(
    served: tuple[Simulator, UseapiClient], store: Store, url: str
) -> None:
    sim, client = served
    broken = sim.accounts("dreamina")[-1].account
    sim.set_account_error("dreamina", broken, ERROR)
    await checked(checker(sim, client, store), sim)
    await checked(checker(sim, client, store), sim)  # announced 15 minutes before now
    sim.advance(4 * 3600 - CONFIG.interval.total_seconds())  # exactly 4 hours after it
    report = await checker(sim, client, store).check()
    assert (report.events, report.queued) == (1, 1)
    again = await Store.open(url)  # a restarted bot, the same period: nothing more
    try:
        rerun = await checker(sim, client, again).check()
        assert (rerun.events, rerun.queued) == (0, 0)
    finally:
        await again.close()
    assert await posted(store) == [
        ("dreamina", "account error", broken, ERROR),
        ("dreamina", "still unreachable", broken, f"still in error after 4h 00m: {ERROR}"),
    ]


async def test_an_account_that_flaps_across_a_restart_says_nothing(
    served: tuple[Simulator, UseapiClient], store: Store
) -> None:
    sim, client = served
    broken = sim.accounts("pixverse")[0].account
    for error in (ERROR, None, ERROR, None):
        sim.set_account_error("pixverse", broken, error)
        await checked(checker(sim, client, store), sim)  # a new checker each time
    assert await posted(store) == []


async def test_only_the_lease_holder_checks(
    served: tuple[Simulator, UseapiClient], store: Store
) -> None:
    sim, client = served
    leased = CheckConfig(
        interval=CONFIG.interval, warn=CONFIG.warn, lease_ttl=timedelta(minutes=45)
    )
    one = checker(sim, client, store, config=leased, holder="host/1/accounts")
    two = checker(sim, client, store, config=leased, holder="host/2/accounts")
    assert (await one.check()).leader
    before = len(sim.requests)
    follower = await two.check()
    assert not follower.leader
    assert len(sim.requests) == before  # the follower asked useapi nothing
    assert two.health == one.health  # and shows what the leader stored


async def test_a_failed_read_keeps_that_providers_state_and_none_configured_forgets(
    served: tuple[Simulator, UseapiClient], store: Store
) -> None:
    sim, client = served
    c = checker(sim, client, store)
    await checked(c, sim)
    assert c.health is not None
    minimax_before = c.health.of("minimax")
    assert len(minimax_before) == 2
    sim.pin("/v1/minimax/accounts", {"error": "boom", "code": 500}, 500)
    sim.pin("/v2/pixverse/accounts", {"error": "No accounts configured", "code": 404}, 404)
    report = await checked(c, sim)
    assert [name for name, _ in report.failures] == ["minimax"]
    assert c.health.of("pixverse") == []
    assert [a.account for a in c.health.of("minimax")] == [a.account for a in minimax_before]


async def test_a_hostile_subscription_is_a_failure_not_a_crash(
    served: tuple[Simulator, UseapiClient], store: Store
) -> None:
    sim, client = served
    sim.pin("/v2/account", {"subscriptionIsActive": "maybe"})
    report = await checker(sim, client, store).check()
    assert report.error is None
    assert report.failures == (
        ("useapi", "useapi: expected true or false at 'subscriptionIsActive'"),
    )


def test_opsbot_check_prints_one_line_per_account_problem(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("DISCORD_TOKEN", "PROVIDERS", "REDACT_ACCOUNTS", "EXPIRY_WARN_DAYS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'opsbot.db'}")
    # real time, as the CLI; the providers PROVIDERS enables by default, two accounts each
    with threaded_sim(accounts=6, jobs=6, clock=None, providers=DEFAULT_PROVIDERS) as (url, sim):
        monkeypatch.setenv("USEAPI_BASE_URL", url)
        monkeypatch.setenv("USEAPI_TOKEN", THREAD_TOKEN)
        assert cli.main(["check"]) == 0
        out = capsys.readouterr().out
        assert out.endswith("\n✓ accounts: subscription active, 6 accounts, no problem\n")
        broken = sim.accounts("pixverse")[0].account
        ending = sim.accounts("dreamina")[0]
        sim.set_account_error("pixverse", broken, "pending error\x1b[2J, re-add the account")
        end = datetime.now(UTC) + timedelta(days=2)  # within the default 3 days
        sim.set_account_expiry("dreamina", ending.account, end.timestamp())
        assert cli.main(["check"]) == 0  # warnings: the token works
        out = capsys.readouterr().out
        assert out.splitlines()[-2:] == [
            f"⚠ pixverse account {broken}: account error: pending error<U+001B>[2J, re-add the "
            "account",
            f"⚠ dreamina account {ending.account}: expires {end:%Y-%m-%d %H:%M} UTC",
        ]
        sim.set_subscription(False)
        assert cli.main(["check"]) == 1
        assert "✗ useapi: subscription inactive\n" in capsys.readouterr().out


async def test_kling_runway_and_mureka_accounts_go_through_the_same_checks(store: Store) -> None:
    """The providers added after the checks plug in by their `accounts()` alone: one request
    each, `account error` naming useapi's message, `expires soon` from Kling's
    `session.ExpireTime` and Runway's `jwt.exp` (Mureka publishes no expiry), `account ok`."""
    names = ("kling", "runway", "mureka")
    sim = Simulator(
        seed=1, accounts=6, jobs=0, token=SIM_TOKEN, clock=ManualClock(), providers=names
    )
    broken = {p: sim.accounts(p)[0].account for p in names}
    ending = {p: sim.accounts(p)[1].account for p in ("kling", "runway")}
    for p in names:
        sim.set_account_error(p, broken[p], f"{p}: {ERROR}")
    for p, account in ending.items():
        sim.set_account_expiry(p, account, sim.now_ts() + 2 * 86_400)
    async with SimServer(sim) as server:
        client = UseapiClient(server.url, SecretStr(SIM_TOKEN))
        try:
            c = checker(sim, client, store)
            before = len(sim.requests)
            first = await checked(c, sim)
            paths = sorted(r.path for r in list(sim.requests)[before:])
            assert paths == [
                "/v1/kling/accounts",
                "/v1/mureka/accounts",
                "/v1/runwayml/accounts",
                "/v2/account",
            ]
            assert first.failures == ()
            assert await posted(store) == [
                ("kling", "expires soon", ending["kling"], "its session or token ends in 2d 00h"),
                ("runway", "expires soon", ending["runway"], "its session or token ends in 2d 00h"),
            ]
            await checked(c, sim)  # the second error reading: now it is news
            assert (await posted(store))[2:] == [
                (p, "account error", broken[p], f"{p}: {ERROR}") for p in names
            ]
            for p in names:
                sim.set_account_error(p, broken[p], None)
            for _ in range(3):
                await checked(c, sim)
            assert (await posted(store))[5:] == [
                (p, "account ok", broken[p], "the account works again") for p in names
            ]
        finally:
            await client.aclose()
