"""The useapi.net simulator over real HTTP: shapes, churn vs ground truth, faults, control API."""

from __future__ import annotations

import asyncio
import json
import re
import time
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from bot.sim import CapacityError, ManualClock, SimServer, Simulator, format_elapsed, hostile, serve
from bot.sim.faults import DEFAULT_SECONDS
from bot.sim.state import SPECS
from rig.simhttp import AUTH, SIM_TOKEN, MakeSimServer, sim_http

ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
ELAPSED = re.compile(r"^(\d+:)?\d\d:\d\d$")
SCHEDULER_PATHS = {
    "pixverse": "/v2/pixverse/scheduler/",
    "minimax": "/v1/minimax/scheduler/",
    "dreamina": "/v1/dreamina/scheduler",
    "mureka": "/v1/mureka/jobs",
    "kling": "/v1/kling/scheduler",
    "runway": "/v1/runwayml/scheduler/",
}


def enc(job_id: str) -> str:
    return quote(job_id, safe="")


def status_path(sim: Simulator, job_id: str) -> str:
    job = sim.job(job_id)
    assert job is not None
    if job.legacy:
        return f"/v1/pixverse/jobs/?jobid={enc(job_id)}"
    if job.provider == "kling":  # the task's account is asked
        return f"/v1/kling/tasks/{job_id}?email={enc(str(job.account))}"
    return {
        "pixverse": "/v2/pixverse/videos/",
        "minimax": "/v1/minimax/videos/",
        "dreamina": "/v1/dreamina/videos/",
        "mureka": "/v1/mureka/jobs/",
        "runway": "/v1/runwayml/tasks/",
    }[job.provider] + enc(job_id)


def outcome_of(provider: str, response: httpx.Response) -> str:
    """Read an outcome back from a job-status answer, the way the docs describe it."""
    if provider == "pixverse":
        if response.status_code == 404:
            return "running"
        body = response.json()
        return {
            "COMPLETED": "completed",
            "MODERATED": "moderated",
            "FAILED": "failed",
            "CANCELLED": "cancelled",
        }[body["video_status_name"]]
    if provider == "kling":
        body = response.json()
        if not body["status_final"]:
            return "running"
        return {
            "succeed": "completed",
            "failed": "failed",
            "censor_failed": "moderated",
            "cancelled": "cancelled",
        }[body["status_name"]]
    if provider == "minimax":
        if response.status_code == 404:
            return "moderated"
        body = response.json()
        if not body["statusFinal"]:
            return "running"
        return str(
            {2: "completed", 5: "moderated", 7: "moderated", 14: "moderated"}.get(
                body["status"], body["statusLabel"]
            )
        )
    body = response.json()
    if provider == "runway":
        if body["status"] in ("PENDING", "RUNNING", "THROTTLED"):
            return "running"
        if body["status"] == "FAILED":
            return "moderated" if "moderation" in body["error"] else "failed"
        return {"SUCCEEDED": "completed", "CANCELLED": "cancelled"}[body["status"]]
    if body["status"] == "created":
        return "running"
    if body["status"] == "failed" and re.search(r"moderat|sensitive", body["errorDetails"]):
        return "moderated"
    return str(body["status"])


def last_kind(sim: Simulator) -> str:
    return sim.history[-1].kind


async def running_count(client: httpx.AsyncClient, provider: str) -> int:
    body = (await client.get(SCHEDULER_PATHS[provider])).json()
    return int(body["total"]) if provider in ("dreamina", "mureka") else len(body)


# ------------------------------------------------------------------------------ auth, routing


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v2/pixverse/scheduler/", {"error": "Unauthorized", "code": 401}),
        ("/v1/minimax/scheduler/available", {"error": "Unauthorized", "code": 401}),
        ("/v1/dreamina/scheduler", {"error": "Unauthorized"}),
        ("/v1/dreamina/videos/whatever", {"error": "Unauthorized"}),
    ],
)
async def test_auth_required_with_provider_error_body(
    sim_server: SimServer, path: str, body: dict[str, object]
) -> None:
    async with sim_http(sim_server.url, token=None) as client:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": SIM_TOKEN}):
            response = await client.get(path, headers=headers)
            assert response.status_code == 401
            assert response.json() == body
            assert response.headers["content-type"].startswith("application/json")
        assert (await client.get(path, headers=AUTH)).status_code in (200, 404)
        assert (await client.get("/_sim/state")).status_code == 200  # control API: no auth


async def test_unknown_paths_and_disabled_providers(make_sim_server: MakeSimServer) -> None:
    server = await make_sim_server(providers=("pixverse",), accounts=2, jobs=3)
    async with sim_http(server.url) as client:
        for path in ("/v1/minimax/scheduler/", "/v9/pixverse/x", "/nothing", "/v2/pixverse/zz"):
            response = await client.get(path)
            assert response.status_code == 404, path
            assert response.json() == {"error": "Not found", "code": 404}
        assert len((await client.get("/v2/pixverse/scheduler")).json()) == 3  # no slash too


# ------------------------------------------------------------------------------ shapes


async def test_pixverse_shapes(sim: Simulator, sim_client: httpx.AsyncClient) -> None:
    sim.start_job("pixverse", kind="image", reply_url="https://hook.example/x", reply_ref="r1")
    items = (await sim_client.get("/v2/pixverse/scheduler/")).json()
    assert [i["id"] for i in items] == [j.id for j in sim.running("pixverse")]
    for item in items:
        assert re.fullmatch(
            rf"user:{sim.uid}-pixverse:[^:@]+@[\w.-]+\.example-(video|image):\d+", item["id"]
        )
        assert item["type"] in ("video", "image") and item["id"].endswith(
            f"-{item['type']}:{item['id'].rsplit(':', 1)[1]}"
        )
        assert ISO_MS.match(item["started"]) and ELAPSED.match(item["elapsed"])
        assert set(item) <= {"id", "type", "started", "elapsed", "replyUrl", "replyRef"}
    assert {"replyUrl": "https://hook.example/x", "replyRef": "r1"}.items() <= items[-1].items()

    body = (await sim_client.get("/v2/pixverse/scheduler/available")).json()
    assert body["executing"] == items
    accounts = sim.accounts("pixverse")
    assert [a["email"] for a in body["available"]] == [a.account for a in accounts]
    for row in body["available"]:
        assert row["available"] == row["maxJobs"] - row["executing"] >= 0
    assert sum(r["executing"] for r in body["available"]) == len(items)

    config = (await sim_client.get("/v2/pixverse/accounts")).json()
    assert list(config) == [a.account for a in accounts]
    one = config[accounts[0].account]
    assert one["email"] == accounts[0].account and one["password"] == "…secured…"
    assert {"AccountId", "ExpireTime", "ExpireTimeUTC", "Username", "token"} <= set(one["jwt"])
    single = await sim_client.get(f"/v2/pixverse/accounts/{enc(accounts[0].account)}")
    assert single.json() == one
    assert (await sim_client.get("/v2/pixverse/accounts/nobody@x.example")).status_code == 404


