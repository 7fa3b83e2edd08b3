"""`opsbot status` / `opsbot check` end to end: the real CLI against the simulator over HTTP."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import stamina

from bot import cli
from rig.threadsim import TOKEN, threaded_sim

SEEDS = Path(__file__).parent / "data" / "seeds"
ENV_NAMES = (
    "DISCORD_TOKEN",
    "USEAPI_TOKEN",
    "USEAPI_BASE_URL",
    "PROVIDERS",
    "GUILD_IDS",
    "ALERT_CHANNEL_ID",
    "POLL_INTERVAL_SECONDS",
    "DATABASE_URL",
    "LOG_LEVEL",
)


def seed(name: str) -> Any:
    return json.loads((SEEDS / name).read_text())


@pytest.fixture
def env(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("USEAPI_TOKEN", TOKEN)
    return monkeypatch


@pytest.fixture
def sim_env(env):
    with threaded_sim(accounts=9, jobs=18) as (url, sim):
        env.setenv("USEAPI_BASE_URL", url)
        yield sim


@pytest.fixture
def fast_retries():
    """Retries still happen and still stop at the client's bound; only the waits go."""
    stamina.set_testing(True, attempts=4, cap=True)
    yield
    stamina.set_testing(False)


def status_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    code = cli.main(["status", "--json", *args])
    out = capsys.readouterr().out
    return code, json.loads(out)


