import json
import re
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import discord
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rich.console import Console

from bot import errors
from bot.alerts import AlertConfig, Mention, Mute, Route
from bot.embeds import (
    BAD,
    FIELD_VALUE_MAX,
    NEUTRAL,
    OK,
    WARN,
    EmbedLimitError,
    alert_batch,
    alert_embed,
    board_embed,
    capacity_pages,
    check_limits,
    config_embed,
    embed_size,
    error_embed,
    input_error_embed,
    job_embed,
    queue_pages,
    status_embed,
)
from bot.events import AlertWord, Event, EventKind
from bot.health import ProviderStatus
from bot.models import MAX_COUNT, MAX_ELAPSED_SECONDS, Account, Job, JobResult, Outcome, Snapshot
from bot.paginator import NOT_OWNER_MESSAGE, Paginator
from bot.terminal import print_embeds, render_timestamp

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
TITLES = {"pixverse": "PixVerse", "minimax": "MiniMax", "dreamina": "Dreamina"}
STUCK = timedelta(minutes=20)
# A "<" (after an even number of backslashes: not escaped) that Discord would render as a
# mention, an emoji, a command or a link instead of showing it as typed (the embeds' own
# timestamps, <t:…>, are meant to render).
RENDERED_TOKEN = re.compile(r"(?:^|[^\\])(?:\\\\)*<(?=[@#:/]|a:|https?:)", re.MULTILINE)
RAW_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+\.[A-Za-z]")
NASTY = "@everyone <@&123> <@456> <#7> **b** _i_ `tick` ||s|| [x](https://e.vil)"
# NASTY as an embed holds it: escaped for markdown only, the mentions' "<" too, and nothing
# inserted into "@everyone" (issue 10): Discord shows exactly NASTY.
NASTY_SHOWN = (
    "@everyone \\<@&123> \\<@456> \\<#7> \\*\\*b\\*\\* \\_i\\_ \\`tick\\` "
    "\\|\\|s\\|\\| \\[x\\](https://e.vil)"
)

JOB_WORDS = ["completed", "failed", "moderated", "cancelled", "stuck", "unknown"]
CAP_WORDS = ["exhausted", "still exhausted", "restored"]
UP_WORDS = ["unreachable", "unauthorized", "payment required", "still unreachable", "recovered"]
ACCOUNT_WORDS = [
    "subscription inactive",
    "subscription active",
    "account error",
    "account ok",
    "expires soon",
    "failure rate high",
    "failure rate normal",
]


def dump(embeds: discord.Embed | Sequence[discord.Embed]) -> str:
    batch = [embeds] if isinstance(embeds, discord.Embed) else embeds
    return json.dumps([e.to_dict() for e in batch], ensure_ascii=False)


def fv(embed: discord.Embed, i: int) -> str:
    return embed.fields[i].value or ""


def desc(embed: discord.Embed) -> str:
    return embed.description or ""


def foot(embed: discord.Embed) -> str:
    return embed.footer.text or ""


def text_of(embed: discord.Embed) -> str:
    parts = [embed.title or "", embed.description or "", embed.footer.text or ""]
    for f in embed.fields:
        parts += [f.name or "", f.value or ""]
    return "\n".join(parts)


def texts(embeds: discord.Embed | Sequence[discord.Embed]) -> str:
    batch = [embeds] if isinstance(embeds, discord.Embed) else embeds
    return "\n".join(text_of(e) for e in batch)


def test_nasty_shown_is_nasty_as_discord_shows_it() -> None:
    assert re.sub(r"\\([^0-9A-Za-z\s])", r"\1", NASTY_SHOWN) == NASTY
    assert not RENDERED_TOKEN.search(NASTY_SHOWN) and RENDERED_TOKEN.search(NASTY)


def pixverse_id(i: int, email: str = "alice@example.com") -> str:
    return f"user:1-pixverse:{email}-video:{i}"


def make_snapshot(
    provider: str = "pixverse",
    n_jobs: int = 0,
    n_accounts: int = 0,
    *,
    taken_at: datetime = NOW,
    step: int = 7,
) -> Snapshot:
    jobs = tuple(
        Job(
            provider,
            pixverse_id(i, f"user{i % 13}@example.com"),
            "video",
            f"user{i % 13}@example.com",
            NOW - timedelta(seconds=step * i + 1),
            None,
        )
        for i in range(n_jobs)
    )
    accounts = tuple(
        Account(f"user{i}@example.com", 5, i % 6, max(0, 5 - i % 6)) for i in range(n_accounts)
    )
    return Snapshot(provider, taken_at, jobs, accounts)


def check_pages(pages: Sequence[discord.Embed]) -> None:
    assert pages
    for p in pages:
        check_limits([p])  # each page is its own message
        assert embed_size(p) <= 4000


# --- limits helper -------------------------------------------------------------------------


def test_check_limits_catches_breaches():
    e = discord.Embed(title="x" * 257)
    with pytest.raises(EmbedLimitError, match="title"):
        check_limits(e)
    big = [discord.Embed(description="x" * 4000) for _ in range(2)]
    with pytest.raises(EmbedLimitError, match="across the message"):
        check_limits(big)
    with pytest.raises(EmbedLimitError, match="11 embeds"):
        check_limits([discord.Embed(title="t")] * 11)
    e = discord.Embed()
    for _ in range(26):
        e.add_field(name="n", value="v")
    with pytest.raises(EmbedLimitError, match="26 fields"):
        check_limits(e)
    check_limits([discord.Embed(title="fine", description="ok")])


# --- /queue -------------------------------------------------------------------------------


def test_queue_empty_says_nothing_running():
    pages = queue_pages([make_snapshot()], now=NOW, stuck_after=STUCK, redact=False, titles=TITLES)
    assert len(pages) == 1
    assert "Nothing running" in str(pages[0].title)
    check_pages(pages)