async def test_minimax_shapes_and_video_only_capacity(
    sim: Simulator, sim_client: httpx.AsyncClient
) -> None:
    acct = sim.accounts("minimax")[0]
    sim.free_account("minimax", acct.account)
    image_id = sim.start_job("minimax", acct.account, kind="image")
    video_id = sim.start_job("minimax", acct.account, kind="video")
    items = (await sim_client.get("/v1/minimax/scheduler/")).json()
    by_id = {i.get("videoId") or i.get("imageId"): i for i in items}
    assert set(by_id) == {j.id for j in sim.running("minimax")}
    for item in items:
        assert ISO_MS.match(item["started"]) and ELAPSED.match(item["elapsed"])
        (key,) = {"videoId", "imageId"} & set(item)
        assert re.fullmatch(rf"user:{sim.uid}-minimax:\d{{6}}-(video|image):\d+", item[key])
        if key == "imageId":
            assert "-image:" in item[key]
    assert "videoId" in by_id[video_id]

    body = (await sim_client.get("/v1/minimax/scheduler/available")).json()
    row = next(r for r in body["available"] if r["account"] == acct.account)
    # documented quirk: only video jobs count
    assert row == {
        "account": acct.account,
        "maxJobs": acct.max_jobs,
        "executing": 1,
        "available": acct.max_jobs - 1,
    }
    assert acct.executing == 2 and image_id in acct.running

    config = (await sim_client.get("/v1/minimax/accounts")).json()
    assert set(config) == {a.account for a in sim.accounts("minimax")}
    entry = config[acct.account]
    assert entry["account"] == acct.account and entry["supportVideo"] is True
    assert isinstance(entry["jwt"]["exp"], float)
    assert (await sim_client.get(f"/v1/minimax/accounts/{acct.account}")).json() == entry
    assert (await sim_client.get("/v1/minimax/accounts/000000")).status_code == 404


async def test_minimax_image_ids_sometimes_listed_under_video_id(
    make_sim_server: MakeSimServer,
) -> None:
    server = await make_sim_server(providers=("minimax",), accounts=3, jobs=0)
    sim = server.sim
    ids = [sim.start_job("minimax", kind="image", duration=600) for _ in range(4)]
    async with sim_http(server.url) as client:
        items = (await client.get("/v1/minimax/scheduler/")).json()
    keys = {
        i.get("imageId") or i["videoId"]: ("imageId" if "imageId" in i else "videoId")
        for i in items
    }
    assert set(keys) == set(ids)
    assert set(keys.values()) == {"imageId", "videoId"}  # as in the documented examples


async def test_dreamina_shapes(sim: Simulator, sim_client: httpx.AsyncClient) -> None:
    body = (await sim_client.get("/v1/dreamina/scheduler")).json()
    assert set(body) == {"executing", "total"}
    running = sim.running("dreamina")
    assert body["total"] == len(running) == sum(len(v) for v in body["executing"].values())
    for account, jobs in body["executing"].items():
        assert re.fullmatch(r"(US|CA):[^:]+@[\w.-]+", account) and jobs
        for item in jobs:
            assert re.fullmatch(
                rf"j\d{{19}}v-u{sim.uid}-{re.escape(account)}:dreamina", item["jobid"]
            )
            assert isinstance(item["elapsedSeconds"], int)
            assert re.fullmatch(r"[0-9a-f-]{36}", item["submitId"])
            assert "started" not in item and "replyRef" not in item
    config = (await sim_client.get("/v1/dreamina/accounts")).json()
    key = sim.accounts("dreamina")[0].account
    assert config[key]["account"] == key and config[key]["region"] == key[:2]
    single = (await sim_client.get(f"/v1/dreamina/accounts/{enc(key)}")).json()
    assert {"sessionExpires", "session", "models", "credits", "maxJobs"} <= set(single)
    missing = await sim_client.get("/v1/dreamina/accounts/US:nobody@x.example")
    assert missing.status_code == 404
    assert missing.json() == {
        "error": "Unable to find configuration for account US:nobody@x.example"
    }
    sim.free_account("dreamina", key)
    assert key not in (await sim_client.get("/v1/dreamina/scheduler")).json()["executing"]


async def test_elapsed_formats(sim: Simulator, sim_client: httpx.AsyncClient) -> None:
    assert format_elapsed(0) == "00:00" and format_elapsed(237) == "03:57"
    assert format_elapsed(3_725) == "1:02:05" and format_elapsed(-3) == "00:00"
    job_id = sim.start_job("pixverse", elapsed=3_725, duration=10_000)
    items = (await sim_client.get("/v2/pixverse/scheduler/")).json()
    assert next(i for i in items if i["id"] == job_id)["elapsed"] == "1:02:05"
    sim.advance(60)
    items = (await sim_client.get("/v2/pixverse/scheduler/")).json()
    assert next(i for i in items if i["id"] == job_id)["elapsed"] == "1:03:05"


# ------------------------------------------------------------------------------ job status


def make_room(sim: Simulator, provider: str) -> None:
    for account in sim.accounts(provider):
        sim.set_max_jobs(provider, account.account, account.max_jobs + 20)


