import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.models import MAX_ELAPSED_SECONDS
from bot.text import (
    bar,
    display_account,
    display_id,
    escape,
    fmt_duration,
    neutralise_bidi,
    printable,
    redact_email,
    short_id,
    truncate,
)

SPECIAL = set("\\`*_~|[]")
# What Discord reads as a token after a "<": a mention (<@1>, <@&1>, <#1>), an emoji, a
# command, a timestamp or a link.
TOKEN_START = re.compile(r"[@#:/]|[A-Za-z]+:")


def unescaped_specials(s: str) -> list[str]:
    """Markdown characters in `s` that are not preceded by an escaping backslash, and each
    unescaped "<" that Discord would read as the start of a mention or other token."""
    found, i = [], 0
    while i < len(s):
        if s[i] == "\\" and i + 1 < len(s) and not s[i + 1].isalnum() and not s[i + 1].isspace():
            i += 2
            continue
        if s[i] in SPECIAL or (s[i] == "<" and TOKEN_START.match(s, i + 1)):
            found.append(s[i])
        i += 1
    return found


def shown(s: str) -> str:
    """What Discord displays for escaped text: the escapes resolved, nothing else changed."""
    return re.sub(r"\\([^0-9A-Za-z\s])", r"\1", s)


@pytest.mark.parametrize(
    "raw",
    [
        "@everyone",
        "@here",
        "<@123456789012345678>",
        "<@!123>",
        "<@&123>",
        "<#1>",
        "<:pog:1>",
        "<a:pog:1>",
        "<t:0:R>",
        "</cmd:1>",
        "<https://x.io>",
        "**bold** __u__ _i_ ~~s~~ ||spoiler||",
        "`code` ```block```",
        "a\\b",
        "[click](https://evil.example)",
        "# heading\n- item\n> quote\n1. one",
        "@EVERYONE",
    ],
)
def test_escape_shows_markdown_and_mentions_verbatim(raw):
    out = escape(raw)
    assert unescaped_specials(out) == []  # nothing formats, links or renders as a mention
    assert shown(out) == raw  # nothing lost, only made literal


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        # no character inserted into an @everyone/@here: an embed cannot ping (issue 10)
        ("@everyone@x.io", "@everyone@x.io"),
        ("render@herewego.io", "render@herewego.io"),
        ("user:1-pixverse:@here.now@x.io-video:7", "user:1-pixverse:@here.now@x.io-video:7"),
        ("alice@example.com", "alice@example.com"),
        # a mention's "<" is escaped, so the mention shows as typed instead of as a pill
        ("<@&1>", "\\<@&1>"),
        ("user:1-pixverse:<@&1>**b**-video:7", "user:1-pixverse:\\<@&1>\\*\\*b\\*\\*-video:7"),
        ("\\<@1>", "\\\\\\<@1>"),
        # a "<" that starts no token, and the bidi markers, stay as they are
        ("a < b <3 <U+202E>", "a < b <3 <U+202E>"),
    ],
)
def test_escape_changes_nothing_but_markdown(raw: str, escaped: str) -> None:
    assert escape(raw) == escaped
    assert shown(escaped) == raw


def test_escape_line_start_marks():
    out = escape("# h\n  - item\n>q\n12. x")
    assert out == "\\# h\n  \\- item\n\\>q\n12\\. x"


@given(
    st.text(
        alphabet=st.sampled_from("@everyone<&#:/t1>*_`|~[]\\\n-.é\u200b\u202e")
        | st.characters(exclude_categories=["Cs"])
    )
)
def test_escape_property(raw: str) -> None:
    out = escape(raw)
    assert unescaped_specials(out) == []
    assert not BIDI.search(out)
    assert shown(out) == neutralise_bidi(raw)  # nothing lost, only made literal or visible


# Every bidirectional control the issue names (embedding, override, isolate, mark).
BIDI_CONTROLS = [
    "\u202a",
    "\u202b",
    "\u202c",
    "\u202d",
    "\u202e",
    "\u2066",
    "\u2067",
    "\u2068",
    "\u2069",
    "\u200e",
    "\u200f",
    "\u061c",
]
BIDI = re.compile("[" + "".join(BIDI_CONTROLS) + "]")


@pytest.mark.parametrize("control", BIDI_CONTROLS)
def test_escape_shows_bidi_controls_as_markers(control: str) -> None:
    marker = f"<U+{ord(control):04X}>"
    assert escape(control) == marker  # alone
    assert escape(control + "abc") == marker + "abc"  # first
    assert escape("abc" + control) == "abc" + marker  # last
    assert escape(f"a{control}b{control}c") == f"a{marker}b{marker}c"


def test_escape_bidi_with_markdown_ids_and_mentions() -> None:
    # The "Trojan Source" id: shown in logical order, the override visible, nothing reversed.
    assert (
        escape("user:1-pixverse:a@b.c-video:\u202e7:oediv")
        == "user:1-pixverse:a@b.c-video:<U+202E>7:oediv"
    )
    assert (
        escape("\u202e**x**\u2066@everyone\u2069")
        == "<U+202E>\\*\\*x\\*\\*<U+2066>@everyone<U+2069>"
    )
    assert escape("# \u200fh") == "\\# <U+200F>h"
    # Ordinary ids, e-mails and non-Latin text are left exactly as they are.
    for plain in (
        "user:1-pixverse:alice@example.com-video:7",
        "US:a@x.io",
        "مرحبا",
        "é-ß-😀",
        "j0223140530123456789v-u12345-US:a@x.com:dreamina",
        "\u200b",
    ):
        assert neutralise_bidi(plain) == plain


