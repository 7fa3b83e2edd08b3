"""The useapi client over real HTTP against the simulator: timeouts, retries, error mapping,
the deadline and body cap, redirects."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from pydantic import SecretStr

from bot import errors
from bot.alerts import classify_error
from bot.useapi import ERROR_BODY_CAP, UseapiClient
from rig.simhttp import SIM_TOKEN


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
    async with client(
        sim_server.url, attempts=50, retry_timeout=0.3, wait_initial=0.05, wait_max=0.1
    ) as c:
        with pytest.raises(errors.ServerError):
            await c.get_json("/v2/pixverse/scheduler/", provider="pixverse")
    assert 1 < sim_server.sim.request_count("/v2/pixverse/scheduler/") < 50


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, errors.BadRequest),
        (401, errors.Unauthorized),
        (402, errors.PaymentRequired),
        (404, errors.NotFound),
        (410, errors.Gone),
        (412, errors.InsufficientCredits),
        (422, errors.ModeratedPrompt),
        (429, errors.RateLimited),
        (596, errors.SessionExpired),
        (500, errors.ServerError),
        (502, errors.ServerError),
    ],
)
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

    async with UseapiClient(
        "http://useapi.test",
        SecretStr(SIM_TOKEN),
        attempts=1,
        transport=httpx.MockTransport(handler),
    ) as c:
        with pytest.raises(errors.PayloadError, match="cannot be decoded"):
            await c.get_json("/v1/minimax/scheduler/", provider="minimax")


# --------------------------------------------------------------------------- bounds


def test_default_bounds() -> None:
    c = UseapiClient("http://useapi.test", SecretStr(SIM_TOKEN))
    assert (c.deadline, c.max_body) == (20.0, 32 * 1024 * 1024)
    assert (c.attempts, c.retry_timeout) == (4, 15.0)  # no retry after 15 s of the 20
    with pytest.raises(ValueError):
        UseapiClient("http://useapi.test", None, deadline=0)


async def test_a_dribbled_body_is_cut_off_at_the_deadline(sim_server):
    """Each byte comes well within the read timeout, so only the deadline can end it."""
    sim = sim_server.sim
    sim.faults.set("/v1/dreamina/scheduler", "dribble", seconds=0.05)
    async with client(sim_server.url, timeout=5, deadline=0.5, attempts=3) as c:
        async with asyncio.timeout(30):  # the bound must be real, not the dribble's ~50 s
            with pytest.raises(errors.DeadlineExceeded) as info:
                await c.get_json("/v1/dreamina/scheduler", provider="dreamina")
    exc = info.value
    assert str(exc) == "dreamina: no complete answer within 0.5 s"
    assert (exc.message, exc.status, exc.path) == (
        "no complete answer within 0.5 s",
        None,
        "/v1/dreamina/scheduler",
    )
    assert isinstance(exc, errors.UpstreamTimeout) and not exc.retryable
    assert classify_error(exc) == "unreachable"
    assert sim.request_count("/v1/dreamina/scheduler") == 1  # cut off, not retried


async def test_the_deadline_bounds_the_retries_too(sim_server):
    """stamina's own timeout only stops new tries; the deadline ends the one in flight."""
    sim = sim_server.sim
    sim.faults.set("scheduler", "latency", seconds=0.2)
    sim.faults.set("scheduler", "status", status=503)
    async with client(sim_server.url, deadline=1, attempts=100, retry_timeout=100) as c:
        async with asyncio.timeout(30):
            with pytest.raises(errors.DeadlineExceeded, match="within 1 s"):
                await c.get_json("/v2/pixverse/scheduler/", provider="pixverse")
    assert 1 < sim.request_count("/v2/pixverse/scheduler/") < 100


async def test_a_retry_after_a_transient_fault_fits_in_the_deadline(sim_server):
    sim_server.sim.faults.set("/v1/minimax/scheduler/", "status", status=503, count=2)
    async with client(sim_server.url, deadline=10) as c:
        assert isinstance(await c.get_json("/v1/minimax/scheduler/", provider="minimax"), list)
    assert sim_server.sim.request_count("/v1/minimax/scheduler/") == 3


async def test_the_body_cap_holds_exactly_at_its_value(sim_server):
    """Content-Length announced: refused unread one byte past the cap; counted when streamed
    (chunked, no length): refused as soon as the count passes the cap."""
    sim, path = sim_server.sim, "/v1/minimax/scheduler/"
    cap = 1000
    async with client(sim_server.url, max_body=cap, attempts=3) as c:
        for size, fits in ((cap, True), (cap + 1, False)):
            sim.pin(path, "[" + " " * (size - 2) + "]", content_type="application/json")
            if fits:
                assert await c.get_json(path, provider="minimax") == []
            else:
                with pytest.raises(errors.BodyTooLarge) as declared:
                    await c.get_json(path, provider="minimax")
            sim.unpin()
            sim.faults.set(path, "oversized", size=size, count=1)
            if fits:
                assert await c.get_json(path, provider="minimax") == []
            else:
                with pytest.raises(errors.BodyTooLarge) as counted:
                    await c.get_json(path, provider="minimax")
    assert str(declared.value) == "minimax: body larger than 1000 bytes (not read)"
    assert str(counted.value) == "minimax: body larger than 1000 bytes (stopped reading)"
    for exc in (declared.value, counted.value):
        assert isinstance(exc, errors.PayloadError) and not exc.retryable
        assert exc.status == 200 and classify_error(exc) == "unreachable"
    assert sim.request_count(path) == 4  # the refusals were not retried


