"""Wiring shared by the CLI commands: settings → client → provider adapters."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import SecretStr

from bot import providers
from bot.providers import Provider
from bot.settings import Settings
from bot.useapi import UseapiClient


def make_client(settings: Settings, *, base_url: str | None = None,
                token: SecretStr | None = None, **kwargs: Any) -> UseapiClient:
    return UseapiClient(base_url or settings.base_url, token or settings.useapi_token, **kwargs)


def make_providers(names: Sequence[str], client: UseapiClient) -> list[Provider]:
    return [providers.load(name)(client) for name in names]


def secrets_of(settings: Settings) -> list[str]:
    """Every secret value in the settings, for the log filter."""
    return [s.get_secret_value() for s in (settings.discord_token, settings.useapi_token) if s]
