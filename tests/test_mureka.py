"""Mureka (music/TTS): the documented bodies and mutations of them, the capacity nobody
publishes ("N running · no limit published" in every view, never a capacity alert), the job
endpoint's 7-day 404, and the adapter over real HTTP against the simulator."""

from __future__ import annotations

import copy
import json
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from discord.utils import format_dt
from pydantic import SecretStr
from rich.console import Group
from rich.table import Table

from bot.alerts import capacity_events
from bot.diff import capacity_observations, diff
from bot.embeds import NEUTRAL, board_embed, capacity_pages, status_embed
from bot.errors import PayloadError
from bot.health import ProviderStatus
from bot.models import (
    MAX_ELAPSED_SECONDS,
    Account,
    AccountHealth,
    Job,
    JobResult,
    Outcome,
    Snapshot,
)
from bot.providers import load, mureka
from bot.report import ProviderReport, tables, to_json
from bot.sim import ManualClock, SimServer, Simulator
from bot.useapi import UseapiClient
from rig.simhttp import SIM_TOKEN

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
TITLES = {"pixverse": "PixVerse", "mureka": "Mureka"}
ID1 = "j1128115936123456789m-u777-a1234567890-bot:mureka"
ID2 = "j1128115940123456790m-u777-a1234567890-bot:mureka"
ID3 = "j1128115950123456791m-u777-a2345678901-bot:mureka"

#: The documented `GET /v1/mureka/jobs` body (endpoints page, section 6), ids filled in.
DOC_QUEUE: dict[str, Any] = {
    "total": 3,
    "music": 2,
    "tts": 1,
    "accounts": {
        "1234567890": {
            "total": 2,
            "music": 1,
            "tts": 1,
            "jobs": [
                {"jobid": ID1, "verb": "music/create", "elapsed": "00:24"},
                {"jobid": ID2, "verb": "tts/create", "elapsed": "45s"},
            ],
        },
        "2345678901": {
            "total": 1,
            "music": 1,
            "tts": 0,
            "jobs": [{"jobid": ID3, "verb": "music/create", "elapsed": "1m 23s"}],
        },
    },
    "availableAccounts": ["1234567890", "3456789012"],
}
#: The documented `GET /v1/mureka/jobs/{jobid}` body.
DOC_JOB: dict[str, Any] = {
    "jobid": ID1,
    "verb": "music/create",
    "jobType": "music",
    "status": "completed",
    "created": "2026-11-28T11:59:36.000Z",
    "updated": "2026-11-28T12:01:10.500Z",
    "request": {
        "prompt": "a calm piano piece",
        "model": "auto",
        "replyUrl": "https://hooks.example/x",
        "replyRef": "r-1",
    },
    "response": {
        "feed_id": 11223344,
        "state": 3,
        "songs": [
            {"song_id": "s1", "mp3_url": "https://cdn.mureka.example/1.mp3", "version": "1"},
            {"song_id": "s2", "mp3_url": "https://cdn.mureka.example/2.mp3", "version": "1"},
        ],
    },
}


def job(job_id: str, account: str, elapsed: int | None) -> Job:
    return Job("mureka", job_id, "music", account, None, elapsed, None)


def no_limit(account: str, executing: int) -> Account:
    return Account(account, None, executing, None)


# ------------------------------------------------------------------------------ the queue


def test_documented_queue_body() -> None:
    jobs, accounts = mureka.parse_jobs(DOC_QUEUE)
    assert jobs == (
        job(ID1, "1234567890", 24),
        job(ID2, "1234567890", 45),
        job(ID3, "2345678901", 83),
    )
    assert accounts == (
        no_limit("1234567890", 2),
        no_limit("2345678901", 1),
        no_limit("3456789012", 0),  # available, running nothing
    )
    assert mureka.parse_queue(DOC_QUEUE, NOW) == jobs
    assert mureka.parse_capacity(DOC_QUEUE) == accounts


