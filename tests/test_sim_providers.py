"""A simulated provider is one module: a `ProviderSpec` in `SPECS`, and the simulator's core
(population, routing, auth errors, faults, hostile bodies) serves it without naming it."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from bot.sim import ManualClock, SimServer, Simulator, format_elapsed, hostile, iso_ms
from bot.sim.providers import SPECS, ProviderSpec
from bot.sim.reply import NOT_FOUND, Reply, error_reply, method_ok

TOKEN = "toy-token"


def _scheduler(sim: Simulator, method: str, rest: list[str], query: dict[str, str]) -> Reply:
    if rest == ["scheduler"] and method_ok(method, "GET"):
        now = sim.now_ts()
        return Reply(
            200,
            [
                {
                    "taskId": j.id,
                    "account": j.account,
                    "started": j.started_iso,
                    "elapsed": format_elapsed(now - j.started_ts),
                }
                for j in sim.iter_running("toy")
            ],
        )
    return error_reply(404, NOT_FOUND)


@dataclass(frozen=True, kw_only=True)
class _Toy(ProviderSpec):
    def job_id(self, uid: int, account: str, kind: str, n: int, started: float) -> str:
        return f"toy-{n}"

    def new_accounts(
        self, rng: random.Random, count: int, taken: set[str]
    ) -> list[tuple[str, str | None, str | None]]:
        return [(f"acct{i}", None, None) for i in range(count)]


TOY = _Toy(
    name="toy",
    max_jobs_range=(2, 2),
    max_jobs_choices=(2,),
    kinds=(("video", 1.0),),
    allowed_kinds=("video",),
    durations={"video": (10, 20, 15)},
    models=("m1",),
    first_number=(1000, 1000),
    routes={"v1": _scheduler},
    id_key="taskId",
    error_code=False,
)


@pytest.fixture
def toy(monkeypatch: pytest.MonkeyPatch) -> ProviderSpec:
    monkeypatch.setitem(SPECS, "toy", TOY)
    return TOY


def _client(server: SimServer, token: str = TOKEN) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=server.url, timeout=10, headers={"Authorization": f"Bearer {token}"}
    )


def test_the_population_takes_its_accounts_and_ids_from_the_spec(toy: ProviderSpec) -> None:
    sim = Simulator(
        seed=3,
        accounts=2,
        jobs=3,
        token=TOKEN,
        providers=("toy",),
        clock=ManualClock(),
        churn=False,
    )
    running = sim.running("toy")
    assert sorted(j.id for j in running) == ["toy-1001", "toy-1002", "toy-1003"]
    assert {(j.kind, j.model) for j in running} == {("video", "m1")}
    assert [(a.account, a.max_jobs, a.executing) for a in sim.accounts("toy")] == [
        ("acct0", 2, sum(j.account == "acct0" for j in running)),
        ("acct1", 2, sum(j.account == "acct1" for j in running)),
    ]
    assert sim.start_job("toy", duration=5) == "toy-1004"
    sim.advance(5)
    assert [(e.kind, e.job_id) for e in sim.events("job_finished")] == [
        ("job_finished", "toy-1004")
    ]


async def test_its_routes_errors_and_faults_need_no_core_change(toy: ProviderSpec) -> None:
    sim = Simulator(
        seed=3,
        accounts=3,
        jobs=2,
        token=TOKEN,
        providers=("pixverse", "toy"),
        clock=ManualClock(),
        churn=False,
    )
    async with SimServer(sim) as server, _client(server) as client:
        listed = (await client.get("/v1/toy/scheduler")).json()
        assert [item["taskId"] for item in listed] == [j.id for j in sim.running("toy")]
        assert (await client.get("/v1/toy/nothing")).json() == {"error": NOT_FOUND, "code": 404}
        async with _client(server, "wrong") as stranger:
            refused = await stranger.get("/v1/toy/scheduler")
        assert (refused.status_code, refused.json()) == (401, {"error": "Unauthorized"})

        # The provider's name as a fault pattern means that provider, not a regex: a
        # PixVerse path that contains "toy" is left alone.
        sim.faults.set("toy", "status", status=429)
        busy = await client.get("/v1/toy/scheduler")
        assert (busy.status_code, busy.json()) == (
            429,
            {"error": "Too many requests / all accounts busy"},
        )
        elsewhere = await client.get("/v2/pixverse/videos/toy-1")
        assert (elsewhere.status_code, elsewhere.json()) == (
            404,
            {"error": "Video toy-1 not found", "code": 404},
        )
        sim.faults.clear()

        sim.faults.set("toy", "surrogate")
        distorted: list[dict[str, Any]] = (await client.get("/v1/toy/scheduler")).json()
        assert distorted[:-1] == listed
        assert distorted[-1] == {
            "taskId": "\ud800",
            "type": "video",
            "started": iso_ms(sim.now_ts() - 5),
            "elapsed": "00:05",
        }
    assert hostile.fault_job_id("toy", "7") == f"user:0-toy:{hostile.FAULT_ACCOUNT}-video:7"