async def test_pixverse_video_404_while_running_then_final(
    sim: Simulator, sim_client: httpx.AsyncClient
) -> None:
    make_room(sim, "pixverse")
    ids = {
        outcome: sim.start_job("pixverse", duration=30, outcome=outcome)
        for outcome in ("completed", "failed", "moderated", "cancelled")
    }
    for job_id in ids.values():
        response = await sim_client.get(f"/v2/pixverse/videos/{enc(job_id)}")
        assert response.status_code == 404
        assert response.json() == {"error": f"Video {job_id} not found", "code": 404}
    sim.advance(31)
    seen = {}
    for outcome, job_id in ids.items():
        body = (await sim_client.get(f"/v2/pixverse/videos/{enc(job_id)}")).json()
        assert body["video_id"] == job_id and body["video_status_final"] is True
        seen[outcome] = (
            body["video_status"],
            body["video_status_name"],
            "url" in body,
            "errCode" in body,
        )
    assert seen == {
        "completed": (1, "COMPLETED", True, False),
        "failed": (8, "FAILED", False, True),
        "moderated": (7, "MODERATED", False, False),
        "cancelled": (8, "CANCELLED", False, False),
    }
    unknown = await sim_client.get("/v2/pixverse/videos/user:1-pixverse:a@b-video:1")
    assert unknown.status_code == 404


async def test_delete_scheduler_cancels(sim: Simulator, sim_client: httpx.AsyncClient) -> None:
    make_room(sim, "pixverse")
    make_room(sim, "minimax")
    for provider, prefix, err in (
        ("pixverse", "/v2/pixverse", {"code": 404}),
        ("minimax", "/v1/minimax", {}),
    ):
        job_id = sim.start_job(provider, duration=600)
        response = await sim_client.delete(f"{prefix}/scheduler/{enc(job_id)}")
        assert response.status_code == 204
        job = sim.job(job_id)
        assert job is not None and not job.running and job.outcome == "cancelled"
        assert sim.history[-1].kind in ("job_finished", "account_restored")
        again = await sim_client.delete(f"{prefix}/scheduler/{enc(job_id)}")
        assert again.status_code == 404
        assert again.json() == {"error": f"Unable to locate running {job_id}", **err}


async def test_minimax_video_status(sim: Simulator, sim_client: httpx.AsyncClient) -> None:
    make_room(sim, "minimax")
    running = sim.start_job("minimax", duration=300)
    body = (await sim_client.get(f"/v1/minimax/videos/{enc(running)}")).json()
    assert (body["status"], body["statusLabel"], body["statusFinal"]) == (11, "queued", False)
    sim.advance(150)
    body = (await sim_client.get(f"/v1/minimax/videos/{enc(running)}")).json()
    assert (body["status"], body["statusFinal"], body["percent"]) == (1, False, 50)
    assert body["videoId"] == running and body["canRetry"] is False

    moderated = [sim.start_job("minimax", duration=1, outcome="moderated") for _ in range(4)]
    done = {
        o: sim.start_job("minimax", duration=1, outcome=o)
        for o in ("completed", "failed", "cancelled")
    }
    sim.advance(2)
    removed = 0
    for job_id in moderated:
        job = sim.job(job_id)
        assert job is not None
        response = await sim_client.get(f"/v1/minimax/videos/{enc(job_id)}")
        if job.removed:
            removed += 1
            assert response.status_code == 404
            assert response.json() == {"error": "Not found.", "code": 404}
        else:
            body = response.json()
            assert body["status"] in (5, 7, 14) and body["statusLabel"] == "moderated"
    assert removed == 3  # three in four moderated jobs are "moderated and removed"
    results = {
        o: (await sim_client.get(f"/v1/minimax/videos/{enc(i)}")).json() for o, i in done.items()
    }
    assert (results["completed"]["status"], results["completed"]["percent"]) == (2, 100)
    assert results["completed"]["videoURL"].endswith(".mp4")
    assert (results["failed"]["status"], results["failed"]["statusLabel"]) == (3, "failed")
    assert (results["cancelled"]["status"], results["cancelled"]["statusLabel"]) == (3, "cancelled")
    assert all(r["statusFinal"] for r in results.values())
    unknown = await sim_client.get("/v1/minimax/videos/user:1-minimax:1-video:1")
    assert unknown.status_code == 404


async def test_dreamina_video_status(sim: Simulator, sim_client: httpx.AsyncClient) -> None:
    make_room(sim, "dreamina")
    ids = {
        o: sim.start_job("dreamina", duration=60, outcome=o)
        for o in ("completed", "failed", "moderated", "cancelled")
    }
    for job_id in ids.values():
        body = (await sim_client.get(f"/v1/dreamina/videos/{enc(job_id)}")).json()
        assert body["status"] == "created" and body["code"] == 200
        assert body["response"] == {"forecastCost": 125} and body["jobid"] == job_id
    sim.advance(61)
    got = {
        o: (await sim_client.get(f"/v1/dreamina/videos/{enc(i)}")).json() for o, i in ids.items()
    }
    assert got["completed"]["status"] == "completed"
    assert got["completed"]["response"]["videoUrl"].endswith(".mp4")
    assert got["failed"]["status"] == "failed" and got["failed"]["error"] == "fail_code: 2043"
    assert not re.search(r"moderat|sensitive", got["failed"]["errorDetails"], re.I)
    assert got["moderated"]["status"] == "failed"
    assert re.search(r"moderat", got["moderated"]["errorDetails"], re.I)
    assert got["cancelled"]["status"] == "cancelled"
    assert ISO_MS.match(got["completed"]["created"]) and ISO_MS.match(got["completed"]["updated"])
    unknown = await sim_client.get("/v1/dreamina/videos/j0000v-u1-US:a@b:dreamina")
    assert unknown.status_code == 404
    assert unknown.json() == {"error": "Unable to find job j0000v-u1-US:a@b:dreamina"}