def test_the_seed_bodies() -> None:
    seeds = Path(__file__).parent / "data" / "seeds"
    queue = json.loads((seeds / "mureka-v1-jobs.json").read_text())
    jobs, accounts = mureka.parse_jobs(queue)
    assert [(j.account, j.kind, j.elapsed_seconds) for j in jobs] == [
        ("1234567890", "music", 24),
        ("1234567890", "music", 45),
        ("1234567890", "music", 83),
    ]
    assert accounts == (no_limit("1234567890", 3),)  # the list and `total` agree here
    one = json.loads((seeds / "mureka-v1-job.json").read_text())
    assert mureka.parse_job(one, ID1) == mureka.parse_job(
        {
            **DOC_JOB,
            "request": {
                "prompt": "a calm piano piece",
                "replyUrl": "https://hooks.example/x",
                "replyRef": "r-1",
            },
        },
        ID1,
    )


@pytest.mark.parametrize(
    ("elapsed", "seconds"),
    [
        ("00:24", 24),
        ("45s", 45),
        ("1m 23s", 83),
        ("1m23s", 83),
        ("2h 3m", 7380),
        ("1:02:03", 3723),
        (" 00:24 ", 24),
        (24, 24),
        (24.9, 24),
        ("24", 24),
        (0, 0),
        ("525600:00", MAX_ELAPSED_SECONDS),
        (10**400, MAX_ELAPSED_SECONDS),
        ("abc", None),
        ("1 fortnight", None),
        ("", None),
        (-5, None),
        (None, None),
        (True, None),
        ([24], None),
        ({"s": 24}, None),
    ],
)
def test_elapsed_in_every_style_and_garbage(elapsed: object, seconds: int | None) -> None:
    body = copy.deepcopy(DOC_QUEUE)
    body["accounts"]["1234567890"]["jobs"][0]["elapsed"] = elapsed
    assert mureka.parse_queue(body, NOW)[0].elapsed_seconds == seconds


def test_the_listed_jobs_decide_executing_whatever_total_says() -> None:
    body = copy.deepcopy(DOC_QUEUE)
    body["total"], body["music"] = 99, "many"
    body["accounts"]["1234567890"]["total"] = 7
    body["accounts"]["2345678901"]["total"] = None
    assert mureka.parse_capacity(body) == mureka.parse_capacity(DOC_QUEUE)


def test_an_id_listed_twice_is_one_job_of_its_first_account() -> None:
    body = copy.deepcopy(DOC_QUEUE)
    body["accounts"]["2345678901"]["jobs"].append({"jobid": ID1, "elapsed": "09:00"})
    jobs, accounts = mureka.parse_jobs(body)
    assert [j.id for j in jobs] == [ID1, ID2, ID3]
    assert jobs[0] == job(ID1, "1234567890", 24)
    assert [a.executing for a in accounts] == [2, 1, 0]


