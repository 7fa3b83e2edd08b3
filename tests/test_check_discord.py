"""`opsbot check` reaches Discord (issue 12): it logs in with DISCORD_TOKEN through the real
discord.py against the fake Discord, works out with discord.py's own logic whether the bot can
post alerts in ALERT_CHANNEL_ID, in every routed channel and in every board's channel or
thread, names each missing permission in words and the invite permissions its roles lack, and
says where the replyUrl receiver is. Every case asserts the whole lines and the exit code;
neither the token nor the receiver's secret is ever printed."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, cast

import discord
import pytest
from aiohttp import web
from pydantic import SecretStr

from bot import cli, discordcheck, http
from bot.events import EventKind
from bot.hooks import Receiver, ReceiverConfig
from bot.hooks.web import add_routes
from bot.receivercheck import check_receiver
from bot.settings import Settings, load_settings
from bot.sim import SimServer, Simulator
from bot.store import Schema, Store
from bot.store.database import head
from rig.fakediscord import MEMBER_PERMISSIONS, FakeDiscord
from rig.process import base_env, free_port
from rig.simhttp import SIM_TOKEN

DISCORD_TOKEN = "check-DISCORD-token-0123456789"
SECRET = "reply-SECRET-abcdefghijklmnop"  # 29 characters
NAMES = {name.upper() for name in Settings.model_fields}
#: Discord's permission bits (its documentation's positions).
SEND_MESSAGES, EMBED_LINKS, SEND_IN_THREADS = 1 << 11, 1 << 14, 1 << 38
THREAD = 1200000000000000301
MISSING = 1200000000000000999
ALL_FOUR = "View Channels, Send Messages, Embed Links, Read Message History"
IN_THREADS = "View Channels, Send Messages in Threads, Embed Links, Read Message History"


@pytest.fixture
async def useapi() -> AsyncIterator[SimServer]:
    """PixVerse alone, two accounts, on the real clock (the account checks read it)."""
    sim = Simulator(seed=1, accounts=2, jobs=2, token=SIM_TOKEN, clock=None, providers=["pixverse"])
    async with SimServer(sim) as server:
        yield server


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, useapi: SimServer) -> pytest.MonkeyPatch:
    monkeypatch.chdir(tmp_path)  # no .env
    for name in NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PROVIDERS", "pixverse")
    monkeypatch.setenv("USEAPI_BASE_URL", useapi.url)
    monkeypatch.setenv("USEAPI_TOKEN", SIM_TOKEN)
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'opsbot.db'}")
    return monkeypatch


def on_fake(env: pytest.MonkeyPatch, fake: FakeDiscord, token: str = DISCORD_TOKEN) -> None:
    env.setenv("DISCORD_TOKEN", token)
    env.setenv("DISCORD_API_BASE_URL", fake.api_base)
    env.setenv("DISCORD_GATEWAY_URL", fake.gateway_url)
    env.setenv("ALERT_CHANNEL_ID", str(fake.channel_ids[0]))


async def check(capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    """`opsbot check` as `cli.main` runs it (in this test's loop): exit code, stdout lines."""
    code = await cli._check(load_settings())
    captured = capsys.readouterr()
    everything = captured.out + captured.err
    assert DISCORD_TOKEN not in everything and SECRET not in everything
    return code, captured.out.splitlines()


def discord_part(lines: list[str]) -> list[str]:
    """The lines between the database line and the providers' (Discord's and the receiver's)."""
    start = next(i for i, line in enumerate(lines) if line.startswith(("✓ database", "✗ database")))
    end = next(i for i, line in enumerate(lines) if line.startswith(("✓ pixverse", "✗ pixverse")))
    return lines[start + 1 : end]


def server_ok(fake: FakeDiscord) -> str:
    return f"✓ server Fake Guild ({fake.guild_id}): the bot's roles give every invite permission"


RECEIVER_OFF = (
    "• receiver: off (set HTTP_PORT and REPLY_SECRET to take useapi's replyUrl callbacks)"
)


async def test_good_token_every_channel_routed_and_the_board_thread_can_take_alerts(
    env: pytest.MonkeyPatch,
    fake_discord: FakeDiscord,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    useapi: SimServer,
) -> None:
    fake = fake_discord
    alerts, other = fake.channel_ids
    fake.add_thread(alerts, THREAD, name="ops board")
    store = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'opsbot.db'}")
    try:
        await store.set_route(EventKind.CAPACITY, "pixverse", other)
        await store.set_route(EventKind.JOB, None, other)
        await store.set_board(THREAD, None, 1200000000000000401, guild_id=fake.guild_id)
    finally:
        await store.close()
    on_fake(env, fake)
    env.setenv("GUILD_IDS", str(fake.guild_id))
    code, lines = await check(capsys)
    db = tmp_path / "opsbot.db"
    assert lines == [
        f"✓ settings: providers pixverse, poll every 30s, database sqlite+aiosqlite:///{db}",
        f"✓ database sqlite+aiosqlite:///{db}: schema revision {head()} (the newest)",
        f"✓ Discord: logged in as opsbot (id {fake.bot_user_id}), application opsbot "
        f"(id {fake.app_id})",
        f"✓ channel #channel-0 ({alerts}, ALERT_CHANNEL_ID): can post alerts ({ALL_FOUR})",
        f"✓ channel #channel-1 ({other}, route capacity of pixverse, route job): can post "
        f"alerts ({ALL_FOUR})",
        f"✓ thread #ops board ({THREAD}, board): can post alerts ({IN_THREADS})",
        server_ok(fake),
        RECEIVER_OFF,
        f"✓ pixverse: reached {useapi.url} — 2 running, 2 accounts",
        "✓ accounts: subscription active, 2 accounts, no problem",
    ]
    assert code == cli.EXIT_OK
    # nothing was posted, and nothing written: the database is as it was
    assert fake.requests_matching(r"^POST /channels/") == []
    assert await Store.stored_schema(f"sqlite+aiosqlite:///{db}") == Schema(head(), revision=head())


