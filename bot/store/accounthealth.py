"""What the account checks keep between checks (`bot.accounts.policy.Health`): one row per
account, and the subscription's row under provider `useapi`, account ""."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.accounts.policy import (
    ERROR_SCOPE,
    SUBSCRIPTION_SCOPE,
    AccountState,
    Health,
    SubscriptionState,
)
from bot.accounts.subscription import USEAPI, ProviderAccounts, Subscription
from bot.alerts import AlertState
from bot.fastjson import dumps, loads
from bot.store.codecs import from_db, to_db
from bot.store.schema import IN_CHUNK, account_health_table, insert

_T = account_health_table
_SUBSCRIPTION = (USEAPI, "")
_STATE = ("raw", "streak", "since", "announced", "episode", "announced_at", "reminded")


def _alert(row: Any, scope: str) -> AlertState:
    return AlertState(
        scope=scope,
        raw=row.raw,
        streak=row.streak,
        since=from_db(row.since),
        announced=row.announced,
        episode=row.episode,
        announced_at=from_db(row.announced_at),
        reminded=row.reminded,
    )


def _subscription(data: str | None) -> Subscription | None:
    if not data:
        return None
    raw = loads(data)
    return Subscription(
        active=bool(raw["active"]),
        providers=tuple(
            ProviderAccounts(str(n), int(t), int(a), int(e)) for n, t, a, e in raw["providers"]
        ),
    )


async def read_health(conn: AsyncConnection) -> Health:
    rows = (await conn.execute(select(_T))).all()
    subscription = SubscriptionState()
    accounts: dict[tuple[str, str], AccountState] = {}
    for row in rows:
        if (row.provider, row.account) == _SUBSCRIPTION:
            subscription = SubscriptionState(
                alert=_alert(row, SUBSCRIPTION_SCOPE),
                subscription=_subscription(row.data),
                checked_at=from_db(row.checked_at),
            )
            continue
        accounts[(row.provider, row.account)] = AccountState(
            provider=row.provider,
            account=row.account,
            alert=_alert(row, ERROR_SCOPE),
            error=row.error,
            expires=from_db(row.expires),
            warned=from_db(row.warned),
            checked_at=from_db(row.checked_at),
        )
    return Health(subscription=subscription, accounts=accounts)


def _values(
    provider: str, account: str, alert: AlertState, checked_at: datetime | None
) -> dict[str, Any]:
    return {
        "provider": provider,
        "account": account,
        "raw": alert.raw,
        "streak": alert.streak,
        "since": to_db(alert.since),
        "announced": alert.announced,
        "episode": alert.episode,
        "announced_at": to_db(alert.announced_at),
        "reminded": alert.reminded,
        "checked_at": to_db(checked_at),
        "error": None,
        "expires": None,
        "warned": None,
        "data": None,
    }


def _row(state: AccountState) -> dict[str, Any]:
    row = _values(state.provider, state.account, state.alert, state.checked_at)
    row.update(error=state.error, expires=to_db(state.expires), warned=to_db(state.warned))
    return row


def _subscription_row(state: SubscriptionState) -> dict[str, Any]:
    row = _values(*_SUBSCRIPTION, state.alert, state.checked_at)
    sub = state.subscription
    if sub is not None:
        row["data"] = dumps(
            {
                "active": sub.active,
                "providers": [[p.name, p.total, p.active, p.error] for p in sub.providers],
            }
        )
    return row


async def write_health(
    conn: AsyncConnection,
    subscription: SubscriptionState | None,
    write: Sequence[AccountState],
    remove: Iterable[tuple[str, str]],
) -> None:
    rows = [_row(s) for s in write]
    if subscription is not None:
        rows.append(_subscription_row(subscription))
    if rows:
        ins = insert(conn, _T)
        columns = (*_STATE, "error", "expires", "warned", "data", "checked_at")
        await conn.execute(
            ins.on_conflict_do_update(
                index_elements=["provider", "account"],
                set_={c: ins.excluded[c] for c in columns},
            ),
            rows,
        )
    gone = list(remove)
    for i in range(0, len(gone), IN_CHUNK):
        chunk = gone[i : i + IN_CHUNK]
        await conn.execute(
            delete(_T).where(or_(*(and_(_T.c.provider == p, _T.c.account == a) for p, a in chunk)))
        )