@pytest.mark.parametrize(
    ("mutate", "jobs", "accounts"),
    [
        pytest.param(
            lambda b: b.pop("availableAccounts"),
            3,
            [("1234567890", 2), ("2345678901", 1)],
            id="no-availableAccounts",
        ),
        pytest.param(
            lambda b: b.update(availableAccounts=None),
            3,
            [("1234567890", 2), ("2345678901", 1)],
            id="null-availableAccounts",
        ),
        pytest.param(
            lambda b: b.update(availableAccounts=[4567890123]),
            3,
            [("1234567890", 2), ("2345678901", 1), ("4567890123", 0)],
            id="numeric-account-id",
        ),
        pytest.param(
            lambda b: b["accounts"]["1234567890"].pop("jobs"),
            1,
            [("1234567890", 0), ("2345678901", 1), ("3456789012", 0)],
            id="group-without-jobs",
        ),
        pytest.param(
            lambda b: b.update(accounts={}, total=0),
            0,
            [("1234567890", 0), ("3456789012", 0)],
            id="nothing-running",
        ),
        pytest.param(
            lambda b: (b.pop("accounts"), b.pop("total")),
            0,
            [("1234567890", 0), ("3456789012", 0)],
            id="no-accounts-no-total",
        ),
        pytest.param(
            lambda b: b.update(accounts=None, total=0),
            0,
            [("1234567890", 0), ("3456789012", 0)],
            id="null-accounts-total-0",
        ),
        pytest.param(
            lambda b: b["accounts"]["1234567890"]["jobs"][0].update(jobid=42),
            3,
            [("1234567890", 2), ("2345678901", 1), ("3456789012", 0)],
            id="numeric-jobid",
        ),
        pytest.param(
            lambda b: b["accounts"]["1234567890"]["jobs"][0].update(
                jobId=b["accounts"]["1234567890"]["jobs"][0].pop("jobid")
            ),
            3,
            [("1234567890", 2), ("2345678901", 1), ("3456789012", 0)],
            id="jobId-key",
        ),
    ],
)
def test_mutated_queue_bodies_that_still_read(
    mutate: Any, jobs: int, accounts: list[tuple[str, int]]
) -> None:
    body = copy.deepcopy(DOC_QUEUE)
    mutate(body)
    got_jobs, got_accounts = mureka.parse_jobs(body)
    assert len(got_jobs) == jobs
    assert got_accounts == tuple(no_limit(a, n) for a, n in accounts)


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda b: b.pop("accounts"), "accounts"),  # total 3, yet no accounts: not "empty"
        (lambda b: b.update(accounts=None), "accounts"),
        (lambda b: b.update(accounts=None, total="x"), "total"),
        (lambda b: b.update(accounts=[]), "accounts"),
        (lambda b: b.update(accounts="1234567890"), "accounts"),
        (lambda b: b["accounts"].update({"1234567890": []}), "accounts.1234567890"),
        (lambda b: b["accounts"]["1234567890"].update(jobs={}), "accounts.1234567890.jobs"),
        (
            lambda b: b["accounts"]["1234567890"]["jobs"].append("j1"),
            "accounts.1234567890.jobs[2]",
        ),
        (
            lambda b: b["accounts"]["1234567890"]["jobs"].append({"verb": "music/create"}),
            "accounts.1234567890.jobs[2].jobid",
        ),
        (
            lambda b: b["accounts"]["1234567890"]["jobs"][0].update(jobid=""),
            "accounts.1234567890.jobs[0].jobid",
        ),
        (
            lambda b: b["accounts"]["1234567890"]["jobs"][0].update(jobid=None),
            "accounts.1234567890.jobs[0].jobid",
        ),
        (
            lambda b: b["accounts"]["1234567890"]["jobs"][0].update(model=["auto"]),
            "accounts.1234567890.jobs[0].model",
        ),
        (lambda b: b.update(availableAccounts="1234567890"), "availableAccounts"),
        (lambda b: b.update(availableAccounts=[None]), "availableAccounts[0]"),
        (lambda b: b.update(availableAccounts=[{"id": 1}]), "availableAccounts[0]"),
    ],
)
def test_mutated_queue_bodies_that_are_payload_errors(mutate: Any, field: str) -> None:
    body = copy.deepcopy(DOC_QUEUE)
    mutate(body)
    with pytest.raises(PayloadError) as caught:
        mureka.parse_jobs(body)
    assert (caught.value.provider, caught.value.field) == ("mureka", field)


@pytest.mark.parametrize("body", [None, [], "jobs", 3, True])
def test_a_body_that_is_no_object_is_a_payload_error(body: object) -> None:
    with pytest.raises(PayloadError) as caught:
        mureka.parse_jobs(body)
    assert (caught.value.provider, caught.value.field) == ("mureka", "(body)")


# --------------------------------------------------------------------------- one job


def test_documented_job_body() -> None:
    assert mureka.parse_job(DOC_JOB, ID1) == JobResult(
        provider="mureka",
        id=ID1,
        outcome=Outcome.COMPLETED,
        account="1234567890",
        kind="music",
        created=datetime(2026, 11, 28, 11, 59, 36, tzinfo=UTC),
        updated=datetime(2026, 11, 28, 12, 1, 10, 500_000, tzinfo=UTC),
        prompt="a calm piano piece",
        model="auto",
        urls=("https://cdn.mureka.example/1.mp3", "https://cdn.mureka.example/2.mp3"),
        error=None,
        raw_status="completed",
        extra={"jobType": "music", "verb": "music/create"},
    )


