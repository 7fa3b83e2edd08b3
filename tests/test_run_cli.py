"""`opsbot run` as a real process: `--simulate` needs no useapi token; bad config exits 2."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

from rig.fakediscord import ADMIN_PERMISSIONS, FakeDiscord
from rig.process import base_env


async def test_run_simulate_serves_commands_without_a_useapi_token(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    fake = fake_discord
    env = base_env()
    env.update(
        {
            "DISCORD_TOKEN": "run-simulate-DISCORD-token",
            "DISCORD_API_BASE_URL": fake.api_base,
            "DISCORD_GATEWAY_URL": fake.gateway_url,
            "GUILD_IDS": str(fake.guild_id),
            "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}",
        }
    )
    log = tmp_path / "bot.log"
    with log.open("wb") as out:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            "--simulate",
            env=env,
            cwd=tmp_path,
            stdout=out,
            stderr=asyncio.subprocess.STDOUT,
        )
    try:
        await fake.wait_for_request("PUT", r"/guilds/\d+/commands$", timeout=30)
        await fake.wait_ready(timeout=10)
        # The watcher's first ticks fill the cache; /status says so once every provider polled.
        inter = await fake.invoke("queue", permissions=ADMIN_PERMISSIONS)
        body = await fake.wait_for_interaction_response(inter, timeout=15)
        if body["type"] == 5:  # deferred: the answer comes as an edit of the original
            body = {"data": await fake.wait_for_original_edit(inter, timeout=15)}
        text = str(body["data"]["embeds"])
        assert "running" in text
        assert "PixVerse" in text and "MiniMax" in text and "Dreamina" in text
    finally:
        proc.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(proc.wait(), 20)
    output = log.read_text()
    assert code == 0, output
    assert "Traceback" not in output
    assert "run-simulate-DISCORD-token" not in output


async def test_run_without_discord_token_exits_2_with_one_line(tmp_path: Path) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        env=base_env(),
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 2
    assert out == b""
    assert err.decode().strip().splitlines() == ["opsbot: config error: DISCORD_TOKEN is not set"]


async def test_run_with_an_unusable_database_exits_2_with_one_line(tmp_path: Path) -> None:
    env = base_env()
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    env.update(
        {
            "DISCORD_TOKEN": "x",
            "USEAPI_TOKEN": "y",
            "DATABASE_URL": f"sqlite+aiosqlite:///{blocker}/sub/db.sqlite",
        }
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        env=env,
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 2
    lines = err.decode().strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("opsbot: config error: DATABASE_URL:")


async def test_run_with_discord_unreachable_exits_1_with_one_line(tmp_path: Path) -> None:
    """Nothing listens at the REST base: login fails once (discord.py retries nothing before
    it is logged in), so the process says where it could not reach Discord and exits 1."""
    import socket

    with socket.socket() as s:  # a port that was free a moment ago: connection refused
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = base_env()
    env.update(
        {
            "DISCORD_TOKEN": "unreachable-DISCORD-token",
            "USEAPI_TOKEN": "y",
            "DISCORD_API_BASE_URL": f"http://127.0.0.1:{port}/api/v10",
            "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}",
        }
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        env=env,
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert (proc.returncode, out) == (1, b"")
    lines = err.decode().strip().splitlines()  # the log lines of the start-up, then this one
    assert lines[-1] == (
        f"opsbot: cannot reach Discord at http://127.0.0.1:{port}/api/v10 "
        "(ClientConnectorError); check the network, or DISCORD_API_BASE_URL"
    )
    assert "Traceback" not in err.decode() and "unreachable-DISCORD-token" not in err.decode()
