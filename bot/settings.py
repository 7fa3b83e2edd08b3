"""Configuration from the environment or `.env` (names fixed by the public contract)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import (
    AnyHttpUrl,
    AnyWebsocketUrl,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot import providers

DEFAULT_USEAPI_BASE_URL = "https://api.useapi.net"
DEFAULT_PROVIDERS = ("pixverse", "minimax", "dreamina")
LOG_LEVELS = ("CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG")


class ConfigError(Exception):
    """A setting is missing or invalid; the message is one human line naming the variable."""


def _split_csv(value: Any) -> Any:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class Settings(BaseSettings):
    """Every setting of the contract. Secrets are `SecretStr`: they print as `**********`."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8",
                                      extra="ignore", case_sensitive=False)

    discord_token: SecretStr | None = None
    useapi_token: SecretStr | None = None
    useapi_base_url: AnyHttpUrl = AnyHttpUrl(DEFAULT_USEAPI_BASE_URL)
    discord_api_base_url: AnyHttpUrl | None = None
    discord_gateway_url: AnyWebsocketUrl | None = None
    providers: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: list(DEFAULT_PROVIDERS))
    guild_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    alert_channel_id: int | None = None
    poll_interval_seconds: float = Field(default=30, ge=5)
    stuck_after_minutes: float = Field(default=20, gt=0)
    database_url: str = "sqlite+aiosqlite:///data/opsbot.db"
    redact_accounts: bool = False
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=0, ge=0, le=65535)
    log_level: str = "INFO"

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
        return _split_csv(value)

    @field_validator("alert_channel_id", "discord_api_base_url", "discord_gateway_url",
                     "useapi_token", "discord_token", mode="before")
    @classmethod
    def _empty_is_none(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError("must start with sqlite+aiosqlite:// or postgresql+asyncpg://")
        return value

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, value: str) -> str:
        if value.upper() not in LOG_LEVELS:
            raise ValueError(f"must be one of {', '.join(LOG_LEVELS)}")
        return value.upper()

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
        name = str(first["loc"][0]).upper() if first["loc"] else "settings"
        msg = first["msg"].removeprefix("Value error, ")
        raise ConfigError(f"{name}: {msg}") from None