@pytest.mark.parametrize(
    ("fields", "outcome", "error"),
    [
        ({"status": "created", "response": {"state": 1}}, Outcome.RUNNING, None),
        ({"status": "failed", "error": "Generation failed"}, Outcome.FAILED, "Generation failed"),
        (
            {"status": "failed", "error": "Generation failed", "errorDetails": "timed out"},
            Outcome.FAILED,
            "Generation failed: timed out",
        ),
        (
            {"status": "failed", "errorDetails": "Content moderation: lyrics flagged"},
            Outcome.MODERATED,
            "Content moderation: lyrics flagged",
        ),
        ({"status": "cancelled"}, Outcome.CANCELLED, None),
        ({"status": "COMPLETED"}, Outcome.COMPLETED, None),
        ({"status": "exploded"}, Outcome.UNKNOWN, None),
        ({"status": None}, Outcome.UNKNOWN, None),
    ],
)
def test_job_statuses(fields: dict[str, Any], outcome: Outcome, error: str | None) -> None:
    body = {**DOC_JOB, "response": None, **fields}
    result = mureka.parse_job(body, ID1)
    assert (result.outcome, result.error) == (outcome, error)
    assert result.urls == ()


def test_a_tts_job_is_music_and_says_tts() -> None:
    body = {
        "jobid": ID2,
        "verb": "tts/create",
        "jobType": "tts",
        "status": "completed",
        "request": {"text": "Hello there"},
        "response": {"songs": []},
    }
    result = mureka.parse_job(body, ID2)
    assert (result.kind, result.prompt, result.urls) == ("music", "Hello there", ())
    assert result.extra == {"jobType": "tts", "verb": "tts/create"}


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"status": ["completed"]}, "status"),
        ({"response": "x"}, "response"),
        ({"response": {"songs": {}}}, "response.songs"),
        ({"response": {"songs": ["x"]}}, "response.songs[0]"),
        ({"response": {"songs": [{"mp3_url": {}}]}}, "response.songs[0].mp3_url"),
        ({"request": []}, "request"),
        ({"error": True}, "error"),
        ({"jobType": {}}, "jobType"),
    ],
)
def test_mutated_job_bodies_that_are_payload_errors(fields: dict[str, Any], field: str) -> None:
    with pytest.raises(PayloadError) as caught:
        mureka.parse_job({**DOC_JOB, **fields}, ID1)
    assert (caught.value.provider, caught.value.field) == ("mureka", field)


def test_a_404_is_unknown_and_says_why() -> None:
    assert mureka.expired(ID1) == JobResult(
        provider="mureka",
        id=ID1,
        outcome=Outcome.UNKNOWN,
        account="1234567890",
        kind="music",
        error="not found: expired or never existed (Mureka keeps jobs for 7 days)",
        raw_status="404",
    )


@pytest.mark.parametrize(
    ("job_id", "account"),
    [
        (ID1, "1234567890"),
        ("j1m-u1-a42:mureka", "42"),
        ("j1m-u1-a42-web:mureka", "42"),
        ("j1m-u1-b42-bot:mureka", None),
        ("plain", None),
    ],
)
def test_account_from_id(job_id: str, account: str | None) -> None:
    assert mureka.account_from_id(job_id) == account


# --------------------------------------------------------------------------- accounts


def test_accounts_body() -> None:
    body = {
        "1234567890": {"account": "1234567890", "email": "a@x.io"},
        "2345678901": {"account": "2345678901", "email": "b@x.io", "error": "re-add the account"},
        "3456789012": {"email": "c@x.io", "error": None},
    }
    assert mureka.parse_accounts(body) == (
        AccountHealth("mureka", "1234567890"),
        AccountHealth("mureka", "2345678901", error="re-add the account"),
        AccountHealth("mureka", "3456789012"),
    )
    with pytest.raises(PayloadError) as caught:
        mureka.parse_accounts({"1": {"error": ["x"]}})
    assert caught.value.field == "accounts.1.error"


