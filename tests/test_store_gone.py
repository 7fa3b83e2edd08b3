"""The database under the bot's feet: a SQLite file deleted or replaced while the bot runs, and
a database written by a newer opsbot."""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from bot import cli
from bot.settings import Settings
from bot.store import DatabaseGone, SchemaTooNew, Store
from bot.store.database import head
from rig.botharness import StartBot
from rig.process import base_env, free_port, wait_until
from rig.store import T0, item, stamp

FUTURE = "9999_future"
NEWER = (
    f"the database holds schema revision {FUTURE}, newer than this opsbot's (revision "
    f"{head()}): upgrade opsbot or point DATABASE_URL at another database"
)


def remove_database(path: Path) -> None:
    """What `rm opsbot.db*` does: the file and SQLite's WAL companions."""
    for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        p.unlink(missing_ok=True)


# --------------------------------------------------------------------------- a deleted file


async def test_a_deleted_file_is_noticed_and_nothing_is_written(tmp_path: Path) -> None:
    path = tmp_path / "opsbot.db"
    store = await Store.open(f"sqlite+aiosqlite:///{path}")
    try:
        await store.enqueue([item("k1")], batch="b", now=T0)
        assert store.problem() is None
        remove_database(path)
        assert store.problem() is not None and "was deleted" in (store.problem() or "")
        for op in (
            store.outbox_counts(),
            store.enqueue([item("k2")], batch="b", now=T0),
            store.claim_outbox(limit=5, now=T0, worker_id="w"),
            store.commit_tick("p", now=T0, batch="c"),
            store.load_watch("p", now=T0),
        ):
            with pytest.raises(
                DatabaseGone, match=f"the database file {path} was deleted while opsbot was running"
            ):
                await op
        # nothing at the path: not even an empty file that the next start would take for a
        # new database
        assert not path.exists()

        # a stranger's database at that path (here: a new one a second store creates) is no
        # better: the rows this store wrote are not in it
        store2 = await Store.open(f"sqlite+aiosqlite:///{path}")
        await store2.close()
        with pytest.raises(DatabaseGone, match="was replaced by another file"):
            await store.enqueue([item("k3")], batch="b", now=T0)
    finally:
        await store.close()


async def test_the_same_file_moved_back_is_used_again(tmp_path: Path) -> None:
    path, aside = tmp_path / "opsbot.db", tmp_path / "aside.db"
    store = await Store.open(f"sqlite+aiosqlite:///{path}")
    try:
        await store.enqueue([item("k1")], batch="b", now=T0)
        os.rename(path, aside)
        with pytest.raises(DatabaseGone):
            await store.outbox_counts()
        os.rename(aside, path)
        assert store.problem() is None
        assert await store.outbox_counts() == {"pending": 1}
    finally:
        await store.close()


async def test_the_running_bot_says_the_database_is_gone(
    start_bot: StartBot, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The tick's error (/status), the log at ERROR, /healthz 503; nothing is written."""
    port = free_port()
    db = tmp_path / "bot.db"
    h = await start_bot(http_port=port, db=db)
    await h.tick()
    remove_database(db)
    with caplog.at_level(logging.ERROR):
        await h.tick()
        h.delivery.deliverer.wake()

        async def delivery_said_so() -> bool:
            return any(
                r.name == "bot.delivery" and "was deleted" in r.getMessage() for r in caplog.records
            )

        await wait_until("the delivery loop's error", delivery_said_so, 10)
    for name in ("pixverse", "minimax", "dreamina"):
        error = h.bot.state(name).last_error or ""
        assert error.startswith(f"DatabaseGone: the database file {db} was deleted"), error
    watch_errors = [
        r for r in caplog.records if r.levelno == logging.ERROR and r.name == "bot.watch"
    ]
    assert len(watch_errors) == 3 and all(r.exc_info for r in watch_errors)

    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
        health = await client.get("/healthz")
    assert health.status_code == 503
    body = health.json()
    assert body["ok"] is False and body["database"]["ok"] is False
    assert f"{db} was deleted" in body["database"]["error"]

    inter = await h.fake.invoke("status", {})
    answer = await h.fake.wait_for_interaction_response(inter)
    text = str(answer["data"]["embeds"])
    assert "DatabaseGone" in text and "was deleted" in text
    assert not db.exists()


# --------------------------------------------------------------------------- a newer schema


async def test_a_newer_schema_is_a_typed_error(url: str) -> None:
    s = await Store.open(url)
    await stamp(s, FUTURE)
    await s.close()
    with pytest.raises(SchemaTooNew) as caught:
        await Store.open(url)
    assert str(caught.value) == NEWER
    assert (caught.value.found, caught.value.supported) == (f"schema revision {FUTURE}", head())
    with pytest.raises(SchemaTooNew):
        await Store.stored_schema(url)


def newer_database(tmp_path: Path) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'newer.db'}"

    async def make() -> None:
        s = await Store.open(url)
        await stamp(s, FUTURE)
        await s.close()

    asyncio.run(make())
    return url


def test_opsbot_run_says_the_schema_is_newer_and_exits_2(tmp_path: Path) -> None:
    env = base_env()
    env.update(
        {"DISCORD_TOKEN": "x", "USEAPI_TOKEN": "y", "DATABASE_URL": newer_database(tmp_path)}
    )
    done = subprocess.run(
        [sys.executable, "-m", "bot", "run"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.splitlines() == [f"opsbot: config error: {NEWER}"]


def test_opsbot_check_says_the_schema_is_newer_and_exits_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.setenv("USEAPI_TOKEN", "y")
    monkeypatch.setenv("DATABASE_URL", newer_database(tmp_path))
    assert cli.main(["check"]) == 2
    captured = capsys.readouterr()
    assert captured.err.splitlines() == [f"opsbot: config error: {NEWER}"]
    assert "Traceback" not in captured.out + captured.err


def test_opsbot_check_reads_the_database_without_creating_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'none.db'}")
    assert cli.main(["check"]) == 2  # (no USEAPI_TOKEN: the database line comes first)
    out = capsys.readouterr().out
    assert "none yet (`opsbot run` creates it)" in out
    assert not (tmp_path / "none.db").exists()
