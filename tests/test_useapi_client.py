"""The useapi client over real HTTP against the simulator: timeouts, retries, error mapping."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from pydantic import SecretStr

from bot import errors
from bot.useapi import UseapiClient
from tests.simfixtures import SIM_TOKEN


def client(url: str, **kwargs: Any) -> UseapiClient:
    kwargs.setdefault("wait_initial", 0.01)
    kwargs.setdefault("wait_max", 0.02)
    return UseapiClient(url, SecretStr(SIM_TOKEN), **kwargs)


async def test_timeouts_are_retried_and_stop_at_the_bound(sim_server):
    sim = sim_server.sim
    sim.faults.set("/v1/dreamina/scheduler", "timeout", seconds=5)
    async with client(sim_server.url, timeout=0.2, attempts=3) as c:
        with pytest.raises(errors.UpstreamTimeout) as info:
            await c.get_json("/v1/dreamina/scheduler", provider="dreamina")
    assert info.value.provider == "dreamina"
    assert info.value.retryable
    assert sim.request_count("/v1/dreamina/scheduler") == 3
    assert c.calls["dreamina"] == 3


async def test_a_timeout_that_clears_is_survived(sim_server):
    sim = sim_server.sim
    sim.faults.set("/v1/dreamina/scheduler", "timeout", seconds=5, count=1)
    async with client(sim_server.url, timeout=0.2, attempts=3) as c:
        body = await c.get_json("/v1/dreamina/scheduler", provider="dreamina")
    assert "executing" in body


async def test_latency_below_the_timeout_is_fine(sim_server):
    sim_server.sim.faults.set("/v1/minimax/scheduler/", "latency", seconds=0.1)
    async with client(sim_server.url, timeout=2) as c:
        assert isinstance(await c.get_json("/v1/minimax/scheduler/", provider="minimax"), list)


async def test_total_retry_time_is_bounded(sim_server):
    sim_server.sim.faults.set("/v2/pixverse/scheduler/", "status", status=503)
    async with client(sim_server.url, attempts=50, retry_timeout=0.3, wait_initial=0.05,
                      wait_max=0.1) as c:
        with pytest.raises(errors.ServerError):
            await c.get_json("/v2/pixverse/scheduler/", provider="pixverse")
    assert 1 < sim_server.sim.request_count("/v2/pixverse/scheduler/") < 50


@pytest.mark.parametrize(("status", "cls"), [
    (400, errors.BadRequest), (401, errors.Unauthorized), (402, errors.PaymentRequired),
    (404, errors.NotFound), (410, errors.Gone), (412, errors.InsufficientCredits),
    (422, errors.ModeratedPrompt), (429, errors.RateLimited), (596, errors.SessionExpired),
    (500, errors.ServerError), (502, errors.ServerError),
])
async def test_status_codes_map_to_typed_errors(sim_server, status, cls):
    sim_server.sim.faults.set("/v1/minimax/scheduler/", "status", status=status)
    async with client(sim_server.url, attempts=2) as c:
        with pytest.raises(cls) as info:
            await c.get_json("/v1/minimax/scheduler/", provider="minimax")
    assert info.value.status == status
    assert info.value.message
    assert "minimax" in str(info.value) and str(status) in str(info.value)


async def test_garbage_and_html_are_payload_errors(sim_server):
    sim = sim_server.sim
    async with client(sim_server.url, attempts=1) as c:
        sim.faults.set("/v1/minimax/scheduler/", "garbage", count=1)
        with pytest.raises(errors.PayloadError, match="not JSON"):
            await c.get_json("/v1/minimax/scheduler/", provider="minimax")
        sim.faults.set("/v1/minimax/scheduler/", "html", count=1)
        with pytest.raises(errors.ServerError) as info:
            await c.get_json("/v1/minimax/scheduler/", provider="minimax")
        assert "<html" not in info.value.message


async def test_connection_refused_is_a_connection_error():
    async with client("http://127.0.0.1:9", attempts=2, timeout=1) as c:
        with pytest.raises(errors.ConnectionFailed):
            await c.get_json("/v1/minimax/scheduler/", provider="minimax")


async def test_token_stays_out_of_repr_errors_and_logs(sim_server, caplog):
    caplog.set_level(logging.DEBUG)
    sim_server.sim.faults.set("minimax", "status", status=401)
    async with client(sim_server.url) as c:
        assert SIM_TOKEN not in repr(c)
        with pytest.raises(errors.Unauthorized) as info:
            await c.get_json("/v1/minimax/scheduler/", provider="minimax")
    text = f"{info.value!s} {info.value!r} {info.value.__cause__!r} {caplog.text}"
    assert SIM_TOKEN not in text


async def test_undecodable_body_is_a_payload_error():
    """A proxy that labels a body gzip when it is not: still our error tree, not httpx's."""
    import httpx

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"Content-Encoding": "gzip"}, content=b"not gzip")

    async with UseapiClient("http://useapi.test", SecretStr(SIM_TOKEN), attempts=1,
                            transport=httpx.MockTransport(handler)) as c:
        with pytest.raises(errors.PayloadError, match="cannot be decoded"):
            await c.get_json("/v1/minimax/scheduler/", provider="minimax")