async def test_pixverse_legacy_v1_jobs(sim: Simulator, sim_client: httpx.AsyncClient) -> None:
    missing = await sim_client.get("/v1/pixverse/jobs/")
    assert missing.status_code == 400
    assert missing.json() == {"error": "Query param jobid not provided", "code": 400}
    unknown = await sim_client.get("/v1/pixverse/jobs/", params={"jobid": "j123-pixverse"})
    assert unknown.json() == {"error": "Unable to locate job j123-pixverse", "code": 404}

    statuses: dict[str, dict[str, Any]] = {}
    for job in sim.legacy_jobs():
        assert not job.id.startswith("user:") and job.id.endswith("-pixverse")
        response = await sim_client.get("/v1/pixverse/jobs/", params={"jobid": job.id})
        if sim.legacy_expired(job):
            assert response.status_code == 410
            assert response.json() == {"error": "Job has expired", "code": 410}
            statuses["expired"] = {}
            continue
        body = response.json()
        assert body["jobid"] == job.id and body["code"] == 200
        statuses[body["status"]] = body
    assert {"expired", "completed", "failed", "moderated", "cancelled"} <= set(statuses)
    assert statuses["completed"]["attachments"][0]["url"].startswith("https://")

    job_id = sim.start_job("pixverse", legacy=True, duration=100, outcome="moderated")
    assert re.fullmatch(r"j\d{19}-pixverse", job_id)
    seen = []
    for _ in range(4):
        body = (await sim_client.get("/v1/pixverse/jobs/", params={"jobid": job_id})).json()
        seen.append(body["status"])
        sim.advance(20)
    sim.advance(100)
    body = (await sim_client.get("/v1/pixverse/jobs/", params={"jobid": job_id})).json()
    assert seen == ["created", "started", "progress", "progress"]
    assert body["status"] == "moderated" and "error" in body
    items = (await sim_client.get("/v2/pixverse/scheduler/")).json()
    assert job_id not in {i["id"] for i in items}  # v1 jobs only live behind /v1/…/jobs
    v2 = await sim_client.get(f"/v2/pixverse/videos/{enc(job_id)}")
    assert v2.status_code == 404


async def test_pixverse_legacy_jobs_expire(make_sim_server: MakeSimServer) -> None:
    server = await make_sim_server(accounts=3, jobs=3, churn=False, legacy_jobs=0)
    sim = server.sim
    assert sim.legacy_jobs() == []
    job_id = sim.start_job("pixverse", legacy=True, duration=60)
    async with sim_http(server.url) as client:
        sim.advance(30 * 86_400)
        body = (await client.get("/v1/pixverse/jobs/", params={"jobid": job_id})).json()
        assert body["status"] == "completed"
        sim.advance(2 * 86_400)
        expired = await client.get("/v1/pixverse/jobs/", params={"jobid": job_id})
        assert expired.status_code == 410


# ------------------------------------------------------------------------------ churn, truth


async def test_churn_ground_truth_agrees_with_status_endpoints(
    make_sim_server: MakeSimServer,
) -> None:
    n = len(SPECS)  # ten jobs and five accounts a provider, whatever their number
    server = await make_sim_server(seed=7, accounts=5 * n, jobs=10 * n, legacy_jobs=0)
    sim = server.sim
    async with sim_http(server.url) as client:
        sizes = []
        for _ in range(20):
            sim.advance(60)
            sizes.append(sum([await running_count(client, p) for p in sim.providers]))
        finished = sim.events("job_finished")
        started = sim.events("job_started")
        assert len(finished) > 50 and len(started) > 50
        outcomes = {e.outcome for e in finished}
        assert {"completed", "failed", "moderated"} <= outcomes
        assert [e.t for e in sim.history] == sorted(e.t for e in sim.history)
        # population stays near the target (ten a provider)
        assert all(5 * n <= size <= 13 * n for size in sizes), sizes

        answers = await asyncio.gather(
            *[client.get(status_path(sim, str(e.job_id))) for e in finished]
        )
        for event, response in zip(finished, answers, strict=True):
            assert outcome_of(event.provider, response) == event.outcome, event
        running = sim.running()
        answers = await asyncio.gather(*[client.get(status_path(sim, j.id)) for j in running])
        for job, response in zip(running, answers, strict=True):
            assert outcome_of(job.provider, response) == "running", job
    running_ids = {j.id for j in sim.running()}
    truth = {e.job_id for e in started} - {e.job_id for e in finished}
    assert truth <= running_ids


def test_same_seed_same_population_and_sampling_independent() -> None:
    def build(seed: int) -> Simulator:
        return Simulator(seed=seed, accounts=12, jobs=30, clock=ManualClock())

    a, b, c = build(3), build(3), build(4)
    assert [(x.account, x.max_jobs) for x in a.accounts("dreamina")] == [
        (x.account, x.max_jobs) for x in b.accounts("dreamina")
    ]
    assert [(j.id, j.started_iso, j.outcome) for j in a.running()] == [
        (j.id, j.started_iso, j.outcome) for j in b.running()
    ]
    assert [j.id for j in a.running()] != [j.id for j in c.running()]
    a.advance(1_800)
    for _ in range(30):
        b.advance(60)
    assert a.history == b.history and len(a.history) > 50
    assert [j.id for j in a.running()] == [j.id for j in b.running()]


def test_capacity_max_jobs_ranges_and_raise() -> None:
    small = Simulator(seed=2, accounts=30, jobs=3, clock=ManualClock(), churn=False)
    for provider in small.providers:
        low, high = SPECS[provider].max_jobs_range
        assert all(low <= a.max_jobs <= high for a in small.accounts(provider))
    n = len(SPECS)  # one account and 100 jobs for each provider
    crowded = Simulator(seed=2, accounts=n, jobs=100 * n, clock=ManualClock(), churn=False)
    per = 100
    for provider in crowded.providers:
        (acct,) = crowded.accounts(provider)
        assert acct.max_jobs >= per and acct.executing == per == len(crowded.running(provider))


async def test_fill_and_free_account(sim: Simulator, sim_client: httpx.AsyncClient) -> None:
    acct = sim.accounts("pixverse")[0]
    sim.free_account("pixverse", acct.account)
    before = len(sim.history)
    ids = sim.fill_account("pixverse", acct.account, duration=1_000)
    assert len(ids) == acct.max_jobs and acct.available == 0
    kinds = [e.kind for e in sim.history[before:]]
    assert kinds.count("job_started") == acct.max_jobs and kinds[-1] == "account_exhausted"
    with pytest.raises(CapacityError):
        sim.start_job("pixverse", acct.account)
    body = (await sim_client.get("/v2/pixverse/scheduler/available")).json()
    row = next(r for r in body["available"] if r["email"] == acct.account)
    assert row["available"] == 0 and row["executing"] == acct.max_jobs
    freed = sim.free_account("pixverse", acct.account, outcome="failed")
    assert sorted(freed) == sorted(ids)
    assert last_kind(sim) == "job_finished"
    restored = sim.events("account_restored", "pixverse")
    assert restored and restored[-1].account == acct.account
    assert all(sim.job(i).outcome == "failed" for i in ids)  # type: ignore[union-attr]
    sim.set_max_jobs("pixverse", acct.account, 0)
    assert last_kind(sim) == "account_exhausted" and acct.available == 0
    sim.set_max_jobs("pixverse", acct.account, 2)
    assert last_kind(sim) == "account_restored" and acct.available == 2