async def test_the_body_cap_in_mib_and_the_default(sim_server):
    sim = sim_server.sim
    sim.faults.set("/v2/pixverse/scheduler/", "oversized", size=1024 * 1024 + 1, count=1)
    async with client(sim_server.url, max_body=1024 * 1024) as c:
        with pytest.raises(errors.BodyTooLarge) as info:
            await c.get_json("/v2/pixverse/scheduler/", provider="pixverse")
        assert info.value.message == "body larger than 1 MiB (stopped reading)"
    sim.faults.set("/v2/pixverse/scheduler/", "oversized", count=1)  # 50 MiB
    async with client(sim_server.url) as c:
        with pytest.raises(errors.BodyTooLarge) as info:
            await c.get_json("/v2/pixverse/scheduler/", provider="pixverse")
        assert info.value.message == "body larger than 32 MiB (stopped reading)"
        # the connection pool is fine afterwards
        assert isinstance(await c.get_json("/v2/pixverse/scheduler/", provider="pixverse"), list)


async def test_a_compressed_body_is_capped_by_what_it_inflates_to():
    import gzip

    import httpx

    bomb = gzip.compress(b"[" + b" " * 100_000 + b"]")

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"Content-Encoding": "gzip"}, content=bomb)

    async with UseapiClient(
        "http://useapi.test",
        SecretStr(SIM_TOKEN),
        max_body=50_000,
        transport=httpx.MockTransport(handler),
    ) as c:
        assert len(bomb) < 50_000
        with pytest.raises(errors.BodyTooLarge, match=r"50000 bytes \(stopped reading\)"):
            await c.get_json("/v1/minimax/scheduler/", provider="minimax")


async def test_a_large_error_body_is_not_read_past_its_cap(sim_server):
    sim_server.sim.faults.set(
        "/v1/dreamina/scheduler", "status", status=503, body={"error": "x" * (ERROR_BODY_CAP + 1)}
    )
    async with client(sim_server.url, attempts=1) as c:
        with pytest.raises(errors.ServerError) as info:
            await c.get_json("/v1/dreamina/scheduler", provider="dreamina")
    assert info.value.message == "Service Unavailable"  # the reason phrase stands in


async def test_json_nested_too_deep_is_a_payload_error(sim_server):
    sim_server.sim.faults.set("/v1/dreamina/scheduler", "deep")
    async with client(sim_server.url, attempts=3) as c:
        with pytest.raises(errors.PayloadError) as info:
            await c.get_json("/v1/dreamina/scheduler", provider="dreamina")
    assert str(info.value) == "dreamina: useapi sent JSON nested too deep to read"
    assert not info.value.retryable and classify_error(info.value) == "unreachable"
    assert sim_server.sim.request_count("/v1/dreamina/scheduler") == 1


# --------------------------------------------------------------------------- redirects


@pytest.fixture
async def redirector() -> AsyncIterator[tuple[str, list[str]]]:
    """A server on loopback that redirects as `?to=` says (`/none`: without a Location);
    yields its URL and the paths it was asked for."""
    seen: list[str] = []

    async def handle(request: web.Request) -> web.Response:
        seen.append(request.path_qs)
        if request.path == "/none":
            return web.Response(status=302)
        return web.Response(
            status=int(request.query.get("status", "302")),
            headers={"Location": request.query["to"]},
        )

    runner = web.AppRunner(web.Application())
    runner.app.router.add_get("/{tail:.*}", handle)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield f"http://127.0.0.1:{port}", seen
    await runner.cleanup()


@pytest.mark.parametrize(
    ("status", "to", "message"),
    [
        (
            302,
            "https://evil.example:8443/steal/it?token=abc&x=1#frag",
            "redirected to another host (not followed): https://evil.example:8443/steal/it",
        ),
        (
            301,
            "http://user:pw@other.example/v2/x?q=1",
            "redirected to another host (not followed): http://other.example/v2/x",
        ),
        (
            307,
            "/v2/pixverse/scheduler/?page=2",
            "redirected to /v2/pixverse/scheduler/ (not followed)",
        ),
        (
            308,
            "https://127.0.0.1/x",
            "redirected to another host (not followed): https://127.0.0.1/x",
        ),
    ],
)
async def test_a_redirect_is_a_typed_error_and_not_followed(redirector, status, to, message):
    url, seen = redirector
    async with client(url, attempts=3) as c:
        with pytest.raises(errors.Redirected) as info:
            await c.get_json(
                "/v1/minimax/scheduler/",
                provider="minimax",
                params={"status": str(status), "to": to},
            )
    exc = info.value
    assert exc.message == message and exc.status == status
    assert str(exc) == f"minimax: {message} ({status})"
    assert "token=abc" not in str(exc) and "pw" not in str(exc)
    assert isinstance(exc, errors.HTTPStatusError) and not exc.retryable
    assert classify_error(exc) == "unreachable"
    assert len(seen) == 1  # neither retried nor followed


async def test_a_redirect_without_a_location(redirector):
    url, seen = redirector
    async with client(url) as c:
        with pytest.raises(errors.Redirected) as info:
            await c.get_json("/none", provider="dreamina")
    assert str(info.value) == "dreamina: redirected without a Location (not followed) (302)"
    assert seen == ["/none"]
