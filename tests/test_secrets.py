"""Secrets and privacy under fire.

The token checks read what the CI chaos soak (`rig/soak/`, shared with test_soak.py and run
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
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from bot import errors
from bot.settings import DEFAULT_PROVIDERS, ConfigError, load_settings
from bot.sim import ManualClock, SimServer, Simulator
from bot.text import escape
from bot.tokenmask import TokenMask
from bot.useapi import UseapiClient
from rig.botharness import TOKEN
from rig.fakediscord import ADMIN_PERMISSIONS
from rig.process import ROOT
from rig.soak import SoakResult, ci_result

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
    for text in (
        repr(settings),
        str(settings),
        settings.model_dump_json(),
        repr(settings.model_dump()),
        repr(settings.useapi_token),
    ):
        assert not _leaks(text, _tokens(soak)), text
    with pytest.raises(ConfigError) as bad:
        load_settings(
            discord_token=soak.discord_token,
            useapi_token=soak.useapi_token,
            poll_interval_seconds=1,
        )
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
    sim.faults.set(
        "pixverse",
        "status",
        status=401,
        body={"error": f"Bearer {token} is not a valid token", "code": 401},
    )
    sim.faults.set("minimax", "garbage", body=f"<html>token={token}</html>")
    sim.pin(
        "/v1/dreamina/videos/j1",
        {"jobid": "j1", "status": "failed", "error": f"upstream session {token} rejected"},
    )
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
    sim.faults.set("dreamina", "status", status=401, body={"error": f"invalid token {token}"})
    async with SimServer(sim) as server:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("USEAPI_", "DISCORD_"))}
        env.update(
            USEAPI_TOKEN=token, USEAPI_BASE_URL=server.url, PYTHONPATH=str(ROOT), LOG_LEVEL="DEBUG"
        )
        for args in (["check"], ["status", "--json"]):
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot",
                *args,
                cwd=tmp_path,
                env=env,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
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
        out += [text, text.replace("\\\\", "").replace("\\", "")]
    return out


async def test_redact_accounts_leaves_no_raw_email_in_discord(start_bot: Any) -> None:
    sim = Simulator(
        seed=21,
        accounts=6,
        jobs=0,
        token=TOKEN,
        clock=ManualClock(),
        churn=False,
        providers=DEFAULT_PROVIDERS,  # the bot's, two accounts each
    )
    h = await start_bot(sim=sim, redact_accounts=True, stuck_after_minutes=20)
    emails = sorted({a.email for p in sim.providers for a in sim.accounts(p) if a.email})
    assert len(emails) >= 4
    pv = [a.account for a in sim.accounts("pixverse")]
    dr = [a.account for a in sim.accounts("dreamina")]
    # jobs whose ids carry the account e-mail, finishing; an account filled up (capacity);
    # a job 25 min in (stuck); a 402 whose text names an account (upstream).
    for account in (pv[0], dr[0]):
        sim.start_job(
            "dreamina" if account in dr else "pixverse", account, duration=60, outcome="completed"
        )
    sim.fill_account("pixverse", pv[-1], duration=math.inf)
    stuck = sim.start_job("dreamina", dr[-1], duration=math.inf, elapsed=25 * 60)
    sim.faults.set(
        "minimax",
        "status",
        status=402,
        body={"error": f"subscription of {emails[0]} expired", "code": 402},
    )
    for _ in range(3):
        await h.tick()
        sim.advance(90)
    await h.deliver()
    posted = [e for m in h.fake.messages() for e in m["embeds"]]
    titles = " ".join(e.get("title", "") for e in posted)
    for word in ("completed", "exhausted", "stuck", "payment required"):
        assert word in titles, f"no {word} alert: {titles[:500]}"
    # the commands that show accounts and ids, public and private
    for name, options in (
        ("queue", {}),
        ("capacity", {}),
        ("status", {}),
        ("queue", {"provider": "dreamina", "private": True}),
        ("job", {"provider": "dreamina", "id": stuck}),
    ):
        done = asyncio.ensure_future(
            h.bot.wait_for(
                "app_command_completion",
                check=lambda i, c, n=name: c.qualified_name == n,
                timeout=10,
            )
        )
        await asyncio.sleep(0)
        await h.fake.invoke(name, options, permissions=ADMIN_PERMISSIONS)
        await done
    bodies = _bodies(h.fake)
    assert any("***@" in b for b in bodies)  # accounts were shown, masked
    for email in emails:
        leaked = [b[:200] for b in bodies if email in b]
        assert not leaked, f"{email} shown raw: {leaked[:2]}"
    assert not any(re.search(r"[\w.+-]{2,}@[\w-]+\.example", b) for b in bodies)


# --------------------------------------------------------------------------- disguised echoes

#: Shaped like a useapi token: `user:<id>-` and a random (secret) part. Job ids of the same
#: user begin with the same ten characters.
ECHO_TOKEN = "user:4321-Zx8Qp2Lm7Vn4Rt6Yw1Ks9Hd3"


def _escaped(text: str) -> str:
    """`text` as JSON escapes, every character (what `\\u0068idden…` echoes look like)."""
    return "".join(f"\\u{ord(c):04x}" for c in text)


T = ECHO_TOKEN
#: (what upstream wrote inside a JSON string, what the user must see). A run is masked when it
#: holds 16 characters of the secret part (after `user:4321-`, T[10:]); ids that share the
#: prefix, and runs of 15 secret characters, prefix or not, stay as they are.
ECHOES = [
    pytest.param(f"session {T} rejected", "session *** rejected", id="raw"),
    pytest.param(f"session {_escaped(T)} rejected", "session *** rejected", id="escaped"),
    pytest.param(f"session \\u0075{T[1:]} rejected", "session *** rejected", id="one-escape"),
    pytest.param(f"session {T[:-1]} rejected", "session *** rejected", id="less-last-char"),
    pytest.param(
        f"session {_escaped(T[:-1])} rejected", "session *** rejected", id="less-last-char-escaped"
    ),
    pytest.param(f"session {T[1:]} rejected", "session *** rejected", id="less-first-char"),
    pytest.param(f"a{T[:10]}\\u005a{T[11:28]}b", "a***b", id="mixed-cut"),
    pytest.param(f"x {T[:26]} y", "x *** y", id="prefix-and-16-secret"),
    pytest.param(f"x {T[:25]} y", f"x {T[:25]} y", id="prefix-and-15-secret-kept"),
    pytest.param(f"x {T[10:26]} y", "x *** y", id="16-secret-alone"),
    pytest.param(f"x {T[10:25]} y", f"x {T[10:25]} y", id="15-secret-kept"),
    pytest.param(f"x {T[-16:]}", "x ***", id="tail-of-16"),
    pytest.param(f"x {T[-15:]}", f"x {T[-15:]}", id="tail-of-15-kept"),
    pytest.param(f"{T}{T}", "***", id="twice-overlapping"),
    pytest.param(
        "user:4321-dreamina:US:ops@example.com",
        "user:4321-dreamina:US:ops@example.com",
        id="id-sharing-the-prefix",
    ),
]


@pytest.mark.parametrize(("written", "seen"), ECHOES)
async def test_echoes_in_a_2xx_job_body_are_masked_after_decoding(written: str, seen: str) -> None:
    sim = Simulator(seed=2, accounts=3, jobs=0, token=ECHO_TOKEN, clock=ManualClock(), churn=False)
    # A job body as upstream would write it, the echo inside the `error` text, a key and a
    # nested string; pinned as text so the escapes reach the client as written.
    sim.pin(
        "/v1/dreamina/videos/j1",
        '{"jobid":"j1","status":"failed","error":"'
        + written
        + '","request":{"prompt":"'
        + written
        + '"},"'
        + written
        + '":1}',
    )
    async with SimServer(sim) as server, UseapiClient(server.url, SecretStr(ECHO_TOKEN)) as client:
        body = await client.get_json("/v1/dreamina/videos/j1", provider="dreamina")
    assert body == {
        "jobid": "j1",
        "status": "failed",
        "error": seen,
        "request": {"prompt": seen},
        seen: 1,
    }


@pytest.mark.parametrize(("written", "seen"), ECHOES)
async def test_echoes_in_a_4xx_error_text_are_masked_after_decoding(
    written: str, seen: str
) -> None:
    sim = Simulator(seed=2, accounts=3, jobs=0, token=ECHO_TOKEN, clock=ManualClock(), churn=False)
    sim.pin("/v2/pixverse/scheduler/", '{"error":"' + written + '","code":401}', status=401)
    async with SimServer(sim) as server, UseapiClient(server.url, SecretStr(ECHO_TOKEN)) as client:
        with pytest.raises(errors.Unauthorized) as info:
            await client.get_json("/v2/pixverse/scheduler/", provider="pixverse")
    assert info.value.message == seen
    assert str(info.value) == f"pixverse: {seen} (401)"


async def test_echoes_in_a_body_that_is_not_json_are_masked() -> None:
    sim = Simulator(seed=2, accounts=3, jobs=0, token=ECHO_TOKEN, clock=ManualClock(), churn=False)
    sim.faults.set("minimax", "garbage", body=f"<p>token={ECHO_TOKEN[:-1]}</p>")
    async with SimServer(sim) as server, UseapiClient(server.url, SecretStr(ECHO_TOKEN)) as client:
        with pytest.raises(errors.PayloadError) as info:
            await client.get_json("/v1/minimax/scheduler/", provider="minimax", retry=False)
    assert info.value.message == "useapi sent a body that is not JSON: '<p>token=***</p>'"


def _files_bytes(folder: Path, pattern: str) -> bytes:
    return b"".join(f.read_bytes() for f in sorted(folder.glob(pattern)))


def _token_runs(data: bytes, token: str, run: int = 16) -> list[str]:
    """Every run of `run` characters of `token` found in `data`."""
    return [
        token[i : i + run]
        for i in range(len(token) - run + 1)
        if token[i : i + run].encode() in data
    ]


async def test_an_escaped_echo_reaches_no_alert_job_reply_or_database(
    start_bot: Any, tmp_path: Path
) -> None:
    """End to end: a Dreamina job fails with upstream's error text echoing the token, JSON-
    escaped and cut short; the alert, the `/job` reply and the database show `***`."""
    sim = Simulator(seed=4, accounts=3, jobs=0, token=ECHO_TOKEN, clock=ManualClock(), churn=False)
    h = await start_bot(
        sim=sim, useapi_token=ECHO_TOKEN, providers=["dreamina"], db=tmp_path / "echo.db"
    )
    account = sim.accounts("dreamina")[0].account
    job = sim.start_job("dreamina", account, duration=math.inf)
    await h.tick()
    sim.finish_job(job, "failed")
    sim.pin(
        f"/v1/dreamina/videos/{job}",
        '{"jobid":"' + job + '","type":"video","status":"failed","model":"m1",'
        '"error":"session ' + _escaped(ECHO_TOKEN[:-1]) + ' rejected",'
        '"request":{"prompt":"a cat"}}',
    )
    await h.tick()
    await h.deliver()
    [alert] = [e for m in h.fake.messages() for e in m["embeds"]]
    assert alert["title"] == "Dreamina job failed"
    when = re.search(r"\*\*When\*\* <t:\d+:f> \(<t:\d+:R>\)$", alert["description"])
    assert when is not None
    assert alert["description"] == "\n".join(
        [
            f"**Job** {escape(job)}",
            f"**Account** {escape(account)}",
            "session \\*\\*\\* rejected",
            "**kind** video",
            "**model** m1",
            "**prompt** a cat",
            "**status** failed",
            when.group(0),
        ]
    )

    done = asyncio.ensure_future(
        h.bot.wait_for(
            "app_command_completion", check=lambda i, c: c.qualified_name == "job", timeout=10
        )
    )
    await asyncio.sleep(0)
    inter = await h.fake.invoke("job", {"provider": "dreamina", "id": job})
    await done
    assert inter.original_message_id is not None
    reply = h.fake.message(inter.original_message_id)
    assert reply is not None
    [shown] = reply["embeds"]
    errors_shown = [f["value"] for f in shown["fields"] if f["name"] == "Upstream error"]
    assert errors_shown == ["session \\*\\*\\* rejected"]

    await h.stop()
    data = _files_bytes(tmp_path, "echo.db*")
    assert b"SQLite format 3" in data and b"session *** rejected" in data
    assert _token_runs(data, ECHO_TOKEN) == []
    sent = "".join(json.dumps(r.json) for r in h.fake.requests if r.json is not None)
    assert _token_runs(sent.encode(), ECHO_TOKEN) == []


@pytest.mark.parametrize(
    ("token", "prefix", "run"),
    [
        ("sim-token", 0, 8),
        ("0123456789abcdef", 0, 15),
        ("0123456789abcdefg", 0, 16),
        (ECHO_TOKEN, 10, 16),
        ("user:77-ab/cd+ef/gh+ij/kl+mn/op+qr/st", 8, 16),
        ("x" * 40, 0, 16),
        ("short", 0, 5),
        # a long user id: the prefix alone is 18 characters, more than a run
        ("user:123456789012-Zx8Qp2Lm7Vn4Rt6Yw1Ks9Hd3", 18, 16),
        # a secret part of 12: from 11 of it; of 8, too short to stand alone: all secret
        ("user:123456789012-Zx8Qp2Lm7Vn4", 18, 11),
        ("user:1234-Zx8Qp2Lm", 0, 16),
        ("user:1-ab/c", 0, 10),
        ("user:12-" + "é" * 20, 8, 16),
    ],
)
def test_the_prefilter_never_misses_a_run_the_mask_would_mask(
    token: str, prefix: int, run: int
) -> None:
    """Every run of the token's characters that holds `mask.run` or more of its secret part
    (after `prefix` characters of `user:<id>-`), written raw, escaped entirely or in part, in
    a JSON body: `may_hold` says look, and `value` masks it whole. A run holding one secret
    character fewer is left as it is."""
    mask = TokenMask(token)
    assert (mask.prefix, mask.run) == (prefix, run)
    for start in range(len(token)):
        for end in range(start + 1, len(token) + 1):
            part = token[start:end]
            secret = end - max(start, prefix)
            for text in (
                f"<{part}>",
                f"<{_escaped(part)}>",
                f"<{part[: len(part) // 2]}{_escaped(part[len(part) // 2 :])}>",
            ):
                raw = ('{"e":["' + text + '"]}').encode()
                value = json.loads(raw)
                if secret >= run:
                    assert mask.may_hold(raw), (token, text)
                    assert mask.value(value) == {"e": ["<***>"]}, (token, text)
                    assert mask.may_hold(json.dumps({"e": text}).encode("utf-16")), (token, text)
                else:
                    assert mask.value(value) == {"e": [f"<{part}>"]}, (token, text)


def test_the_prefilter_never_misses_what_the_mask_masks() -> None:
    """Any text made of slices of tokens (escaped or not) and noise between them: when `value`
    masks anything, `may_hold` said look. Counted, so that it is not met by masking nothing."""
    masked = 0

    @settings(max_examples=300, derandomize=True, database=None, deadline=None)
    @given(
        st.sampled_from(
            [
                ECHO_TOKEN,
                "user:123456789012-Zx8Qp2Lm7Vn4Rt6Yw1Ks9Hd3",
                "user:123456789012-Zx8Qp2Lm7Vn4",
                "0123456789abcdefg",
                "sim-token",
            ]
        ),
        st.lists(
            st.tuples(
                st.integers(0, 45),
                st.integers(0, 45),
                st.booleans(),
                st.text("user:0123456789-Zx8Qp", max_size=3),
            ),
            max_size=4,
        ),
    )
    def prop(token: str, pieces: list[tuple[int, int, bool, str]]) -> None:
        nonlocal masked
        text = "".join(
            noise + (_escaped(token[a:b]) if escape_ else token[a:b])
            for a, b, escape_, noise in pieces
        )
        raw = ('{"e":"' + text + '"}').encode()
        mask = TokenMask(token)
        value = json.loads(raw)
        if mask.value(json.loads(raw)) != value:
            masked += 1
            assert mask.may_hold(raw), text

    prop()
    assert masked >= 30, masked


#: A token whose user id has 12 digits: its public prefix (18 characters) is longer than a run,
#: and every job id of that user begins with it.
LONG_ID = "123456789012"
LONG_PREFIX = f"user:{LONG_ID}-"
LONG_SECRET = "Zx8Qp2Lm7Vn4Rt6Yw1Ks9Hd3"
LONG_TOKEN = LONG_PREFIX + LONG_SECRET
L = LONG_TOKEN
#: (what upstream wrote inside a JSON string, what the user must see).
LONG_ID_ECHOES = [
    pytest.param(
        f"{LONG_PREFIX}pixverse:a@b.c-video:7",
        f"{LONG_PREFIX}pixverse:a@b.c-video:7",
        id="pixverse-id",
    ),
    pytest.param(
        f"{LONG_PREFIX}minimax:123456-image:12",
        f"{LONG_PREFIX}minimax:123456-image:12",
        id="minimax-id",
    ),
    pytest.param(
        f"j1128120000123456789v-u{LONG_ID}-US:a@b.c:dreamina",
        f"j1128120000123456789v-u{LONG_ID}-US:a@b.c:dreamina",
        id="dreamina-id",
    ),
    pytest.param(
        f"{LONG_PREFIX}{LONG_PREFIX}pixverse:a@b.c-video:7",
        f"{LONG_PREFIX}{LONG_PREFIX}pixverse:a@b.c-video:7",
        id="prefix-twice",
    ),
    pytest.param(f"session {L} rejected", "session *** rejected", id="raw"),
    pytest.param(f"session {_escaped(L)} rejected", "session *** rejected", id="escaped"),
    pytest.param(f"session {L[:-1]} rejected", "session *** rejected", id="less-last-char"),
    pytest.param(
        f"session {_escaped(L[:-1])} rejected", "session *** rejected", id="less-last-char-escaped"
    ),
    pytest.param(f"session {LONG_SECRET} rejected", "session *** rejected", id="secret-alone"),
    pytest.param(
        f"session {_escaped(LONG_SECRET)} rejected",
        "session *** rejected",
        id="secret-alone-escaped",
    ),
    pytest.param(f"[{LONG_PREFIX}{LONG_SECRET[:16]}]", "[***]", id="prefix-and-16-secret"),
    pytest.param(
        f"[{LONG_PREFIX}{LONG_SECRET[:15]}]",
        f"[{LONG_PREFIX}{LONG_SECRET[:15]}]",
        id="prefix-and-15-secret-kept",
    ),
    pytest.param(f"[{LONG_SECRET[:16]}]", "[***]", id="16-secret-alone"),
    pytest.param(f"[{LONG_SECRET[:15]}]", f"[{LONG_SECRET[:15]}]", id="15-secret-kept"),
    pytest.param(f"[{LONG_SECRET[-16:]}]", "[***]", id="last-16-secret"),
    pytest.param(f"[{LONG_SECRET[-15:]}]", f"[{LONG_SECRET[-15:]}]", id="last-15-secret-kept"),
    pytest.param(
        f"{LONG_PREFIX}pixverse:a@b.c-video:7 {L}",
        f"{LONG_PREFIX}pixverse:a@b.c-video:7 ***",
        id="an-id-then-the-token",
    ),
    pytest.param(f"{LONG_PREFIX}{L}", f"{LONG_PREFIX}***", id="prefix-then-the-token"),
]


@pytest.mark.parametrize(("written", "seen"), LONG_ID_ECHOES)
def test_a_long_user_id_leaves_job_ids_alone_and_masks_echoes(written: str, seen: str) -> None:
    """With a 12-digit user id the token's public prefix (`user:<id>-`, 18 characters) is
    longer than a run: counted as the token's characters, it made every job id of that user
    `***`. Only the secret part counts now; a masked run is masked whole, its prefix too."""
    mask = TokenMask(LONG_TOKEN)
    raw = ('{"e":"' + written + '","' + written + '":[1]}').encode()
    value = json.loads(raw)
    decoded = value["e"]
    assert mask.value(value) == {"e": seen, seen: [1]}
    assert mask.text(decoded) == seen
    if seen == decoded:
        assert mask.text(decoded) is decoded  # nothing copied
    else:
        assert mask.may_hold(raw)
    if seen.startswith((LONG_PREFIX, "j1128")) and "***" not in seen:  # the ids: not even walked
        assert not mask.may_hold(raw)


async def test_a_long_user_id_passes_its_job_ids_through_the_client() -> None:
    """End to end: the simulator's job ids, of a user with a 12-digit id, come through the
    client as they were, and an echo of the token in a job body does not."""
    sim = Simulator(seed=8, accounts=3, jobs=0, token=LONG_TOKEN, clock=ManualClock(), churn=False)
    sim.uid = int(LONG_ID)
    account = sim.accounts("pixverse")[0].account
    ids = [sim.start_job("pixverse", account, duration=math.inf) for _ in range(3)]
    assert all(i.startswith(LONG_PREFIX) for i in ids)
    sim.pin(
        "/v1/dreamina/videos/j1",
        '{"jobid":"j1","status":"failed","error":"token '
        + _escaped(LONG_TOKEN[:-1])
        + " refused, jobs "
        + ids[0]
        + '"}',
    )
    async with SimServer(sim) as server, UseapiClient(server.url, SecretStr(LONG_TOKEN)) as client:
        queue = await client.get_json("/v2/pixverse/scheduler/", provider="pixverse")
        job = await client.get_json("/v1/dreamina/videos/j1", provider="dreamina")
    listed = queue["executing"] if isinstance(queue, dict) else queue
    assert sorted(item["id"] for item in listed) == sorted(ids)
    assert job["error"] == f"token *** refused, jobs {ids[0]}"


def test_the_prefilter_lets_a_scheduler_list_through_unwalked() -> None:
    """The hot path: 1,000 jobs whose ids begin as the token does (`user:<id>-`) are not walked,
    for a short user id and for a long one (whose prefix alone is longer than a run)."""
    sim = Simulator(seed=6, accounts=50, jobs=1000, clock=ManualClock(), churn=False)
    short = json.dumps([{"id": j.id, "started": j.started_iso} for j in sim.running()])
    assert len(short) > 50_000 and f"user:{sim.uid}-".encode() in short.encode()
    for uid, body in (
        (str(sim.uid), short),
        (LONG_ID, short.replace(f"user:{sim.uid}-", LONG_PREFIX)),
    ):
        token = f"user:{uid}-{LONG_SECRET}"
        mask = TokenMask(token)
        assert f"user:{uid}-".encode() in body.encode()
        assert not mask.may_hold(body.encode())
        assert mask.may_hold(body.encode() + LONG_SECRET[3:19].encode())
        assert repr(mask) == "TokenMask(run=16)"