def test_direct_control_validation(sim: Simulator) -> None:
    with pytest.raises(ValueError):
        sim.start_job("nosuch")
    with pytest.raises(ValueError):
        sim.start_job("dreamina", kind="music")
    with pytest.raises(ValueError):
        sim.start_job("pixverse", outcome="exploded")
    with pytest.raises(ValueError):
        sim.start_job("minimax", legacy=True)
    with pytest.raises(KeyError):
        sim.start_job("pixverse", "nobody@nowhere.example")
    with pytest.raises(KeyError):
        sim.finish_job("nope")
    job_id = sim.start_job("pixverse", duration=5)
    sim.finish_job(job_id, "moderated")
    with pytest.raises(ValueError):
        sim.finish_job(job_id)
    with pytest.raises(ValueError):
        Simulator(providers=("pixverse", "pixverse"))
    sim.advance(10)  # its planned end passes: nothing happens twice
    assert len([e for e in sim.events("job_finished") if e.job_id == job_id]) == 1


# ------------------------------------------------------------------------------ faults


async def test_fault_status_with_count_and_provider_bodies(
    sim: Simulator, sim_client: httpx.AsyncClient
) -> None:
    sim.faults.set("scheduler", "status", status=429, count=2)
    sim.faults.set("dreamina", "status", status=596, count=1)
    first = await sim_client.get("/v2/pixverse/scheduler/")
    assert first.status_code == 429
    assert first.json() == {"error": "Too many requests / all accounts busy", "code": 429}
    second = await sim_client.get("/v1/dreamina/scheduler")  # both match: first set wins
    assert second.status_code == 429 and second.json() == {
        "error": "Too many requests / all accounts busy"
    }
    assert [f.kind for f in sim.faults.active()] == ["status"]
    third = await sim_client.get("/v1/dreamina/accounts")
    assert third.status_code == 596 and "code" not in third.json()
    assert (await sim_client.get("/v2/pixverse/scheduler/")).status_code == 200
    assert sim.faults.active() == []
    assert [r.fault for r in list(sim.requests)[-4:]] == ["status", "status", "status", None]


async def test_fault_provider_pattern_and_clear(
    sim: Simulator, sim_client: httpx.AsyncClient
) -> None:
    sim.faults.set("minimax", "status", status=503)
    sim.faults.set(r"/videos/", "status", status=500)
    assert (await sim_client.get("/v1/minimax/accounts")).status_code == 503
    assert (await sim_client.get("/v2/pixverse/accounts")).status_code == 200
    assert (await sim_client.get("/v2/pixverse/videos/x")).status_code == 500
    assert sim.faults.clear("minimax") == 1
    assert (await sim_client.get("/v1/minimax/accounts")).status_code == 200
    assert sim.faults.clear() == 1 and sim.faults.active() == []
    with pytest.raises(ValueError):
        sim.faults.set("x", "explode")
    with pytest.raises(ValueError):
        sim.faults.set("(", "status")


async def test_fault_latency(sim: Simulator, sim_client: httpx.AsyncClient) -> None:
    sim.faults.set("available", "latency", seconds=0.25, count=1)
    started = time.perf_counter()
    response = await sim_client.get("/v2/pixverse/scheduler/available")
    slow = time.perf_counter() - started
    assert response.status_code == 200 and slow >= 0.25
    started = time.perf_counter()
    await sim_client.get("/v2/pixverse/scheduler/available")
    assert time.perf_counter() - started < 0.25


async def test_fault_garbage_and_html(sim: Simulator, sim_client: httpx.AsyncClient) -> None:
    sim.faults.set("pixverse", "garbage", count=1)
    sim.faults.set("minimax", "html", count=1)
    garbage = await sim_client.get("/v2/pixverse/scheduler/available")
    assert garbage.status_code == 200 and garbage.text == '{"executing": [tru'
    with pytest.raises(json.JSONDecodeError):
        garbage.json()
    page = await sim_client.get("/v1/minimax/scheduler/")
    assert page.status_code == 502 and page.headers["content-type"].startswith("text/html")
    assert "<html>" in page.text and "502 Bad Gateway" in page.text


async def test_fault_timeout_hangs_and_is_cancellable(
    sim: Simulator, sim_server: SimServer
) -> None:
    sim.faults.set("scheduler", "timeout")  # 30 s by default
    async with sim_http(sim_server.url) as client:
        started = time.perf_counter()
        with pytest.raises(httpx.ReadTimeout):
            await client.get("/v2/pixverse/scheduler/", timeout=0.3)
        assert time.perf_counter() - started < 2
        for _ in range(50):  # the server notices the disconnect and drops the handler
            if sim.requests[-1].seconds is not None:
                break
            await asyncio.sleep(0.01)
        assert sim.requests[-1].status is None and sim.requests[-1].fault == "timeout"
        assert (await client.get("/v2/pixverse/accounts")).status_code == 200
        sim.faults.clear()
        sim.faults.set("scheduler", "timeout", seconds=0.1, count=1)
        late = await client.get("/v1/dreamina/scheduler", timeout=5)
        assert late.status_code == 504 and late.json() == {"error": "Gateway timeout"}


async def test_server_stop_releases_hung_requests(make_sim_server: MakeSimServer) -> None:
    server = await make_sim_server(accounts=3, jobs=3)
    server.sim.faults.set(".", "timeout", seconds=60)
    async with sim_http(server.url, timeout=30) as client:
        pending = asyncio.create_task(client.get("/v1/minimax/scheduler/"))
        for _ in range(500):
            if server.sim.requests:
                break
            await asyncio.sleep(0.01)
        started = time.perf_counter()
        await server.stop()
        assert time.perf_counter() - started < 2
        with pytest.raises(httpx.TransportError):
            await asyncio.wait_for(pending, 5)


