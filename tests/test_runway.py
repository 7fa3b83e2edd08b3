"""Runway: the adapter on the endpoints page's bodies and mutations of them, the first
sighting (carried by the watcher, kept by the store across a restart, worded "seen for"), the
adapter over real HTTP against the simulator, and the simulator's faults for it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest
from pydantic import SecretStr

from bot import alerts
from bot.embeds import alert_embed, board_embed, queue_pages
from bot.errors import PayloadError, UpstreamError
from bot.events import Event, EventKind
from bot.models import (
    Account,
    AccountHealth,
    Job,
    JobResult,
    Outcome,
    Snapshot,
    with_first_sightings,
)
from bot.providers import runway
from bot.providers.base import Provider
from bot.sim import ManualClock, SimServer, Simulator, hostile
from bot.sim.providers.runway import task_uuid
from bot.store import Store
from bot.store.codecs import row_job
from bot.useapi import UseapiClient
from rig.simhttp import SIM_TOKEN
from rig.store import through_rows
from rig.watch import Clock, watcher

SEEDS = Path(__file__).parent / "data" / "seeds"
NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
R = "runway"
ID = "user:user_id-runwayml:account_email-task:task_uuid"
ID2 = "user:U-runwayml:ann-lee@studio-4.example-task:0b5cb6c8-1c4d-4f36-9b6e-3f6a0d9b1e2a"


def seed(name: str) -> Any:
    return json.loads((SEEDS / name).read_text())


def seen_job(
    job_id: str, account: str | None, started: datetime | None = None, ref: str | None = None
) -> Job:
    return Job(R, job_id, None, account, started, None, None, True, ref)


def payload_error(call: Any) -> tuple[str | None, str | None]:
    with pytest.raises(PayloadError) as info:
        call()
    return info.value.provider, info.value.field


# ------------------------------------------------------------------------- the seed bodies


def test_seed_scheduler_jobs_are_seen_with_no_start() -> None:
    jobs = runway.parse_queue(seed("runway-v1-scheduler.json"), NOW)
    assert jobs == (
        seen_job(ID, "account_email", ref="<optional reference>"),
        seen_job(ID2, "ann-lee@studio-4.example"),
    )


def test_seed_accounts_give_capacity_minus_the_running_jobs() -> None:
    jobs = runway.parse_queue(seed("runway-v1-scheduler.json"), NOW)
    assert runway.parse_accounts(seed("runway-v1-accounts.json"), jobs) == (
        Account("ann-lee@studio-4.example", 5, 1, 4),
        Account("bo@x.example", 1, 0, 1),
        # runs a job, has no entry in the map: listed, limit unknown
        Account("account_email", None, 1, None),
    )


def test_seed_accounts_health() -> None:
    assert runway.parse_health(seed("runway-v1-accounts.json")) == (
        AccountHealth(
            R, "ann-lee@studio-4.example", None, datetime.fromtimestamp(1734858598.864, UTC)
        ),
        AccountHealth(R, "bo@x.example", "Session expired, please re-add the account", None),
    )


def test_seed_task_succeeded() -> None:
    assert runway.parse_task(seed("runway-v1-task.json"), ID) == JobResult(
        provider=R,
        id=ID,
        outcome=Outcome.COMPLETED,
        account="account_email",
        created=datetime(2024, 8, 1, 1, 2, 3, 456000, tzinfo=UTC),
        updated=datetime(2024, 8, 1, 1, 2, 5, 789000, tzinfo=UTC),
        urls=("https://runway.example/asset-1.mp4",),
        raw_status="SUCCEEDED",
        extra={"progress": "100%"},
        progress=100,
        cover="https://runway.example/asset-1-preview.jpg",  # the artifact's previewUrls[0]
    )


def task(**fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = seed("runway-v1-task.json")
    body.update(fields)
    return body


@pytest.mark.parametrize(
    ("fields", "outcome", "error"),
    [
        ({"status": "PENDING", "artifacts": []}, Outcome.RUNNING, None),
        ({"status": "RUNNING"}, Outcome.RUNNING, None),
        ({"status": "THROTTLED"}, Outcome.RUNNING, None),
        ({"status": "running"}, Outcome.RUNNING, None),
        # an error on a running task is no failure yet: not shown
        ({"status": "RUNNING", "error": "retrying"}, Outcome.RUNNING, None),
        ({"status": "FAILED", "error": "Internal error"}, Outcome.FAILED, "Internal error"),
        ({"status": "FAILED", "error": None}, Outcome.FAILED, None),
        (
            {"status": "FAILED", "error": "Content moderation: flagged by the safety system"},
            Outcome.MODERATED,
            "Content moderation: flagged by the safety system",
        ),
        (
            {"status": "FAILED", "error": "violates our content policy"},
            Outcome.MODERATED,
            "violates our content policy",
        ),
        ({"status": "CANCELLED"}, Outcome.CANCELLED, None),
        ({"status": "EXPLODED"}, Outcome.UNKNOWN, None),
        ({"status": None}, Outcome.UNKNOWN, None),
        ({"status": 3}, Outcome.UNKNOWN, None),
    ],
)
def test_task_statuses(fields: dict[str, Any], outcome: Outcome, error: str | None) -> None:
    result = runway.parse_task(task(**fields), ID)
    assert (result.outcome, result.error) == (outcome, error)


@pytest.mark.parametrize(
    ("ratio", "shown"),
    [
        ("0.42", "42%"),
        ("1", "100%"),
        ("0", "0%"),
        (" 0.5 ", "50%"),
        (0.25, "25%"),
        (1, "100%"),
        ("1e308", "100%"),  # huge: clamped
        (10**400, "100%"),
        ("-3", "0%"),
        ("garbage", None),  # ignored, never an error
        ("NaN", None),
        ("1e999", None),  # overflows to infinity: unreadable
        ("9" * 100, None),  # longer than any ratio
        ("", None),
        (None, None),
        (True, None),
        ([0.5], None),
        ({"ratio": 0.5}, None),
    ],
)
def test_progress_ratio_is_read_leniently(ratio: object, shown: str | None) -> None:
    result = runway.parse_task(task(status="RUNNING", progressRatio=ratio), ID)
    assert result.extra == ({"progress": shown} if shown else {})
    assert result.outcome is Outcome.RUNNING


def test_task_without_optional_fields_and_with_odd_urls() -> None:
    body = {
        "status": "SUCCEEDED",
        "artifacts": [{"url": "https://a/1.mp4"}, {"url": None}, {"url": "https://a/1.mp4"}, {}],
        "createdAt": "2024-08-01T01:02:67.000Z",  # impossible clock: rolls over
    }
    assert runway.parse_task(body, "odd-id") == JobResult(
        provider=R,
        id="odd-id",
        outcome=Outcome.COMPLETED,
        created=datetime(2024, 8, 1, 1, 3, 7, tzinfo=UTC),
        urls=("https://a/1.mp4",),
        raw_status="SUCCEEDED",
    )


# ------------------------------------------------------------------------- mutated bodies


def test_queue_item_with_upstream_times_is_an_ordinary_job() -> None:
    body = [
        {"taskId": ID, "started": "2026-01-01T11:55:00.000Z"},
        {"taskId": ID2, "elapsed": "03:57"},
        {"taskId": 123, "replyUrl": None, "replyRef": None},
    ]
    assert runway.parse_queue(body, NOW) == (
        Job(R, ID, None, "account_email", datetime(2026, 1, 1, 11, 55, tzinfo=UTC), 300, None),
        Job(R, ID2, None, "ann-lee@studio-4.example", None, 237, None),
        seen_job("123", None),
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (None, "scheduler"),
        ({"taskId": ID}, "scheduler"),
        ([None], "scheduler[0]"),
        ([{}], "scheduler[0]"),
        ([{"taskId": ""}], "scheduler[0].taskId"),
        ([{"taskId": ID}, {"taskId": True}], "scheduler[1].taskId"),
        ([{"taskId": ID, "model": {"x": 1}}], "scheduler[0].model"),
    ],
)
def test_malformed_queues_name_the_field(body: Any, field: str) -> None:
    assert payload_error(lambda: runway.parse_queue(body, NOW)) == (R, field)


def test_empty_queue_and_repeats() -> None:
    assert runway.parse_queue([], NOW) == ()
    assert runway.parse_queue([{"taskId": ID}, {"taskId": ID}], NOW) == (
        seen_job(ID, "account_email"),
    )


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({}, ()),
        ({"a@x": {"maxJobs": "5"}}, (Account("a@x", 5, 0, 5),)),
        ({"a@x": {"maxJobs": None}}, (Account("a@x", None, 0, None),)),
        ({"a@x": {}}, (Account("a@x", None, 0, None),)),
        ({"a@x": {"maxJobs": 10**400}}, (Account("a@x", 100_000, 0, 100_000),)),
        ({"a@x": {"maxJobs": -2}}, (Account("a@x", 0, 0, 0),)),
    ],
)
def test_accounts_map_variants(body: Any, expected: tuple[Account, ...]) -> None:
    assert runway.parse_accounts(body, ()) == expected


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (None, "accounts"),
        ([], "accounts"),
        ({"a@x": None}, "accounts.a@x"),
        ({"a@x": {"maxJobs": "five"}}, "accounts.a@x.maxJobs"),
        ({"a@x": {"maxJobs": [5]}}, "accounts.a@x.maxJobs"),
    ],
)
def test_malformed_accounts_name_the_field(body: Any, field: str) -> None:
    assert payload_error(lambda: runway.parse_accounts(body, ())) == (R, field)


EXP = 1734858598.864


@pytest.mark.parametrize(
    ("entry", "error", "expires"),
    [
        ({"jwt": {"exp": EXP}}, None, datetime.fromtimestamp(EXP, UTC)),
        ({"jwt": {"exp": str(EXP)}}, None, datetime.fromtimestamp(EXP, UTC)),  # as a string
        ({"jwt": {"exp": int(EXP)}}, None, datetime.fromtimestamp(int(EXP), UTC)),
        ({"jwt": {"exp": 1e308}}, None, None),  # huge: out of range, unknown
        ({"jwt": {"exp": 10**400}}, None, None),
        ({"jwt": {"exp": -EXP}}, None, None),  # negative: unknown
        ({"jwt": {"exp": "soon"}}, None, None),
        ({"jwt": {"exp": None}}, None, None),
        ({"jwt": {}}, None, None),
        ({"jwt": None}, None, None),
        ({}, None, None),
        ({"error": ""}, None, None),
        ({"error": "Pending error, re-add the account"}, "Pending error, re-add the account", None),
        ({"error": 596}, "596", None),
    ],
)
def test_health_variants(
    entry: dict[str, Any], error: str | None, expires: datetime | None
) -> None:
    assert runway.parse_health({"a@x": entry}) == (AccountHealth(R, "a@x", error, expires),)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (None, "accounts"),
        ({"a@x": "x"}, "accounts.a@x"),
        ({"a@x": {"jwt": "eyJ…"}}, "accounts.a@x.jwt"),
        ({"a@x": {"error": {"message": "x"}}}, "accounts.a@x.error"),
    ],
)
def test_malformed_health_names_the_field(body: Any, field: str) -> None:
    assert payload_error(lambda: runway.parse_health(body)) == (R, field)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (None, "(body)"),
        ([], "(body)"),
        (task(status=["SUCCEEDED"]), "status"),
        (task(error={"code": 1}), "error"),
        (task(artifacts="https://a/1.mp4"), "artifacts"),
        (task(artifacts=["https://a/1.mp4"]), "artifacts[0]"),
        (task(artifacts=[{"url": ["x"]}]), "artifacts[0].url"),
    ],
)
def test_malformed_tasks_name_the_field(body: Any, field: str) -> None:
    assert payload_error(lambda: runway.parse_task(body, ID)) == (R, field)


def test_task_missing_keys_is_unknown_not_an_error() -> None:
    assert runway.parse_task({}, ID) == JobResult(R, ID, Outcome.UNKNOWN, account="account_email")


# ------------------------------------------------------------------------- first sightings


def test_first_sighting_is_the_snapshot_time_then_carried() -> None:
    other = Job(R, "plain", None, None, NOW - timedelta(minutes=3), 180, None)
    first = with_first_sightings(Snapshot(R, NOW, (seen_job("a", "x"), other)), None)
    assert first.jobs == (seen_job("a", "x", NOW), other)
    later = NOW + timedelta(minutes=5)
    cur = Snapshot(R, later, (seen_job("b", "x"), seen_job("a", "x")))
    assert with_first_sightings(cur, first).jobs == (
        seen_job("b", "x", later),  # new: first seen now
        seen_job("a", "x", NOW),  # kept
    )
    # A snapshot with nothing to fill is handed back as it is.
    plain = Snapshot(R, later, (other,))
    assert with_first_sightings(plain, first) is plain
    assert with_first_sightings(first, None) is first


def test_stored_rows_keep_the_first_sighting_and_old_rows_load() -> None:
    s = Snapshot(
        R,
        NOW,
        (seen_job("a", "x", NOW - timedelta(minutes=5)), Job(R, "b", "video", None, NOW, 3, "m")),
        (Account("x", 5, 1, 4),),
    )
    assert through_rows(s) == s
    # A row written before `seen` existed has six elements: an ordinary job.
    assert row_job(R, ["b", "video", None, NOW.timestamp(), 3, "m"]) == s.jobs[1]
    assert row_job(R, ["a", None, "x", NOW.timestamp(), None, None, 1]).seen is True


class Scripted(Provider):
    """Runway's adapter parsing what the test sets, at the test's clock."""

    name: ClassVar[str] = R
    title: ClassVar[str] = "Runway"

    def __init__(self, clock: Clock, body: list[dict[str, Any]]) -> None:
        self.clock, self.body = clock, body

    async def snapshot(self) -> Snapshot:
        jobs = runway.parse_queue(self.body, self.clock.now)
        accounts = runway.parse_accounts({"account_email": {"maxJobs": 5}}, jobs)
        return Snapshot(R, self.clock.now, jobs, accounts)

    async def job(self, job_id: str) -> JobResult:
        return JobResult(R, job_id, Outcome.COMPLETED)


async def stuck_keys(store: Store) -> list[str]:
    rows = await store.claim_outbox(
        limit=100, now=datetime.now(UTC) + timedelta(days=1), worker_id="t"
    )
    await store.release([r.key for r in rows])
    return [r.key for r in rows if r.event.word == "stuck"]


async def test_a_restart_keeps_the_first_sighting_and_stuck_fires_at_exactly_the_limit(
    url: str,
) -> None:
    clock = Clock()
    first_seen = clock.now
    store = await Store.open(url)
    w = watcher(Scripted(clock, [{"taskId": ID}]), store, clock)
    await w.tick()
    assert w.latest is not None and w.latest.jobs == (seen_job(ID, "account_email", first_seen),)
    await store.close()

    clock.advance(10 * 60)  # down for ten minutes; a new watcher over the same store
    store = await Store.open(url)
    w = watcher(Scripted(clock, [{"taskId": ID2}, {"taskId": ID}]), store, clock)
    await w.tick()
    assert w.latest is not None
    assert w.latest.jobs == (
        seen_job(ID2, "ann-lee@studio-4.example", clock.now),
        seen_job(ID, "account_email", first_seen),
    )
    clock.advance(10 * 60 - 1)  # 19 m 59 s after the first sighting: not yet
    assert (await w.tick()).events == 0
    assert await stuck_keys(store) == []
    clock.advance(1)  # exactly STUCK_AFTER_MINUTES (20) after it
    report = await w.tick()
    assert report.event_keys == (f"job:{R}:{ID}:stuck",)
    [row] = [r for r in await store.claim_outbox(limit=10, now=clock.now, worker_id="t")]
    assert row.event == Event(
        key=f"job:{R}:{ID}:stuck",
        kind=EventKind.JOB,
        provider=R,
        word="stuck",
        at=clock.now,
        job_id=ID,
        account="account_email",
        # a job with no model: the ceiling applied, and the alert says so
        detail="seen for 20m 00s; stuck after 20m 00s (STUCK_AFTER_MINUTES)",
        extra={"first seen": first_seen.isoformat()},
    )
    await store.close()


def test_the_stuck_event_and_the_finished_event_say_first_seen() -> None:
    job = seen_job(ID, "account_email", NOW)
    later = NOW + timedelta(minutes=25)
    assert alerts.stuck_event(R, job, 1500.0, now=later) == Event(
        key=f"job:{R}:{ID}:stuck",
        kind=EventKind.JOB,
        provider=R,
        word="stuck",
        at=later,
        job_id=ID,
        account="account_email",
        detail="seen for 25m 00s",
        extra={"first seen": NOW.isoformat()},
    )
    done = alerts.job_event(
        R, job, JobResult(R, ID, Outcome.COMPLETED), Outcome.COMPLETED, now=later
    )
    assert done.extra == {"first seen": NOW.isoformat()}
    embed = alert_embed(done, titles={R: "Runway"}, redact=False)
    assert f"**first seen** {NOW.isoformat()}" in (embed.description or "")


# ------------------------------------------------------------------------- views


def test_queue_and_board_say_seen_for() -> None:
    now = NOW + timedelta(minutes=5)
    snap = Snapshot(
        R,
        now,
        (seen_job(ID2, "ann-lee@studio-4.example", NOW),),
        (Account("ann-lee@studio-4.example", 5, 1, 4),),
    )
    [page] = queue_pages(
        [snap], now=now, stuck_after=timedelta(minutes=20), redact=False, titles={R: "Runway"}
    )
    [field] = page.fields
    assert field.name == "Runway · ann-lee@studio-4.example (1 job)"
    assert field.value == (
        "• …6c8-1c4d-4f36-9b6e-3f6a0d9b1e2a"
        f" · first seen <t:{int(NOW.timestamp())}:R> · seen for 5m 00s"
    )
    board = board_embed([snap], now=now, titles={R: "Runway"}, redact=False)
    [bfield] = board.fields
    lines = (bfield.value or "").splitlines()
    assert lines[:2] == ["Queue: 1 running (• 1)", "Longest: seen for 5m 00s"]
    # Stuck at exactly the limit, marked as any job is.
    [late] = queue_pages(
        [snap],
        now=NOW + timedelta(minutes=20),
        stuck_after=timedelta(minutes=20),
        redact=False,
        titles={R: "Runway"},
    )
    assert (late.fields[0].value or "").endswith("· seen for 20m 00s · ⚠ stuck")


# ------------------------------------------------------------------------- over HTTP


@pytest.fixture
async def runway_sim() -> Any:
    sim = Simulator(
        seed=11,
        accounts=3,
        jobs=6,
        token=SIM_TOKEN,
        providers=(R,),
        clock=ManualClock(),
        churn=False,
    )
    async with SimServer(sim) as server:
        client = UseapiClient(server.url, SecretStr(SIM_TOKEN), attempts=1)
        try:
            yield sim, runway.Runway(client)
        finally:
            await client.aclose()


async def test_the_adapter_reads_the_simulator(runway_sim: Any) -> None:
    sim, adapter = runway_sim
    snap = await adapter.fetch()
    assert [j.id for j in snap.jobs] == [j.id for j in sim.running(R)]
    assert all(j.seen and j.started is None and j.elapsed_seconds is None for j in snap.jobs)
    assert [(j.account, j.kind) for j in snap.jobs] == [(j.account, None) for j in sim.running(R)]
    assert snap.accounts == tuple(
        Account(a.account, a.max_jobs, a.executing, a.available) for a in sim.accounts(R)
    )
    assert await adapter.fetch_accounts() == tuple(
        AccountHealth(R, a.account, None, datetime.fromtimestamp(round(a.expires_ts, 3), UTC))
        for a in sim.accounts(R)
    )


async def test_no_account_configured_is_no_account_not_a_failure(runway_sim: Any) -> None:
    """useapi answers 404 when no Runway account is configured: the account checks see none
    (as for every provider), not a failed read."""
    sim, adapter = runway_sim
    sim.pin(runway.ACCOUNTS_PATH, {"error": "No accounts configured", "code": 404}, status=404)
    assert await adapter.fetch_accounts() == ()


async def test_the_adapter_reads_every_task_outcome(runway_sim: Any) -> None:
    sim, adapter = runway_sim
    running = sim.running(R)[0]
    sim.advance(30)
    result = await adapter.fetch_job(running.id)
    assert (result.outcome, result.account, result.raw_status) == (
        Outcome.RUNNING,
        running.account,
        "RUNNING",
    )
    assert result.created is not None and result.extra["progress"].endswith("%")
    for outcome, raw in [
        ("completed", "SUCCEEDED"),
        ("failed", "FAILED"),
        ("moderated", "FAILED"),
        ("cancelled", "CANCELLED"),
    ]:
        job_id = sim.start_job(R, duration=float("inf"))
        sim.finish_job(job_id, outcome)
        result = await adapter.fetch_job(job_id)
        assert (result.outcome.value, result.raw_status) == (outcome, raw)
        assert bool(result.urls) == (outcome == "completed")
        assert bool(result.error) == (outcome in ("failed", "moderated"))
    gone = await adapter.fetch_job("user:1-runwayml:a@x-task:nope")
    assert gone == JobResult(
        R,
        "user:1-runwayml:a@x-task:nope",
        Outcome.UNKNOWN,
        account="a@x",
        error=runway.NOT_FOUND_MESSAGE,
        raw_status="404",
        found=False,
    )
    assert adapter.can_untrack is False


async def test_simulated_bodies_have_the_documented_shape(runway_sim: Any) -> None:
    sim, adapter = runway_sim
    job = sim.running(R)[0]
    raw = await adapter.client.get_json("/v1/runwayml/scheduler/", provider=R)
    assert all(set(item) <= {"taskId", "replyUrl", "replyRef"} for item in raw)
    assert job.id.endswith(f"-task:{task_uuid(job.n)}") and f"-runwayml:{job.account}-" in job.id
    body = await adapter.client.get_json(f"/v1/runwayml/tasks/{job.id}", provider=R)
    assert isinstance(body["progressRatio"], str)
    assert body["status"] in ("PENDING", "THROTTLED", "RUNNING")
    accounts = await adapter.client.get_json("/v1/runwayml/accounts", provider=R)
    one = accounts[job.account]
    assert one["maxJobs"] >= 1 and isinstance(one["jwt"]["exp"], float)


async def test_faults_switch_on_by_the_provider_name(runway_sim: Any) -> None:
    sim, adapter = runway_sim
    sim.faults.set(R, "surrogate")
    snap = await adapter.fetch()
    assert snap.jobs[-1].id == "\ufffd" and not snap.jobs[-1].askable
    sim.faults.clear()
    sim.faults.set(R, "huge_numbers")
    snap = await adapter.fetch()
    assert [j.id for j in snap.jobs[-2:]] == [
        hostile.fault_job_id(R, "9000000000001"),
        hostile.fault_job_id(R, "9000000000002"),
    ]
    assert snap.accounts[0].max_jobs == 100_000
    sim.faults.clear()
    sim.faults.set(R, "duplicates")
    assert len((await adapter.fetch()).jobs) == len(sim.running(R))
    sim.faults.clear()
    sim.faults.set(R, "status", status=401)
    with pytest.raises(UpstreamError) as info:
        await adapter.fetch()
    assert info.value.status == 401
    sim.faults.clear()
    assert "runwayml" in sim.requests[-1].path


async def test_unknown_paths_and_no_delete(runway_sim: Any) -> None:
    sim, adapter = runway_sim
    async with httpx.AsyncClient(base_url=str(adapter.client.base_url)) as raw:
        headers = {"Authorization": f"Bearer {SIM_TOKEN}"}
        job = sim.running(R)[0]
        deleted = await raw.delete(f"/v1/runwayml/scheduler/{job.id}", headers=headers)
        assert deleted.status_code == 404
        assert (await raw.get("/v1/runway/scheduler/", headers=headers)).status_code == 404
    still = sim.job(job.id)
    assert still is not None and still.running
