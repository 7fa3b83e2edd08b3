"""Jobs untracked from Discord as stored (`bot.store.untracks`): who and when, read back by
provider and id, the first record standing, old rows forgotten; and schema 1 → 2."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text, update

from bot.store import SCHEMA_VERSION, Store, Untrack, schema_table
from bot.store.untracks import KEEP_UNTRACKS
from rig.store import T0

USER = 1200000000000000500
OTHER = 2**64 - 1  # the largest Discord id round-trips


async def test_record_and_read_back(store):
    assert await store.untracked("pixverse", []) == {}
    assert await store.untracked("pixverse", ["a"]) == {}
    await store.record_untrack("pixverse", "a", USER, T0)
    await store.record_untrack("pixverse", "a", OTHER, T0 + timedelta(minutes=1))  # first stands
    await store.record_untrack("minimax", "a", OTHER, T0)
    await store.record_untrack("pixverse", "b:ü@x", OTHER, T0)
    got = await store.untracked("pixverse", ["a", "b:ü@x", "c", "a"])
    assert got == {
        "a": Untrack("pixverse", "a", USER, T0),
        "b:ü@x": Untrack("pixverse", "b:ü@x", OTHER, T0),
    }
    assert await store.untracked("minimax", ["a"]) == {"a": Untrack("minimax", "a", OTHER, T0)}
    assert await store.untracked("dreamina", ["a"]) == {}


async def test_many_ids_are_read_in_chunks(store):
    ids = [f"job-{n}" for n in range(1200)]
    for job_id in ids[::100]:
        await store.record_untrack("pixverse", job_id, USER, T0)
    assert sorted(await store.untracked("pixverse", ids)) == sorted(ids[::100])


async def test_rows_older_than_the_keep_are_forgotten_at_the_next_record(store):
    await store.record_untrack("pixverse", "old", USER, T0)
    await store.record_untrack("pixverse", "edge", USER, T0 + timedelta(seconds=1))
    await store.record_untrack("pixverse", "new", USER, T0 + KEEP_UNTRACKS + timedelta(seconds=1))
    assert sorted(await store.untracked("pixverse", ["old", "edge", "new"])) == ["edge", "new"]


async def test_an_id_the_database_cannot_hold_is_simply_not_untracked(store):
    """A lone surrogate (an adapter could build one): asking must not fail the tick."""
    await store.record_untrack("pixverse", "a", USER, T0)
    got = await store.untracked("pixverse", ["user:1-pixverse:a@x-video:\ud800", "a"])
    assert list(got) == ["a"]


async def test_a_bad_user_id_is_refused_before_sql(store):
    with pytest.raises(ValueError, match="not a Discord id"):
        await store.record_untrack("pixverse", "a", 0, T0)


async def test_a_schema_1_database_is_brought_to_the_current_version(url):
    s = await Store.open(url)
    async with s.engine.begin() as conn:
        # Schema 1 had neither table of the later versions.
        await conn.execute(text("DROP TABLE job_untracks"))
        await conn.execute(text("DROP TABLE account_health"))
        await conn.execute(update(schema_table).values(version=1))
    await s.close()
    s = await Store.open(url)
    try:
        assert SCHEMA_VERSION == 4 and await s.schema_version() == 4
        await s.record_untrack("pixverse", "a", USER, T0)
        assert list(await s.untracked("pixverse", ["a"])) == ["a"]
    finally:
        await s.close()