async def test_fault_probability_is_seeded(make_sim_server: MakeSimServer) -> None:
    results = []
    for _ in range(2):
        server = await make_sim_server(seed=11, accounts=3, jobs=3)
        server.sim.faults.set("accounts", "status", status=502, probability=0.5)
        async with sim_http(server.url) as client:
            results.append(
                [(await client.get("/v2/pixverse/accounts")).status_code for _ in range(30)]
            )
    assert results[0] == results[1]
    assert set(results[0]) == {200, 502}


# ------------------------------------------------------------------------------ hostile bodies

#: Where each provider's scheduler items stand, and their id and elapsed keys.
CAPACITY_PATHS = {
    "pixverse": "/v2/pixverse/scheduler/available",
    "minimax": "/v1/minimax/scheduler/available",
    "dreamina": "/v1/dreamina/accounts",
    "kling": "/v1/kling/scheduler/available",
}
ID_KEY = {"pixverse": "id", "minimax": "videoId", "dreamina": "jobid", "kling": "id"}
ELAPSED_KEY = {
    "pixverse": "elapsed",
    "minimax": "elapsed",
    "dreamina": "elapsedSeconds",
    "kling": "elapsed",
}


def first_list(provider: str, body: Any) -> list[Any]:
    """The (first) list of scheduler items in a scheduler body."""
    if provider == "dreamina":
        return next(iter(body["executing"].values()))
    return body  # type: ignore[no-any-return]


async def test_fault_dribble_sends_the_usual_answer_a_byte_at_a_time(
    sim: Simulator, sim_client: httpx.AsyncClient
) -> None:
    sim.pin("/v1/dreamina/scheduler", {"executing": {}, "total": 0})
    fault = sim.faults.set("dreamina", "dribble", seconds=0.02)
    assert fault.to_dict()["seconds"] == 0.02 and "size" not in fault.to_dict()
    started = time.perf_counter()
    async with sim_client.stream("GET", "/v1/dreamina/scheduler") as response:
        assert response.status_code == 200
        assert response.headers["content-length"] == "26"
        chunks = [chunk async for chunk in response.aiter_raw()]
    # 26 pauses of 0.02 s stood before the bytes (a lower bound: sleeps never end early)
    assert time.perf_counter() - started >= 26 * 0.02
    assert json.loads(b"".join(chunks)) == {"executing": {}, "total": 0}
    assert sim.requests[-1].fault == "dribble" and sim.requests[-1].status == 200
    # other providers are not slowed, and switching it off ends it
    assert (await sim_client.get("/v2/pixverse/scheduler/")).status_code == 200
    assert sim.requests[-1].fault is None
    assert sim.faults.clear("dreamina") == 1
    assert (await sim_client.get("/v1/dreamina/scheduler")).json() == {"executing": {}, "total": 0}
    assert sim.requests[-1].fault is None
    assert DEFAULT_SECONDS["dribble"] == 2.0


async def test_fault_dribble_is_cut_off_when_the_client_goes(
    sim: Simulator, sim_server: SimServer
) -> None:
    sim.faults.set("minimax", "dribble", seconds=30)
    async with sim_http(sim_server.url) as client:
        with pytest.raises(httpx.ReadTimeout):
            await client.get("/v1/minimax/scheduler/", timeout=0.3)
        for _ in range(100):  # the server notices the disconnect and drops the handler
            if sim.requests[-1].seconds is not None:
                break
            await asyncio.sleep(0.01)
        assert sim.requests[-1].seconds is not None and sim.requests[-1].fault == "dribble"


async def test_fault_oversized_streams_exactly_its_size(
    sim: Simulator, sim_server: SimServer
) -> None:
    size = 3 * 1024 * 1024 + 1
    async with sim_http(sim_server.url, token=None) as ctl, sim_http(sim_server.url) as api:
        made = await ctl.post(
            "/_sim/faults", json={"pattern": "scheduler/$", "kind": "oversized", "size": size}
        )
        assert made.status_code == 201 and made.json()["size"] == size
        response = await api.get("/v2/pixverse/scheduler/")
        assert response.status_code == 200
        assert "content-length" not in response.headers  # streamed: only counting tells
        assert response.headers["transfer-encoding"] == "chunked"
        assert len(response.content) == size and response.json() == []
        assert (await api.get("/v2/pixverse/scheduler/available")).json()["executing"]
        assert (await ctl.delete("/_sim/faults")).json() == {"cleared": 1}
    default = sim.faults.set("minimax", "oversized")
    assert default.size == 50 * 1024 * 1024 and default.status == 200
    assert hostile.CHUNK * 2 < size  # the body really went out in several writes
    with pytest.raises(ValueError, match="at least 2"):
        sim.faults.set("x", "oversized", size=1)
    with pytest.raises(ValueError, match="only for oversized and deep"):
        sim.faults.set("x", "status", size=10)


async def test_fault_oversized_survives_a_client_that_stops_reading(
    sim: Simulator, sim_client: httpx.AsyncClient
) -> None:
    sim.faults.set("pixverse", "oversized", count=1)  # 50 MiB
    async with sim_client.stream("GET", "/v2/pixverse/scheduler/") as response:
        first = await response.aiter_raw().__anext__()
        assert first.startswith(b"[")
    # the server dropped the rest and answers the next request as usual
    assert isinstance((await sim_client.get("/v2/pixverse/scheduler/")).json(), list)


async def test_fault_deep_nests_arrays(sim: Simulator, sim_client: httpx.AsyncClient) -> None:
    sim.faults.set("dreamina", "deep")
    response = await sim_client.get("/v1/dreamina/scheduler")
    assert response.status_code == 200
    assert response.content == b"[" * 1500 + b"]" * 1500
    with pytest.raises(RecursionError):
        json.loads(response.content)
    sim.faults.clear()
    sim.faults.set("dreamina", "deep", size=3, count=1)
    assert (await sim_client.get("/v1/dreamina/accounts")).json() == [[[]]]
    assert isinstance((await sim_client.get("/v1/dreamina/accounts")).json(), dict)


