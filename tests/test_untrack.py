"""Untracking a job upstream, over real HTTP against the simulator: `UseapiClient.delete` (one
attempt, its answers and bounds), the adapters' `untrack` (PixVerse, MiniMax; Dreamina has
none), and what the simulator's `DELETE …/scheduler/{id}` does to the queue, the capacity and
the job endpoint afterwards."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from pydantic import SecretStr

from bot import errors
from bot.models import Outcome
from bot.providers import dreamina, minimax, pixverse
from bot.sim import SimServer, Simulator
from bot.useapi import UseapiClient
from rig.simhttp import SIM_TOKEN, MakeSimServer

#: Shaped like a useapi token: `user:<id>-` and a secret part long enough to be masked.
ECHO_TOKEN = "user:4321-Zx8Qp2Lm7Vn4Rt6Yw1Ks9Hd3"


def client(url: str, token: str = SIM_TOKEN, **kwargs: Any) -> UseapiClient:
    kwargs.setdefault("wait_initial", 0.01)
    kwargs.setdefault("wait_max", 0.02)
    return UseapiClient(url, SecretStr(token), **kwargs)


def enc(job_id: str) -> str:
    return quote(job_id, safe="")


def room(sim: Simulator, provider: str) -> str:
    """An account of `provider` with a free slot (one is freed when every account is full)."""
    for acct in sim.accounts(provider):
        if acct.available:
            return acct.account
    acct = sim.accounts(provider)[0]
    sim.finish_job(next(iter(acct.running)))
    return acct.account


# ------------------------------------------------------------------------ UseapiClient.delete


async def test_delete_204_is_none_and_one_request(sim: Simulator, sim_server: SimServer) -> None:
    job_id = sim.start_job("pixverse", room(sim, "pixverse"), duration=600)
    async with client(sim_server.url) as c:
        got = await c.delete(f"/v2/pixverse/scheduler/{enc(job_id)}", provider="pixverse")
    assert got is None
    assert sim.request_count(r"/v2/pixverse/scheduler/user", method="DELETE") == 1
    assert c.calls["pixverse"] == 1


async def test_delete_200_with_a_body_returns_it(sim: Simulator, sim_server: SimServer) -> None:
    sim.pin("/v2/pixverse/scheduler/x1", {"deleted": True, "id": "x1"})
    async with client(sim_server.url) as c:
        got = await c.delete("/v2/pixverse/scheduler/x1", provider="pixverse")
    assert got == {"deleted": True, "id": "x1"}


async def test_delete_404_is_not_found_with_useapis_words(
    sim: Simulator, sim_server: SimServer
) -> None:
    async with client(sim_server.url) as c:
        with pytest.raises(errors.NotFound) as info:
            await c.delete("/v1/minimax/scheduler/nope", provider="minimax")
    exc = info.value
    assert (exc.provider, exc.status, exc.path) == ("minimax", 404, "/v1/minimax/scheduler/nope")
    assert exc.message == "Unable to locate running nope"
    assert sim.request_count("/v1/minimax/scheduler/nope", method="DELETE") == 1


@pytest.mark.parametrize("status", [500, 503, 429])
async def test_delete_is_never_retried(sim: Simulator, sim_server: SimServer, status: int) -> None:
    """A retried DELETE whose first attempt landed would read 404: one attempt only."""
    sim.faults.set("/v2/pixverse/scheduler/", "status", status=status)
    async with client(sim_server.url, attempts=4) as c:
        with pytest.raises(errors.UpstreamError) as info:
            await c.delete("/v2/pixverse/scheduler/x2", provider="pixverse")
    assert info.value.status == status
    assert sim.request_count("/v2/pixverse/scheduler/x2", method="DELETE") == 1


async def test_delete_ends_at_the_deadline(sim: Simulator, sim_server: SimServer) -> None:
    sim.faults.set("/v2/pixverse/scheduler/", "timeout", seconds=30)
    async with client(sim_server.url, timeout=10, deadline=0.3) as c:
        async with asyncio.timeout(10):  # the bound must be real, not the fault's 30 s
            with pytest.raises(errors.DeadlineExceeded) as info:
                await c.delete("/v2/pixverse/scheduler/x3", provider="pixverse")
    assert str(info.value) == "pixverse: no complete answer within 0.3 s"
    assert not info.value.retryable
    assert sim.request_count("/v2/pixverse/scheduler/x3", method="DELETE") == 1


async def test_delete_masks_an_echoed_token(make_sim_server: MakeSimServer) -> None:
    server = await make_sim_server(token=ECHO_TOKEN)
    sim = server.sim
    sim.pin("/v2/pixverse/scheduler/e1", {"error": f"token {ECHO_TOKEN} rejected"}, status=400)
    sim.pin("/v2/pixverse/scheduler/e2", {"note": f"by {ECHO_TOKEN}"})
    async with client(server.url, ECHO_TOKEN) as c:
        with pytest.raises(errors.BadRequest) as info:
            await c.delete("/v2/pixverse/scheduler/e1", provider="pixverse")
        got = await c.delete("/v2/pixverse/scheduler/e2", provider="pixverse")
    assert str(info.value) == "pixverse: token *** rejected (400)"
    assert got == {"note": "by ***"}


# ------------------------------------------------------------------------ the adapters


@pytest.mark.parametrize(
    ("cls", "provider", "path"),
    [
        (pixverse.PixVerse, "pixverse", "/v2/pixverse/scheduler/"),
        (minimax.MiniMax, "minimax", "/v1/minimax/scheduler/"),
    ],
)
async def test_untrack_stops_tracking_a_running_job(
    sim: Simulator,
    sim_server: SimServer,
    sim_client: httpx.AsyncClient,
    cls: type[pixverse.PixVerse] | type[minimax.MiniMax],
    provider: str,
    path: str,
) -> None:
    account = room(sim, provider)
    job_id = sim.start_job(provider, account, duration=600)
    executing = sim.account(provider, account).executing
    async with client(sim_server.url) as c:
        adapter = cls(c)
        assert adapter.can_untrack
        before = await adapter.fetch()
        assert job_id in {j.id for j in before.jobs}
        await adapter.fetch_untrack(job_id)
        after = await adapter.fetch()
        result = await adapter.fetch_job(job_id)
        with pytest.raises(errors.NotFound) as again:
            await adapter.fetch_untrack(job_id)
    # The id went out percent-encoded as one path segment (it holds ':' and '@').
    assert sim.request_count(f"{path}{enc(job_id)}$", method="DELETE") == 2
    assert job_id not in {j.id for j in after.jobs}
    [acct] = [a for a in after.accounts if a.account == account]
    if provider == "pixverse":  # MiniMax's /available counts video jobs only: see its test
        assert acct.executing == executing - 1
    assert result.outcome is Outcome.CANCELLED
    assert again.value.message == f"Unable to locate running {job_id}"


async def test_untrack_of_an_id_that_is_not_running(sim: Simulator, sim_server: SimServer) -> None:
    ended = sim.start_job("minimax", room(sim, "minimax"), duration=600)
    sim.finish_job(ended)
    other = sim.start_job("pixverse", room(sim, "pixverse"), duration=600)
    async with client(sim_server.url) as c:
        for job_id in (ended, other, "user:1-minimax:1-video:9"):
            with pytest.raises(errors.NotFound):
                await minimax.MiniMax(c).fetch_untrack(job_id)
    job = sim.job(other)
    assert job is not None and job.running  # another provider's job is left alone


async def test_dreamina_cannot_untrack_and_sends_nothing(
    sim: Simulator, sim_server: SimServer
) -> None:
    async with client(sim_server.url) as c:
        adapter = dreamina.Dreamina(c)
        assert not adapter.can_untrack
        with pytest.raises(errors.PayloadError) as info:
            await adapter.fetch_untrack("j1-US:a@b.c:dreamina")
    assert "Dreamina has no way to untrack a job" in str(info.value)
    assert sim.request_count(method="DELETE") == 0


# ------------------------------------------------------------------------ the simulator


async def test_sim_untrack_frees_the_slot_and_the_job_endpoint_says_cancelled(
    sim: Simulator, sim_client: httpx.AsyncClient
) -> None:
    account = room(sim, "minimax")
    job_id = sim.start_job("minimax", account, kind="video", duration=600)
    used = sim.account("minimax", account).executing
    response = await sim_client.delete(f"/v1/minimax/scheduler/{enc(job_id)}")
    assert (response.status_code, response.content) == (204, b"")
    listed = (await sim_client.get("/v1/minimax/scheduler/")).json()
    assert job_id not in {item.get("videoId") or item.get("imageId") for item in listed}
    available = (await sim_client.get("/v1/minimax/scheduler/available")).json()
    [row] = [a for a in available["available"] if a["account"] == account]
    assert sim.account("minimax", account).executing == used - 1
    assert row["executing"] == sim.account("minimax", account).videos
    video = (await sim_client.get(f"/v1/minimax/videos/{enc(job_id)}")).json()
    assert (video["status"], video["statusLabel"], video["statusFinal"]) == (3, "cancelled", True)


def test_sim_untrack_changes_nothing_for_a_job_it_does_not_run(sim: Simulator) -> None:
    job_id = sim.start_job("pixverse", room(sim, "pixverse"), duration=600)
    assert sim.untrack("minimax", job_id) is None  # another provider's
    assert sim.untrack("pixverse", "user:1-pixverse:x@y-video:1") is None
    job = sim.untrack("pixverse", job_id)
    assert job is not None and (job.running, job.outcome) == (False, "cancelled")
    assert sim.untrack("pixverse", job_id) is None  # ended
    [legacy] = sim.legacy_jobs()[:1]
    assert sim.untrack("pixverse", legacy.id) is None


async def test_sim_has_no_delete_for_dreamina(
    sim: Simulator, sim_client: httpx.AsyncClient
) -> None:
    [job] = sim.running("dreamina")[:1]
    response = await sim_client.delete(f"/v1/dreamina/scheduler/{enc(job.id)}")
    assert response.status_code == 404
    assert job.running