@pytest.mark.parametrize("control", ["\x1b", "\x00", "\x07", "\x08", "\r", "\x7f", "\x9b"])
def test_printable_shows_terminal_controls_as_markers(control: str) -> None:
    marker = f"<U+{ord(control):04X}>"
    assert printable(control) == marker  # alone
    assert printable(control + "[2Jx") == marker + "[2Jx"  # first
    assert printable("x" + control) == "x" + marker  # last
    assert printable(f"a{control}\u202eb") == f"a{marker}<U+202E>b"  # with a bidi control


def test_printable_keeps_ordinary_text_and_layout() -> None:
    for plain in (
        "user:1-pixverse:alice@example.com-video:7",
        "a\tb\nc",
        "[bold]x[/]",
        "مرحبا",
        "é-ß-😀",
        "",
    ):
        assert printable(plain) == plain


def test_status_tables_show_hostile_upstream_text_inertly() -> None:
    """`opsbot status` prints upstream ids to a terminal: an escape sequence, a bidi override
    or rich markup in one is shown as text, never acted on."""
    from datetime import UTC, datetime
    from io import StringIO

    from rich.console import Console

    from bot.models import Account, Job, Snapshot
    from bot.report import ProviderReport, tables

    taken = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
    hostile = "user:1-pixverse:a@b.c-video:\x1b]0;pwned\x07\u202e7[bold red]x"
    snap = Snapshot(
        "pixverse",
        taken,
        (Job("pixverse", hostile, "video", "[link=x]a@b.c"),),
        (Account("[link=x]a@b.c", 2, 1, 1),),
    )
    out = StringIO()
    Console(file=out, width=400, color_system=None).print(
        tables([ProviderReport("pixverse", "PixVerse", snap, None)])
    )
    text = out.getvalue()
    assert "\x1b" not in text and "\x07" not in text and "\u202e" not in text
    assert "user:1-pixverse:a@b.c-video:<U+001B>]0;pwned<U+0007><U+202E>7[bold red]x" in text
    assert text.count("[link=x]a@b.c") == 2


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("alice@example.com", "a***@example.com"),
        ("user:1-pixverse:alice@example.com-video:7", "user:1-pixverse:a***@example.com-video:7"),
        ("US:alice@example.com", "US:a***@example.com"),
        (
            "j0223-u12345-US:bob.smith+x@mail.co.uk:dreamina",
            "j0223-u12345-US:b***@mail.co.uk:dreamina",
        ),
        ("a@b.c and c@d.e", "a***@b.c and c***@d.e"),
        ("no email here", "no email here"),
        ("user:1-minimax:412345-video:9", "user:1-minimax:412345-video:9"),
    ],
)
def test_redact_email(raw, expected):
    assert redact_email(raw) == expected
    assert redact_email(expected) == expected  # idempotent


def test_display_helpers():
    assert display_account("alice@example.com", True) == "a***@example.com"
    assert display_account("alice@example.com", False) == "alice@example.com"
    assert display_account(None, True) == "—"
    jid = "user:1-pixverse:al@x.io-video:2"
    assert display_id(jid, True) == "user:1-pixverse:a***@x.io-video:2"
    assert display_id(jid, False) == jid


def test_short_id_keeps_distinctive_part():
    assert short_id("user:1-pixverse:alice@example.com-video:7") == "…video:7"
    assert short_id("user:1-minimax:412345-image:inN", width=12) == "…image:inN"
    dreamina = "j0223140530123456789v-u12345-US:alice@example.com:dreamina"
    assert short_id(dreamina).startswith("j0223140530123456789v")
    assert short_id("short") == "short"
    long = "x" * 300
    assert len(short_id(long, width=20)) == 20
    assert short_id("abc" * 100, width=10).startswith("…")


def test_truncate():
    assert truncate("hello", 10) == "hello"
    assert truncate("hello world", 5) == "hell…"
    assert len(truncate("x" * 5000, 1000)) == 1000
    assert truncate("abc", 0) == ""


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (45, "45s"),
        (237, "3m 57s"),
        (3723, "1h 02m"),
        (90000, "1d 01h"),
        (-5, "0s"),
        (None, "—"),
        (float("nan"), "—"),
        # a year (bot.models.MAX_ELAPSED_SECONDS, the bound of an elapsed figure) and past it
        # (the adapters clamp to exactly the year, so the year itself reads as "over")
        (MAX_ELAPSED_SECONDS, "over 365d"),
        (MAX_ELAPSED_SECONDS - 1, "364d 23h"),
        (MAX_ELAPSED_SECONDS + 1, "over 365d"),
        (MAX_ELAPSED_SECONDS + 0.5, "over 365d"),
        (1e308, "over 365d"),
        (10**400, "over 365d"),
        (float("inf"), "over 365d"),
        (float("-inf"), "0s"),
        (-1e308, "0s"),
    ],
)
def test_fmt_duration(seconds, text):
    assert fmt_duration(seconds) == text


def test_bar():
    assert bar(3, 10) == "▰▰▰▱▱▱▱▱▱▱"
    assert bar(0, 5) == "▱" * 10
    assert bar(5, 5) == "▰" * 10
    assert bar(1, 1000) == "▰" + "▱" * 9  # something used shows
    assert bar(999, 1000) == "▰" * 9 + "▱"  # not full is never shown full
    assert bar(2, None) == "▱" * 10
    assert bar(0, 0) == "▰" * 10
    assert len(bar(1, 3, width=5)) == 5
