"""Mureka's capacity that nobody publishes: never a capacity reading or alert, and one wording,
"N running · no limit published", in /capacity, /status, /board and `opsbot status`, checked
as whole views; its accounts endpoint; and the adapter over real HTTP against the simulator
(the 7-day 404 too)."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

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
from bot.models import Account, AccountHealth, Job, Outcome, Snapshot
from bot.providers import load, mureka
from bot.report import ProviderReport, tables, to_json
from bot.sim import ManualClock, SimServer, Simulator
from bot.useapi import UseapiClient
from rig.simhttp import SIM_TOKEN

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
TITLES = {"pixverse": "PixVerse", "mureka": "Mureka"}
ID1 = "j1128115936123456789m-u777-a1234567890-bot:mureka"
DOC_QUEUE = json.loads((Path(__file__).parent / "data/seeds/mureka-v1-jobs.json").read_text())


def job(job_id: str, account: str, elapsed: int | None) -> Job:
    return Job("mureka", job_id, "music", account, None, elapsed, None)


def no_limit(account: str, executing: int) -> Account:
    return Account(account, None, executing, None)


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


# ------------------------------------------------------------- capacity: never an alert


def test_no_capacity_reading_and_no_capacity_alert() -> None:
    _, accounts = mureka.parse_jobs(DOC_QUEUE)
    assert [a.full for a in accounts] == [None]
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
