from datetime import timedelta

import pytest

from bot.accounts.check import CheckConfig
from bot.settings import ConfigError, load_settings
from bot.watch import WatchConfig


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    """No .env and no OPSBOT-relevant variables from the developer's shell."""
    monkeypatch.chdir(tmp_path)
    for name in (
        "DISCORD_TOKEN",
        "USEAPI_TOKEN",
        "USEAPI_BASE_URL",
        "PROVIDERS",
        "GUILD_IDS",
        "ALERT_CHANNEL_ID",
        "POLL_INTERVAL_SECONDS",
        "STUCK_AFTER_MINUTES",
        "DATABASE_URL",
        "REDACT_ACCOUNTS",
        "HTTP_PORT",
        "LOG_LEVEL",
        "DISCORD_API_BASE_URL",
        "DISCORD_GATEWAY_URL",
        "CANCEL_ROLE_ID",
        "SHOW_PREVIEWS",
        "DIGEST_HOUR",
        "HISTORY_DAYS",
        "REMIND_AFTER_HOURS",
        "FAILURE_RATE_WINDOW",
        "FAILURE_RATE_ALERT",
    ):
        monkeypatch.delenv(name, raising=False)


def test_defaults_match_the_contract():
    s = load_settings()
    assert s.base_url == "https://api.useapi.net"
    assert s.providers == ["pixverse", "minimax", "dreamina"]
    assert s.guild_ids == []
    assert s.alert_channel_id is None
    assert s.cancel_role_id is None
    assert s.digest_hour is None  # the digest is off unless asked for
    assert s.history_days == 60
    assert s.poll_interval_seconds == 30
    assert s.stuck_after_minutes == 20
    assert s.database_url == "sqlite+aiosqlite:///data/opsbot.db"
    assert s.redact_accounts is False
    assert s.show_previews is True  # SHOW_PREVIEWS: on unless turned off
    assert (s.http_host, s.http_port, s.log_level) == ("127.0.0.1", 0, "INFO")
    assert s.remind_after_hours == 4
    assert (s.failure_rate_window, s.failure_rate_alert) == (20, 30)


def test_the_history_alert_settings_reach_the_watcher_and_the_account_checks():
    """What the watcher and the account checks run by: the contract's defaults, a fraction of
    an hour as it is, and REMIND_AFTER_HOURS=0 as no reminders at all."""
    default = load_settings()
    watch = WatchConfig.from_settings(default)
    assert (watch.remind_after, watch.failure_window, watch.failure_alert) == (
        timedelta(hours=4),
        20,
        30,
    )
    assert CheckConfig.from_settings(default).remind_after == timedelta(hours=4)
    chosen = load_settings(remind_after_hours=0.5, failure_rate_window=50, failure_rate_alert=12.5)
    watch = WatchConfig.from_settings(chosen)
    assert (watch.remind_after, watch.failure_window, watch.failure_alert) == (
        timedelta(minutes=30),
        50,
        12.5,
    )
    assert CheckConfig.from_settings(chosen).remind_after == timedelta(minutes=30)
    off = load_settings(remind_after_hours=0)
    assert WatchConfig.from_settings(off).remind_after is None
    assert CheckConfig.from_settings(off).remind_after is None


def test_env_and_dotenv(monkeypatch, tmp_path):
    (tmp_path / ".env").write_text("USEAPI_TOKEN=from-dotenv\nGUILD_IDS=1, 2\n")
    monkeypatch.setenv("PROVIDERS", "MiniMax , pixverse")
    monkeypatch.setenv("ALERT_CHANNEL_ID", "")
    s = load_settings()
    assert s.useapi_token is not None and s.useapi_token.get_secret_value() == "from-dotenv"
    assert s.guild_ids == [1, 2]
    assert s.providers == ["minimax", "pixverse"]
    assert s.alert_channel_id is None


@pytest.mark.parametrize(("value", "shown"), [("false", False), ("0", False), ("true", True)])
def test_show_previews_turns_them_off(monkeypatch, value, shown):
    monkeypatch.setenv("SHOW_PREVIEWS", value)
    assert load_settings().show_previews is shown


def test_secrets_never_in_repr(monkeypatch):
    monkeypatch.setenv("USEAPI_TOKEN", "tok-SECRET-123")
    monkeypatch.setenv("DISCORD_TOKEN", "disc-SECRET-456")
    s = load_settings()
    for text in (repr(s), str(s), str(s.model_dump())):
        assert "SECRET" not in text


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("POLL_INTERVAL_SECONDS", "4"),
        ("POLL_INTERVAL_SECONDS", "soon"),
        ("USEAPI_BASE_URL", "not a url"),
        ("PROVIDERS", "pixverse,kling9"),
        ("GUILD_IDS", "12,abc"),
        ("DATABASE_URL", "mysql://x"),
        ("HTTP_PORT", "70000"),
        ("LOG_LEVEL", "LOUD"),
        ("REDACT_ACCOUNTS", "maybe"),
        ("SHOW_PREVIEWS", "sometimes"),
        ("DISCORD_GATEWAY_URL", "http://not-a-websocket"),
    ],
)
def test_bad_value_is_one_line_naming_the_variable(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as info:
        load_settings()
    message = str(info.value)
    assert message.startswith(name + ":")
    assert "\n" not in message


def test_require_names_the_missing_variable():
    with pytest.raises(ConfigError, match=r"^DISCORD_TOKEN is not set$"):
        load_settings().require("discord_token")


def test_env_example_names_every_setting_with_its_default():
    """.env.example is where a team finds the settings: each is there (HISTORY_DAYS was not),
    and the file as it is loads, at the contract's defaults where it sets one."""
    import re
    from pathlib import Path

    from bot.settings import Settings

    example = Path(__file__).resolve().parent.parent / ".env.example"
    names = set(re.findall(r"^([A-Z_]+)=", example.read_text(encoding="utf-8"), re.M))
    assert {name.upper() for name in Settings.model_fields} <= names
    s = Settings(_env_file=example)  # type: ignore[call-arg]
    assert (s.history_days, s.digest_hour) == (60, None)
