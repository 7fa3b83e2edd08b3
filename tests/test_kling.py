"""The Kling adapter: the documented bodies (tests/data/seeds/kling-*) and mutations of them,
task ids kept exact past 2^53 and 2^64, the outcome rules, the accounts' expiry; then the
adapter over real HTTP against the simulator (queue and capacity from one call, the fallback,
one task with and without a known e-mail, accounts, untracking), and the ids through the
store, the `/job` path and the embeds unchanged."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from bot import errors, fastjson, validate
from bot.embeds import job_embed, queue_pages
from bot.errors import PayloadError
from bot.models import (
    MAX_COUNT,
    MAX_ELAPSED_SECONDS,
    Account,
    AccountHealth,
    Job,
    JobResult,
    Outcome,
    Snapshot,
)
from bot.providers import kling, load
from bot.sim import SimServer, Simulator
from bot.sim.providers import kling as sim_kling
from bot.store import Store
from bot.useapi import UseapiClient
from rig.simhttp import SIM_TOKEN, MakeSimServer
from rig.store import by_id

SEEDS = Path(__file__).parent / "data" / "seeds"
NOW = datetime(2025, 4, 18, 13, 0, tzinfo=UTC)
TITLES = {"kling": "Kling"}
BEYOND_53 = 2**53 + 1  # a float would read 2^53
BEYOND_64 = 2**64 + 1  # orjson would read a float


def seed(name: str) -> Any:
    return json.loads((SEEDS / f"{name}.json").read_text(encoding="utf-8"))


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, micro: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, micro, tzinfo=UTC)


# =========================================================================== documented bodies


def test_seed_scheduler_with_its_impossible_timestamp() -> None:
    assert kling.parse_queue(seed("kling-v1-scheduler"), NOW) == (
        Job(
            "kling",
            "123456789",
            None,
            "user@example.com",
            utc(2025, 4, 18, 12, 34, 56, 789000),
            225,
            reply_ref="reference-id",
        ),
        # "12:45:67.890Z" rolls over to 12:46:07.890, as a JS Date reads it
        Job(
            "kling",
            "987654321",
            None,
            "user@example.com",
            utc(2025, 4, 18, 12, 46, 7, 890000),
            154,
            reply_ref="reference-id-2",
        ),
    )


def test_seed_available_gives_queue_and_capacity() -> None:
    body = seed("kling-v1-scheduler-available")
    jobs = kling.parse_queue(body, NOW)
    assert jobs == (
        Job(
            "kling",
            "123456789",
            None,
            "user@example.com",
            utc(2025, 4, 18, 12, 34, 56, 789000),
            225,
            reply_ref="reference-id",
        ),
    )
    assert kling.has_available(body)
    assert kling.parse_capacity(body, jobs) == (
        Account("user@example.com", 5, 1, 4),
        Account("user2@example.com", 3, 0, 3),
    )


def test_seed_task() -> None:
    result = kling.parse_task(seed("kling-v1-tasks-task_id"), "123456789", "user@example.com")
    assert result == JobResult(
        provider="kling",
        id="123456789",
        outcome=Outcome.COMPLETED,
        account="user@example.com",
        kind="video",
        created=utc(2025, 4, 17, 2, 55, 14, 499000),  # createTime is in ms
        updated=utc(2025, 4, 17, 3, 0, 23, 172000),
        prompt="A person dancing",
        model="kling 2.0",
        urls=("https://s21-kling.klingai.com/....mp4",),
        error=None,
        raw_status="99 succeed",
        cover="https://s21-kling.klingai.com/....jpg",  # works[0].cover.resource
    )


def test_seed_accounts_expiry_falls_back_to_the_utc_text() -> None:
    # ExpireTime 123456789 is 1973 read as seconds (a placeholder): ExpireTimeUTC stands
    assert kling.parse_accounts(seed("kling-v1-accounts")) == (
        AccountHealth("kling", "<email #1>", None, utc(2025, 1, 1, 12, 13, 14)),
        AccountHealth("kling", "<email #2>", None, utc(2025, 1, 1, 12, 13, 14)),
    )


async def test_seed_delete_404_is_the_clients_not_found() -> None:
    body = json.dumps(seed("kling-v1-scheduler-delete-404")).encode()
    async with _mock(lambda r: httpx.Response(404, content=body)) as client:
        with pytest.raises(errors.NotFound) as caught:
            await kling.Kling(client).fetch_untrack("123456789")
    assert caught.value.message == "Unable to locate running task_id 123456789"
    assert caught.value.path == "/v1/kling/scheduler/123456789"


# ======================================================================================= ids


@pytest.mark.parametrize("n", [BEYOND_53, BEYOND_64, 10**30, 2**63, 2**63 - 1, 0])
def test_numeric_ids_stay_exact_through_the_json_decoder(n: int) -> None:
    items = f'{{"id":{n},"email":"a@x.io","elapsed":"00:01"}},{{"id":1,"email":"a@x.io"}}'
    text = f'{{"executing":[{items}],"available":[]}}'
    jobs = kling.parse_queue(fastjson.loads(text.encode()), NOW)
    assert [j.id for j in jobs] == [str(n), "1"]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("1.5e20", "task id 1.5e+20 is not a whole number"),
        ("12.0", "task id 12.0 is not a whole number"),
        ("9007199254740993.0", "task id 9007199254740992.0 is not a whole number"),
    ],
)
@pytest.mark.parametrize("where", [0, 1])  # the odd item first and last
def test_a_float_id_is_a_payload_error_never_rounded(raw: str, message: str, where: int) -> None:
    items = ['{"id":7,"email":"a@x.io"}']
    items.insert(where, f'{{"id":{raw},"email":"a@x.io"}}')
    with pytest.raises(PayloadError) as caught:
        kling.parse_queue(fastjson.loads(f"[{','.join(items)}]"), NOW)
    assert (caught.value.provider, caught.value.field) == ("kling", f"scheduler[{where}].id")
    assert caught.value.message.startswith(message)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("123", "123"), (" 42 ", " 42 "), ("18446744073709551617", "18446744073709551617")],
)
def test_an_id_as_text_is_taken_as_it_is(value: str, expected: str) -> None:
    (job,) = kling.parse_queue([{"id": value, "email": "a@x.io"}], NOW)
    assert job.id == expected


@pytest.mark.parametrize(
    ("item", "field"),
    [
        ({"id": True}, "scheduler[0].id"),
        ({"id": ""}, "scheduler[0].id"),
        ({"id": [1]}, "scheduler[0].id"),
        ({"email": "a@x.io"}, "scheduler[0]"),
        ({"id": None}, "scheduler[0]"),
        ({"id": 1, "email": 5.5}, None),  # a number as an e-mail is its text
        ({"id": 1, "email": ["a"]}, "scheduler[0].email"),
        ("1", "scheduler[0]"),
    ],
)
def test_bad_items_name_the_field(item: Any, field: str | None) -> None:
    if field is None:
        (job,) = kling.parse_queue([item], NOW)
        assert job.account == "5.5"
        return
    with pytest.raises(PayloadError) as caught:
        kling.parse_queue([item], NOW)
    assert (caught.value.provider, caught.value.field) == ("kling", field)


# ===================================================================== mutated documented bodies


def _available(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = seed("kling-v1-scheduler-available")
    body.update(changes)
    return body


def test_available_missing_or_null_means_the_fallback() -> None:
    assert not kling.has_available(_available(available=None))
    body = _available()
    del body["available"]
    assert not kling.has_available(body)
    assert kling.has_available(_available(available=[]))


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ([], "(body)"),
        ("x", "(body)"),
        (None, "(body)"),
    ],
)
def test_an_available_body_that_is_no_object_is_an_error_not_a_fallback(
    body: Any, field: str
) -> None:
    with pytest.raises(PayloadError) as caught:
        kling.has_available(body)
    assert caught.value.field == field


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ({"maxJobs": "5", "executing": "1", "available": "4"}, (5, 1, 4)),  # numbers as text
        ({"maxJobs": 10**400, "executing": 1}, (MAX_COUNT, 1, MAX_COUNT - 1)),  # huge
        ({"maxJobs": 5, "executing": -3, "available": None}, (5, 0, 5)),
        ({"maxJobs": None, "executing": None, "available": None}, (None, 1, None)),
        ({}, (None, 1, None)),  # missing keys: executing counted from the queue
        ({"maxJobs": 5.9, "executing": 1.2, "available": 3.99}, (5, 1, 3)),  # floored
    ],
)
def test_mutated_capacity_rows(row: dict[str, Any], expected: tuple[Any, ...]) -> None:
    body = _available(available=[{"email": "user@example.com", **row}])
    jobs = kling.parse_queue(body, NOW)
    (acct,) = kling.parse_capacity(body, jobs)
    assert (acct.max_jobs, acct.executing, acct.available) == expected


@pytest.mark.parametrize(
    ("available", "field"),
    [
        ("x", "available"),
        ([None], "available[0]"),
        ([{"maxJobs": 5}], "available[0].account"),
        ([{"email": "a", "maxJobs": "five"}], "available[0].maxJobs"),
        ([{"email": "a", "maxJobs": [5]}], "available[0].maxJobs"),
        ([{"email": "a", "available": float("nan")}], "available[0].available"),
    ],
)
def test_mutated_capacity_errors_name_the_field(available: Any, field: str) -> None:
    with pytest.raises(PayloadError) as caught:
        kling.parse_capacity(_available(available=available))
    assert (caught.value.provider, caught.value.field) == ("kling", field)


@pytest.mark.parametrize(
    ("started", "elapsed", "expected_started", "expected_elapsed"),
    [
        ("2025-04-18T12:45:67.890Z", None, utc(2025, 4, 18, 12, 46, 7, 890000), 832),
        ("2025-04-18T25:61:99Z", "01:00", utc(2025, 4, 19, 2, 2, 39), 60),  # rolls over
        ("2025-13-01T00:00:00Z", "01:00", None, 60),  # no month 13: unknown
        (1744979696789, None, utc(2025, 4, 18, 12, 34, 56, 789000), 1503),  # ms epoch
        ("1744979696", None, utc(2025, 4, 18, 12, 34, 56), 1504),  # seconds as text
        (None, "1:02:03", None, 3723),
        (
            "2025-04-18T12:34:56.789Z",
            10**400,
            utc(2025, 4, 18, 12, 34, 56, 789000),
            MAX_ELAPSED_SECONDS,
        ),
        ("2025-04-18T12:34:56.789Z", "nonsense", utc(2025, 4, 18, 12, 34, 56, 789000), 1503),
        (["x"], None, None, None),
    ],
)
def test_mutated_times(
    started: Any, elapsed: Any, expected_started: Any, expected_elapsed: int | None
) -> None:
    item = {"id": 1, "email": "a@x.io", "started": started, "elapsed": elapsed}
    (job,) = kling.parse_queue([item], NOW)
    assert (job.started, job.elapsed_seconds) == (expected_started, expected_elapsed)


# ================================================================================== outcomes


def _task(**top: Any) -> dict[str, Any]:
    body: dict[str, Any] = seed("kling-v1-tasks-task_id")
    for key in ("status", "status_name", "status_final"):
        body.pop(key)
        body["task"].pop(key)
    body.update(top)
    return body


@pytest.mark.parametrize(
    ("status", "name", "final", "outcome"),
    [
        (99, "succeed", True, Outcome.COMPLETED),
        (None, "Succeed", None, Outcome.COMPLETED),
        (50, "failed", True, Outcome.FAILED),
        (50, "fail", True, Outcome.FAILED),
        (54, "censor_failed", True, Outcome.MODERATED),  # moderation first
        (None, "moderation", True, Outcome.MODERATED),
        (None, "MODERATED", None, Outcome.MODERATED),
        (60, "cancelled", True, Outcome.CANCELLED),
        (None, "Canceled", True, Outcome.CANCELLED),
        (10, "processing", False, Outcome.RUNNING),
        (5, "submitted", False, Outcome.RUNNING),
        (5, None, False, Outcome.RUNNING),
        (None, "processing", None, Outcome.RUNNING),  # final absent: the word says running
        (None, "processing", True, Outcome.UNKNOWN),  # final but nothing final: unknown
        (99, None, True, Outcome.COMPLETED),  # the one documented code
        (99, None, None, Outcome.COMPLETED),
        (99, None, False, Outcome.RUNNING),  # not final wins over the code
        (7, "weird", True, Outcome.UNKNOWN),
        (None, None, None, Outcome.UNKNOWN),
    ],
)
def test_outcome_rules(status: Any, name: Any, final: Any, outcome: Outcome) -> None:
    fields = {"status": status, "status_name": name, "status_final": final}
    result = kling.parse_task(_task(**{k: v for k, v in fields.items() if v is not None}), "1")
    assert result.outcome is outcome


def test_status_read_from_the_task_when_the_top_has_none() -> None:
    body = _task()
    body["task"].update(status=50, status_name="failed", status_final=True)
    body["message"] = "Generation failed"
    result = kling.parse_task(body, "1", "a@x.io")
    assert (result.outcome, result.error, result.raw_status) == (
        Outcome.FAILED,
        "Generation failed",
        "50 failed",
    )


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("failed", "boom"),
        ("censor_failed", "boom"),
        ("succeed", None),
        ("cancelled", None),
        ("processing", None),
    ],
)
def test_message_is_the_error_only_when_failed_or_moderated(name: str, error: str | None) -> None:
    result = kling.parse_task(_task(status_name=name, message="boom"), "1")
    assert result.error == error


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"status_name": ["x"]}, "status_name"),
        ({"status": "ninety-nine"}, "status"),
        ({"message": {}}, "message"),
        ({"task": "x"}, "task"),
        ({"works": {}}, "works"),
        ({"works": [1]}, "works[0]"),
        ({"works": [{"resource": "x"}]}, "works[0].resource"),
        ({"works": [{"resource": {"resource": [1]}}]}, "works[0].resource.resource"),
        ({"works": [{"contentType": {}}]}, "works[0].contentType"),
    ],
)
def test_mutated_task_errors_name_the_field(change: dict[str, Any], field: str) -> None:
    body = seed("kling-v1-tasks-task_id")
    body.update(change)
    with pytest.raises(PayloadError) as caught:
        kling.parse_task(body, "1")
    assert (caught.value.provider, caught.value.field) == ("kling", field)


def test_mutated_task_readable_oddities() -> None:
    body = seed("kling-v1-tasks-task_id")
    work = copy.deepcopy(body["works"][0])
    body["works"] = [
        {"resource": None, "contentType": "audio"},
        work,
        work,  # the same url once
        {"resource": {"resource": ""}},
    ]
    body["task"]["createTime"] = "1744858514499"  # ms as text
    body["task"]["updateTime"] = 10**400  # unreadable: unknown
    body["task"]["taskInfo"]["arguments"] = [{"name": 5, "value": "x"}, {"name": "prompt"}]
    body["status"] = "99"
    result = kling.parse_task(body, "1")
    assert result.urls == ("https://s21-kling.klingai.com/....mp4",)
    assert result.kind == "music"  # audio
    assert result.created == utc(2025, 4, 17, 2, 55, 14, 499000)
    assert (result.updated, result.prompt, result.model) == (None, None, None)


@pytest.mark.parametrize("body", [None, [], "x", 5])
def test_a_task_body_that_is_no_object(body: Any) -> None:
    with pytest.raises(PayloadError) as caught:
        kling.parse_task(body, "1")
    assert caught.value.field == "(body)"


# ================================================================================== accounts


@pytest.mark.parametrize(
    ("session", "expires"),
    [
        ({"ExpireTime": 1_790_000_000_000}, datetime.fromtimestamp(1_790_000_000, UTC)),  # ms
        ({"ExpireTime": 1_790_000_000}, datetime.fromtimestamp(1_790_000_000, UTC)),  # seconds
        ({"ExpireTime": 1_790_000_000.5}, datetime.fromtimestamp(1_790_000_000.5, UTC)),
        ({"ExpireTime": "1790000000000"}, datetime.fromtimestamp(1_790_000_000, UTC)),
        # exactly 10^11 is read as ms (1973): outside 2000-2100, so the text stands
        ({"ExpireTime": 10**11, "ExpireTimeUTC": "2026-12-01T00:00:00.000Z"}, utc(2026, 12, 1)),
        ({"ExpireTime": 10**11 - 1}, None),  # seconds: year 5138, outside the window
        (
            {"ExpireTime": None, "ExpireTimeUTC": "2026-12-01T00:00:67.000Z"},
            utc(2026, 12, 1, 0, 1, 7),
        ),
        ({"ExpireTime": 10**400, "ExpireTimeUTC": None}, None),
        ({}, None),
    ],
)
def test_session_expiry_by_magnitude(session: dict[str, Any], expires: datetime | None) -> None:
    (health,) = kling.parse_accounts({"a@x.io": {"email": "a@x.io", "session": session}})
    assert health == AccountHealth("kling", "a@x.io", None, expires)


def test_account_errors_and_the_first_and_last_entries() -> None:
    body = {
        "bad@x.io": {"error": "Session expired, please re-add the account"},
        "ok@x.io": {"session": None},
        "num@x.io": {"error": 596},
    }
    assert kling.parse_accounts(body) == (
        AccountHealth("kling", "bad@x.io", "Session expired, please re-add the account"),
        AccountHealth("kling", "ok@x.io"),
        AccountHealth("kling", "num@x.io", "596"),
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ([], "(body)"),
        ({"a": "x"}, "a"),
        ({"a": {"session": 5}}, "a.session"),
        ({"a": {"error": ["x"]}}, "a.error"),
    ],
)
def test_account_body_errors_name_the_field(body: Any, field: str) -> None:
    with pytest.raises(PayloadError) as caught:
        kling.parse_accounts(body)
    assert (caught.value.provider, caught.value.field) == ("kling", field)


# ============================================================= the adapter against the simulator


def _mock(handler: Any) -> UseapiClient:
    return UseapiClient(
        "https://api.test",
        SecretStr("kling-test-token"),
        attempts=1,
        transport=httpx.MockTransport(handler),
    )


def _client(server: SimServer) -> UseapiClient:
    return UseapiClient(server.url, SecretStr(SIM_TOKEN), attempts=1)


def kling_sim(**kwargs: Any) -> Simulator:
    from bot.sim import ManualClock

    kwargs.setdefault("accounts", 3)
    kwargs.setdefault("jobs", 9)
    kwargs.setdefault("seed", 3)
    return Simulator(token=SIM_TOKEN, clock=ManualClock(), providers=["kling"], **kwargs)


def expected_jobs(sim: Simulator) -> list[tuple[str, str | None]]:
    return [(j.id, j.account) for j in sim.running("kling")]


async def test_snapshot_is_one_call_with_ids_past_2_53(make_sim_server: MakeSimServer) -> None:
    sim = kling_sim(jobs=40, accounts=4)
    server = await make_sim_server(sim=sim)
    async with _client(server) as client:
        adapter = load("kling")(client)
        before = sim.request_count()
        snap = await adapter.fetch()
    assert sim.request_count() - before == 1
    assert sim.request_count(r"^/v1/kling/scheduler/available$") == 1
    assert [(j.id, j.account) for j in snap.jobs] == expected_jobs(sim)
    wide = [j.id for j in snap.jobs if int(j.id) > 2**53]
    assert wide and all(len(i) == 18 for i in wide)  # ids a float would round
    assert {(a.account, a.max_jobs, a.executing, a.available) for a in snap.accounts} == {
        (a.account, a.max_jobs, a.executing, a.available) for a in sim.accounts("kling")
    }
    assert all(j.started is not None and j.elapsed_seconds is not None for j in snap.jobs)


async def test_impossible_started_times_read_as_the_same_instant(
    make_sim_server: MakeSimServer,
) -> None:
    sim = kling_sim(jobs=40, accounts=4)
    server = await make_sim_server(sim=sim)
    async with _client(server) as client, httpx.AsyncClient() as raw:
        body = (
            await raw.get(
                f"{server.url}/v1/kling/scheduler", headers={"Authorization": f"Bearer {SIM_TOKEN}"}
            )
        ).json()
        snap = await load("kling")(client).fetch()
    odd = [i for i in body if int(i["started"][17:19]) >= 60]
    assert odd  # the documented quirk shows up
    truth = {j.id: j.started for j in sim.running("kling")}
    assert {j.id: j.started for j in snap.jobs} == truth


async def test_huge_numbers_fault_ids_past_2_64(make_sim_server: MakeSimServer) -> None:
    sim = kling_sim()
    sim.faults.set("kling", "huge_numbers")
    server = await make_sim_server(sim=sim)
    async with _client(server) as client:
        snap = await load("kling")(client).fetch()
    added = [j for j in snap.jobs if j.account == "fault@sim.example"]
    assert [(j.id, j.elapsed_seconds) for j in added] == [
        (str(2**64 + 9_000_000_000_001), MAX_ELAPSED_SECONDS),
        (str(2**64 + 9_000_000_000_002), MAX_ELAPSED_SECONDS),
    ]
    assert snap.accounts[0].max_jobs == MAX_COUNT


@pytest.mark.parametrize("how", ["404", "no available", "available null"])
async def test_fallback_to_the_scheduler(make_sim_server: MakeSimServer, how: str) -> None:
    sim = kling_sim()
    if how == "404":
        sim.pin(kling.CAPACITY_PATH, {"error": "Not found"}, status=404)
    else:
        sim.pin(
            kling.CAPACITY_PATH, {"executing": []} | ({"available": None} if "null" in how else {})
        )
    server = await make_sim_server(sim=sim)
    async with _client(server) as client:
        snap = await load("kling")(client).fetch()
    assert sim.request_count(r"^/v1/kling/scheduler$") == 1
    assert [(j.id, j.account) for j in snap.jobs] == expected_jobs(sim)
    running: dict[str, int] = {}
    for job in sim.running("kling"):
        running[str(job.account)] = running.get(str(job.account), 0) + 1
    assert snap.accounts == tuple(
        Account(name, None, n, None) for name, n in sorted(running.items())
    )
    assert snap.full is None  # no limit known: never "exhausted"


async def test_one_task_asked_with_the_email_of_the_last_snapshot(
    make_sim_server: MakeSimServer,
) -> None:
    sim = kling_sim()
    server = await make_sim_server(sim=sim)
    job = sim.running("kling")[0]
    async with _client(server) as client:
        adapter = load("kling")(client)
        await adapter.fetch()
        running = await adapter.fetch_job(job.id)
        sim.finish_job(job.id, "failed")
        failed = await adapter.fetch_job(job.id)
    assert (running.outcome, running.account) == (Outcome.RUNNING, job.account)
    assert failed.outcome is Outcome.FAILED
    assert failed.error == "Generation failed, please try again later"
    assert failed.raw_status == "50 failed"
    asked = [r for r in sim.requests if r.path.startswith("/v1/kling/tasks/")]
    assert [(r.path, r.query) for r in asked] == [
        (f"/v1/kling/tasks/{job.id}", httpx.QueryParams({"email": job.account}).__str__())
    ] * 2


@pytest.mark.parametrize("outcome", ["completed", "moderated", "cancelled"])
async def test_final_outcomes_from_the_simulator(
    make_sim_server: MakeSimServer, outcome: str
) -> None:
    sim = kling_sim()
    server = await make_sim_server(sim=sim)
    job = sim.running("kling")[-1]
    sim.finish_job(job.id, outcome)
    async with _client(server) as client:
        result = await load("kling")(client).fetch_job(job.id)  # never saw a snapshot
    assert (result.outcome.value, result.account, result.id) == (outcome, job.account, job.id)
    if outcome == "completed":
        assert result.urls and result.urls[0].endswith(
            f"/{job.id}.mp4" if job.kind == "video" else f"/{job.id}.png"
        )
    if outcome == "moderated":
        assert result.error == "The content did not pass the platform's review"


async def test_a_task_of_unknown_account_is_searched_then_remembered(
    make_sim_server: MakeSimServer,
) -> None:
    sim = kling_sim(accounts=4, jobs=8)
    server = await make_sim_server(sim=sim)
    accounts = [a.account for a in sim.accounts("kling")]
    job = next(j for j in sim.running("kling") if j.account == accounts[-1])  # asked last
    async with _client(server) as client:
        adapter = load("kling")(client)
        result = await adapter.fetch_job(job.id)
        assert (result.outcome, result.account) == (Outcome.RUNNING, job.account)
        asked = [r.query for r in sim.requests if r.path.startswith("/v1/kling/")]
        assert asked[0] == ""  # GET /accounts: no snapshot yet
        assert len(asked) == 1 + len(accounts)
        before = len(sim.requests)
        await adapter.fetch_job(job.id)
        assert len(sim.requests) - before == 1  # remembered
        with pytest.raises(errors.NotFound) as caught:
            await adapter.fetch_job("424242")
    assert caught.value.message == f"none of {len(accounts)} Kling account(s) knows task 424242"


async def test_a_single_account_needs_no_email(make_sim_server: MakeSimServer) -> None:
    sim = kling_sim(accounts=1, jobs=2)
    sim.pin(kling.ACCOUNTS_PATH, {"error": "Configuration not found"}, status=404)
    server = await make_sim_server(sim=sim)
    job = sim.running("kling")[0]
    async with _client(server) as client:
        result = await load("kling")(client).fetch_job(job.id)
    assert (result.outcome, result.account) == (Outcome.RUNNING, None)
    [asked] = [r for r in sim.requests if r.path.startswith("/v1/kling/tasks/")]
    assert asked.query == ""


async def test_accounts_health(make_sim_server: MakeSimServer) -> None:
    sim = kling_sim(accounts=3)
    first, *_, last = sim.accounts("kling")
    sim_kling.set_account_error(
        sim, last.account, "Account does not exist or password is incorrect"
    )
    server = await make_sim_server(sim=sim)
    async with _client(server) as client:
        adapter = load("kling")(client)
        health = await adapter.fetch_accounts()
        sim_kling.set_account_error(sim, last.account, None)
        cleared = await adapter.fetch_accounts()
        sim.pin(kling.ACCOUNTS_PATH, {"error": "Configuration not found"}, status=404)
        none = await adapter.fetch_accounts()

    def ms(ts: float) -> datetime:
        return datetime.fromtimestamp(int(ts * 1000) / 1000, UTC)

    assert health == tuple(
        AccountHealth(
            "kling",
            a.account,
            "Account does not exist or password is incorrect" if a is last else None,
            ms(a.expires_ts),
        )
        for a in sim.accounts("kling")
    )
    assert health[0].account == first.account
    assert all(h.error is None for h in cleared)
    assert none == ()


async def test_untrack_leaves_the_queue_while_kling_still_runs_it(
    make_sim_server: MakeSimServer,
) -> None:
    sim = kling_sim()
    job_id = sim.start_job("kling", duration=600, outcome="completed")
    server = await make_sim_server(sim=sim)
    async with _client(server) as client:
        adapter = load("kling")(client)
        assert adapter.can_untrack
        await adapter.fetch()
        await adapter.fetch_untrack(job_id)
        snap = await adapter.fetch()
        assert job_id not in {j.id for j in snap.jobs}
        assert sim.job(job_id) is not None and sim.job(job_id).running  # type: ignore[union-attr]
        untracked = await adapter.fetch_job(job_id)
        with pytest.raises(errors.NotFound) as again:
            await adapter.fetch_untrack(job_id)
        sim.advance(601)
        done = await adapter.fetch_job(job_id)
    # useapi stopped tracking it, Kling did not: its own endpoint tells so (the `cancelled`
    # alert comes from the store's record of the untrack: tests/test_bot_cancel.py)
    assert untracked.outcome is Outcome.RUNNING
    assert untracked.raw_status in ("5 submitted", "10 processing")
    assert again.value.message == f"Unable to locate running task_id {job_id}"
    assert done.outcome is Outcome.COMPLETED  # Kling finished it: the real outcome
    assert sim.request_count(rf"^/v1/kling/scheduler/{job_id}$", method="DELETE") == 2


async def test_untrack_of_a_finished_or_unknown_task_is_not_found(
    make_sim_server: MakeSimServer,
) -> None:
    sim = kling_sim()
    job = sim.running("kling")[0]
    sim.finish_job(job.id, "completed")
    server = await make_sim_server(sim=sim)
    async with _client(server) as client:
        adapter = load("kling")(client)
        for task_id in (job.id, "1", "not-a-number"):
            with pytest.raises(errors.NotFound):
                await adapter.fetch_untrack(task_id)


# ============================================================== ids unchanged: store, /job, embeds


WIDE_IDS = (str(BEYOND_53), str(BEYOND_64), str(10**30))


async def test_wide_ids_round_trip_through_the_store(store: Store) -> None:
    snap = Snapshot(
        "kling",
        NOW,
        tuple(Job("kling", i, None, "a@x.io", NOW - timedelta(minutes=1), 60) for i in WIDE_IDS),
        (Account("a@x.io", 5, 3, 2),),
    )
    await store.commit_tick("kling", now=NOW, batch="b1", snapshot=snap)
    loaded = await store.load_snapshot("kling")
    assert by_id(loaded) == by_id(snap)
    assert loaded is not None and {j.id for j in loaded.jobs} == set(WIDE_IDS)


@pytest.mark.parametrize("task_id", WIDE_IDS)
async def test_wide_ids_through_the_job_path_and_the_embeds(task_id: str) -> None:
    asked: list[str] = []
    body = seed("kling-v1-tasks-task_id")
    body["task"]["id"] = int(task_id)

    def handler(request: httpx.Request) -> httpx.Response:
        asked.append(request.url.raw_path.decode())
        if request.url.path == kling.ACCOUNTS_PATH:
            return httpx.Response(200, json={"a@x.io": {"email": "a@x.io"}})
        return httpx.Response(200, content=json.dumps(body).encode())

    typed = validate.job_id(f"  {task_id} ")
    async with _mock(handler) as client:
        result = await kling.Kling(client).fetch_job(typed)
    assert asked == ["/v1/kling/accounts", f"/v1/kling/tasks/{task_id}?email=a%40x.io"]
    assert (result.id, result.account, result.outcome) == (task_id, "a@x.io", Outcome.COMPLETED)
    shown = job_embed(result, titles=TITLES, redact=False).to_dict()
    assert task_id in shown["description"]
    snap = Snapshot("kling", NOW, (Job("kling", task_id, None, "a@x.io", None, 60),))
    [page] = queue_pages(
        [snap], now=NOW, stuck_after=timedelta(minutes=20), redact=False, titles=TITLES
    )
    assert task_id in json.dumps(page.to_dict())


# ======================================================================= the simulator's shapes


async def test_simulator_shapes_and_errors(make_sim_server: MakeSimServer) -> None:
    sim = kling_sim(accounts=2, jobs=4)
    server = await make_sim_server(sim=sim)
    job = sim.running("kling")[0]
    other = next(a.account for a in sim.accounts("kling") if a.account != job.account)
    async with httpx.AsyncClient(
        base_url=server.url, headers={"Authorization": f"Bearer {SIM_TOKEN}"}
    ) as http:
        items = (await http.get("/v1/kling/scheduler")).json()
        assert all(type(i["id"]) is int for i in items)  # JSON numbers
        assert {str(i["id"]) for i in items} == {j.id for j in sim.running("kling")}
        answers = {
            "no email": await http.get(f"/v1/kling/tasks/{job.id}"),
            "unknown email": await http.get(f"/v1/kling/tasks/{job.id}?email=x@y.z"),
            "other account": await http.get(f"/v1/kling/tasks/{job.id}?email={other}"),
            "no number": await http.get(f"/v1/kling/tasks/abc?email={job.account}"),
            "unknown account": await http.get("/v1/kling/accounts/x@y.z"),
            "not running": await http.delete("/v1/kling/scheduler/1"),
        }
        one = await http.get(f"/v1/kling/accounts/{job.account}")
    assert {k: (r.status_code, r.json()) for k, r in answers.items()} == {
        "no email": (
            400,
            {"error": "Parameter email is required when more than one account is configured"},
        ),
        "unknown email": (404, {"error": "Unable to find configuration for account x@y.z"}),
        "other account": (404, {"error": f"Task {job.id} not found"}),
        "no number": (400, {"error": "Invalid task_id parameter"}),
        "unknown account": (404, {"error": "Account configuration not found"}),
        "not running": (404, {"error": "Unable to locate running task_id 1"}),
    }
    body = one.json()
    assert body["email"] == job.account and body["password"] == "…secured…"
    assert body["session"]["ExpireTime"] > 10**12  # ms


def test_same_seed_same_kling_ids() -> None:
    a, b, c = kling_sim(), kling_sim(), kling_sim(seed=4)
    assert [j.id for j in a.running("kling")] == [j.id for j in b.running("kling")]
    assert [j.id for j in a.running("kling")] != [j.id for j in c.running("kling")]
    assert all(10**11 <= int(j.id) < 10**12 or int(j.id) > 2**53 for j in a.running("kling"))


def test_numeric_and_text_ids_give_the_same_jobs_and_the_body_is_left_alone() -> None:
    items: list[dict[str, Any]] = [
        {"id": 2**64 + 1, "email": "a@x.io", "started": "2025-04-18T12:45:67.890Z", "elapsed": 5},
        {"id": -3, "account": "b@x.io", "model": ""},
        {"id": 7, "email": None, "type": "image"},
    ]
    kept = copy.deepcopy(items)
    as_text = [{**i, "id": str(i["id"])} for i in items]
    assert kling.parse_queue(items, NOW) == kling.parse_queue(as_text, NOW)
    assert [j.id for j in kling.parse_queue(items, NOW)] == [str(2**64 + 1), "-3", "7"]
    assert items == kept  # (a pinned or cached body is not changed)
