"""Secrets and privacy under fire.

The token checks read what the CI chaos soak (`tests/soak.py`, shared with test_soak.py and run
once per session) left behind: the `python -m bot run` subprocesses' whole output at DEBUG, the
in-process bot's logging (every record, no filter), the error texts its watchers recorded,
every body the fake Discord received, the settings' repr/str and the raw bytes of the SQLite
files. The soak's upstream answers 401 with the useapi token echoed in the error text now and
then (a hostile proxy), so a token that slipped through would show up there.

`REDACT_ACCOUNTS=true` is checked by a short run of its own: alerts of every kind plus the
commands, and then no raw account e-mail in anything Discord received.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import re
import sys
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from bot import errors
from bot.settings import ConfigError, load_settings
from bot.sim import ManualClock, SimServer, Simulator
from bot.useapi import UseapiClient
from tests.botharness import TOKEN
from tests.fakediscord import ADMIN_PERMISSIONS
from tests.soak import ROOT, SoakResult, ci_result

JSON = dict[str, Any]


def _tokens(res: SoakResult) -> list[str]:
    return [res.discord_token, res.useapi_token]


def _leaks(text: str | bytes, secrets: list[str]) -> list[str]:
    data = text if isinstance(text, bytes) else text.encode("utf-8", "replace")
    return [s for s in secrets if s.encode() in data]


#: The first test to ask for the soak runs it (~50 s); the others reuse it.
pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def soak() -> SoakResult:
    return ci_result()


# --------------------------------------------------------------------------- tokens

def test_the_soak_fed_the_bot_a_hostile_upstream(soak: SoakResult) -> None:
    """Precondition of the checks below: the token was echoed back at the bot, in both the
    subprocess and the in-process phase, and that produced an `unauthorized` alert."""
    assert soak.report.faults["upstream 401 (echoing the token)"] >= 2
    assert any("unauthorized" in body for body in soak.request_bodies)


def test_no_token_in_the_bot_process_output(soak: SoakResult) -> None:
    assert len(soak.subprocess_output) >= 2
    for path in soak.subprocess_output:
        data = path.read_bytes()
        assert b"synced" in data, f"{path} holds no bot log"  # it really logged (at DEBUG)
        assert not _leaks(data, _tokens(soak)), f"token in {path.name}"
    # The echoed 401 reached the log – as text without the token.
    assert any(b"(401)" in p.read_bytes() for p in soak.subprocess_output)


def test_no_token_in_in_process_logging(soak: SoakResult) -> None:
    assert "DEBUG discord" in soak.log_text and "unauthorized" in soak.log_text
    assert not _leaks(soak.log_text, _tokens(soak))


def test_no_token_in_exception_texts(soak: SoakResult) -> None:
    assert any("401" in e for e in soak.errors), soak.errors[:5]
    for text in soak.errors:
        assert not _leaks(text, _tokens(soak)), text


def test_no_token_in_anything_discord_received(soak: SoakResult) -> None:
    assert len(soak.request_bodies) > 100
    for body in soak.request_bodies:
        assert not _leaks(body, _tokens(soak)), body[:300]


def test_no_token_in_the_settings_text(soak: SoakResult) -> None:
    assert soak.settings_text
    for text in soak.settings_text:
        assert "**********" in text
        assert not _leaks(text, _tokens(soak)), text
    settings = load_settings(discord_token=soak.discord_token, useapi_token=soak.useapi_token)
    for text in (repr(settings), str(settings), settings.model_dump_json(),
                 repr(settings.model_dump()), repr(settings.useapi_token)):
        assert not _leaks(text, _tokens(soak)), text
    with pytest.raises(ConfigError) as bad:
        load_settings(discord_token=soak.discord_token, useapi_token=soak.useapi_token,
                      poll_interval_seconds=1)
    assert "POLL_INTERVAL_SECONDS" in str(bad.value)
    assert not _leaks(str(bad.value), _tokens(soak))


def test_no_token_in_the_database_file(soak: SoakResult) -> None:
    files = sorted(soak.db_path.parent.glob(soak.db_path.name + "*"))
    data = b"".join(f.read_bytes() for f in files)
    assert b"SQLite format 3" in data and b"upstream:" in data and b"unauthorized" in data
    assert not _leaks(data, _tokens(soak))


async def test_an_echoed_token_is_not_in_the_client_error() -> None:
    """The useapi client masks its own token in whatever upstream sends back (a 401 text, a
    garbage body, a job's error field), so no error text, log line, alert detail or `opsbot
    check` output can carry it."""
    token = "sk-useapi-echo-7d1f9c2b44e0"
    sim = Simulator(seed=2, accounts=3, jobs=3, token=token, clock=ManualClock(), churn=False)
    sim.faults.set("pixverse", "status", status=401,
                   body={"error": f"Bearer {token} is not a valid token", "code": 401})
    sim.faults.set("minimax", "garbage", body=f"<html>token={token}</html>")
    sim.pin("/v1/dreamina/videos/j1", {"jobid": "j1", "status": "failed",
                                       "error": f"upstream session {token} rejected"})
    async with SimServer(sim) as server, UseapiClient(server.url, SecretStr(token)) as client:
        job = await client.get_json("/v1/dreamina/videos/j1", provider="dreamina")
        assert job["error"] == "upstream session *** rejected"  # data is masked as well
        with pytest.raises(errors.Unauthorized) as unauthorized:
            await client.get_json("/v2/pixverse/scheduler/", provider="pixverse")
        with pytest.raises(errors.PayloadError) as garbage:
            await client.get_json("/v1/minimax/scheduler/", provider="minimax", retry=False)
    for exc in (unauthorized.value, garbage.value):
        texts = [str(exc), repr(exc), exc.message, *map(str, exc.args)]
        assert all(token not in t for t in texts), texts
    assert "not a valid token" in str(unauthorized.value)  # the rest of the text is kept
    assert token not in repr(client)


async def test_opsbot_check_and_status_print_no_echoed_token(tmp_path: Path) -> None:
    token = "sk-useapi-cli-echo-55aa01"
    sim = Simulator(seed=2, accounts=3, jobs=3, token=token, clock=ManualClock(), churn=False)
    sim.faults.set("dreamina", "status", status=401,
                   body={"error": f"invalid token {token}"})
    async with SimServer(sim) as server:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("USEAPI_", "DISCORD_"))}
        env.update(USEAPI_TOKEN=token, USEAPI_BASE_URL=server.url,
                   PYTHONPATH=str(ROOT), LOG_LEVEL="DEBUG")
        for args in (["check"], ["status", "--json"]):
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", *args, cwd=tmp_path, env=env,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
            out, err = await asyncio.wait_for(proc.communicate(), 60)
            assert proc.returncode == 1, (args, out, err)  # dreamina failed, others fine
            assert b"invalid token" in out, (args, out)
            assert token.encode() not in out + err, (args, out, err)


# --------------------------------------------------------------------------- REDACT_ACCOUNTS

def _bodies(fake: Any) -> list[str]:
    """Every body the fake Discord received, as text, plus the same with markdown escapes and
    zero-width spaces taken out (an escaped e-mail is still an e-mail)."""
    out = []
    for r in fake.requests:
        if r.json is None:
            continue
        text = r.json if isinstance(r.json, str) else json.dumps(r.json, ensure_ascii=False)
        out += [text, text.replace("\\\\", "").replace("\\", "").replace("\u200b", "")]
    return out


async def test_redact_accounts_leaves_no_raw_email_in_discord(start_bot: Any) -> None:
    sim = Simulator(seed=21, accounts=6, jobs=0, token=TOKEN, clock=ManualClock(),
                    churn=False)
    h = await start_bot(sim=sim, redact_accounts=True, stuck_after_minutes=20)
    emails = sorted({a.email for p in sim.providers for a in sim.accounts(p) if a.email})
    assert len(emails) >= 4
    pv = [a.account for a in sim.accounts("pixverse")]
    dr = [a.account for a in sim.accounts("dreamina")]
    # jobs whose ids carry the account e-mail, finishing; an account filled up (capacity);
    # a job 25 min in (stuck); a 402 whose text names an account (upstream).
    for account in (pv[0], dr[0]):
        sim.start_job("dreamina" if account in dr else "pixverse",
                      account, duration=60, outcome="completed")
    sim.fill_account("pixverse", pv[-1], duration=math.inf)
    stuck = sim.start_job("dreamina", dr[-1], duration=math.inf, elapsed=25 * 60)
    sim.faults.set("minimax", "status", status=402,
                   body={"error": f"subscription of {emails[0]} expired", "code": 402})
    for _ in range(3):
        await h.tick()
        sim.advance(90)
    await h.deliver()
    posted = [e for m in h.fake.messages() for e in m["embeds"]]
    titles = " ".join(e.get("title", "") for e in posted)
    for word in ("completed", "exhausted", "stuck", "payment required"):
        assert word in titles, f"no {word} alert: {titles[:500]}"
    # the commands that show accounts and ids, public and private
    for name, options in (("queue", {}), ("capacity", {}), ("status", {}),
                          ("queue", {"provider": "dreamina", "private": True}),
                          ("job", {"provider": "dreamina", "id": stuck})):
        done = asyncio.ensure_future(h.bot.wait_for(
            "app_command_completion", check=lambda i, c, n=name: c.qualified_name == n,
            timeout=10))
        await asyncio.sleep(0)
        await h.fake.invoke(name, options, permissions=ADMIN_PERMISSIONS)
        await done
    bodies = _bodies(h.fake)
    assert any("***@" in b for b in bodies)  # accounts were shown, masked
    for email in emails:
        leaked = [b[:200] for b in bodies if email in b]
        assert not leaked, f"{email} shown raw: {leaked[:2]}"
    assert not any(re.search(r"[\w.+-]{2,}@[\w-]+\.example", b) for b in bodies)