@pytest.mark.parametrize("provider", ["pixverse", "minimax", "dreamina", "kling"])
async def test_fault_surrogate_adds_an_item_with_a_lone_surrogate_id(
    sim: Simulator, sim_client: httpx.AsyncClient, provider: str
) -> None:
    path = SCHEDULER_PATHS[provider]
    clean = (await sim_client.get(path)).json()
    sim.faults.set(provider, "surrogate")
    response = await sim_client.get(path)
    assert f'"{ID_KEY[provider]}":"\\ud800"'.encode() in response.content  # the JSON escape
    body = response.json()
    items = first_list(provider, body)
    added = items.pop()
    assert added[ID_KEY[provider]] == "\ud800"
    if provider == "dreamina":  # the total counts it
        assert body["total"] == clean["total"] + 1
        body["total"] -= 1
    assert body == clean  # nothing else changed
    if provider != "dreamina":
        assert added["elapsed"] == "00:05" and ISO_MS.match(added["started"])
        available = (await sim_client.get(CAPACITY_PATHS[provider])).json()
        assert available["executing"][-1][ID_KEY[provider]] == "\ud800"
    sim.faults.clear(provider)
    assert (await sim_client.get(path)).json() == clean


@pytest.mark.parametrize("provider", ["pixverse", "minimax", "dreamina", "kling"])
async def test_fault_huge_numbers(
    sim: Simulator, sim_client: httpx.AsyncClient, provider: str
) -> None:
    path = SCHEDULER_PATHS[provider]
    clean = (await sim_client.get(path)).json()
    clean_capacity = (await sim_client.get(CAPACITY_PATHS[provider])).json()
    sim.faults.set(provider, "huge_numbers")
    response = await sim_client.get(path)
    assert b":1" + b"0" * 400 in response.content
    assert b":1e+308" in response.content
    body = response.json()
    second, first = first_list(provider, body).pop(), first_list(provider, body).pop()
    key = ELAPSED_KEY[provider]
    assert (first[key], second[key]) == (10**400, 1e308)
    # (Kling's ids are JSON numbers, past 2^64 here)
    assert str(first[ID_KEY[provider]]) == hostile.fault_job_id(provider, "9000000000001")
    assert str(second[ID_KEY[provider]]) == hostile.fault_job_id(provider, "9000000000002")
    if provider == "dreamina":
        assert body["total"] == clean["total"] + 2
        body["total"] -= 2
    assert body == clean
    capacity = (await sim_client.get(CAPACITY_PATHS[provider])).json()
    entries = capacity["available"] if provider != "dreamina" else list(capacity.values())
    clean_entries = (
        clean_capacity["available"] if provider != "dreamina" else list(clean_capacity.values())
    )
    assert entries[0]["maxJobs"] == 10**400
    assert entries[1:] == clean_entries[1:]
    sim.faults.clear()
    assert (await sim_client.get(path)).json() == clean


@pytest.mark.parametrize("provider", ["pixverse", "minimax", "dreamina", "kling"])
async def test_fault_duplicates_lists_the_first_job_three_times(
    sim: Simulator, sim_client: httpx.AsyncClient, provider: str
) -> None:
    path = SCHEDULER_PATHS[provider]
    clean = (await sim_client.get(path)).json()
    sim.faults.set(provider, "duplicates")
    body = (await sim_client.get(path)).json()
    items, clean_items = first_list(provider, body), first_list(provider, clean)
    assert items[:3] == [clean_items[0]] * 3 and items[3:] == clean_items[1:]
    if provider == "dreamina":  # every account's list, and the total with them
        lists = list(body["executing"].values())
        assert all(lst[0] == lst[1] == lst[2] for lst in lists)
        assert body["total"] == clean["total"] + 2 * len(lists)
    sim.faults.clear()
    assert (await sim_client.get(path)).json() == clean


async def test_shaping_faults_leave_other_bodies_alone(
    sim: Simulator, sim_client: httpx.AsyncClient
) -> None:
    job = sim.running("minimax")[0]
    clean = (await sim_client.get(f"/v1/minimax/videos/{enc(job.id)}")).json()
    for kind in ("surrogate", "huge_numbers", "duplicates"):
        sim.faults.set("minimax", kind, count=1)
        assert (await sim_client.get(f"/v1/minimax/videos/{enc(job.id)}")).json() == clean
    sim.faults.set("minimax", "surrogate", count=1)
    error_reply = await sim_client.get("/v1/minimax/nothing/here")
    assert error_reply.status_code == 404 and error_reply.json() == {
        "error": "Not found",
        "code": 404,
    }


# ------------------------------------------------------------------------------ pins, log


async def test_pin_documented_example(sim: Simulator, sim_client: httpx.AsyncClient) -> None:
    example = {
        "executing": [
            {
                "id": "user:user_id-pixverse:email-video:id1",
                "type": "video",
                "started": "2024-09-25T01:55:16.128Z",
                "elapsed": "03:57",
                "replyUrl": "<optional callback URL>",
                "replyRef": "<optional reference>",
            }
        ],
        "available": [{"email": "<email_1>", "maxJobs": 5, "executing": 0, "available": 5}],
    }
    sim.pin("/v2/pixverse/scheduler/available", example)
    sim.pin("/v1/minimax/scheduler/", "not json at all", status=200, content_type="text/plain")
    assert (await sim_client.get("/v2/pixverse/scheduler/available")).json() == example
    assert (await sim_client.get("/v1/minimax/scheduler/")).text == "not json at all"
    assert isinstance((await sim_client.get("/v2/pixverse/scheduler/")).json(), list)
    sim.faults.set("available", "status", status=500, count=1)  # faults beat pins
    assert (await sim_client.get("/v2/pixverse/scheduler/available")).status_code == 500
    assert sim.unpin("/v2/pixverse/scheduler/available") == 1
    assert (await sim_client.get("/v2/pixverse/scheduler/available")).json() != example
    assert sim.unpin() == 1 and sim.pins == {}