def test_queue_lines_longest_first_and_stuck():
    jobs = (
        Job(
            "pixverse",
            pixverse_id(1),
            "video",
            "alice@example.com",
            NOW - timedelta(minutes=2),
            None,
        ),
        Job(
            "pixverse",
            pixverse_id(2),
            "image",
            "alice@example.com",
            NOW - timedelta(minutes=30),
            None,
        ),
        Job("pixverse", pixverse_id(3), None, "alice@example.com", None, None),
    )
    snap = Snapshot("pixverse", NOW - timedelta(seconds=15), jobs)
    dre = Snapshot(
        "dreamina",
        NOW,
        (
            Job(
                "dreamina",
                "j0223v-u1-US:a@x.io:dreamina",
                None,
                "US:a@x.io",
                None,
                45,
                "seedance-2.0",
            ),
        ),
    )
    [page] = queue_pages([snap, dre], now=NOW, stuck_after=STUCK, redact=False, titles=TITLES)
    check_pages([page])
    value = fv(page, 0)
    lines = value.splitlines()
    assert "video:2" in lines[0] and "⚠ stuck" in lines[0]
    assert "video:1" in lines[1] and "⚠" not in lines[1]
    assert "start unknown" in lines[2]
    assert discord.utils.format_dt(NOW - timedelta(minutes=30), "R") in lines[0]
    assert "30m 00s" in lines[0]
    assert "longest-running first" in foot(page)
    assert "Data from 15s ago" in foot(page)
    assert "page 1/1" in foot(page)
    assert page.colour == WARN
    assert "PixVerse" in str(page.fields[0].name) and "Dreamina" in str(page.fields[1].name)
    # Dreamina gives only elapsedSeconds: the start is derived, elapsed shown
    assert "45s" in fv(page, 1) and "start unknown" not in fv(page, 1)


def test_queue_account_filter():
    snap = make_snapshot(n_jobs=50)
    pages = queue_pages(
        [snap], now=NOW, stuck_after=STUCK, redact=False, titles=TITLES, account="user3@example.com"
    )
    text = "\n".join(text_of(p) for p in pages)
    assert "user3@example.com" in text and "user4@example.com" not in text
    none = queue_pages(
        [snap], now=NOW, stuck_after=STUCK, redact=False, titles=TITLES, account="nobody@x.io"
    )
    assert "Nothing running" in str(none[0].title)


