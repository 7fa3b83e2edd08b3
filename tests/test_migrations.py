"""The schema's revisions (Alembic, bot/store/migrations), on SQLite and, when configured,
PostgreSQL: they make exactly the tables of `bot.store.schema`; `opsbot migrate` upgrades a
database of the schema as it stood before them (a real one, dumped: tests/data/schema3)
without losing anything; `opsbot run` refuses an older or a newer one in one line."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.ext.asyncio import create_async_engine

from bot import cli
from bot.runtime import display_database_url
from bot.store import Schema, SchemaOutOfDate, SchemaTooNew, Store, metadata
from bot.store.database import head
from rig.legacy import summary
from rig.store import LEGACY_DUMPS, load_legacy, stamp

EXPECTED = json.loads((LEGACY_DUMPS / "expected.json").read_text(encoding="utf-8"))


def _diffs(conn: Any) -> list[Any]:
    """What differs between the database and the models (alembic's autogenerate comparison)."""
    found: list[Any] = compare_metadata(
        MigrationContext.configure(conn, opts={"compare_type": True}), metadata
    )
    return found


def in_order(summary: dict[str, Any]) -> dict[str, Any]:
    """`summary` with the snapshot's jobs and accounts sorted: the order of a snapshot read
    back means nothing (the old store kept upstream's, the rows come back by id)."""
    snap = summary["snapshot"]
    return {
        **summary,
        "snapshot": {
            **snap,
            "jobs": sorted(snap["jobs"]),
            "accounts": sorted(snap["accounts"], key=lambda a: a[0]),
        },
    }


async def test_the_revisions_make_exactly_the_models_tables(url: str) -> None:
    store = await Store.open(url)  # a new database: created by running every revision
    try:
        assert await store.schema() == Schema(head(), revision=head())
        async with store.engine.connect() as conn:
            assert await conn.run_sync(_diffs) == []
            tables = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
        assert tables == {*metadata.tables, "alembic_version"}
    finally:
        await store.close()


def test_opsbot_migrate_upgrades_a_schema_3_database_and_loses_nothing(
    url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    asyncio.run(load_legacy(url))
    assert asyncio.run(Store.stored_schema(url)) == Schema(head(), legacy=3)
    with pytest.raises(SchemaOutOfDate) as refused:  # what `opsbot run` meets
        asyncio.run(Store.open(url))
    assert str(refused.value) == (
        f"the database holds schema version 3 (before revisions), older than this opsbot's "
        f"(revision {head()}): run `opsbot migrate` to upgrade it (back it up first)"
    )

    monkeypatch.setenv("DATABASE_URL", url)
    assert cli.main(["migrate"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"✓ database {display_database_url(url)}: schema version 3 (before revisions) → "
        f"schema revision {head()} (the newest)"
    ]

    async def read_back() -> tuple[dict[str, Any], list[Any], set[str]]:
        store = await Store.open(url)
        try:
            async with store.engine.connect() as conn:
                diffs = await conn.run_sync(_diffs)
                tables = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
            return await summary(store), diffs, tables
        finally:
            await store.close()

    got, diffs, tables = asyncio.run(read_back())
    assert in_order(got) == in_order(EXPECTED)  # what the old opsbot read, read again
    assert diffs == []
    assert tables == {*metadata.tables, "alembic_version"}  # opsbot_schema is gone
    # a second run changes nothing, and says so
    assert cli.main(["migrate"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"✓ database {display_database_url(url)}: schema revision {head()} already (the newest)"
    ]


async def test_a_schema_1_database_is_brought_through_its_old_steps(url: str) -> None:
    """The hand-kept versions 1 and 2 lacked the later tables: they are made by the old
    steps, then the database is adopted at the revision that stands for version 3."""
    await load_legacy(url)
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            for table in ("job_untracks", "account_health"):  # schema 1 had neither
                await conn.execute(text(f"DROP TABLE {table}"))
            await conn.execute(text("UPDATE opsbot_schema SET version = 1"))
    finally:
        await engine.dispose()
    before, after = await Store.upgrade(url)
    assert (before, after) == (Schema(head(), legacy=1), Schema(head(), revision=head()))
    store = await Store.open(url)
    try:
        got = await summary(store)
        assert (got["untracks"], got["accounts"], got["subscription"]) == ({}, [], None)
        rest = {k: v for k, v in got.items() if k not in ("untracks", "accounts", "subscription")}
        assert in_order(rest) == in_order({k: v for k, v in EXPECTED.items() if k in rest})
        async with store.engine.connect() as conn:
            assert await conn.run_sync(_diffs) == []
    finally:
        await store.close()


def test_a_newer_revision_is_refused_by_run_and_by_migrate(
    url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    async def make_newer() -> None:
        store = await Store.open(url)
        await stamp(store, "9999_from_the_future")
        await store.close()

    asyncio.run(make_newer())
    newer = (
        f"the database holds schema revision 9999_from_the_future, newer than this opsbot's "
        f"(revision {head()}): upgrade opsbot or point DATABASE_URL at another database"
    )
    with pytest.raises(SchemaTooNew) as caught:
        asyncio.run(Store.open(url))
    assert str(caught.value) == newer
    monkeypatch.setenv("DATABASE_URL", url)
    assert cli.main(["migrate"]) == 2
    assert capsys.readouterr().err.splitlines() == [f"opsbot: config error: {newer}"]


def test_every_revision_file_is_written_by_hand_and_goes_forward_only() -> None:
    versions = Path(__file__).resolve().parent.parent / "bot" / "store" / "migrations" / "versions"
    files = sorted(p for p in versions.glob("*.py") if p.name != "__init__.py")
    assert [p.name.split("_")[0] for p in files] == [f"{n:04d}" for n in range(1, len(files) + 1)]
    assert files[-1].name.startswith(head())
    for p in files:
        source = p.read_text(encoding="utf-8")
        assert 'raise NotImplementedError("opsbot\'s migrations only go forward")' in source