def by_provider(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {p["provider"]: p for p in doc["providers"]}


def test_seed_examples_come_out_of_status_json(sim_env, capsys):
    sim = sim_env
    sim.pin("/v2/pixverse/scheduler/", seed("pixverse-v2-scheduler.json"))
    sim.pin("/v2/pixverse/scheduler/available", seed("pixverse-v2-scheduler-available.json"))
    sim.pin("/v1/minimax/scheduler/", seed("minimax-v1-scheduler.json"))
    sim.pin("/v1/dreamina/scheduler", seed("dreamina-v1-scheduler.json"))

    code, doc = status_json(capsys)
    assert code == 0
    assert set(doc) == {"taken_at", "providers"}
    assert doc["taken_at"].endswith("Z")
    p = by_provider(doc)
    assert [e["provider"] for e in doc["providers"]] == ["pixverse", "minimax", "dreamina"]
    assert all(e["ok"] and e["error"] is None for e in doc["providers"])

    assert p["pixverse"]["jobs"] == [
        {
            "id": "user:user_id-pixverse:email-video:id1",
            "kind": "video",
            "account": "email",
            "started": "2024-09-25T01:55:16.128Z",
            "elapsed_seconds": 237,
            "model": None,
        },
        {
            "id": "user:user_id-pixverse:email-video:inN",
            "kind": "video",
            "account": "email",
            "started": "2024-09-25T01:58:18.555Z",
            "elapsed_seconds": 35,
            "model": None,
        },
    ]
    assert p["pixverse"]["accounts"] == [
        {"account": "<email_1>", "max_jobs": 5, "executing": 0, "available": 5},
        {"account": "<email_2>", "max_jobs": 8, "executing": 3, "available": 2},
        {"account": "<email_N>", "max_jobs": 3, "executing": 2, "available": 1},
    ]
    assert p["minimax"]["jobs"] == [
        {
            "id": "user:user_id-minimax:account-video:id1",
            "kind": "video",
            "account": "account",
            "started": "2024-09-25T01:55:16.128Z",
            "elapsed_seconds": 237,
            "model": None,
        },
        {
            "id": "user:user_id-minimax:account-image:inN",
            "kind": "image",
            "account": "account",
            "started": "2024-09-25T01:58:18.555Z",
            "elapsed_seconds": 35,
            "model": None,
        },
    ]
    [dj] = p["dreamina"]["jobs"]
    assert dj == {
        "id": "j0223140530123456789v-u12345-US:user@example.com:dreamina",
        "kind": "video",
        "account": "US:user@example.com",
        "started": None,
        "elapsed_seconds": 45,
        "model": "seedance-2.0",
    }

    # The newer PixVerse scheduler shape (id + type) and Dreamina's empty answer.
    sim.pin("/v2/pixverse/scheduler/", seed("pixverse-v2-scheduler-available.json")["executing"])
    sim.pin("/v1/dreamina/scheduler", seed("dreamina-v1-scheduler-empty.json"))
    code, doc = status_json(capsys)
    p = by_provider(doc)
    assert code == 0
    assert [(j["id"], j["kind"], j["elapsed_seconds"]) for j in p["pixverse"]["jobs"]] == [
        ("user:user_id-pixverse:email-video:id1", "video", 237),
        ("user:user_id-pixverse:email-image:id2", "image", 35),
    ]
    assert p["dreamina"]["jobs"] == []


def test_live_simulator_population_matches_its_ground_truth(sim_env, capsys):
    sim = sim_env
    code, doc = status_json(capsys)
    assert code == 0
    p = by_provider(doc)
    for name in ("pixverse", "minimax", "dreamina"):
        assert {j["id"] for j in p[name]["jobs"]} == {j.id for j in sim.running(name)}
        assert {a["account"] for a in p[name]["accounts"]} == {
            a.account if hasattr(a, "account") else a.id for a in sim.accounts(name)
        }
        for acc in p[name]["accounts"]:
            assert acc["max_jobs"] is not None
            assert acc["available"] == acc["max_jobs"] - acc["executing"]


def test_runway_in_status_json(sim_env, env, capsys):
    """Runway's queue gives no start: a one-shot status has no first sighting either, so
    `started` and `elapsed_seconds` are null (the watcher's views count from the first tick
    that saw a job; `opsbot status` is one fetch). Capacity: maxJobs minus the running jobs."""
    sim = sim_env
    env.setenv("PROVIDERS", "pixverse,runway")
    code, doc = status_json(capsys)
    assert code == 0
    p = by_provider(doc)
    assert list(p) == ["pixverse", "runway"] and p["runway"]["ok"]
    assert sorted(p["runway"]["jobs"], key=lambda j: j["id"]) == sorted(
        (
            {
                "id": j.id,
                "kind": None,
                "account": j.account,
                "started": None,
                "elapsed_seconds": None,
                "model": None,
            }
            for j in sim.running("runway")
        ),
        key=lambda j: str(j["id"]),
    )
    assert p["runway"]["accounts"] == [
        {
            "account": a.account,
            "max_jobs": a.max_jobs,
            "executing": a.executing,
            "available": a.available,
        }
        for a in sim.accounts("runway")
    ]
    sim.pin("/v1/runwayml/scheduler/", seed("runway-v1-scheduler.json"))
    sim.pin("/v1/runwayml/accounts", seed("runway-v1-accounts.json"))
    code, doc = status_json(capsys, "--provider", "runway")
    assert code == 0
    [entry] = doc["providers"]
    assert [(j["id"], j["account"], j["started"]) for j in entry["jobs"]] == [
        ("user:user_id-runwayml:account_email-task:task_uuid", "account_email", None),
        (
            "user:U-runwayml:ann-lee@studio-4.example-task:0b5cb6c8-1c4d-4f36-9b6e-3f6a0d9b1e2a",
            "ann-lee@studio-4.example",
            None,
        ),
    ]
    assert entry["accounts"] == [
        {"account": "ann-lee@studio-4.example", "max_jobs": 5, "executing": 1, "available": 4},
        {"account": "bo@x.example", "max_jobs": 1, "executing": 0, "available": 1},
        {"account": "account_email", "max_jobs": None, "executing": 1, "available": None},
    ]


def test_provider_option_limits_the_fetch(sim_env, capsys):
    code, doc = status_json(capsys, "--provider", "minimax")
    assert code == 0
    assert [p["provider"] for p in doc["providers"]] == ["minimax"]
    assert sim_env.request_count("pixverse") == 0


FAULTS = [
    ("status", {"status": 401}, 401, "Unauthorized"),
    ("status", {"status": 402}, 402, None),
    ("status", {"status": 596}, 596, None),
    ("status", {"status": 429}, 429, None),
    ("status", {"status": 500}, 500, None),
    ("status", {"status": 503}, 503, None),
    ("garbage", {}, 200, "not JSON"),
    ("html", {}, 502, None),
]


@pytest.mark.parametrize(
    ("kind", "kwargs", "status", "text"), FAULTS, ids=[f"{f[0]}-{f[2]}" for f in FAULTS]
)
def test_fault_is_reported_in_its_provider_entry(
    sim_env, capsys, fast_retries, kind, kwargs, status, text
):
    sim_env.faults.set("/v1/minimax/", kind, **kwargs)
    code, doc = status_json(capsys)
    assert code == 1
    p = by_provider(doc)
    assert p["minimax"]["ok"] is False
    assert p["minimax"]["jobs"] == [] and p["minimax"]["accounts"] == []
    assert p["minimax"]["error"]["status"] == status
    assert p["minimax"]["error"]["message"]
    if text:
        assert text in p["minimax"]["error"]["message"]
    for other in ("pixverse", "dreamina"):
        assert p[other]["ok"] is True and p[other]["jobs"]


def test_status_tables_name_the_failing_provider(sim_env, capsys):
    sim_env.faults.set("dreamina", "status", status=401)
    assert cli.main(["status"]) == 1
    out = capsys.readouterr().out
    assert "Dreamina" in out and "401" in out
    assert "PixVerse" in out and "capacity" in out


def test_retries_on_429_then_succeeds(sim_env, capsys, fast_retries):
    sim_env.faults.set("/v2/pixverse/scheduler/$", "status", status=429, count=2)
    code, doc = status_json(capsys, "--provider", "pixverse")
    assert code == 0 and doc["providers"][0]["ok"]
    assert sim_env.request_count("/v2/pixverse/scheduler/$") == 3


@pytest.mark.parametrize("status", [429, 500, 502])
def test_retries_stop_at_the_bound(sim_env, capsys, fast_retries, status):
    sim_env.faults.set("/v2/pixverse/scheduler/available", "status", status=status)
    code, doc = status_json(capsys, "--provider", "pixverse")
    assert code == 1
    assert doc["providers"][0]["error"]["status"] == status
    assert sim_env.request_count("/v2/pixverse/scheduler/available") == 4


def test_client_errors_are_not_retried(sim_env, capsys, fast_retries):
    sim_env.faults.set("/v2/pixverse/scheduler/available", "status", status=401)
    status_json(capsys, "--provider", "pixverse")
    assert sim_env.request_count("/v2/pixverse/scheduler/available") == 1


def test_wrong_token_is_401_for_every_provider(sim_env, env, capsys):
    env.setenv("USEAPI_TOKEN", "not-the-right-token")
    code, doc = status_json(capsys)
    assert code == 1
    assert {p["provider"]: p["error"]["status"] for p in doc["providers"]} == {
        "pixverse": 401,
        "minimax": 401,
        "dreamina": 401,
    }


def test_token_never_appears_in_logs_or_output(sim_env, env, capsys, caplog, fast_retries):
    env.setenv("LOG_LEVEL", "DEBUG")
    caplog.set_level(logging.DEBUG)
    sim_env.faults.set("/v2/pixverse/", "status", status=500)
    sim_env.faults.set("/v1/minimax/", "garbage")
    sim_env.faults.set("/v1/dreamina/", "status", status=401)
    assert cli.main(["status", "--json"]) == 1
    assert cli.main(["status"]) == 1
    assert cli.main(["check"]) == 1
    captured = capsys.readouterr()
    everything = (
        captured.out + captured.err + caplog.text + "".join(str(r.__dict__) for r in caplog.records)
    )
    assert "GET /v2/pixverse" in everything or "pixverse" in everything  # we did log something
    assert TOKEN not in everything
    assert TOKEN[-12:] not in everything


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("POLL_INTERVAL_SECONDS", "1"),
        ("USEAPI_BASE_URL", "::nope::"),
        ("PROVIDERS", "pixverse,nosuch"),
    ],
)
def test_bad_setting_exits_2_with_one_line(env, capsys, name, value):
    env.setenv(name, value)
    assert cli.main(["status", "--json"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and name in lines[0]
    assert "Traceback" not in captured.err


def test_missing_token_exits_2(env, capsys):
    env.delenv("USEAPI_TOKEN")
    assert cli.main(["status"]) == 2
    assert "USEAPI_TOKEN" in capsys.readouterr().err


def test_unknown_provider_option_exits_2(sim_env, capsys):
    assert cli.main(["status", "--provider", "kling"]) == 2
    assert "--provider" in capsys.readouterr().err


def test_check_reports_one_line_per_provider(sim_env, capsys):
    assert cli.main(["check"]) == 0
    out = capsys.readouterr().out
    for name in ("pixverse", "minimax", "dreamina"):
        assert f"✓ {name}: reached" in out
    sim_env.faults.set("pixverse", "status", status=401)
    assert cli.main(["check"]) == 1
    assert "✗ pixverse" in capsys.readouterr().out


def test_console_script_end_to_end(tmp_path):
    """`opsbot simulate` and `python -m bot status --json` as real processes."""
    env = {k: v for k, v in os.environ.items() if k not in ENV_NAMES}
    sim = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bot",
            "simulate",
            "--port",
            "0",
            "--token",
            "proc-token",
            "--accounts",
            "6",
            "--jobs",
            "12",
        ],
        stdout=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env=env,
    )
    try:
        assert sim.stdout is not None
        line = sim.stdout.readline()
        assert "listening on http://127.0.0.1:" in line
        url = line.split("listening on ")[1].split()[0]
        env.update(USEAPI_BASE_URL=url, USEAPI_TOKEN="proc-token")
        done = subprocess.run(
            [sys.executable, "-m", "bot", "status", "--json"],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            env=env,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        doc = json.loads(done.stdout)
        assert sum(len(p["jobs"]) for p in doc["providers"]) > 0
        assert "proc-token" not in done.stdout + done.stderr
    finally:
        sim.terminate()
        sim.wait(10)


def test_redact_accounts_masks_emails_in_status(sim_env, env, capsys):
    env.setenv("REDACT_ACCOUNTS", "true")
    emails = [a.email for p in ("pixverse", "dreamina") for a in sim_env.accounts(p) if a.email]
    assert emails
    code, doc = status_json(capsys)
    assert code == 0
    assert cli.main(["status"]) == 0
    text = json.dumps(doc) + capsys.readouterr().out
    assert "***@" in text
    for email in emails:
        assert email not in text


def test_check_hides_the_database_password(sim_env, env, capsys):
    env.setenv("DATABASE_URL", "postgresql+asyncpg://ops:S3cretPw@db.example/ops")
    cli.main(["check"])
    out = capsys.readouterr().out
    assert "S3cretPw" not in out
    assert "postgresql+asyncpg://ops:***@db.example/ops" in out


async def test_an_adapter_bug_is_that_providers_error_in_status_not_a_traceback() -> None:
    """`opsbot status` gathers every provider: one adapter failing on something it did not
    expect is that provider's error, the others are reported as usual."""
    from datetime import UTC, datetime
    from typing import ClassVar

    from bot import errors
    from bot.models import JobResult, Snapshot
    from bot.providers.base import Provider
    from bot.report import ProviderReport, collect

    taken = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)

    class Fine(Provider):
        name: ClassVar[str] = "fine"
        title: ClassVar[str] = "Fine"

        async def snapshot(self) -> Snapshot:
            return Snapshot("fine", taken)

        async def job(self, job_id: str) -> JobResult:
            raise NotImplementedError

    class Broken(Fine):
        name: ClassVar[str] = "broken"
        title: ClassVar[str] = "Broken"

        async def snapshot(self) -> Snapshot:
            body: dict[str, Snapshot] = {}  # useapi's answer, missing what the adapter reads
            return body["executing"]

    reports = await collect([Broken(None), Fine(None)])  # type: ignore[arg-type]
    assert reports[1] == ProviderReport("fine", "Fine", Snapshot("fine", taken), None)
    broken = reports[0]
    assert (broken.provider, broken.snapshot, type(broken.error)) == (
        "broken",
        None,
        errors.PayloadError,
    )
    assert str(broken.error) == "broken: could not read useapi's answer (KeyError: 'executing')"


