"""The useapi subscription (`GET /v2/account`): whether it is active, and per provider how
many accounts are configured, active and in error. useapi-wide, not a provider's."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from bot.errors import PayloadError
from bot.models import bound_count
from bot.providers.parse import expect_dict, opt_dict, opt_int

ACCOUNT_PATH: Final = "/v2/account"
#: The name its requests, errors and events go by (it is no provider).
USEAPI: Final = "useapi"
#: A body naming more providers than this is read up to here (views list them all).
MAX_PROVIDERS: Final = 100
#: useapi's display names ("MiniMax API") are cut to this length.
MAX_NAME: Final = 80


@dataclass(frozen=True, slots=True)
class ProviderAccounts:
    """One provider's accounts as `/v2/account` counts them, under useapi's display name."""

    name: str
    total: int = 0
    active: int = 0
    error: int = 0


@dataclass(frozen=True, slots=True)
class Subscription:
    """`subscriptionIsActive` and the per-provider account counts."""

    active: bool
    providers: tuple[ProviderAccounts, ...] = ()

    @property
    def errors(self) -> int:
        """Accounts in error, all providers together."""
        return sum(p.error for p in self.providers)


def _active(value: object) -> bool:
    if isinstance(value, bool):
        return value
    raise PayloadError("expected true or false", provider=USEAPI, field="subscriptionIsActive")


def _count(row: dict[str, Any], key: str, where: str) -> int:
    n = opt_int(row.get(key), USEAPI, f"{where}.{key}")
    return 0 if n is None else bound_count(n)


def parse_subscription(body: Any) -> Subscription:
    """A `Subscription` from `GET /v2/account` (`{subscriptionIsActive, accounts: {"MiniMax
    API": {total, active, error}}, …}`). A missing or non-boolean `subscriptionIsActive`, or a
    count that is no number, is a PayloadError; counts are clamped to 0 … `MAX_COUNT`."""
    data = expect_dict(body, USEAPI, "(body)")
    active = _active(data.get("subscriptionIsActive"))
    providers: list[ProviderAccounts] = []
    for name, raw in opt_dict(data.get("accounts"), USEAPI, "accounts").items():
        if len(providers) >= MAX_PROVIDERS:
            break
        where = f"accounts.{name[:MAX_NAME]}"
        row = expect_dict(raw, USEAPI, where)
        providers.append(
            ProviderAccounts(
                name=name[:MAX_NAME],
                total=_count(row, "total", where),
                active=_count(row, "active", where),
                error=_count(row, "error", where),
            )
        )
    return Subscription(active=active, providers=tuple(providers))
