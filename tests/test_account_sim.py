"""The simulator's side of the account checks, over HTTP: `GET /v2/account` from the
population, `error` on the accounts endpoints, and the control switches."""

from __future__ import annotations

import httpx
import pytest

from bot.sim import ManualClock, SimServer, Simulator
from rig.simhttp import SIM_TOKEN


@pytest.fixture
def sim() -> Simulator:
    """Every simulated provider, two accounts each."""
    return Simulator(seed=1, accounts=12, jobs=12, token=SIM_TOKEN, clock=ManualClock())


async def test_account_body_and_switches(
    sim: Simulator, sim_server: SimServer, sim_client: httpx.AsyncClient
) -> None:
    body = (await sim_client.get("/v2/account")).json()
    assert body["subscriptionIsActive"] is True
    assert body["accounts"] == {
        "PixVerse API": {"total": 2, "active": 2, "error": 0},
        "MiniMax API": {"total": 2, "active": 2, "error": 0},
        "Dreamina API": {"total": 2, "active": 2, "error": 0},
        "Kling API": {"total": 2, "active": 2, "error": 0},
        "Runway API": {"total": 2, "active": 2, "error": 0},
        "Mureka API": {"total": 2, "active": 2, "error": 0},
    }
    control = httpx.AsyncClient(base_url=sim_server.url)
    try:
        minimax = sim.accounts("minimax")[1].account
        dreamina = sim.accounts("dreamina")[0].account
        answer = await control.post(
            "/_sim/account_error",
            json={"provider": "minimax", "account": minimax, "error": "re-add the account"},
        )
        assert answer.status_code == 200 and answer.json()["error"] == "re-add the account"
        answer = await control.post(
            "/_sim/expiry",
            json={"provider": "dreamina", "account": dreamina, "expires": "2026-03-10T00:00:00Z"},
        )
        assert answer.json()["expires"] == "2026-03-10T00:00:00.000Z"
        await control.post(
            "/_sim/expiry",
            json={
                "provider": "pixverse",
                "account": sim.accounts("pixverse")[0].account,
                "inSeconds": 60,
            },
        )
        assert (await control.post("/_sim/subscription", json={"active": False})).json() == {
            "subscriptionIsActive": False
        }
        for bad, status in (
            ({"provider": "minimax", "account": minimax}, 400),  # no `error` key
            ({"provider": "minimax", "account": "nobody", "error": None}, 404),
        ):
            assert (await control.post("/_sim/account_error", json=bad)).status_code == status
        assert (await control.post("/_sim/subscription", json={"active": "no"})).status_code == 400
    finally:
        await control.aclose()
    body = (await sim_client.get("/v2/account")).json()
    assert body["subscriptionIsActive"] is False
    assert body["accounts"]["MiniMax API"] == {"total": 2, "active": 1, "error": 1}
    accounts = (await sim_client.get("/v1/minimax/accounts")).json()
    assert accounts[minimax]["error"] == "re-add the account"
    assert [a for a, v in accounts.items() if "error" in v] == [minimax]
    dreamina_body = (await sim_client.get("/v1/dreamina/accounts")).json()
    assert dreamina_body[dreamina]["sessionExpires"] == "2026-03-10T00:00:00.000Z"
    pix = (await sim_client.get("/v2/pixverse/accounts")).json()
    first = pix[sim.accounts("pixverse")[0].account]["jwt"]
    assert first["ExpireTime"] == int(sim.now_ts() + 60)
    assert (await sim_client.post("/v2/account")).status_code == 404
