"""`/alerts notify` choices and direct-message outbox rows in the store (revision 0002), and
a schema-3 database upgraded to them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from bot.alerts import AlertConfig, OutboxItem, plan
from bot.events import Event, EventKind
from bot.store import Store
from bot.store.schema import outbox_table
from rig import legacy
from rig.store import load_legacy

T0 = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
USER = 222_333_444_555_666_777
OTHER = 999_888_777_666_555_444


def job(key: str, ref: str | None) -> Event:
    return Event(
        key=key,
        kind=EventKind.JOB,
        provider="pixverse",
        word="completed",
        at=T0,
        job_id=key,
        reply_ref=ref,
    )


async def test_notify_choices_are_stored_replaced_and_read_with_the_config(store: Store) -> None:
    assert await store.notify_choice(USER) is None
    assert (await store.alert_config(T0)).notify == {}
    await store.set_notify(USER, "dm")
    await store.set_notify(OTHER, "off")
    await store.set_notify(USER, "off")
    await store.set_notify(USER, "dm")
    assert await store.notify_choice(USER) == "dm"
    assert await store.notify_choice(OTHER) == "off"
    assert (await store.alert_config(T0)).notify == {USER: "dm", OTHER: "off"}


async def test_a_bad_notify_choice_or_user_is_refused_before_sql(store: Store) -> None:
    with pytest.raises(ValueError, match="not a Discord id"):
        await store.set_notify(0, "dm")
    with pytest.raises(ValueError, match="how: 'loud' is not one of mention, dm, off"):
        await store.set_notify(USER, "loud")  # type: ignore[arg-type]


async def test_a_dm_row_is_its_own_row_and_claims_as_a_dm(store: Store) -> None:
    event = job("j1", f"discord:{USER}")
    items = plan([event], AlertConfig(notify={USER: "dm"}), default_channel=100, now=T0)
    assert items == [
        OutboxItem(event, 100, None, "pending"),
        OutboxItem(event, USER, None, "pending", dm=True),
    ]
    assert await store.enqueue(items, batch="b1", now=T0) == 2
    assert await store.enqueue(items, batch="b2", now=T0) == 0  # both keys taken
    rows = await store.claim_outbox(limit=10, now=T0, worker_id="w")
    assert [(r.key, r.channel_id, r.dm, r.event) for r in rows] == [
        ("j1", 100, False, event),
        ("j1#dm", USER, True, event),
    ]


async def test_a_mention_is_kept_on_the_stored_event(store: Store) -> None:
    event = job("j2", f"discord:{USER}")
    [item] = plan([event], AlertConfig(), default_channel=100, now=T0)
    assert item.event.mention_user_id == USER
    await store.enqueue([item], batch="b", now=T0)
    [row] = await store.claim_outbox(limit=10, now=T0, worker_id="w")
    assert row.event == item.event and not row.dm


async def test_a_schema_3_database_is_upgraded_in_place(url: str) -> None:
    """A real schema-3 database (tests/data/schema3): after `opsbot migrate` its pending row,
    stored without the fields that came later, decodes to the very event it held, is no
    direct message, and the notify choices can be kept."""
    await load_legacy(url)
    await Store.upgrade(url)
    s = await Store.open(url)
    try:
        [row] = await s.claim_outbox(limit=10, now=legacy.T0, worker_id="w")
        [pending] = [i for i in legacy.OUTBOX if i.event.key == row.key]
        assert (row.key, row.channel_id, row.dm, row.event) == (
            "job:pixverse:pending:failed",
            legacy.CHANNEL,
            False,
            pending.event,
        )
        assert (row.event.reply_ref, row.event.mention_user_id) == (None, None)
        await s.set_notify(USER, "off")
        assert (await s.alert_config(T0)).notify == {USER: "off"}
        async with s.engine.connect() as conn:
            assert set((await conn.execute(select(outbox_table.c.dm))).scalars()) == {0}
    finally:
        await s.close()
