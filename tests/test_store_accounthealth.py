"""The account checks' table: what is committed is what is read back (every field, the
subscription's reading too), forgotten accounts go, and a schema-1 database is migrated."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.accounts.policy import AccountState, Health, SubscriptionState
from bot.accounts.subscription import ProviderAccounts, Subscription
from bot.alerts import AlertState
from bot.store import Store

NOW = datetime(2026, 3, 9, 12, 0, tzinfo=UTC)


async def test_health_round_trip_and_removal(store: Store) -> None:
    assert await store.load_health() == Health()
    error = AccountState(
        "pixverse",
        "a@x.io",
        alert=AlertState("account", "error", 1 << 20, since=NOW, announced="error", episode=2),
        error="pending error, re-add the account",
        expires=NOW + timedelta(days=2),
        warned=NOW + timedelta(days=2),
        checked_at=NOW,
    )
    plain = AccountState("minimax", "412345", checked_at=NOW)
    sub = SubscriptionState(
        alert=AlertState("subscription", raw="inactive", streak=1, since=NOW),
        subscription=Subscription(False, (ProviderAccounts("MiniMax API", 3, 2, 1),)),
        checked_at=NOW,
    )
    queued = await store.commit_health(now=NOW, batch="b", subscription=sub, write=[error, plain])
    assert queued == 0
    assert await store.load_health() == Health(
        subscription=sub, accounts={error.key: error, plain.key: plain}
    )
    await store.commit_health(now=NOW, batch="b", remove=[error.key])
    assert await store.load_health() == Health(subscription=sub, accounts={plain.key: plain})