def test_mureka_publishes_no_limit_in_json_and_tables(sim_env, env, capsys):
    """Mureka's accounts come out with `max_jobs`/`available` null (the contract), and the
    table says so in words; the only Mureka account, after the other provider's."""
    env.setenv("PROVIDERS", "pixverse,mureka")
    job_id = "j1128115936123456789m-u777-a1234567890-bot:mureka"
    sim_env.pin(
        "/v1/mureka/jobs",
        {
            "total": 1,
            "music": 1,
            "tts": 0,
            "accounts": {
                "1234567890": {
                    "total": 1,
                    "music": 1,
                    "tts": 0,
                    "jobs": [{"jobid": job_id, "verb": "music/create", "elapsed": "1m 23s"}],
                }
            },
            "availableAccounts": [],
        },
    )
    code, doc = status_json(capsys)
    assert code == 0
    assert [e["provider"] for e in doc["providers"]] == ["pixverse", "mureka"]
    assert by_provider(doc)["mureka"] == {
        "provider": "mureka",
        "ok": True,
        "error": None,
        "jobs": [
            {
                "id": job_id,
                "kind": "music",
                "account": "1234567890",
                "started": None,
                "elapsed_seconds": 83,
                "model": None,
            }
        ],
        "accounts": [
            {"account": "1234567890", "max_jobs": None, "executing": 1, "available": None}
        ],
    }
    assert cli.main(["status", "--provider", "mureka"]) == 0
    out = capsys.readouterr().out
    assert "Mureka capacity — 1 running · no limit published" in out