def test_the_adapter_cannot_untrack() -> None:
    assert load("mureka") is mureka.Mureka and mureka.Mureka.can_untrack is False
    assert (mureka.Mureka.name, mureka.Mureka.title) == ("mureka", "Mureka")


# ------------------------------------------------------------- capacity: never an alert


def test_no_capacity_reading_and_no_capacity_alert() -> None:
    _, accounts = mureka.parse_jobs(DOC_QUEUE)
    assert [a.full for a in accounts] == [None, None, None]
    assert capacity_observations(accounts) == ()
    busy = Snapshot("mureka", NOW, (), tuple(no_limit(a.account, 500) for a in accounts))
    idle = Snapshot("mureka", NOW, (), tuple(no_limit(a.account, 0) for a in accounts))
    for prev, cur in ((None, idle), (idle, busy), (busy, busy), (busy, idle), (idle, idle)):
        d = diff(prev, cur, now=NOW, stuck_after=timedelta(minutes=20))
        assert d.capacity == ()
        _, events = capacity_events("mureka", d.capacity, {}, now=NOW, flap_ticks=1)
        assert events == []


# ---------------------------------------------------------------- views: one wording


def mureka_snap(*accounts: Account) -> Snapshot:
    return Snapshot("mureka", NOW - timedelta(seconds=5), (), accounts)


PIX = Snapshot("pixverse", NOW - timedelta(seconds=5), (), (Account("a@x.io", 5, 2, 3),))


def test_capacity_embed_of_mureka_alone() -> None:
    snap = mureka_snap(no_limit("1234567890", 1), no_limit("2345678901", 2))
    [page] = capacity_pages([snap], now=NOW, redact=False, titles=TITLES)
    assert page.to_dict() == {
        "type": "rich",
        "title": "Capacity — 3 running · no limit published",
        "description": "**Mureka** 3 running · no limit published · 2 accounts",
        "color": NEUTRAL.value,
        "fields": [
            {
                "name": "Mureka accounts",
                "value": "2 running · no limit published · 2345678901\n"
                "1 running · no limit published · 1234567890",
                "inline": False,
            }
        ],
        "footer": {"text": "Data from 5s ago · page 1/1 · fullest first"},
        "flags": 0,
    }


@pytest.mark.parametrize("order", ["mureka-first", "mureka-last"])
def test_capacity_embed_with_mureka_first_and_last(order: str) -> None:
    snap = mureka_snap(no_limit("1234567890", 3))
    snaps = [snap, PIX] if order == "mureka-first" else [PIX, snap]
    [page] = capacity_pages(snaps, now=NOW, redact=False, titles=TITLES)
    lines = {
        "mureka": "**Mureka** 3 running · no limit published · 1 account",
        "pixverse": "**PixVerse** ▰▰▰▰▱▱▱▱▱▱ 2/5 · 40% · 1 account",
    }
    assert page.title == "Capacity — 2/5 in use · 3 running · no limit published"
    assert page.description == "\n".join(lines[s.provider] for s in snaps)
    fields = {
        "mureka": ("Mureka accounts", "3 running · no limit published · 1234567890"),
        "pixverse": ("PixVerse accounts", "▰▰▰▰▱▱▱▱▱▱ 2/5 a@x.io"),
    }
    assert [(f.name, f.value) for f in page.fields] == [fields[s.provider] for s in snaps]


def test_status_embed_says_no_limit_published() -> None:
    snap = mureka_snap(no_limit("1234567890", 3))
    status = ProviderStatus.of("mureka", snap, last_ok=NOW, last_error=None, watcher_ok=True)
    assert status == ProviderStatus("mureka", 0, 3, None, NOW, None, True, True)
    e = status_embed([status], now=NOW, titles=TITLES)
    assert [(f.name, f.value) for f in e.fields] == [
        (
            "✅ Mureka",
            "Running: 0\nCapacity: 3 running · no limit published\n"
            f"Last good poll: {format_dt(NOW, 'R')}\nWatcher: running",
        )
    ]