@pytest.mark.parametrize(("n", "lo", "hi"), [(300, 3, 20), (10_000, 100, 500)])
def test_queue_pages_within_limits(n, lo, hi):
    snaps = [make_snapshot("pixverse", n // 2), make_snapshot("minimax", n - n // 2, step=3)]
    pages = queue_pages(
        snaps,
        now=NOW,
        stuck_after=STUCK,
        redact=True,
        titles=TITLES,
        fetched_at=NOW - timedelta(seconds=20),
    )
    check_pages(pages)
    assert lo <= len(pages) <= hi
    lines = [ln for p in pages for f in p.fields for ln in (f.value or "").splitlines()]
    assert len(lines) == n  # every job exactly once
    for p in pages:
        for f in p.fields:
            assert len((f.value or "").splitlines()) <= 20
    assert foot(pages[-1]).endswith(f"page {len(pages)}/{len(pages)} · longest-running first")
    assert not RAW_EMAIL.search(dump(pages[:5]))


def test_queue_long_ids_and_escaping():
    nasty_id = "user:1-pixverse:" + "x" * 260 + NASTY + "-video:" + NASTY
    jobs = (
        Job("pixverse", nasty_id, "video", NASTY, NOW - timedelta(minutes=1)),
        Job("pixverse", "y" * 300, "music", "z" * 300, NOW),
    )
    pages = queue_pages(
        [Snapshot("pixverse", NOW, jobs)], now=NOW, stuck_after=STUCK, redact=False, titles=TITLES
    )
    check_pages(pages)
    blob = dump(pages)
    assert not RENDERED_TOKEN.search(texts(pages))
    assert "**b**" not in blob and "`tick`" not in blob and "[x](" not in blob
    assert pages[0].fields[0].name == f"PixVerse · {NASTY_SHOWN} (1 job)"  # the account


# --- /capacity ----------------------------------------------------------------------------


def test_capacity_basics_and_colour():
    accounts = (
        Account("alice@example.com", 5, 5, 0),
        Account("bob@example.com", 5, 1, 4),
        Account("carol@example.com", None, 2, None),
    )
    [page] = capacity_pages(
        [Snapshot("pixverse", NOW, (), accounts)], now=NOW, redact=False, titles=TITLES
    )
    check_pages([page])
    text = text_of(page)
    assert "Exhausted: alice@example.com" in text
    assert "5/5 alice@example.com" in text
    assert "2 running · no limit published · carol@example.com" in text
    assert "8/10+?" in text
    assert page.colour == WARN  # colour follows the fullness of the known capacity: 80%
    half = (Account("a@b.io", 10, 3, 7),)
    assert (
        capacity_pages([Snapshot("minimax", NOW, (), half)], now=NOW, redact=False, titles=TITLES)[
            0
        ].colour
        == OK
    )
    most = (Account("a@b.io", 10, 8, 2),)
    assert (
        capacity_pages([Snapshot("minimax", NOW, (), most)], now=NOW, redact=False, titles=TITLES)[
            0
        ].colour
        == WARN
    )
    full = (Account("a@b.io", 10, 10, 0),)
    assert (
        capacity_pages([Snapshot("minimax", NOW, (), full)], now=NOW, redact=False, titles=TITLES)[
            0
        ].colour
        == BAD
    )
    unknown = (Account("a@b.io", None, 3, None),)
    assert (
        capacity_pages(
            [Snapshot("minimax", NOW, (), unknown)], now=NOW, redact=False, titles=TITLES
        )[0].colour
        == NEUTRAL
    )


def test_capacity_two_thousand_accounts():
    pages = capacity_pages(
        [make_snapshot("pixverse", n_accounts=2000), make_snapshot("minimax", n_accounts=10)],
        now=NOW,
        redact=True,
        titles=TITLES,
    )
    check_pages(pages)
    assert 10 <= len(pages) <= 60
    lines = [ln for p in pages for f in p.fields for ln in (f.value or "").splitlines()]
    assert len(lines) == 2010
    assert not RAW_EMAIL.search(dump(pages))
    assert "fullest first" in foot(pages[0])
    assert "and " in desc(pages[0]) and "more" in desc(pages[0])  # bounded callout


def test_capacity_empty():
    pages = capacity_pages([], now=NOW, redact=False, titles=TITLES)
    check_pages(pages)
    assert len(pages) == 1


# --- /job ---------------------------------------------------------------------------------


def make_result(**kw: Any) -> JobResult:
    base: dict[str, Any] = dict(
        provider="pixverse",
        id=pixverse_id(7),
        outcome=Outcome.COMPLETED,
        account="alice@example.com",
        kind="video",
        created=NOW - timedelta(minutes=4),
        updated=NOW,
        prompt="a cat",
        model="v4.5",
        urls=("https://cdn.example/v/alice@example.com/clip_1.mp4",),
    )
    base.update(kw)
    return JobResult(**base)


@pytest.mark.parametrize(
    ("outcome", "colour"),
    [
        (Outcome.COMPLETED, OK),
        (Outcome.FAILED, BAD),
        (Outcome.MODERATED, WARN),
        (Outcome.RUNNING, NEUTRAL),
    ],
)
def test_job_embed_outcome(outcome, colour):
    e = job_embed(make_result(outcome=outcome), titles=TITLES, redact=False)
    check_limits(e)
    assert e.title == f"PixVerse job {outcome.value}"
    assert e.colour == colour
    text = text_of(e)
    assert discord.utils.format_dt(NOW, "f") in text
    assert "(https://cdn.example/v/alice@example.com/clip_1.mp4)" in text
    assert "[clip\\_1.mp4]" in text


def test_job_embed_huge_and_nasty():
    r = make_result(
        id="i" * 300 + NASTY,
        prompt="p" * 5000 + NASTY,
        error=NASTY * 100,
        model=NASTY,
        account=NASTY,
        urls=(*(f"https://x.io/{i}/{NASTY}" for i in range(100)), "javascript:alert(1)", "ftp://x"),
        extra={NASTY: NASTY},
    )
    e = job_embed(r, titles=TITLES, redact=False)
    check_limits(e)
    blob = dump(e)
    assert not RENDERED_TOKEN.search(texts(e))
    by_name = {f.name: f.value for f in e.fields}
    assert by_name["Account"] == by_name["Model"] == NASTY_SHOWN
    assert "javascript:" not in blob and "ftp://" not in blob
    assert "not shown" in text_of(e)


def test_job_embed_redacts():
    r = make_result(
        error="account alice@example.com session expired", prompt="mail bob@example.org"
    )
    blob = dump(job_embed(r, titles=TITLES, redact=True))
    assert not RAW_EMAIL.search(blob)
    assert "a\\\\*\\\\*\\\\*@example.com" in blob  # shown as a***@example.com


# --- /status, errors, board ---------------------------------------------------------------


def test_status_embed():
    entries = [
        ProviderStatus("pixverse", 12, 40, 50, NOW - timedelta(seconds=20), None, True),
        ProviderStatus("minimax", None, None, None, None, "401 " + NASTY, False),
        ProviderStatus("dreamina", 3, 3, None, NOW, "slow", None),
    ]
    e = status_embed(entries, now=NOW, titles=TITLES)
    check_limits(e)
    assert e.colour == BAD
    assert [f.name for f in e.fields] == ["✅ PixVerse", "❌ MiniMax", "⚠️ Dreamina"]
    assert discord.utils.format_dt(NOW - timedelta(seconds=20), "R") in fv(e, 0)
    assert "40/50" in fv(e, 0) and "never" in fv(e, 1)
    assert fv(e, 1).endswith(f"\nLast error: 401 {NASTY_SHOWN}")
    assert not RENDERED_TOKEN.search(texts(e))
    many = [ProviderStatus(f"p{i}", 1, 1, 2, None, "e" * 2000) for i in range(60)]
    e = status_embed(many, now=NOW, titles=TITLES)
    check_limits(e)
    assert "more provider" in str(e.fields[-1].name)
    assert status_embed([], now=NOW, titles=TITLES).colour == NEUTRAL


@pytest.mark.parametrize(
    ("exc", "words"),
    [
        (
            errors.Unauthorized("Unauthorized", provider="minimax"),
            ["MiniMax", "useapi rejected the token (401)"],
        ),
        (errors.PaymentRequired("pay"), ["payment required (402)", "subscription expired"]),
        (errors.RateLimited("slow down"), ["rate limiting (429)"]),
        (errors.ServerError("boom", status=503), ["useapi/provider error (5xx)", "503"]),
        (errors.UpstreamTimeout("timeout"), ["useapi did not answer in time"]),
        (
            errors.DeadlineExceeded("no complete answer within 20 s"),
            ["useapi did not finish its answer in time (cut off)"],
        ),
        (errors.ConnectionFailed("refused"), ["cannot reach useapi"]),
        (
            errors.Redirected("redirected to another host (not followed)", status=302),
            ["useapi redirected elsewhere (302, not followed)"],
        ),
        (
            errors.BodyTooLarge("body larger than 32 MiB (not read)"),
            ["useapi sent an answer too large to read"],
        ),
        (
            errors.PayloadError("bad", provider="pixverse", field="items[0]._id"),
            ["cannot read: items\\[0\\].\\_id"],
        ),
        (errors.NotFound("nope"), ["404"]),
        (errors.SessionExpired("expired"), ["596"]),
        (errors.HTTPStatusError("teapot", status=418), ["418"]),
        (errors.UpstreamError("??"), ["useapi"]),
    ],
)
def test_error_embed_words(exc, words):
    e = error_embed(exc, titles=TITLES)
    check_limits(e)
    for w in words:
        assert w in str(e.title)
    assert e.colour in (BAD, WARN)


def test_error_embed_escapes_and_redacts():
    exc = errors.BadRequest(
        NASTY + " alice@example.com " + "x" * 5000,
        provider="dreamina",
        path="/v1/dreamina/videos/US:alice@example.com",
    )
    e = error_embed(exc, titles=TITLES, redact=True)
    check_limits(e)
    blob = dump(e)
    assert not RENDERED_TOKEN.search(texts(e)) and not RAW_EMAIL.search(blob)
    assert f"**Upstream said:** {NASTY_SHOWN} a\\*\\*\\*@example.com xxx" in desc(e)
    i = input_error_embed("unknown id " + NASTY + "y" * 5000)
    check_limits(i)
    assert not RENDERED_TOKEN.search(texts(i))
    assert desc(i).startswith(f"unknown id {NASTY_SHOWN}yyy")


def test_board_embed():
    snaps = [make_snapshot("pixverse", 30, 20), make_snapshot("minimax", 0, 3)]
    statuses = [ProviderStatus("dreamina", None, None, None, None, "cannot reach " + NASTY, False)]
    e = board_embed(snaps, now=NOW, titles=TITLES, redact=True, statuses=statuses)
    check_limits(e)
    assert [f.name for f in e.fields] == ["PixVerse", "MiniMax", "Dreamina"]
    assert "30 running" in fv(e, 0) and "Capacity:" in fv(e, 0)
    assert discord.utils.format_dt(NOW, "R") in desc(e)
    assert e.colour == BAD
    blob = dump(e)
    assert not RAW_EMAIL.search(blob) and not RENDERED_TOKEN.search(texts(e))
    assert f"⚠ cannot reach {NASTY_SHOWN}" in fv(e, 2).splitlines()
    many = [make_snapshot(f"p{i}", 5, 40) for i in range(40)]
    check_limits(board_embed(many, now=NOW, titles={}, redact=False))


# --- alerts -------------------------------------------------------------------------------


def ev(kind: EventKind, word: str, i: int = 0, provider: str = "pixverse", **kw: Any) -> Event:
    return Event(
        key=f"{provider}:{kind}:{word}:{i}", kind=kind, provider=provider, word=word, at=NOW, **kw
    )


def test_alert_words_are_the_contracts_in_summary_order():
    # the values stand in event keys and stored rows: they never change
    assert [w.value for w in AlertWord] == JOB_WORDS + CAP_WORDS + UP_WORDS + ACCOUNT_WORDS


@pytest.mark.parametrize(
    ("word", "colour"),
    [
        (AlertWord.COMPLETED, OK),
        (AlertWord.FAILED, BAD),
        (AlertWord.MODERATED, WARN),
        (AlertWord.CANCELLED, WARN),
        (AlertWord.STUCK, WARN),
        (AlertWord.UNKNOWN, WARN),
        (AlertWord.EXHAUSTED, BAD),
        (AlertWord.RESTORED, OK),
        (AlertWord.UNREACHABLE, BAD),
        (AlertWord.UNAUTHORIZED, BAD),
        (AlertWord.PAYMENT_REQUIRED, BAD),
        (AlertWord.RECOVERED, OK),
        (AlertWord.SUBSCRIPTION_INACTIVE, BAD),
        (AlertWord.SUBSCRIPTION_ACTIVE, OK),
        (AlertWord.ACCOUNT_ERROR, BAD),
        (AlertWord.ACCOUNT_OK, OK),
        (AlertWord.EXPIRES_SOON, WARN),
        (AlertWord.STILL_EXHAUSTED, BAD),
        (AlertWord.STILL_UNREACHABLE, BAD),
        (AlertWord.FAILURE_RATE_HIGH, BAD),
        (AlertWord.FAILURE_RATE_NORMAL, OK),
        ("a word from a newer opsbot", NEUTRAL),
    ],
)
def test_alert_colour_by_word(word: str, colour: discord.Colour) -> None:
    kind = EventKind.CAPACITY if word in CAP_WORDS else EventKind.JOB
    # a word read back from a stored row is a plain str: the same colour
    for w in (word, str(word.value) if isinstance(word, AlertWord) else word):
        assert alert_embed(ev(kind, w), titles=TITLES, redact=False).colour == colour


@pytest.mark.parametrize("word", JOB_WORDS)
def test_job_alert_word_in_title(word):
    e = alert_embed(ev(EventKind.JOB, word, job_id=pixverse_id(3)), titles=TITLES, redact=True)
    check_limits(e)
    assert e.title == f"PixVerse job {word}"
    assert "video:3" in desc(e) and "a\\*\\*\\*@example.com" in desc(e)
    assert e.timestamp == NOW


@pytest.mark.parametrize("word", CAP_WORDS)
def test_capacity_alert_word_in_title(word):
    e = alert_embed(
        ev(EventKind.CAPACITY, word, provider="minimax", account="412345"),
        titles=TITLES,
        redact=False,
    )
    assert e.title == f"MiniMax capacity {word} · 412345"
    e = alert_embed(ev(EventKind.CAPACITY, word, provider="minimax"), titles=TITLES, redact=False)
    assert e.title == f"MiniMax capacity {word} · all accounts"
    assert e.colour == (OK if word == "restored" else BAD)


@pytest.mark.parametrize(
    ("word", "colour"), [("failure rate high", BAD), ("failure rate normal", OK)]
)
def test_failure_rate_alert_word_in_title(word: str, colour: discord.Colour) -> None:
    detail = "7 of 20 recent jobs failed or were moderated (35 %): 7 failed. Top reasons: 7× *bad*"
    e = alert_embed(
        ev(EventKind.ACCOUNT, word, provider="minimax", account="412345", detail=detail),
        titles=TITLES,
        redact=False,
    )
    check_limits(e)
    assert e.title == f"MiniMax account {word} · 412345"
    assert e.colour == colour
    assert desc(e).splitlines()[1] == (
        "7 of 20 recent jobs failed or were moderated (35 %): 7 failed. Top reasons: 7× \\*bad\\*"
    )
    whole = alert_embed(
        ev(EventKind.ACCOUNT, word, provider="minimax"), titles=TITLES, redact=False
    )
    assert whole.title == f"MiniMax {word}"


def test_reminders_and_failure_rates_summarised_in_word_order() -> None:
    """A summarised batch lists the new words where `AlertWord` puts them: each reminder after
    its condition's first word, and counts every one."""
    events = (
        [ev(EventKind.CAPACITY, "restored", 0, provider="minimax", account="r")]
        + [
            ev(EventKind.CAPACITY, "still exhausted", i, provider="minimax", account=f"s{i}")
            for i in range(3)
        ]
        + [ev(EventKind.CAPACITY, "exhausted", 9, provider="minimax", account="e")]
        + [ev(EventKind.UPSTREAM, "still unreachable", 0, provider="dreamina")]
        + [ev(EventKind.ACCOUNT, "failure rate normal", 0, account="n")]
        + [ev(EventKind.ACCOUNT, "failure rate high", i, account=f"h{i}") for i in range(2)]
    )
    embeds = alert_batch(events, titles=TITLES, redact=False, max_embeds=3)
    check_limits(embeds)
    assert summary_counts(embeds) == {
        "exhausted": 1,
        "still exhausted": 3,
        "restored": 1,
        "still unreachable": 1,
        "failure rate high": 2,
        "failure rate normal": 1,
    }
    text = dump(embeds)
    assert "1 account exhausted on MiniMax, 3 still exhausted, 1 restored" in text
    assert "PixVerse failure rate high ×2, failure rate normal ×1" in text


@pytest.mark.parametrize("word", UP_WORDS)
def test_upstream_alert_word_in_title(word):
    e = alert_embed(
        ev(EventKind.UPSTREAM, word, provider="dreamina", detail="401 " + NASTY),
        titles=TITLES,
        redact=False,
    )
    check_limits(e)
    assert e.title == f"Dreamina upstream {word}"
    assert e.colour == (OK if word == "recovered" else BAD)
    assert desc(e).splitlines()[0] == f"401 {NASTY_SHOWN}"
    assert not RENDERED_TOKEN.search(texts(e))


def test_alert_nasty_and_huge():
    e = alert_embed(
        ev(
            EventKind.JOB,
            "failed",
            job_id=NASTY + "j" * 300,
            account=NASTY,
            detail="d" * 5000 + NASTY,
            urls=tuple(f"https://x.io/{i}" for i in range(200)),
            extra={"model": NASTY},
        ),
        titles={"pixverse": NASTY},
        redact=False,
    )
    check_limits(e)
    assert "failed" in str(e.title)
    assert desc(e).startswith(f"**Job** {NASTY_SHOWN}jjj")
    assert f"\n**Account** {NASTY_SHOWN}\n" in desc(e)
    assert not RENDERED_TOKEN.search(texts(e))


def test_alert_batch_small_is_one_embed_each():
    events = [ev(EventKind.JOB, "completed", i, job_id=pixverse_id(i)) for i in range(3)]
    embeds = alert_batch(events, titles=TITLES, redact=False)
    check_limits(embeds)
    assert [e.title for e in embeds] == ["PixVerse job completed"] * 3
    assert alert_batch([], titles=TITLES, redact=False) == []


def summary_counts(embeds: Sequence[discord.Embed]) -> Counter[str]:
    """(word → count) per section title/field name, read back from the rendered summary."""
    found: Counter[str] = Counter()
    for e in embeds:
        blocks = [desc(e)] + [f.value or "" for f in e.fields]
        for block in blocks:
            for m in re.finditer(r"^\*\*(.+?)\*\* \((\d+)\)", block, re.MULTILINE):
                found[m.group(1)] += int(m.group(2))
            for m in re.finditer(r"(\d+) ([a-z ]+?)(?:, |$)", block):
                if "**" not in block:  # the folded "… and N more groups" field
                    found[m.group(2)] += int(m.group(1))
    return found


def test_alert_batch_summary_counts():
    events = (
        [ev(EventKind.JOB, "completed", i, job_id=pixverse_id(i)) for i in range(37)]
        + [ev(EventKind.JOB, "failed", i, job_id=pixverse_id(100 + i)) for i in range(2)]
        + [
            ev(EventKind.CAPACITY, "exhausted", i, provider="minimax", account=f"acct{i}")
            for i in range(3)
        ]
    )
    embeds = alert_batch(events, titles=TITLES, redact=True)
    check_limits(embeds)
    assert len(embeds) == 2
    assert embeds[0].title == "37 jobs completed on PixVerse, 2 failed"
    assert embeds[1].title == "3 accounts exhausted on MiniMax"
    assert "and " in desc(embeds[0]) and " more" in desc(embeds[0])
    assert summary_counts(embeds) == {"completed": 37, "failed": 2, "exhausted": 3}
    assert not RAW_EMAIL.search(dump(embeds))


@pytest.mark.parametrize("n_providers", [3, 40])
def test_alert_batch_ten_thousand(n_providers):
    words = {EventKind.JOB: JOB_WORDS, EventKind.CAPACITY: CAP_WORDS, EventKind.UPSTREAM: UP_WORDS}
    events = []
    for i in range(10_000):
        kind = list(words)[i % 3]
        word = words[kind][i % len(words[kind])]
        provider = (
            ["pixverse", "minimax", "dreamina"][i % 3]
            if n_providers == 3
            else f"p{i % n_providers}"
        )
        events.append(
            ev(
                kind,
                word,
                i,
                provider=provider,
                job_id=pixverse_id(i) + NASTY if kind is EventKind.JOB else None,
                account=f"a{i}@example.com" if kind is EventKind.CAPACITY else None,
            )
        )
    embeds = alert_batch(events, titles=TITLES, redact=True)
    check_limits(embeds)
    assert 1 <= len(embeds) <= 10
    blob = dump(embeds)
    assert not RENDERED_TOKEN.search(texts(embeds)) and not RAW_EMAIL.search(blob)
    expected = Counter(e.word for e in events)
    assert summary_counts(embeds) == expected
    for word in expected:
        assert word in blob


def test_alert_batch_respects_max_embeds():
    events = [
        ev(EventKind.JOB, "completed", i, provider=f"p{i}", job_id=f"id{i}") for i in range(30)
    ]
    embeds = alert_batch(events, titles={}, redact=False, max_embeds=4)
    check_limits(embeds)
    assert len(embeds) <= 4
    assert summary_counts(embeds) == {"completed": 30}


# --- paginator ----------------------------------------------------------------------------


class FakeResponse:
    def __init__(self) -> None:
        self.sent: list[tuple[str | None, dict[str, Any]]] = []
        self.edits: list[dict[str, Any]] = []

    async def send_message(self, content: str | None = None, **kw: Any) -> None:
        self.sent.append((content, kw))

    async def edit_message(self, **kw: Any) -> None:
        self.edits.append(kw)

    async def defer(self, **kw: Any) -> None:
        pass


def fake_interaction(user_id: int) -> Any:
    return SimpleNamespace(user=SimpleNamespace(id=user_id), response=FakeResponse())


async def test_paginator_owner_only_and_turns_pages():
    pages = [discord.Embed(title=f"page {i}") for i in range(3)]
    assert Paginator.for_pages(pages[:1], owner_id=1) is None
    view = Paginator.for_pages(pages, owner_id=1)
    assert view is not None and view.first_page is pages[0]
    ids = [c.custom_id for c in view.children if isinstance(c, discord.ui.Button)]
    assert ids[0] == f"opsbot:page:prev:{view.id}" and ids[-1] == f"opsbot:page:next:{view.id}"
    assert view.previous_page.disabled and not view.next_page.disabled

    stranger = fake_interaction(2)
    assert await view.interaction_check(stranger) is False
    assert stranger.response.sent == [(NOT_OWNER_MESSAGE, {"ephemeral": True})]

    owner = fake_interaction(1)
    assert await view.interaction_check(owner) is True
    await view.next_page.callback(owner)
    assert owner.response.edits[-1]["embed"] is pages[1]
    await view.next_page.callback(fake_interaction(1))
    assert view.index == 2 and view.next_page.disabled
    back = fake_interaction(1)
    await view.previous_page.callback(back)
    assert back.response.edits[-1]["embed"] is pages[1]
    assert view.counter.label == "2/3"
    view.stop()


async def test_paginator_timeout_disables_and_edits():
    view = Paginator([discord.Embed(title="a"), discord.Embed(title="b")], owner_id=1)
    edits = []

    async def edit(**kw):
        edits.append(kw)

    view.message = SimpleNamespace(edit=edit)  # type: ignore[assignment]
    await view.on_timeout()
    assert all(isinstance(c, discord.ui.Button) and c.disabled for c in view.children)
    assert edits == [{"view": view}]
    view.stop()


# --- terminal -----------------------------------------------------------------------------


def test_terminal_render():
    e = discord.Embed(
        title="PixVerse job completed", description="**Id** a\\_b\\*c", colour=OK, timestamp=NOW
    )
    e.add_field(name="Created", value=discord.utils.format_dt(NOW - timedelta(minutes=3), "R"))
    e.add_field(name="Results", value="[clip\\_1.mp4](https://x.io/clip_1.mp4)", inline=False)
    e.set_footer(text="opsbot · /job")
    console = Console(record=True, width=100)
    print_embeds(console, [e, status_embed([], now=NOW, titles=TITLES)], now=NOW)
    out = console.export_text()
    assert "PixVerse job completed" in out
    assert "Id a_b*c" in out  # escapes stripped, bold markers gone
    assert "Created" in out and "3 min ago" in out
    assert "clip_1.mp4 (https://x.io/clip_1.mp4)" in out
    assert "opsbot · /job" in out and "opsbot status" in out
    assert "<t:" not in out


def test_terminal_renders_real_pages():
    pages = queue_pages(
        [make_snapshot(n_jobs=40)], now=NOW, stuck_after=STUCK, redact=True, titles=TITLES
    )
    console = Console(record=True, width=120)
    print_embeds(console, pages[0], now=NOW)
    out = console.export_text()
    assert "PixVerse" in out and "ago" in out and "u***@example.com" in out
    assert "\\" not in out


def test_render_timestamp_styles():
    ts = int(NOW.timestamp())
    assert render_timestamp(ts - 180, "R", NOW) == "3 min ago"
    assert render_timestamp(ts + 7200, "R", NOW) == "in 2 h"
    assert render_timestamp(ts - 3 * 86400, "R", NOW) == "3 days ago"
    assert render_timestamp(ts, "R", NOW) == "just now"
    assert len(render_timestamp(ts, "T", NOW)) == 8


# --- random stress: whatever comes in, the limits and the counts hold ----------------------

_WORDS = {
    EventKind.JOB: JOB_WORDS,
    EventKind.CAPACITY: CAP_WORDS,
    EventKind.UPSTREAM: UP_WORDS,
    EventKind.ACCOUNT: ACCOUNT_WORDS,
}
_TEXT = st.text(alphabet=st.sampled_from("ab@_*`<>#&!:-\\ 1\n.") | st.characters(), max_size=400)


@st.composite
def _events(draw: st.DrawFn) -> list[Event]:
    n = draw(st.integers(1, 150))
    providers = draw(st.lists(_TEXT.filter(bool), min_size=1, max_size=60))
    out = []
    for i in range(n):
        kind = draw(st.sampled_from(list(_WORDS)))
        out.append(
            ev(
                kind,
                draw(st.sampled_from(_WORDS[kind])),
                i,
                provider=draw(st.sampled_from(providers)),
                job_id=draw(_TEXT) or None,
                account=draw(_TEXT) or None,
                detail=draw(_TEXT) or None,
            )
        )
    return out


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_events(), st.integers(1, 10), st.booleans())
def test_alert_batch_any_input(events: list[Event], max_embeds: int, redact: bool) -> None:
    embeds = alert_batch(events, titles={}, redact=redact, max_embeds=max_embeds)
    check_limits(embeds)
    assert 1 <= len(embeds) <= max_embeds
    assert not RENDERED_TOKEN.search(texts(embeds))
    if len(embeds) == len(events) and all(
        e.footer.text and "alert" in e.footer.text and "summarised" not in e.footer.text
        for e in embeds
    ):
        return  # one embed per event
    expected = Counter(e.word for e in events)
    assert summary_counts(embeds) == expected


@settings(max_examples=30, deadline=None)
@given(
    st.lists(st.tuples(_TEXT.filter(bool), _TEXT, st.integers(0, 10**6)), max_size=200),
    st.booleans(),
)
def test_queue_and_capacity_any_input(rows: list[tuple[str, str, int]], redact: bool) -> None:
    jobs = tuple(Job("pixverse", jid, None, acct or None, None, el) for jid, acct, el in rows)
    accounts = tuple(Account(acct or jid, el % 7 or None, el % 9, None) for jid, acct, el in rows)
    snap = Snapshot("pixverse", NOW, jobs, accounts)
    for pages in (
        queue_pages([snap], now=NOW, stuck_after=STUCK, redact=redact, titles={}),
        capacity_pages([snap], now=NOW, redact=redact, titles={}),
    ):
        check_pages(pages)
        assert not RENDERED_TOKEN.search(texts(pages))


# --- absurd values and bidi controls (issue 9) ---------------------------------------------


def test_queue_shows_absurd_elapsed_bounded_and_stuck():
    """A job clamped to a year by its adapter, and one built unbounded by hand (the store
    bounds it as it writes it): both read "over 365d", both stuck, started a year before the
    data was taken."""
    from rig.store import through_rows

    taken = NOW - timedelta(seconds=30)
    jobs = (
        Job(
            "pixverse",
            "user:1-pixverse:a@x.io-video:1",
            "video",
            "a@x.io",
            None,
            MAX_ELAPSED_SECONDS,
        ),
        Job("pixverse", "user:1-pixverse:a@x.io-video:2", "video", "a@x.io", None, 10**400),
        Job("pixverse", "user:1-pixverse:a@x.io-video:3", "video", "a@x.io", None, 100),
    )
    stored = through_rows(Snapshot("pixverse", taken, jobs))
    [page] = queue_pages([stored], now=NOW, stuck_after=STUCK, redact=False, titles=TITLES)
    check_pages([page])
    year_ago = discord.utils.format_dt(taken - timedelta(seconds=MAX_ELAPSED_SECONDS), "R")
    recent = discord.utils.format_dt(taken - timedelta(seconds=100), "R")
    lines = [
        f"🎬 user:1-pixverse:a@x.io-video:1 · started {year_ago} · over 365d · ⚠ stuck",
        f"🎬 user:1-pixverse:a@x.io-video:2 · started {year_ago} · over 365d · ⚠ stuck",
        f"🎬 user:1-pixverse:a@x.io-video:3 · started {recent} · 2m 10s",
    ]
    assert page.to_dict() == {
        "title": "Queue — 3 running, 2 stuck",
        "type": "rich",
        "flags": 0,
        "description": "**PixVerse** — 3 running · ⚠ 2 stuck",
        "color": WARN.value,
        "fields": [
            {"inline": False, "name": "PixVerse · a@x.io (3 jobs)", "value": "\n".join(lines)}
        ],
        "footer": {"text": "Data from 30s ago · page 1/1 · longest-running first"},
    }


def test_capacity_shows_bounded_counts():
    accounts = (
        Account("a@x.io", MAX_COUNT, MAX_COUNT, 0),
        Account("b@x.io", MAX_COUNT, 0, MAX_COUNT),
    )
    [page] = capacity_pages(
        [Snapshot("pixverse", NOW, (), accounts)], now=NOW, redact=False, titles=TITLES
    )
    check_pages([page])
    assert page.to_dict() == {
        "title": "Capacity — 100000/200000 in use",
        "type": "rich",
        "flags": 0,
        "description": "**PixVerse** ▰▰▰▰▰▱▱▱▱▱ 100000/200000 · 50% · 2 accounts\n"
        "Exhausted: a@x.io",
        "color": OK.value,
        "fields": [
            {
                "inline": False,
                "name": "PixVerse accounts",
                "value": "▰▰▰▰▰▰▰▰▰▰ 100000/100000 a@x.io · **exhausted**\n"
                "▱▱▱▱▱▱▱▱▱▱ 0/100000 b@x.io",
            }
        ],
        "footer": {"text": "Data from 0s ago · page 1/1 · fullest first"},
    }


RLO, PDI = "\u202e", "\u2069"
BIDI_ANY = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def test_job_embed_shows_bidi_controls_as_markers():
    r = make_result(
        id=f"{RLO}user:1-pixverse:a@x.io-video:7",
        error=f"bad file {RLO}gnp.exe",
        prompt=f"a cat{PDI}",
        model=f"{RLO}",
        account="a@x.io",
        urls=(),
    )
    e = job_embed(r, titles=TITLES, redact=False)
    check_limits(e)
    assert not BIDI_ANY.search(dump(e))
    assert desc(e) == "**Id** <U+202E>user:1-pixverse:a@x.io-video:7"
    by_name = {f.name: f.value for f in e.fields}
    assert by_name["Upstream error"] == "bad file <U+202E>gnp.exe"
    assert by_name["Prompt"] == "a cat<U+2069>"
    assert by_name["Model"] == "<U+202E>"


def test_error_and_alert_embeds_show_bidi_controls_as_markers():
    exc = errors.ServerError(
        f"bad {RLO}gnp.exe", provider="pixverse", status=502, path=f"/v2/pixverse/videos/x{RLO}"
    )
    e = error_embed(exc, titles=TITLES)
    assert desc(e) == (
        "Usually temporary; opsbot keeps trying.\n"
        "**Upstream said:** bad <U+202E>gnp.exe\n"
        "**Request:** /v2/pixverse/videos/x<U+202E>"
    )
    a = alert_embed(
        ev(EventKind.JOB, "failed", job_id=f"j{RLO}1", account=f"{PDI}acct", detail=f"{RLO}"),
        titles=TITLES,
        redact=False,
    )
    assert desc(a).splitlines()[:3] == [
        "**Job** j<U+202E>1",
        "**Account** <U+2069>acct",
        "<U+202E>",
    ]
    s = status_embed(
        [ProviderStatus("pixverse", 1, 1, 2, NOW, f"{RLO}oops", True)], now=NOW, titles=TITLES
    )
    assert "Last error: <U+202E>oops" in fv(s, 0)
    for embed in (e, a, s):
        check_limits(embed)
        assert not BIDI_ANY.search(dump(embed))


def test_queue_marks_stuck_exactly_where_the_watcher_reports_it():
    """One definition (`bot.models.is_stuck`): a job that has run exactly STUCK_AFTER is stuck
    for the ⚠ mark as for the alert; one second less is not."""
    from bot.diff import diff

    limit = int(STUCK.total_seconds())
    jobs = (
        Job("pixverse", "user:1-pixverse:a@x.io-video:1", "video", "a@x.io", None, limit),
        Job("pixverse", "user:1-pixverse:a@x.io-video:2", "video", "a@x.io", None, limit - 1),
    )
    snap = Snapshot("pixverse", NOW, jobs)
    [page] = queue_pages([snap], now=NOW, stuck_after=STUCK, redact=False, titles=TITLES)
    lines = str(page.fields[0].value).splitlines()
    assert ["⚠ stuck" in line for line in lines] == [True, False]
    assert [j.id for j in diff(None, snap, now=NOW, stuck_after=STUCK).new_stuck] == [jobs[0].id]


# --------------------------------------------------------------------------- /alerts show


def test_config_embed_shows_routes_mentions_active_mutes_the_outbox_and_why_alerts_are_held():
    config = AlertConfig(
        routes=(Route(EventKind.JOB, None, 11), Route(EventKind.CAPACITY, "minimax", 12)),
        mentions=(Mention(EventKind.UPSTREAM, "pixverse", 13),),
        mutes=(
            Mute("dreamina", None, NOW + timedelta(hours=1)),
            Mute(None, EventKind.JOB, NOW),  # expired at exactly now: not shown
            Mute(None, None, None),
        ),
    )
    e = config_embed(config, {"sent": 3, "held": 2}, held=2, held_reason=NASTY, default=10, now=NOW)
    check_limits(e)
    assert (e.title, e.colour) == ("Alert configuration", NEUTRAL)
    assert [(f.name, f.value, f.inline) for f in e.fields] == [
        ("Default channel", "<#10>", False),
        ("Routes", "job → <#11>\ncapacity · minimax → <#12>", False),
        ("Mentions", "upstream · pixverse → <@&13>", False),
        (
            "Mutes",
            "dreamina · every kind until <t:1795870800:f>\n"
            "every provider · every kind until unmuted",
            False,
        ),
        ("Outbox", "held: 2, sent: 3", False),
        ("Held (2)", NASTY_SHOWN, False),  # upstream's words verbatim, escaped for markdown
    ]


def test_config_embed_of_nothing_configured_says_so():
    e = config_embed(AlertConfig(), {}, held=0, held_reason=None, default=None, now=NOW)
    assert [(f.name, f.value) for f in e.fields] == [
        ("Default channel", "none (set ALERT_CHANNEL_ID)"),
        ("Routes", "none"),
        ("Mentions", "none"),
        ("Mutes", "none"),
        ("Outbox", "empty"),
    ]


def test_config_embed_stays_within_the_field_limit_however_many_routes():
    routes = tuple(Route(EventKind.JOB, f"provider-{i}", 10**18 + i) for i in range(200))
    e = config_embed(AlertConfig(routes=routes), {}, held=0, held_reason=None, default=1, now=NOW)
    check_limits(e)
    assert len(str(e.fields[1].value)) == FIELD_VALUE_MAX


def test_config_embed_cuts_a_long_held_reason_without_a_dangling_escape():
    from bot.embeds.limits import FIELD_VALUE_MAX

    reason = "a" * (FIELD_VALUE_MAX - 1) + "*"  # escaped: one past the limit, inside "\*"
    e = config_embed(AlertConfig(), {"held": 1}, held=1, held_reason=reason, default=1, now=NOW)
    check_limits(e)
    value = str(e.fields[-1].value)
    assert value == "a" * (FIELD_VALUE_MAX - 1) + "…"  # (a plain slice ended in "\\")


def test_queue_orders_accounts_that_tie_by_name_whatever_the_snapshots_order():
    """Two replicas hold the same jobs in different orders (one as upstream listed them, one as
    the store reads them back): accounts tied on their longest run show by name on both."""
    jobs = [
        Job("pixverse", f"user:1-pixverse:{a}-video:{i}", "video", a, None, 60)
        for i, a in enumerate(["b@x.io", "a@x.io", "c@x.io"])
    ]
    pages = [
        queue_pages(
            [Snapshot("pixverse", NOW, tuple(order))],
            now=NOW,
            stuck_after=STUCK,
            redact=False,
            titles=TITLES,
        )
        for order in (jobs, jobs[::-1])
    ]
    assert [p.to_dict() for p in pages[0]] == [p.to_dict() for p in pages[1]]
    names = [f.name or "" for f in pages[0][0].fields]
    assert [n for n in names if "@x.io" in n] == sorted(n for n in names if "@x.io" in n)
    assert len([n for n in names if "@x.io" in n]) == 3
