"""The HTTP side door (/healthz, /metrics) and `opsbot demo`."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
from rich.console import Console

from bot.demo import run_demo
from bot.settings import load_settings
from rig.process import free_port


async def test_healthz_and_metrics(start_bot):
    port = free_port()
    h = await start_bot(http_port=port)
    await h.tick()
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
        health = await client.get("/healthz")
        assert health.status_code == 200
        body = health.json()
        assert body["ok"] is True and body["discord"] is True
        assert set(body["providers"]) == {"pixverse", "minimax", "dreamina"}
        assert all(p["last_ok"] for p in body["providers"].values())

        h.sim.faults.set("minimax", "status", status=401)
        await h.tick("minimax")
        health = await client.get("/healthz")
        # An upstream outage is reported but is no reason to restart the bot.
        assert health.status_code == 200
        assert health.json()["upstream_ok"] is False
        assert "401" in health.json()["providers"]["minimax"]["last_error"]

        metrics = await client.get("/metrics")
        assert metrics.status_code == 200
        assert 'opsbot_upstream_requests_total{provider="minimax"}' in metrics.text
        assert "opsbot_watcher_ticks_total" in metrics.text
        assert metrics.headers["content-type"].startswith("text/plain; version=0.0.4")
        # prometheus-client's handler: OpenMetrics when asked for, and one family by name
        open_metrics = await client.get(
            "/metrics",
            params={"name[]": "opsbot_upstream_requests_total"},
            headers={"Accept": "application/openmetrics-text; version=1.0.0"},
        )
        assert open_metrics.headers["content-type"].startswith("application/openmetrics-text")
        assert open_metrics.text.endswith("# EOF\n")
        families = {
            line.split()[2] for line in open_metrics.text.splitlines() if line.startswith("# TYPE")
        }
        assert families == {"opsbot_upstream_requests"}


async def test_healthz_reads_the_state_the_commands_keep(start_bot):
    """/healthz, /status and the commands read one state per provider: what a command fetched
    itself, and the error it met, show in /healthz at once."""
    port = free_port()
    h = await start_bot(http_port=port)
    await h.tick()
    for watcher in h.bot.watchers.values():  # older than one poll interval
        assert watcher.state.fetched_at is not None
        watcher.state.fetched_at -= timedelta(hours=1)
    h.sim.faults.set("minimax", "status", status=401)
    for provider in ("pixverse", "minimax"):
        done = asyncio.ensure_future(h.bot.wait_for("app_command_completion", timeout=10))
        await asyncio.sleep(0)  # let wait_for register its listener
        await h.fake.invoke("queue", {"provider": provider})
        await done
    fetched = h.bot.state("pixverse").snapshot
    assert fetched is not None
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
        body = (await client.get("/healthz")).json()
    assert body["ok"] is True and body["upstream_ok"] is False
    assert body["providers"]["pixverse"] == {
        "last_ok": fetched.taken_at.isoformat(),
        "last_error": None,
        "running": len(fetched.jobs),
        "watcher_ok": True,
    }
    minimax = body["providers"]["minimax"]
    assert minimax["last_error"] == h.bot.state("minimax").last_error
    assert "401" in minimax["last_error"] and minimax["watcher_ok"] is True


async def test_demo_shows_views_and_every_kind_of_alert(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PROVIDERS", raising=False)
    console = Console(record=True, width=110, force_terminal=False)
    code = await run_demo(load_settings(), seconds=5, seed=7, poll=0.4, console=console)
    out = console.export_text()
    assert code == 0
    assert "/queue" in out and "/capacity" in out
    assert "#alerts" in out
    for word in ("stuck", "exhausted", "restored", "unauthorized", "recovered"):
        assert f" {word}" in out, word
    assert "alert(s) posted:" in out
    # every provider opsbot knows, PROVIDERS being unset: its capacity line and its accounts
    for title in ("PixVerse", "MiniMax", "Dreamina", "Kling", "Runway", "Mureka"):
        assert f"\n│ {title} " in out and f"│ {title} accounts" in out, title
    assert "no limit published" in out  # Mureka's capacity
    # it ends with the summary of its own history, as `opsbot history` prints it
    summary = out.split("history · what `opsbot history` prints")[1]
    header = "provider  model  completed  failed  moderated  failure  p50  p95  full"
    assert " ".join(header.split()) in " ".join(summary.split())
    assert "PixVerse" in summary and " %" in summary
    # and nothing after it: its caption (wrapped to the table's width) ends the demo
    assert " ".join(out.split()).endswith(
        "run time: of the completed jobs · full: hours the provider had no free slot"
    )