async def test_a_rejected_token_is_one_line_and_exit_1(
    env: pytest.MonkeyPatch, fake_discord: FakeDiscord, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_discord.token = "the-right-token-0123456789"
    on_fake(env, fake_discord)
    code, lines = await check(capsys)
    assert discord_part(lines) == [
        "✗ Discord: the token was rejected (401 Unauthorized): reset it in the Developer "
        "Portal (Bot tab) and set DISCORD_TOKEN",
        RECEIVER_OFF,
    ]
    assert code == cli.EXIT_FAILED
    assert fake_discord.gateway_connections == []  # no session after a refused login


async def test_no_token_skips_the_discord_checks_without_failing(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    env.setenv("ALERT_CHANNEL_ID", "1200000000000000201")
    code, lines = await check(capsys)
    assert discord_part(lines) == [
        "• Discord: DISCORD_TOKEN is not set; the Discord checks are skipped (`opsbot run` "
        "needs it)",
        RECEIVER_OFF,
    ]
    assert code == cli.EXIT_OK


async def test_a_channel_that_does_not_exist_fails_the_check(
    env: pytest.MonkeyPatch, fake_discord: FakeDiscord, capsys: pytest.CaptureFixture[str]
) -> None:
    on_fake(env, fake_discord)
    env.setenv("ALERT_CHANNEL_ID", str(MISSING))
    code, lines = await check(capsys)
    assert discord_part(lines)[1:] == [
        f"✗ channel {MISSING} (ALERT_CHANNEL_ID): no such channel (404 Unknown Channel)",
        server_ok(fake_discord),  # with no channel found: every server the bot is in
        RECEIVER_OFF,
    ]
    assert code == cli.EXIT_FAILED


async def test_a_channel_without_send_messages_and_embed_links_names_both(
    env: pytest.MonkeyPatch,
    fake_discord: FakeDiscord,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    fake = fake_discord
    alerts, other = fake.channel_ids
    # the bot's role: an ordinary member's permissions (not administrator), and the routed
    # channel takes two of them away from it
    fake.set_role_permissions(fake.bot_role_id(), MEMBER_PERMISSIONS)
    fake.set_overwrite(other, fake.bot_role_id(), deny=SEND_MESSAGES | EMBED_LINKS)
    store = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'opsbot.db'}")
    try:
        await store.set_route(EventKind.UPSTREAM, None, other)
    finally:
        await store.close()
    on_fake(env, fake)
    code, lines = await check(capsys)
    assert discord_part(lines)[1:] == [
        f"✓ channel #channel-0 ({alerts}, ALERT_CHANNEL_ID): can post alerts ({ALL_FOUR})",
        f"✗ channel #channel-1 ({other}, route upstream): missing Send Messages, Embed Links",
        server_ok(fake),  # the roles have them: the overwrite takes them away
        RECEIVER_OFF,
    ]
    assert code == cli.EXIT_FAILED


@pytest.mark.parametrize(
    ("lacking", "missing"),
    [
        # discord.py (as Discord) takes a channel's other permissions away with View Channels,
        # and Embed Links with Send Messages
        ("view_channel", ALL_FOUR),
        ("send_messages", "Send Messages, Embed Links"),
        ("embed_links", "Embed Links"),
        ("read_message_history", "Read Message History"),
    ],
)
async def test_each_invite_permission_the_bot_lacks_in_the_alert_channel_is_named(
    env: pytest.MonkeyPatch,
    fake_discord: FakeDiscord,
    capsys: pytest.CaptureFixture[str],
    lacking: str,
    missing: str,
) -> None:
    fake = fake_discord
    alerts = fake.channel_ids[0]
    bit = discord.Permissions(**{lacking: True}).value
    fake.set_role_permissions(fake.bot_role_id(), MEMBER_PERMISSIONS & ~bit)
    fake.set_role_permissions(fake.guild_id, 0)  # @everyone: nothing
    on_fake(env, fake)
    code, lines = await check(capsys)
    invite = (
        f"https://discord.com/oauth2/authorize?client_id={fake.app_id}&scope=bot+"
        f"applications.commands&permissions=274877991936&guild_id={fake.guild_id}"
    )
    assert discord_part(lines)[1:] == [
        f"✗ channel #channel-0 ({alerts}, ALERT_CHANNEL_ID): missing {missing}",
        f"⚠ server Fake Guild ({fake.guild_id}): the bot's roles lack "
        f"{discordcheck.PERMISSION_WORDS[lacking]} (invite permissions); invite it again with "
        f"{invite}",
        RECEIVER_OFF,
    ]
    assert code == cli.EXIT_FAILED


async def test_a_thread_without_send_messages_in_threads_and_the_invite_it_lacks(
    env: pytest.MonkeyPatch,
    fake_discord: FakeDiscord,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    fake = fake_discord
    alerts = fake.channel_ids[0]
    fake.set_role_permissions(fake.bot_role_id(), MEMBER_PERMISSIONS & ~SEND_IN_THREADS)
    fake.set_role_permissions(fake.guild_id, 0)  # @everyone: nothing
    fake.add_thread(alerts, THREAD, name="status\nboard")
    store = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'opsbot.db'}")
    try:
        await store.set_board(THREAD, "pixverse", 1200000000000000401, guild_id=fake.guild_id)
    finally:
        await store.close()
    on_fake(env, fake)
    code, lines = await check(capsys)
    invite = (
        f"https://discord.com/oauth2/authorize?client_id={fake.app_id}&scope=bot+"
        f"applications.commands&permissions=274877991936&guild_id={fake.guild_id}"
    )
    assert discord_part(lines)[1:] == [
        f"✓ channel #channel-0 ({alerts}, ALERT_CHANNEL_ID): can post alerts ({ALL_FOUR})",
        # Discord (and discord.py) take Embed Links away where a message cannot be sent
        f"✗ thread #status<U+000A>board ({THREAD}, board of pixverse): missing Send Messages "
        "in Threads, Embed Links",
        f"⚠ server Fake Guild ({fake.guild_id}): the bot's roles lack Send Messages in "
        f"Threads (invite permissions); invite it again with {invite}",
        RECEIVER_OFF,
    ]
    assert code == cli.EXIT_FAILED


async def test_a_guild_in_guild_ids_the_bot_is_not_in_fails(
    env: pytest.MonkeyPatch, fake_discord: FakeDiscord, capsys: pytest.CaptureFixture[str]
) -> None:
    on_fake(env, fake_discord)
    env.setenv("GUILD_IDS", f"{fake_discord.guild_id},1200000000000000777")
    code, lines = await check(capsys)
    assert discord_part(lines)[2:] == [
        "✗ server 1200000000000000777 (GUILD_IDS): the bot is not in it; invite it there "
        "(with the applications.commands scope), or correct GUILD_IDS",
        server_ok(fake_discord),
        RECEIVER_OFF,
    ]
    assert code == cli.EXIT_FAILED


async def test_a_discord_that_never_answers_is_one_line_within_the_bound(
    env: pytest.MonkeyPatch, fake_discord: FakeDiscord, capsys: pytest.CaptureFixture[str]
) -> None:
    env.setattr(discordcheck, "DISCORD_CHECK_TIMEOUT", 0.5)
    fake_discord.delay(r"^GET /users/@me$", 30, count=1)
    on_fake(env, fake_discord)
    code, lines = await asyncio.wait_for(check(capsys), 15)
    assert discord_part(lines) == [
        f"✗ Discord: no answer within 0.5 s (trying to log in) from {fake_discord.api_base}; "
        "check the network, or DISCORD_API_BASE_URL and DISCORD_GATEWAY_URL",
        RECEIVER_OFF,
    ]
    assert code == cli.EXIT_FAILED


# --------------------------------------------------------------------------- the receiver


async def serve_receiver(secret: str) -> tuple[web.AppRunner, int]:
    """A running opsbot's HTTP side with its receiver (`bot.http`, `bot.hooks.web`): the
    real routes and answers; the re-reads are never started (a probe names no job)."""
    receiver = Receiver(
        dict, cast(Any, None), ReceiverConfig(), state=lambda _: None, wake=lambda: None
    )
    app = http.make_app(lambda: (True, {}), routes=lambda a: add_routes(a, secret, receiver, dict))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, int(runner.addresses[0][1])


LOOPBACK = (
    "⚠ receiver: HTTP_HOST 127.0.0.1 is a loopback address: useapi cannot reach it without "
    "a reverse proxy or a tunnel in front"
)


def settings(**values: Any) -> Settings:
    """Settings from `values` over the defaults (no .env file)."""
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def receiver_settings(port: int, host: str = "127.0.0.1") -> Settings:
    return settings(http_port=port, http_host=host, reply_secret=SecretStr(SECRET))


async def test_receiver_up_with_this_secret() -> None:
    runner, port = await serve_receiver(SECRET)
    try:
        assert await check_receiver(receiver_settings(port)) == (
            True,
            [
                f"✓ receiver: POST /hooks/useapi/<secret hidden> on 127.0.0.1:{port}: a running "
                "opsbot answers there with this REPLY_SECRET",
                LOOPBACK,
            ],
        )
    finally:
        await runner.cleanup()


async def test_receiver_up_with_another_secret() -> None:
    runner, port = await serve_receiver("another-secret-0123456789abcdef")
    try:
        assert await check_receiver(receiver_settings(port)) == (
            False,
            [
                f"✗ receiver: POST /hooks/useapi/<secret hidden> on 127.0.0.1:{port}: answers "
                "404: the opsbot there has another REPLY_SECRET (or no receiver)",
                LOOPBACK,
            ],
        )
    finally:
        await runner.cleanup()


async def test_receiver_not_running_and_the_port_free() -> None:
    port = free_port()
    assert await check_receiver(receiver_settings(port, host="0.0.0.0")) == (
        True,
        [
            f"✓ receiver: POST /hooks/useapi/<secret hidden> on 0.0.0.0:{port}: nothing "
            "answers there yet, and the port is free for `opsbot run` to listen on"
        ],  # all interfaces: no loopback warning
    )


async def test_receiver_off_without_a_secret_or_without_a_port() -> None:
    off = (True, [RECEIVER_OFF])
    assert await check_receiver(settings(http_port=8080)) == off
    assert await check_receiver(settings(reply_secret=SecretStr(SECRET))) == off


def test_a_reply_secret_under_24_characters_is_one_config_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    for name in NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("REPLY_SECRET", "x" * 23)
    assert cli.main(["check"]) == cli.EXIT_CONFIG
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.splitlines() == [
        "opsbot: config error: REPLY_SECRET: must be at least 24 characters (it has 23); "
        "for example: python -c 'import secrets; print(secrets.token_urlsafe(32))'"
    ]
    monkeypatch.setenv("REPLY_SECRET", "x" * 24)  # exactly the minimum
    assert load_settings().reply_secret is not None


async def test_check_as_a_process_with_the_receiver_on(
    fake_discord: FakeDiscord, useapi: SimServer, tmp_path: Path
) -> None:
    """`python -m bot check` end to end: its own settings and event loop; the lines of the
    parts that need neither Discord's nor useapi's data, and no secret anywhere."""
    runner, port = await serve_receiver(SECRET)
    env = base_env()
    env.update(
        {
            "DISCORD_TOKEN": DISCORD_TOKEN,
            "DISCORD_API_BASE_URL": fake_discord.api_base,
            "DISCORD_GATEWAY_URL": fake_discord.gateway_url,
            "ALERT_CHANNEL_ID": str(fake_discord.channel_ids[0]),
            "USEAPI_BASE_URL": useapi.url,
            "USEAPI_TOKEN": SIM_TOKEN,
            "PROVIDERS": "pixverse",
            "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'opsbot.db'}",
            "HTTP_PORT": str(port),
            "REPLY_SECRET": SECRET,
        }
    )
    try:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "check",
            env=env,
            cwd=tmp_path,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(proc.communicate(), 60)
    finally:
        await runner.cleanup()
    text = out.decode()
    assert proc.returncode == cli.EXIT_OK, text + err.decode()
    assert discord_part(text.splitlines()) == [
        f"✓ Discord: logged in as opsbot (id {fake_discord.bot_user_id}), application opsbot "
        f"(id {fake_discord.app_id})",
        f"✓ channel #channel-0 ({fake_discord.channel_ids[0]}, ALERT_CHANNEL_ID): can post "
        f"alerts ({ALL_FOUR})",
        server_ok(fake_discord),
        f"✓ receiver: POST /hooks/useapi/<secret hidden> on 127.0.0.1:{port}: a running "
        "opsbot answers there with this REPLY_SECRET",
        LOOPBACK,
    ]
    everything = text + err.decode()
    assert DISCORD_TOKEN not in everything and SECRET not in everything
    assert "Traceback" not in everything


async def test_a_gateway_that_cannot_be_reached_is_one_line(
    env: pytest.MonkeyPatch, fake_discord: FakeDiscord, capsys: pytest.CaptureFixture[str]
) -> None:
    on_fake(env, fake_discord)
    gateway = f"ws://127.0.0.1:{free_port()}/gateway"  # nothing listens there
    env.setenv("DISCORD_GATEWAY_URL", gateway)
    code, lines = await check(capsys)
    assert discord_part(lines)[1:] == [
        f"✗ Discord: the gateway {gateway} refused the session (ClientConnectorError); "
        "check DISCORD_GATEWAY_URL",
        RECEIVER_OFF,
    ]
    assert code == cli.EXIT_FAILED
