"""Configuration from the environment or `.env` (names fixed by the public contract).

Every value is checked here against what the code that uses it can hold, so that a bad one is
refused at start with one line naming the variable instead of failing later inside a tick.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from typing import Annotated, Any, Final

from pydantic import (
    AnyHttpUrl,
    AnyWebsocketUrl,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from bot import providers
from bot.snowflake import parse_snowflake

DEFAULT_USEAPI_BASE_URL = "https://api.useapi.net"
DEFAULT_PROVIDERS = ("pixverse", "minimax", "dreamina")
LOG_LEVELS = ("CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG")


@dataclass(frozen=True, slots=True)
class Bounds:
    """The accepted range of a numeric setting, both ends included."""

    low: float
    high: float
    text: str  # what the error line says after "NAME: "
    #: A value below `low` accepted all the same, meaning "off" (None: there is none).
    off: float | None = None

    def check(self, value: float) -> float:
        if value == self.off:
            return value
        # isfinite for inf and NaN (NaN fails both comparisons anyway; this says so plainly)
        if not (math.isfinite(value) and self.low <= value <= self.high):
            raise ValueError(self.text)
        return value


#: Past the upper bounds a value stops making sense (alerts over an hour late; a job "running"
#: for a week is lost upstream, not slow), and far past them the code overflowed: inf in a
#: timedelta, 1e12 s in the poll loop's datetime arithmetic.
BOUNDS: Final = {
    "poll_interval_seconds": Bounds(5, 3600, "must be a number of seconds from 5 to 3600"),
    "stuck_after_minutes": Bounds(1, 10080, "must be a number of minutes from 1 to 10080 (7 days)"),
    "http_port": Bounds(0, 65535, "must be a whole number from 0 (off) to 65535"),
    "account_check_minutes": Bounds(1, 1440, "must be a number of minutes from 1 to 1440 (a day)"),
    "expiry_warn_days": Bounds(1, 365, "must be a number of days from 1 to 365"),
    # Under 15 minutes every condition on would be posted again each tick or two (and under a
    # microsecond the period rounds to 0: silently never).
    "remind_after_hours": Bounds(
        0.25,
        720,
        "must be 0 (off) or a number of hours from 0.25 (15 minutes) to 720 (30 days)",
        off=0,
    ),
    "failure_rate_window": Bounds(10, 1000, "must be a whole number of jobs from 10 to 1000"),
    "failure_rate_alert": Bounds(1, 100, "must be a percentage from 1 to 100"),
    # At least the 2 days of 1-minute points; at most ten years of 15-minute buckets.
    "history_days": Bounds(2, 3650, "must be a whole number of days from 2 to 3650"),
}
URL_SETTINGS: Final = ("useapi_base_url", "discord_api_base_url", "discord_gateway_url")
TOKEN_SETTINGS: Final = ("discord_token", "useapi_token")
#: The shortest `REPLY_SECRET` accepted, and the characters it may hold (URL-unreserved).
MIN_REPLY_SECRET: Final = 24
_URL_SAFE: Final = re.compile(r"[A-Za-z0-9._~-]+")
_Url = AnyHttpUrl | AnyWebsocketUrl


class ConfigError(Exception):
    """A setting is missing or invalid; the message is one human line naming the variable."""


def _split_csv(value: Any) -> Any:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


def _bad_character(text: str) -> str | None:
    """What kind of character makes `text` unusable in an HTTP header, or None. Says which
    kind only: the text may be a secret."""
    for char in text:
        if char.isspace():
            return "spaces or line breaks"
        if unicodedata.category(char)[0] == "C":
            return "control or invisible characters"
        if not char.isascii():
            return "characters outside ASCII"
    return None


def _secret_text(value: Any) -> Any:
    """A secret setting's text without outer whitespace (a paste accident; discord.py strips
    it too), None when that leaves nothing (unset); a value of another type as it is."""
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    if not isinstance(value, str):
        return value
    return value.strip() or None


class Settings(BaseSettings):
    """Every setting (README, Settings; names are public and fixed). Secrets are `SecretStr`:
    they print as `**********`."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    discord_token: SecretStr | None = None
    useapi_token: SecretStr | None = None
    useapi_base_url: AnyHttpUrl = AnyHttpUrl(DEFAULT_USEAPI_BASE_URL)
    discord_api_base_url: AnyHttpUrl | None = None
    discord_gateway_url: AnyWebsocketUrl | None = None
    providers: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: list(DEFAULT_PROVIDERS)
    )
    guild_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    alert_channel_id: int | None = None
    poll_interval_seconds: float = 30
    stuck_after_minutes: float = 20
    database_url: str = "sqlite+aiosqlite:///data/opsbot.db"
    redact_accounts: bool = False
    #: Show a completed job's picture (an image) or cover (a video, a song) in its alert and
    #: in `/job`; false: links only.
    show_previews: bool = True
    http_host: str = "127.0.0.1"
    http_port: int = 0
    log_level: str = "INFO"
    cancel_role_id: int | None = None
    account_check_minutes: float = 15
    expiry_warn_days: float = 3
    #: A condition still on is posted again once per this period (`still exhausted`, `still
    #: unreachable`); 0: never, else at least a quarter of an hour.
    remind_after_hours: float = 4
    #: The failure rate is read over a provider's (and each account's) last this many jobs…
    failure_rate_window: int = 20
    #: … and alerts at or above this percent failed + moderated.
    failure_rate_alert: float = 30
    reply_secret: SecretStr | None = None
    #: UTC hour (0–23) at which yesterday's /stats is posted to the `digest` route; None: off.
    digest_hour: int | None = None
    #: How long the history's 15-minute buckets and finished jobs are kept.
    history_days: int = 60

    @field_validator("providers", mode="before")
    @classmethod
    def _providers(cls, value: Any) -> Any:
        names = [n.lower() for n in _split_csv(value)] or list(DEFAULT_PROVIDERS)
        known = providers.known()
        unknown = [n for n in names if n not in known]
        if unknown:
            raise ValueError(f"unknown provider {unknown[0]!r} (known: {', '.join(known)})")
        return list(dict.fromkeys(names))

    @field_validator("guild_ids", mode="before")
    @classmethod
    def _guild_ids(cls, value: Any) -> Any:
        items = _split_csv(value)
        if not isinstance(items, list):
            return items  # pydantic reports the wrong type
        ids: list[int] = []
        for position, item in enumerate(items, 1):
            try:
                ids.append(parse_snowflake(item))
            except ValueError as exc:
                raise ValueError(f"item {position} {exc}") from None
        return list(dict.fromkeys(ids))  # a guild listed twice is synced once

    @field_validator("alert_channel_id", "cancel_role_id", mode="before")
    @classmethod
    def _alert_channel_id(cls, value: Any) -> Any:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        return parse_snowflake(value)

    @field_validator("digest_hour", mode="before")
    @classmethod
    def _digest_hour(cls, value: Any) -> Any:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        text = str(value).strip()
        if not (text.isascii() and text.isdigit() and 0 <= int(text) <= 23):
            raise ValueError("must be an hour of the day in UTC, a whole number from 0 to 23")
        return int(text)

    @field_validator("discord_api_base_url", "discord_gateway_url", mode="before")
    @classmethod
    def _empty_url_is_none(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator(*URL_SETTINGS)
    @classmethod
    def _base_url(cls, value: _Url | None) -> _Url | None:
        # Userinfo made httpx send Basic auth instead of the bearer token (and aiohttp refuse
        # to start); a query or fragment would be dropped or mangled when paths are appended.
        if value is None:
            return None
        if value.username is not None or value.password is not None:
            raise ValueError(
                "must not contain a user name or password (user:pass@); the "
                "token is sent on its own"
            )
        if value.query is not None:
            raise ValueError("must not contain a query (?…): paths and parameters are added to it")
        if value.fragment is not None:
            raise ValueError("must not contain a fragment (#…)")
        return value

    @field_validator(*TOKEN_SETTINGS, mode="before")
    @classmethod
    def _token(cls, value: Any) -> Any:
        value = _secret_text(value)
        if not isinstance(value, str):
            return value
        # Anything inside would end up in an HTTP header, where it is refused or injects
        # another header.
        bad = _bad_character(value)
        if bad:
            raise ValueError(f"contains {bad}; a token is one run of visible ASCII characters")
        return value

    @field_validator("reply_secret", mode="before")
    @classmethod
    def _reply_secret(cls, value: Any) -> Any:
        value = _secret_text(value)  # `REPLY_SECRET=` left empty: the receiver is off
        if not isinstance(value, str):
            return value
        # It is a path segment of the receiver's URL: one that needs no escaping, and long
        # enough that guessing it is hopeless. The message never repeats it.
        if len(value) < MIN_REPLY_SECRET:
            raise ValueError(
                f"must be at least {MIN_REPLY_SECRET} characters (it has {len(value)}); "
                "for example: python -c 'import secrets; print(secrets.token_urlsafe(32))'"
            )
        if not _URL_SAFE.fullmatch(value):
            raise ValueError(
                "may hold only letters, digits and - _ . ~ (it stands in the receiver's URL)"
            )
        return value

    @field_validator(*BOUNDS, mode="before")
    @classmethod
    def _plain_number(cls, value: Any) -> Any:
        # Python reads "20_0" as 200: a typo, not a number anyone means.
        if isinstance(value, str) and "_" in value:
            raise ValueError("a number without '_'")
        return value

    @field_validator(*BOUNDS)
    @classmethod
    def _bounded(cls, value: float, info: ValidationInfo) -> float:
        assert info.field_name is not None
        return BOUNDS[info.field_name].check(value)

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError("must start with sqlite+aiosqlite:// or postgresql+asyncpg://")
        # Parsed now, not at the first use (which was a traceback); the URL may hold a
        # password, so the message never repeats it.
        if any(unicodedata.category(c)[0] == "C" for c in value):
            raise ValueError("contains control characters (a line break?)")
        try:
            make_url(value)
        except (ArgumentError, ValueError):
            raise ValueError(
                "is not a database URL that SQLAlchemy can read (check the "
                "port and the special characters in the password)"
            ) from None
        return value

    @field_validator("http_host", mode="before")
    @classmethod
    def _http_host(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        value = value.strip() or "127.0.0.1"  # `HTTP_HOST=` left empty means the default
        if _bad_character(value):
            raise ValueError("must be a host name or IP address (ASCII, no spaces)")
        return value

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, value: str) -> str:
        if value.upper() not in LOG_LEVELS:
            raise ValueError(f"must be one of {', '.join(LOG_LEVELS)}")
        return value.upper()

    @property
    def receiver_on(self) -> bool:
        """Whether the replyUrl receiver listens: `HTTP_PORT` and `REPLY_SECRET` both set."""
        return bool(self.http_port) and self.reply_secret is not None

    @property
    def base_url(self) -> str:
        return str(self.useapi_base_url).rstrip("/")

    def require(self, *names: str) -> None:
        """Raise ConfigError for the first of `names` that is unset."""
        for name in names:
            if getattr(self, name) is None:
                raise ConfigError(f"{name.upper()} is not set")


def load_settings(**overrides: Any) -> Settings:
    """Read settings; turn pydantic's error report into one line naming the variable."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else ""
        if field in BOUNDS:
            # Whether it was "soon", "inf" or 1e12: say the range, the same way each time.
            msg = BOUNDS[field].text
        else:
            msg = first["msg"].removeprefix("Value error, ")
        raise ConfigError(f"{field.upper() or 'settings'}: {msg}") from None
