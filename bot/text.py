"""Small text helpers for showing upstream strings safely. Pure, no Discord objects.

Functions here return *plain* text except `escape`, which makes a string safe to drop into
Discord markdown. Embed builders redact first (`display_account`, `display_id`), then shorten
(`short_id`, `truncate`), then `escape` — never the other way round, so a cut can never split an
escape sequence.
"""

from __future__ import annotations

import re

from bot.models import MAX_ELAPSED_SECONDS

__all__ = [
    "bar",
    "display_account",
    "display_id",
    "escape",
    "fmt_duration",
    "neutralise_bidi",
    "no_limit",
    "printable",
    "redact_email",
    "short_id",
    "truncate",
]

ELLIPSIS = "…"

# local@domain.tld; the local part stops at ':' so "US:alice@x.com" and
# "user:1-pixverse:alice@x.com-video:7" mask only "alice".
_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@(?=[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+)")

# Characters Discord markdown gives meaning anywhere in a line; a backslash before any ASCII
# punctuation shows it literally.
_MD_SPECIAL = re.compile(r"[\\`*_~|\[\]]")
# ... and at the start of a line: quotes, headings/subtext, bullets, numbered lists.
_MD_LINE_MARK = re.compile(r"^([ \t]*)([>#\-+])", re.MULTILINE)
_MD_LINE_NUMBER = re.compile(r"^([ \t]*\d+)([.)])", re.MULTILINE)
# ... and "<" where Discord reads a token in angle brackets: a user, role or channel mention
# (`<@1>`, `<@&1>`, `<#1>`), an emoji (`<:x:1>`, `<a:x:1>`), a timestamp (`<t:0>`), a
# command (`</x:1>`), a link (`<https://…>`). Escaped, it shows as typed; "<U+202E>" stays.
_MD_ANGLE = re.compile(r"<(?=[@#:/]|[A-Za-z]+:)")

# Bidirectional controls: embeddings and overrides (U+202A–U+202E), isolates (U+2066–U+2069)
# and marks (U+200E, U+200F, U+061C). Inside an upstream string they reorder what follows on
# screen ("Trojan Source"): an id or an error text could read as something else.
_BIDI = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")

# The distinctive tail of an id such as "user:1-pixverse:EMAIL-video:7" → "video:7".
_KIND_TAIL = re.compile(r"-((?:video|image|music|audio|song|job):\S+)$")
# Ids that end in a bare provider word ("…-US:EMAIL:dreamina"): the head is the distinctive part.
_WORD_SUFFIX = re.compile(r":[A-Za-z]+$")


def neutralise_bidi(s: str) -> str:
    """Show every bidirectional control as a visible marker, ``<U+202E>``: the text stays
    readable (and says what was there) and can no longer be reordered on screen. Text
    without one (every ordinary id) is returned as it is."""
    if s.isascii():
        return s
    return _BIDI.sub(lambda m: f"<U+{ord(m.group()):04X}>", s)


#: C0 and C1 control characters but tab and line feed: in a terminal, ESC starts a sequence
#: that can move the cursor, rewrite earlier lines or set the window title.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(s: str) -> str:
    """Upstream text made safe for a terminal: control characters and bidirectional controls
    shown as visible markers (``<U+001B>``, ``<U+202E>``), everything else as it is."""
    return neutralise_bidi(_CONTROL.sub(lambda m: f"<U+{ord(m.group()):04X}>", s))


def escape(s: str) -> str:
    """Make an upstream string show verbatim in Discord markdown: no formatting, links,
    rendered mentions or bidirectional reordering.

    Like `discord.utils.escape_markdown`, plus brackets (no masked links), line-start
    list/heading/quote marks and the ``<`` of a mention or other token: backticks, ``*``,
    ``_``, ``~``, ``|``, ``\\``, ``[``, ``]`` are backslash-escaped so they show literally;
    bidi controls become visible markers (`neutralise_bidi`). Nothing else is changed: with
    the backslashes taken away (as Discord shows it) the text is upstream's, so an id copied
    from an embed is the id. ``@everyone`` stays as it is: an embed never pings, and every
    message sends `allowed_mentions` (none, but a configured role) for its content.
    """
    s = neutralise_bidi(s)
    s = _MD_SPECIAL.sub(r"\\\g<0>", s)
    s = _MD_LINE_MARK.sub(r"\1\\\2", s)
    s = _MD_LINE_NUMBER.sub(r"\1\\\2", s)
    return _MD_ANGLE.sub(r"\\<", s)


def redact_email(s: str) -> str:
    """Mask the local part of every e-mail address in `s`: ``alice@example.com`` →
    ``a***@example.com``; works inside job ids and ``US:alice@example.com`` too."""
    return _EMAIL.sub(lambda m: m.group(0)[0] + "***@", s)


def display_account(s: str | None, redact: bool) -> str:
    """The account as users should see it (plain text, not escaped); "—" when unknown."""
    if not s:
        return "—"
    return redact_email(s) if redact else s


def display_id(job_id: str, redact: bool) -> str:
    """A job id as users should see it (plain text): e-mails inside masked when `redact`."""
    return redact_email(job_id) if redact else job_id


def truncate(s: str, n: int) -> str:
    """`s` cut to at most `n` characters, ending in "…" when it was cut."""
    if n <= 0:
        return ""
    if len(s) <= n:
        return s
    return s[: n - 1] + ELLIPSIS


def short_id(job_id: str, width: int = 32) -> str:
    """At most `width` characters of `job_id`, keeping the part that tells jobs apart.

    ``user:1-pixverse:alice@example.com-video:7`` → ``…video:7``;
    ``j0223…v-u12345-US:alice@example.com:dreamina`` → ``j0223…v-u12345-US:a…``;
    anything else keeps its tail.
    """
    width = max(width, 2)
    if len(job_id) <= width:
        return job_id
    m = _KIND_TAIL.search(job_id)
    if m:
        return ELLIPSIS + truncate(m.group(1), width - 1)
    if _WORD_SUFFIX.search(job_id):
        return truncate(job_id, width)
    return ELLIPSIS + job_id[-(width - 1) :]


def fmt_duration(seconds: float | None) -> str:
    """``45s``, ``3m 57s``, ``1h 02m``, ``2d 03h``; "—" when unknown. Negative counts as 0;
    past a year (`MAX_ELAPSED_SECONDS`, where elapsed figures are clamped) ``over 365d``, so
    an absurd figure reads as absurd without a 300-digit day count."""
    if seconds is None or seconds != seconds:  # NaN (math.isnan overflows on a huge int)
        return "—"
    if seconds >= MAX_ELAPSED_SECONDS:  # where absurd figures are clamped: at least that
        return f"over {MAX_ELAPSED_SECONDS // 86400}d"
    s = int(seconds) if seconds > 0 else 0
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m {s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h {s % 3600 // 60:02d}m"
    return f"{s // 86400}d {s % 86400 // 3600:02d}h"


#: What every view says where a provider publishes no job limit (Mureka): see `no_limit`.
NO_LIMIT = "no limit published"


def no_limit(running: int) -> str:
    """``3 running · no limit published``: capacity where no limit is published (Mureka), the
    one wording of /capacity, /status, /board and `opsbot status`; no share, no bar, nothing
    divided by an unknown limit."""
    return f"{running} running · {NO_LIMIT}"


def bar(used: int, total: int | None, width: int = 10) -> str:
    """A fill bar ``▰▰▰▱▱▱▱▱▱▱``. Never shows full unless `used >= total`, never empty when
    anything is used; all empty when `total` is unknown."""
    width = max(width, 1)
    if total is None:
        return "▱" * width
    if total <= 0 or used >= total:
        return "▰" * width
    if used <= 0:
        return "▱" * width
    filled = min(max(round(used / total * width), 1), width - 1)
    return "▰" * filled + "▱" * (width - filled)
