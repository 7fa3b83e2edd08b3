"""The HTTP side door (/healthz, /metrics) and `opsbot demo`."""

from __future__ import annotations

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


async def test_demo_shows_views_and_every_kind_of_alert(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    console = Console(record=True, width=110, force_terminal=False)
    code = await run_demo(load_settings(), seconds=5, seed=7, poll=0.4, console=console)
    out = console.export_text()
    assert code == 0
    assert "/queue" in out and "/capacity" in out
    assert "#alerts" in out
    for word in ("stuck", "exhausted", "restored", "unauthorized", "recovered"):
        assert f" {word}" in out, word
    assert "alert(s) posted:" in out