def test_board_says_no_limit_published() -> None:
    jobs = (job(ID1, "1234567890", 24),)
    snap = Snapshot("mureka", NOW, jobs, (no_limit("1234567890", 1),))
    board = board_embed([snap], now=NOW, titles=TITLES, redact=False)
    assert [(f.name, f.value) for f in board.fields] == [
        (
            "Mureka",
            "Queue: 1 running (🎵 1)\nLongest: 24s\n"
            f"Capacity: 1 running · no limit published\nData from {format_dt(NOW, 'R')}",
        )
    ]
    assert board.colour == NEUTRAL


def test_opsbot_status_table_and_json() -> None:
    snap = mureka_snap(no_limit("1234567890", 3), no_limit("2345678901", 0))
    reports = [ProviderReport("mureka", "Mureka", snap, None)]
    group = tables(reports)
    assert isinstance(group, Group)
    cap = group.renderables[1]
    assert isinstance(cap, Table)
    assert cap.title == "Mureka capacity — 3 running · no limit published"
    assert [[str(c) for c in col.cells] for col in cap.columns] == [
        ["1234567890", "2345678901"],
        ["3", "0"],
        ["?", "?"],
        ["?", "?"],
    ]
    assert to_json(reports, NOW)["providers"][0]["accounts"] == [
        {"account": "1234567890", "max_jobs": None, "executing": 3, "available": None},
        {"account": "2345678901", "max_jobs": None, "executing": 0, "available": None},
    ]


# ------------------------------------------------------- the adapter over real HTTP


def mureka_sim() -> Simulator:
    return Simulator(
        seed=4, accounts=3, jobs=5, token=SIM_TOKEN, clock=ManualClock(), providers=["mureka"]
    )


async def test_adapter_against_the_simulator() -> None:
    sim = mureka_sim()
    sim.churn = False
    async with SimServer(sim) as server, UseapiClient(server.url, SecretStr(SIM_TOKEN)) as c:
        adapter = mureka.Mureka(c)
        snap = await adapter.fetch()
        truth = sim.running("mureka")
        assert sorted(j.id for j in snap.jobs) == sorted(j.id for j in truth)
        assert {j.id: j.account for j in snap.jobs} == {j.id: j.account for j in truth}
        assert all(j.kind == "music" and j.elapsed_seconds is not None for j in snap.jobs)
        assert sorted(snap.accounts, key=lambda a: a.account) == [
            no_limit(a.account, a.executing)
            for a in sorted(sim.accounts("mureka"), key=lambda a: a.account)
        ]
        assert snap.no_limit

        running = sim.start_job("mureka", kind="tts", duration=math.inf)
        result = await adapter.fetch_job(running)
        assert (result.outcome, result.extra["jobType"]) == (Outcome.RUNNING, "tts")
        assert result.account == sim.job(running).account  # type: ignore[union-attr]
        for outcome in ("completed", "failed", "moderated", "cancelled"):
            job_id = sim.start_job("mureka", duration=math.inf)
            sim.finish_job(job_id, outcome)
            assert (await adapter.fetch_job(job_id)).outcome == Outcome(outcome)
        done = await adapter.fetch_job(job_id)
        assert done.raw_status == "cancelled"

        sim.advance(7 * 86_400 - 1)  # kept 7 days …
        assert (await adapter.fetch_job(job_id)).outcome == Outcome.CANCELLED
        sim.advance(2)  # … then 404
        assert await adapter.fetch_job(job_id) == mureka.expired(job_id)

        health = await adapter.fetch_accounts()
        assert health == tuple(AccountHealth("mureka", a.account) for a in sim.accounts("mureka"))
        sim.pin("/v1/mureka/accounts", {"error": "No accounts configured", "code": 404}, 404)
        assert await adapter.fetch_accounts() == ()