async def test_request_log_keeps_raw_paths(sim: Simulator, sim_client: httpx.AsyncClient) -> None:
    job_id = sim.running("pixverse")[0].id
    await sim_client.get(f"/v2/pixverse/videos/{enc(job_id)}")
    await sim_client.get("/v1/pixverse/jobs/", params={"jobid": "j1-pixverse"})
    await sim_client.get("/_sim/state")
    entry, legacy = list(sim.requests)[-2:]
    assert entry.path == f"/v2/pixverse/videos/{enc(job_id)}" and "%40" in entry.path
    assert entry.status == 404 and entry.method == "GET" and entry.seconds is not None
    assert (legacy.path, legacy.query) == ("/v1/pixverse/jobs/", "jobid=j1-pixverse")
    assert sim.request_count() == 2  # /_sim/ calls are not logged
    assert sim.request_count(r"/videos/") == 1 and sim.request_count("minimax") == 0


# ------------------------------------------------------------------------------ control API


async def test_http_control_api(sim: Simulator, sim_server: SimServer) -> None:
    async with sim_http(sim_server.url, token=None) as ctl, sim_http(sim_server.url) as api:
        state = (await ctl.get("/_sim/state")).json()
        assert state["providers"]["pixverse"]["running"][0]["id"] == sim.running("pixverse")[0].id
        assert {"accounts", "running", "target"} <= set(state["providers"]["minimax"])

        fault = await ctl.post(
            "/_sim/faults",
            json={"pattern": "pixverse", "kind": "status", "status": 402, "count": 1},
        )
        assert fault.status_code == 201 and fault.json()["kind"] == "status"
        assert (await api.get("/v2/pixverse/accounts")).json() == {
            "error": "Account has no subscription or subscription expired",
            "code": 402,
        }
        await ctl.post("/_sim/faults", json={"pattern": "x", "kind": "latency", "seconds": 0.01})
        assert len((await ctl.get("/_sim/faults")).json()) == 1
        assert (await ctl.delete("/_sim/faults")).json() == {"cleared": 1}
        bad = await ctl.post("/_sim/faults", json={"pattern": "x", "kind": "nope"})
        assert bad.status_code == 400 and "unknown fault kind" in bad.json()["error"]

        await ctl.post(
            "/_sim/pin",
            json={"path": "/v1/dreamina/scheduler", "body": {"executing": {}, "total": 0}},
        )
        assert (await api.get("/v1/dreamina/scheduler")).json() == {"executing": {}, "total": 0}
        assert (
            await ctl.delete("/_sim/pin", params={"path": "/v1/dreamina/scheduler"})
        ).json() == {"removed": 1}

        job = (
            await ctl.post(
                "/_sim/jobs", json={"provider": "minimax", "duration": 30, "outcome": "failed"}
            )
        ).json()
        assert job["running"] and job["outcome"] == "failed"
        advanced = (await ctl.post("/_sim/advance", json={"seconds": 31})).json()
        assert advanced["events"] >= 1 and advanced["now"].startswith("2026-03-09T12:00:31")
        truth = (await ctl.get(f"/_sim/jobs/{enc(job['id'])}")).json()
        assert truth["running"] is False and truth["outcome"] == "failed"
        history = (await ctl.get("/_sim/history")).json()
        assert history["total"] == len(sim.history)
        assert any(
            e["job_id"] == job["id"] and e["kind"] == "job_finished" for e in history["events"]
        )
        tail = (await ctl.get("/_sim/history", params={"since": history["total"] - 1})).json()
        assert len(tail["events"]) == 1

        other = sim.start_job("dreamina", duration=1_000)
        finished = (
            await ctl.post("/_sim/finish", json={"job_id": other, "outcome": "cancelled"})
        ).json()
        assert finished["outcome"] == "cancelled"
        requests = (await ctl.get("/_sim/requests")).json()
        assert requests["total"] == 2 and requests["requests"][0]["status"] == 402
        assert (await ctl.get("/_sim/jobs/nope")).status_code == 404
        assert (await ctl.post("/_sim/advance", content=b"{")).status_code == 400
        acct = sim.accounts("pixverse")[0].account
        filled = (
            await ctl.post("/_sim/fill", json={"provider": "pixverse", "account": acct})
        ).json()
        assert sim.account("pixverse", acct).available == 0 and len(filled["ids"]) >= 0
        full = await ctl.post("/_sim/jobs", json={"provider": "pixverse", "account": acct})
        assert full.status_code == 409
        assert (await ctl.get("/_sim/nothing")).status_code == 404


async def test_serve_runs_until_cancelled() -> None:
    lines: list[str] = []
    task = asyncio.create_task(
        serve("127.0.0.1", 0, seed=5, accounts=3, jobs=6, token="t0k", announce=lines.append)
    )
    try:
        for _ in range(200):
            if lines:
                break
            await asyncio.sleep(0.01)
        url = re.search(r"http://\S+", lines[0])
        assert url is not None
        async with sim_http(url.group(0), token="t0k") as client:
            assert (await client.get("/v1/dreamina/scheduler")).status_code == 200
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


# ------------------------------------------------------------------------------ big payloads


async def test_ten_thousand_jobs_payloads(make_sim_server: MakeSimServer) -> None:
    server = await make_sim_server(accounts=500, jobs=10_000, churn=False)
    sim = server.sim
    assert len(sim.running()) == 10_000
    timings = {}
    async with sim_http(server.url, timeout=30) as client:
        total = 0
        for provider, path in SCHEDULER_PATHS.items():
            started = time.perf_counter()
            response = await client.get(path)
            timings[path] = time.perf_counter() - started
            body = response.json()
            count = body["total"] if provider in ("dreamina", "mureka") else len(body)
            assert count == len(sim.running(provider))
            # (a Runway item is its `taskId` and no more)
            assert len(response.content) > count * (60 if provider == "runway" else 100)
            total += count
        assert total == 10_000
        n = len(sim.providers)  # 500 accounts split between them
        for path in (
            "/v2/pixverse/scheduler/available",
            "/v1/minimax/scheduler/available",
            "/v1/kling/scheduler/available",
        ):
            started = time.perf_counter()
            body = (await client.get(path)).json()
            timings[path] = time.perf_counter() - started
            assert len(body["available"]) in (500 // n, -(-500 // n))
            assert sum(r["executing"] for r in body["available"]) <= len(body["executing"])
        sim.advance(3_600)  # churn off: nothing moves
        assert len(sim.running()) == 10_000 and sim.history == []
    # "well under 200 ms" on a normal machine; loose here so a busy CI box does not flake
    assert max(timings.values()) < 1.0, timings
