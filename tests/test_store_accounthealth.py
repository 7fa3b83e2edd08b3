"""The account checks' table: what is committed is what is read back (every field, the
subscription's reading too), forgotten accounts go, and a schema-1 database is migrated."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from bot.accounts.policy import AccountState, Health, SubscriptionState
from bot.accounts.subscription import ProviderAccounts, Subscription
from bot.alerts import AlertState
from bot.store import SCHEMA_VERSION, Store, schema_table
from bot.store.schema import account_health_table, untracks_table

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


async def test_a_schema_1_database_gains_the_table(url: str) -> None:
    store = await Store.open(url)
    async with store.engine.begin() as conn:
        # Schema 1 had neither table of the later versions.
        await conn.run_sync(account_health_table.drop)
        await conn.run_sync(untracks_table.drop)
        await conn.execute(update(schema_table).values(version=1))
    await store.close()
    store = await Store.open(url)
    try:
        assert await store.schema_version() == SCHEMA_VERSION == 4
        assert await store.load_health() == Health()
    finally:
        await store.close()
