"""Discord ids in the stored rows: the whole unsigned 64-bit range in a signed BIGINT, on every
configured backend; what is no Discord id is a ValueError on the way in and a skipped (logged)
row on the way out, never a failed tick."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import insert, type_coerce, update
from sqlalchemy.types import BigInteger

from bot.alerts import OutboxItem
from bot.events import EventKind
from bot.store import (
    Board,
    Store,
    boards_table,
    mentions_table,
    outbox_table,
    routes_table,
)
from rig.store import T0, event
from rig.watch import Clock, FakeProvider, snap, watcher

#: At exactly the edges: the smallest id, the largest signed 64-bit value, the first that is
#: stored negative (two's complement) and the largest unsigned 64-bit value.
EDGES = [1, (1 << 63) - 1, 1 << 63, (1 << 64) - 1]
REFUSED = [0, 1 << 64]


def pending(key: str, channel: int | None, mention: int | None = None) -> OutboxItem:
    return OutboxItem(event(key), channel, mention, "pending")


@pytest.mark.parametrize("sf", EDGES)
async def test_every_stored_id_reads_back_as_written(store: Store, sf: int) -> None:
    other = 1 if sf != 1 else 2
    await store.set_route(EventKind.JOB, None, sf)
    await store.set_route(EventKind.CAPACITY, None, other)
    await store.set_mention(EventKind.JOB, sf)
    config = await store.alert_config(T0)
    assert {(r.kind, r.channel_id) for r in config.routes} == {
        (EventKind.JOB, sf),
        (EventKind.CAPACITY, other),
    }
    assert [m.role_id for m in config.mentions] == [sf]

    assert await store.set_board(sf, None, sf, guild_id=sf) is None
    assert await store.boards() == [Board(message_id=sf, channel_id=sf, guild_id=sf, provider=None)]
    assert await store.set_board(sf, None, other) == sf  # the message it replaces
    assert await store.remove_board(other)

    # The outbox: claimed by channel, sent with a message id, held and moved by channel.
    await store.commit_tick(
        "p", now=T0, batch="b1", outbox=[pending("k1", sf, sf), pending("k2", other)]
    )
    rows = await store.claim_outbox(limit=10, now=T0, worker_id="w")
    assert [(r.key, r.channel_id, r.mention_role_id) for r in rows] == [
        ("k1", sf, sf),
        ("k2", other, None),
    ]
    await store.mark_sent(["k2"], sf)
    assert (await store.outbox_row("k2") or {})["sent_message_id"] == sf
    await store.hold(["k1"], "403")
    assert [(h.key, h.channel_id) for h in await store.held(sf)] == [("k1", sf)]
    assert await store.held(other) == []
    assert await store.release_held(sf, moves={"k1": other}, now=T0) == 1
    assert await store.release_held(other, now=T0) == 0
    await store.hold(["k1"], "403")
    assert await store.release_held(other, moves={"k1": sf}, now=T0) == 1
    rows = await store.claim_outbox(limit=10, now=T0 + timedelta(seconds=1), worker_id="w")
    assert [(r.key, r.channel_id) for r in rows] == [("k1", sf)]


async def test_ids_either_side_of_the_sign_are_different_channels(store: Store) -> None:
    """2**63-1 and 2**63 are neighbours, yet one is stored positive and one negative: a retry
    in one channel holds back that channel only."""
    low, high = (1 << 63) - 1, 1 << 63
    await store.enqueue([pending("a1", low), pending("b1", high)], batch="b1", now=T0)
    await store.enqueue([pending("a2", low), pending("b2", high)], batch="b2", now=T0)
    first = await store.claim_outbox(limit=1, now=T0, worker_id="w")
    assert [r.key for r in first] == ["a1", "b1"]
    await store.mark_failed(["a1"], "503", T0 + timedelta(seconds=60))
    await store.mark_sent(["b1"], 5, now=T0)
    rows = await store.claim_outbox(limit=10, now=T0, worker_id="w")
    assert [r.key for r in rows] == ["b2"]


@pytest.mark.parametrize("bad", REFUSED)
async def test_what_is_no_discord_id_is_refused_with_a_value_error(store: Store, bad: int) -> None:
    calls: list[tuple[str, Any]] = [
        ("channel_id", store.set_route(EventKind.JOB, None, bad)),
        ("role_id", store.set_mention(EventKind.JOB, bad)),
        ("channel_id", store.set_board(bad, None, 5)),
        ("message_id", store.set_board(5, None, bad)),
        ("guild_id", store.set_board(5, None, 6, guild_id=bad)),
        ("message_id", store.remove_board(bad)),
        ("channel_id of 'k'", store.enqueue([pending("k", bad)], batch="b", now=T0)),
        ("mention_role_id of 'k'", store.enqueue([pending("k", 5, bad)], batch="b", now=T0)),
        (
            "channel_id of 'k'",
            store.commit_tick("p", now=T0, batch="b", outbox=[pending("k", bad)]),
        ),
        ("message_id", store.mark_sent(["k"], bad)),
        ("channel_id", store.held(bad)),
        ("channel_id", store.release_held(bad)),
        ("channel_id for k", store.release_held(moves={"k": bad})),
    ]
    for name, call in calls:
        with pytest.raises(ValueError, match=rf"^{name}: {bad} is not a Discord id"):
            await call
    assert await store.outbox_counts() == {}
    config = await store.alert_config(T0)
    assert (config.routes, config.mentions) == ((), ())
    assert await store.boards() == []


async def _raw(store: Store, table: Any, **values: Any) -> None:
    """Insert around the Snowflake type, as another program (or a hand edit) could."""
    raw = {
        k: type_coerce(v, BigInteger) if isinstance(v, int) and not isinstance(v, bool) else v
        for k, v in values.items()
    }
    async with store.engine.begin() as conn:
        await conn.execute(insert(table).values(**raw))


async def test_a_stored_row_holding_no_discord_id_is_skipped_and_logged(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    now = datetime.now(UTC).replace(tzinfo=None)
    await _raw(store, routes_table, kind="job", provider="pixverse", channel_id=0, updated_at=now)
    await store.set_route(EventKind.JOB, None, 7)
    await _raw(store, mentions_table, kind="job", provider="", role_id=0)
    await _raw(
        store, boards_table, message_id=0, channel_id=5, guild_id=None, provider="", created_at=now
    )
    await store.set_board(5, "pixverse", 9)
    # a pending alert whose channel is 0, then a good one in the same batch
    await store.enqueue([pending("bad", 5), pending("good", 6)], batch="b", now=T0)
    async with store.engine.begin() as conn:
        await conn.execute(
            update(outbox_table)
            .where(outbox_table.c.key == "bad")
            .values(channel_id=type_coerce(0, BigInteger))
        )

    with caplog.at_level(logging.ERROR, logger="bot.store"):
        config = await store.alert_config(T0)
        assert [(r.provider, r.channel_id) for r in config.routes] == [(None, 7)]
        assert config.mentions == ()
        assert [b.message_id for b in await store.boards()] == [9]
        rows = await store.claim_outbox(limit=10, now=T0, worker_id="w")
    assert [r.key for r in rows] == ["good"]
    bad = await store.outbox_row("bad")
    assert bad is not None and (bad["state"], bad["claimed_by"]) == ("failed", None)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "route for job/pixverse holds no Discord id" in logged
    assert "mention for job/any holds no Discord id" in logged
    assert "/board row holds no Discord id" in logged
    assert "outbox row 'bad' cannot be sent" in logged

    # and a tick reads the same configuration: it commits, routing to the good route
    clock = Clock()
    w = watcher(FakeProvider([snap()]), store, clock, default_channel=None)
    report = await w.tick()
    assert report.ok and report.error is None


async def test_sqlite_values_of_another_type_are_skipped(tmp_path: Any) -> None:
    """SQLite keeps whatever it is given: a real (what an id past 2**63 became before) or a
    text in an id column reads as no id."""
    store = await Store.open(f"sqlite+aiosqlite:///{tmp_path}/db.sqlite")
    try:
        now = datetime.now(UTC).replace(tzinfo=None)
        async with store.engine.begin() as conn:
            await conn.exec_driver_sql(
                "INSERT INTO alert_routes (kind, provider, channel_id, updated_at) "
                "VALUES ('job', 'a', 1.8446744073709552e19, ?), ('job', 'b', 'abc', ?), "
                "('job', 'c', 42, ?)",
                (now, now, now),
            )
        config = await store.alert_config(T0)
        assert [(r.provider, r.channel_id) for r in config.routes] == [("c", 42)]
    finally:
        await store.close()
