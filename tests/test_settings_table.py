"""The settings table: every value that used to pass validation and then kill the bot, through
the real CLI (`bot.cli.main` in-process with a clean environment, and `python -m bot run` as a
process). Each gives exit 2 and exactly one line on stderr naming the variable, never a
traceback and never a secret; each bound is accepted at exactly its value and refused just past
it. Then a GUILD_IDS entry naming a guild the bot is not in: a warning, and the bot carries on.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot import cli
from bot.settings import ConfigError, Settings, load_settings
from rig.botharness import StartBot
from rig.fakediscord import ADMIN_PERMISSIONS, FakeDiscord
from rig.threadfake import threaded_fake_discord
from rig.threadsim import TOKEN, threaded_sim

#: Part of every secret-bearing bad value below; it must never be printed.
SECRET = "S3CRETxyz42"
MAX_ID = 2**64 - 1
NAMES = {name.upper() for name in Settings.model_fields}

ID_RANGE = "must be a Discord id: a whole number from 1 to 18446744073709551615"
POLL = "POLL_INTERVAL_SECONDS: must be a number of seconds from 5 to 3600"
STUCK = "STUCK_AFTER_MINUTES: must be a number of minutes from 1 to 10080 (7 days)"
PORT = "HTTP_PORT: must be a whole number from 0 (off) to 65535"
CHECK = "ACCOUNT_CHECK_MINUTES: must be a number of minutes from 1 to 1440 (a day)"
WARN = "EXPIRY_WARN_DAYS: must be a number of days from 1 to 365"
REMIND = (
    "REMIND_AFTER_HOURS: must be 0 (off) or a number of hours from 0.25 (15 minutes) to 720 "
    "(30 days)"
)
WINDOW = "FAILURE_RATE_WINDOW: must be a whole number of jobs from 10 to 1000"
RATE = "FAILURE_RATE_ALERT: must be a percentage from 1 to 100"
DIGEST = "DIGEST_HOUR: must be an hour of the day in UTC, a whole number from 0 to 23"
HISTORY = "HISTORY_DAYS: must be a whole number of days from 2 to 3650"
TOKEN_RULE = "a token is one run of visible ASCII characters"
USERINFO = "must not contain a user name or password (user:pass@); the token is sent on its own"
QUERY = "must not contain a query (?…): paths and parameters are added to it"
FRAGMENT = "must not contain a fragment (#…)"

#: (variable, value, the whole line after "opsbot: config error: ")
BAD: list[tuple[str, str, str]] = [
    ("ALERT_CHANNEL_ID", str(MAX_ID + 1), f"ALERT_CHANNEL_ID: {ID_RANGE}"),
    ("ALERT_CHANNEL_ID", "0", f"ALERT_CHANNEL_ID: {ID_RANGE}"),
    ("ALERT_CHANNEL_ID", "-1", f"ALERT_CHANNEL_ID: {ID_RANGE}"),
    ("ALERT_CHANNEL_ID", "1e3", f"ALERT_CHANNEL_ID: {ID_RANGE}"),
    ("GUILD_IDS", f"1200000000000000100,{MAX_ID + 1}", f"GUILD_IDS: item 2 {ID_RANGE}"),
    ("CANCEL_ROLE_ID", str(MAX_ID + 1), f"CANCEL_ROLE_ID: {ID_RANGE}"),
    ("CANCEL_ROLE_ID", "0", f"CANCEL_ROLE_ID: {ID_RANGE}"),
    ("CANCEL_ROLE_ID", "role", f"CANCEL_ROLE_ID: {ID_RANGE}"),
    ("GUILD_IDS", "0", f"GUILD_IDS: item 1 {ID_RANGE}"),
    ("DIGEST_HOUR", "24", DIGEST),
    ("DIGEST_HOUR", "-1", DIGEST),
    ("DIGEST_HOUR", "7.5", DIGEST),
    ("DIGEST_HOUR", "noon", DIGEST),
    ("POLL_INTERVAL_SECONDS", "inf", POLL),
    ("POLL_INTERVAL_SECONDS", "-inf", POLL),
    ("POLL_INTERVAL_SECONDS", "nan", POLL),
    ("POLL_INTERVAL_SECONDS", "1e12", POLL),
    ("POLL_INTERVAL_SECONDS", "4.99", POLL),
    ("POLL_INTERVAL_SECONDS", "3600.01", POLL),
    ("POLL_INTERVAL_SECONDS", "soon", POLL),
    ("STUCK_AFTER_MINUTES", "inf", STUCK),
    ("STUCK_AFTER_MINUTES", "nan", STUCK),
    ("STUCK_AFTER_MINUTES", "0.99", STUCK),
    ("STUCK_AFTER_MINUTES", "10080.01", STUCK),
    ("HTTP_PORT", "-1", PORT),
    ("HTTP_PORT", "65536", PORT),
    ("HTTP_PORT", "inf", PORT),
    ("HTTP_PORT", "80.5", PORT),
    (
        "DISCORD_TOKEN",
        f"abc\n{SECRET}",
        f"DISCORD_TOKEN: contains spaces or line breaks; {TOKEN_RULE}",
    ),
    (
        "DISCORD_TOKEN",
        f"abc\r\nX-Evil: {SECRET}",
        f"DISCORD_TOKEN: contains spaces or line breaks; {TOKEN_RULE}",
    ),
    (
        "DISCORD_TOKEN",
        f"abc\x1b[2J{SECRET}",
        f"DISCORD_TOKEN: contains control or invisible characters; {TOKEN_RULE}",
    ),
    (
        "DISCORD_TOKEN",
        f"abc\u200b{SECRET}",
        f"DISCORD_TOKEN: contains control or invisible characters; {TOKEN_RULE}",
    ),
    (
        "USEAPI_TOKEN",
        f"abc\n{SECRET}",
        f"USEAPI_TOKEN: contains spaces or line breaks; {TOKEN_RULE}",
    ),
    (
        "USEAPI_TOKEN",
        f"abc {SECRET}",
        f"USEAPI_TOKEN: contains spaces or line breaks; {TOKEN_RULE}",
    ),
    (
        "USEAPI_TOKEN",
        f"tök{SECRET}",
        f"USEAPI_TOKEN: contains characters outside ASCII; {TOKEN_RULE}",
    ),
    ("USEAPI_BASE_URL", f"https://user:{SECRET}@api.useapi.net", f"USEAPI_BASE_URL: {USERINFO}"),
    ("USEAPI_BASE_URL", f"https://{SECRET}@api.useapi.net", f"USEAPI_BASE_URL: {USERINFO}"),
    ("USEAPI_BASE_URL", f"https://api.useapi.net/?token={SECRET}", f"USEAPI_BASE_URL: {QUERY}"),
    ("USEAPI_BASE_URL", f"https://api.useapi.net/#{SECRET}", f"USEAPI_BASE_URL: {FRAGMENT}"),
    (
        "DISCORD_API_BASE_URL",
        f"http://bot:{SECRET}@127.0.0.1:8080/api/v10",
        f"DISCORD_API_BASE_URL: {USERINFO}",
    ),
    ("DISCORD_API_BASE_URL", "http://127.0.0.1:8080/api/v10?x=1", f"DISCORD_API_BASE_URL: {QUERY}"),
    (
        "DISCORD_GATEWAY_URL",
        f"ws://bot:{SECRET}@127.0.0.1:8080/gateway",
        f"DISCORD_GATEWAY_URL: {USERINFO}",
    ),
    ("DISCORD_GATEWAY_URL", "ws://127.0.0.1:8080/gateway?v=10", f"DISCORD_GATEWAY_URL: {QUERY}"),
    ("DISCORD_GATEWAY_URL", "ws://127.0.0.1:8080/gateway#x", f"DISCORD_GATEWAY_URL: {FRAGMENT}"),
    (
        "DATABASE_URL",
        f"postgresql+asyncpg://u:{SECRET}@db:notaport/opsbot",
        "DATABASE_URL: is not a database URL that SQLAlchemy can read (check the port and the "
        "special characters in the password)",
    ),
    (
        "DATABASE_URL",
        f"postgresql+asyncpg://u:{SECRET}@db/opsbot\nx",
        "DATABASE_URL: contains control characters (a line break?)",
    ),
    ("HTTP_HOST", "bad host", "HTTP_HOST: must be a host name or IP address (ASCII, no spaces)"),
    ("ACCOUNT_CHECK_MINUTES", "0.99", CHECK),
    ("ACCOUNT_CHECK_MINUTES", "1440.01", CHECK),
    ("ACCOUNT_CHECK_MINUTES", "nan", CHECK),
    ("ACCOUNT_CHECK_MINUTES", "often", CHECK),
    ("EXPIRY_WARN_DAYS", "0.99", WARN),
    ("EXPIRY_WARN_DAYS", "365.01", WARN),
    ("EXPIRY_WARN_DAYS", "inf", WARN),
    ("REMIND_AFTER_HOURS", "-0.01", REMIND),
    ("REMIND_AFTER_HOURS", "-4", REMIND),
    ("REMIND_AFTER_HOURS", "720.01", REMIND),
    ("REMIND_AFTER_HOURS", "1e9", REMIND),
    ("REMIND_AFTER_HOURS", "nan", REMIND),
    ("REMIND_AFTER_HOURS", "4h", REMIND),
    # Above 0 and under 15 minutes: a reminder of every condition each tick (or, under a
    # microsecond, a period of 0 and silently none), not something anyone asked for.
    ("REMIND_AFTER_HOURS", "0.24", REMIND),
    ("REMIND_AFTER_HOURS", "1e-9", REMIND),
    ("FAILURE_RATE_WINDOW", "0", WINDOW),
    ("FAILURE_RATE_WINDOW", "-20", WINDOW),
    ("FAILURE_RATE_WINDOW", "9", WINDOW),
    ("FAILURE_RATE_WINDOW", "1001", WINDOW),
    ("FAILURE_RATE_WINDOW", "99999999999999999999", WINDOW),
    ("FAILURE_RATE_WINDOW", "20.5", WINDOW),
    ("FAILURE_RATE_WINDOW", "twenty", WINDOW),
    ("FAILURE_RATE_WINDOW", "20_0", WINDOW),  # Python's int() would read 200
    ("FAILURE_RATE_ALERT", "0", RATE),
    ("FAILURE_RATE_ALERT", "-1", RATE),
    ("FAILURE_RATE_ALERT", "0.99", RATE),
    ("FAILURE_RATE_ALERT", "100.01", RATE),
    ("FAILURE_RATE_ALERT", "101", RATE),
    ("FAILURE_RATE_ALERT", "inf", RATE),
    ("FAILURE_RATE_ALERT", "30%", RATE),
    ("HISTORY_DAYS", "1", HISTORY),
    ("HISTORY_DAYS", "3651", HISTORY),
    ("HISTORY_DAYS", "2.5", HISTORY),
    ("HISTORY_DAYS", "forever", HISTORY),
    ("HISTORY_DAYS", "6_0", HISTORY),
    (
        "REPLY_SECRET",
        SECRET,
        f"REPLY_SECRET: must be at least 24 characters (it has {len(SECRET)}); for example: "
        "python -c 'import secrets; print(secrets.token_urlsafe(32))'",
    ),
    (
        "REPLY_SECRET",
        SECRET * 3 + "/",
        "REPLY_SECRET: may hold only letters, digits and - _ . ~ (it stands in the receiver's URL)",
    ),
]
#: Every command that reads the settings.
COMMANDS = ["run", "run --simulate", "status", "check", "demo --seconds 1"]


def _id(value: object) -> str:
    return repr(value)[:40]


@pytest.fixture(scope="module")
def discord_urls() -> Iterator[dict[str, str]]:
    """A fake Discord for `opsbot check` to log in to (never the real one)."""
    with threaded_fake_discord() as fake:
        yield {"DISCORD_API_BASE_URL": fake.api_base, "DISCORD_GATEWAY_URL": fake.gateway_url}


@pytest.fixture
def clean_env(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, discord_urls: dict[str, str]
) -> pytest.MonkeyPatch:
    """No setting from the developer's shell or a `.env`; valid tokens, a fake Discord and a
    private database, so that the variable under test is the only thing wrong."""
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.upper() in NAMES:
            monkeypatch.delenv(name)
    for name, url in discord_urls.items():
        monkeypatch.setenv(name, url)
    monkeypatch.setenv("DISCORD_TOKEN", "valid-discord-token.abc")
    monkeypatch.setenv("USEAPI_TOKEN", TOKEN)
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'opsbot.db'}")
    return monkeypatch


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize(("name", "value", "line"), BAD, ids=_id)
def test_bad_value_exits_2_with_one_line_naming_the_variable(
    clean_env: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    command: str,
    name: str,
    value: str,
    line: str,
) -> None:
    clean_env.setenv(name, value)
    assert cli.main(command.split()) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == f"opsbot: config error: {line}\n"
    assert line.startswith(name + ": ")
    assert SECRET not in out + err


def test_a_bad_value_in_dotenv_is_refused_the_same_way(
    clean_env: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clean_env.delenv("DISCORD_TOKEN")
    # dotenv turns \n inside double quotes into a line break
    (tmp_path / ".env").write_text(f'DISCORD_TOKEN="abc\\n{SECRET}"\n')
    assert cli.main(["run"]) == 2
    out, err = capsys.readouterr()
    assert (out, err) == (
        "",
        f"opsbot: config error: DISCORD_TOKEN: contains spaces or line breaks; {TOKEN_RULE}\n",
    )


@pytest.fixture(scope="module")
def sim_url() -> Iterator[str]:
    with threaded_sim(accounts=6, jobs=6) as (url, _):
        yield url


#: (variable, value, what the settings hold then): each bound exactly, accepted.
ACCEPTED: list[tuple[str, str, Any]] = [
    ("POLL_INTERVAL_SECONDS", "5", 5.0),
    ("POLL_INTERVAL_SECONDS", "3600", 3600.0),
    ("STUCK_AFTER_MINUTES", "1", 1.0),
    ("STUCK_AFTER_MINUTES", "10080", 10080.0),
    ("HTTP_PORT", "0", 0),
    ("HTTP_PORT", "65535", 65535),
    ("ACCOUNT_CHECK_MINUTES", "1", 1.0),
    ("ACCOUNT_CHECK_MINUTES", "1440", 1440.0),
    ("EXPIRY_WARN_DAYS", "1", 1.0),
    ("EXPIRY_WARN_DAYS", "365", 365.0),
    ("REMIND_AFTER_HOURS", "0", 0.0),
    ("REMIND_AFTER_HOURS", "0.25", 0.25),
    ("REMIND_AFTER_HOURS", "720", 720.0),
    ("FAILURE_RATE_WINDOW", "10", 10),
    ("FAILURE_RATE_WINDOW", "1000", 1000),
    ("FAILURE_RATE_ALERT", "1", 1.0),
    ("FAILURE_RATE_ALERT", "100", 100.0),
    ("HISTORY_DAYS", "2", 2),
    ("HISTORY_DAYS", "3650", 3650),
    ("ALERT_CHANNEL_ID", "1", 1),
    ("ALERT_CHANNEL_ID", str(MAX_ID), MAX_ID),
    ("GUILD_IDS", f"1, {MAX_ID}, 1", [1, MAX_ID]),
    ("CANCEL_ROLE_ID", "1", 1),
    ("CANCEL_ROLE_ID", str(MAX_ID), MAX_ID),
    ("CANCEL_ROLE_ID", " ", None),
    ("DIGEST_HOUR", "0", 0),
    ("DIGEST_HOUR", "23", 23),
    ("DIGEST_HOUR", " ", None),
    ("DISCORD_TOKEN", "  padded-token.abc\n", "padded-token.abc"),  # a paste's outer spaces
    ("HTTP_HOST", "", "127.0.0.1"),  # `HTTP_HOST=` left empty: the default
]


@pytest.mark.parametrize(("name", "value", "held"), ACCEPTED, ids=_id)
def test_each_bound_is_accepted_at_exactly_its_value(
    clean_env: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    sim_url: str,
    name: str,
    value: str,
    held: Any,
) -> None:
    clean_env.setenv("USEAPI_BASE_URL", sim_url)
    clean_env.setenv(name, value)
    # An id is accepted, then looked up in Discord: the fake has no such channel or server.
    missing = {
        "ALERT_CHANNEL_ID": "✗ channel {} (ALERT_CHANNEL_ID): no such channel (404 Unknown "
        "Channel)",
        "GUILD_IDS": "✗ server {} (GUILD_IDS): the bot is not in it; invite it there (with "
        "the applications.commands scope), or correct GUILD_IDS",
    }.get(name)
    assert cli.main(["check"]) == (0 if missing is None else 1)
    out, err = capsys.readouterr()
    assert err == ""
    if missing is not None:
        ids = held if isinstance(held, list) else [held]
        assert [line for line in out.splitlines() if line.startswith("✗")] == [
            missing.format(i) for i in ids
        ]
    poll = value if name == "POLL_INTERVAL_SECONDS" else "30"
    words = " ".join(out.split())  # rich wraps at the console's width
    assert words.startswith(
        "✓ settings: providers pixverse, minimax, dreamina, poll every "
        f"{poll}s, database sqlite+aiosqlite:///"
    )
    assert "✓ pixverse: reached" in words and "✓ dreamina: reached" in words
    got = getattr(load_settings(), name.lower())
    if name == "DISCORD_TOKEN":
        got = got.get_secret_value()
    assert got == held


#: The real process: the same one line from `python -m bot run`, and nothing else.
PROCESS_CASES = [
    ("ALERT_CHANNEL_ID", str(MAX_ID + 1), f"ALERT_CHANNEL_ID: {ID_RANGE}"),
    ("POLL_INTERVAL_SECONDS", "1e12", POLL),
    (
        "DISCORD_TOKEN",
        f"abc\n{SECRET}",
        f"DISCORD_TOKEN: contains spaces or line breaks; {TOKEN_RULE}",
    ),
    ("USEAPI_BASE_URL", f"https://user:{SECRET}@api.useapi.net", f"USEAPI_BASE_URL: {USERINFO}"),
]


@pytest.mark.parametrize(("name", "value", "line"), PROCESS_CASES, ids=_id)
def test_python_m_bot_run_exits_2_with_one_line(
    tmp_path: Path, name: str, value: str, line: str
) -> None:
    env = {k: v for k, v in os.environ.items() if k.upper() not in NAMES}
    env.update(
        {
            "DISCORD_TOKEN": "valid-discord-token.abc",
            "USEAPI_TOKEN": TOKEN,
            "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'opsbot.db'}",
            name: value,
        }
    )
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "run"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stdout == b""
    assert proc.stderr.decode() == f"opsbot: config error: {line}\n"
    assert SECRET.encode() not in proc.stderr


# --------------------------------------------------------------------------- GUILD_IDS

MISSING_GUILD = 1300000000000000999


@pytest.mark.parametrize(
    ("status", "answer"),
    [
        (404, "404 Unknown Guild"),  # the fake's answer for an id that is no guild
        (403, "403 Missing Access"),  # Discord's answer for a guild the bot is not in
    ],
)
async def test_a_guild_the_bot_is_not_in_is_skipped_with_a_warning(
    start_bot: StartBot,
    fake_discord: FakeDiscord,
    caplog: pytest.LogCaptureFixture,
    status: int,
    answer: str,
) -> None:
    fake = fake_discord
    if status == 403:
        fake.add_guild(MISSING_GUILD, [1300000000000000201], name="Not ours")
        fake.fail(
            rf"PUT /applications/\d+/guilds/{MISSING_GUILD}/commands$",
            403,
            count=None,
            body={"message": "Missing Access", "code": 50001},
        )
    with caplog.at_level(logging.INFO, logger="bot.app"):
        # the missing guild first: the one after it must still get its commands
        h = await start_bot(guild_ids=[MISSING_GUILD, fake.guild_id], providers=["pixverse"])
    records = [
        (r.levelname, r.getMessage())
        for r in caplog.records
        if r.name == "bot.app" and "guild" in r.getMessage()
    ]
    assert records == [
        (
            "WARNING",
            f"GUILD_IDS: cannot sync commands to guild {MISSING_GUILD} ({answer}): the "
            "bot is not in it, or was invited without the applications.commands "
            "scope; carrying on without it",
        ),
        ("INFO", f"synced 9 commands to guild {fake.guild_id}"),
    ]
    synced = fake.synced_commands(fake.guild_id)
    assert synced is not None
    assert sorted(c["name"] for c in synced) == [
        "alerts",
        "board",
        "cancel",
        "capacity",
        "help",
        "job",
        "queue",
        "stats",
        "status",
    ]
    assert fake.synced_commands(MISSING_GUILD) is None
    # and the bot runs: a command in the guild that has them is answered
    inter = await fake.invoke("status", permissions=ADMIN_PERMISSIONS)
    body = await fake.wait_for_interaction_response(inter)
    assert body["type"] == 4
    assert [e["title"] for e in body["data"]["embeds"]] == ["opsbot status"]
    assert not h.task.done()


async def test_an_http_host_that_does_not_resolve_is_named_as_such(start_bot: StartBot) -> None:
    """It used to be reported as a problem with HTTP_PORT."""
    with pytest.raises(ConfigError) as refused:
        await start_bot(providers=["pixverse"], http_host="no-such-host.invalid", http_port=65535)
    assert str(refused.value).startswith("HTTP_HOST: cannot resolve no-such-host.invalid (")
    assert "\n" not in str(refused.value)


# --------------------------------------------------------------------------- the maximums run


async def test_a_bot_at_the_maximum_interval_and_stuck_time_keeps_its_poll_loop(
    start_bot: StartBot,
) -> None:
    """POLL_INTERVAL_SECONDS=1e12 started a bot whose poll loop died at its first tick (the
    loop's next time overflowed a datetime); at the accepted maximum the loop lives on."""
    h = await start_bot(
        manual_ticks=False,
        providers=["pixverse"],
        poll_interval_seconds=3600,
        stuck_after_minutes=10080,
    )
    cog = h.cog("pixverse")
    if h.bot.state("pixverse").ticks == 0:  # no await in between: no tick can slip past
        await h.bot.wait_for("opsbot_tick", timeout=15)
    # the tick is over once it was announced (it re-arms the loop without awaiting)
    assert cog.poll.is_running() and not cog.poll.failed()
    assert cog.poll.next_iteration is not None
    spread = 3600 * cog.watcher.config.jitter
    seconds = cog.poll.seconds
    assert seconds is not None and 3600 - spread <= seconds <= 3600 + spread
    assert h.bot.state("pixverse").last_error is None
    # and the commands that read both settings answer
    for name in ("status", "queue"):
        inter = await h.fake.invoke(name, permissions=ADMIN_PERMISSIONS)
        body = await h.fake.wait_for_interaction_response(inter)
        assert body["type"] == 4, (name, body)
        assert body["data"]["embeds"], (name, body)


# --------------------------------------------------------------------------- numeric options


@pytest.mark.parametrize(
    ("argv", "line"),
    [
        (
            "demo --seconds nan",
            "opsbot demo: error: argument --seconds: must be a number from 1 to 86400",
        ),
        (
            "demo --seconds inf",
            "opsbot demo: error: argument --seconds: must be a number from 1 to 86400",
        ),
        (
            "demo --seconds 0.99",
            "opsbot demo: error: argument --seconds: must be a number from 1 to 86400",
        ),
        (
            "demo --seconds 86400.01",
            "opsbot demo: error: argument --seconds: must be a number from 1 to 86400",
        ),
        (
            "simulate --port 65536",
            "opsbot simulate: error: argument --port: must be a whole number from 0 to 65535",
        ),
        (
            "simulate --port -1",
            "opsbot simulate: error: argument --port: must be a whole number from 0 to 65535",
        ),
        (
            "simulate --jobs -1",
            "opsbot simulate: error: argument --jobs: must be a whole number from 0 to 1000000",
        ),
        (
            "simulate --accounts 100001",
            "opsbot simulate: error: argument --accounts: must be a whole number from 0 to 100000",
        ),
        (
            "simulate --accounts 1e3",
            "opsbot simulate: error: argument --accounts: must be a whole number from 0 to 100000",
        ),
    ],
    ids=_id,
)
def test_a_numeric_option_out_of_range_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], argv: str, line: str
) -> None:
    """(`demo --seconds nan` ran for ever; `simulate --port 70000` was a traceback.)"""
    with pytest.raises(SystemExit) as exited:
        cli.main(argv.split())
    assert exited.value.code == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines()[0].startswith("usage: opsbot ")
    assert err.splitlines()[-1] == line


@pytest.mark.parametrize(
    ("argv", "name", "value"),
    [
        ("demo --seconds 1", "seconds", 1.0),
        ("demo --seconds 86400", "seconds", 86400.0),
        ("simulate --port 0", "port", 0),
        ("simulate --port 65535", "port", 65535),
        ("simulate --jobs 0", "jobs", 0),
        ("simulate --jobs 1000000", "jobs", 1_000_000),
        ("simulate --accounts 0", "accounts", 0),
        ("simulate --accounts 100000", "accounts", 100_000),
    ],
    ids=_id,
)
def test_each_option_bound_is_accepted_at_exactly_its_value(
    argv: str, name: str, value: float
) -> None:
    assert getattr(cli._parser().parse_args(argv.split()), name) == value
