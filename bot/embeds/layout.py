"""Layout helpers every view shares: upstream text made safe, cutting without breaking an
escape, lines into bounded fields, fields into bounded pages."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

import discord
from discord.utils import format_dt

from bot.embeds.limits import (
    DESCRIPTION_MAX,
    FIELD_NAME_MAX,
    FIELD_VALUE_MAX,
    FIELDS_MAX,
    TITLE_MAX,
    embed_size,
    text_len,
)
from bot.models import Snapshot, discord_user
from bot.text import ELLIPSIS, escape, fmt_duration, redact_email, truncate

__all__ = [
    "FIELD_LINES",
    "MESSAGE_BUDGET",
    "PAGE_BUDGET",
    "Block",
    "add_fields_bounded",
    "chunk_lines",
    "cut",
    "data_age",
    "join_bounded",
    "pages",
    "plural",
    "provider_title",
    "shown",
    "span_name",
    "when",
]

#: What a page aims for, well inside the 6000 limit, so that it reads comfortably.
PAGE_BUDGET: Final = 3500
#: Lines per field: a block longer than this is continued in the next field.
FIELD_LINES: Final = 20
#: Room kept on every page for its footer ("Data from … · page i/n · …").
FOOTER_RESERVE: Final = 120
#: One message of several embeds (alert summaries, the board): a little under 6000.
MESSAGE_BUDGET: Final = 5800
#: A provider's display name, as configured or upstream's word.
PROVIDER_TITLE_CHARS: Final = 60


def cut(s: str, n: int) -> str:
    """Cut already-escaped text to `n` (UTF-16) characters without leaving a dangling escape."""
    if text_len(s) <= n:
        return s
    out = s[: max(n - 1, 0)]
    while out and text_len(out) > n - 1:
        out = out[:-1]
    trailing = len(out) - len(out.rstrip("\\"))
    if trailing % 2:
        out = out[:-1]
    return out + ELLIPSIS


def shown(s: str, redact: bool, n: int | None = None) -> str:
    """An upstream string as an embed shows it: e-mails masked when `redact`, cut to `n`,
    markdown-escaped (`bot.text.escape`)."""
    if redact:
        s = redact_email(s)
    if n is not None:
        s = truncate(s, n)
    return escape(s)


#: The longest `replyRef` text an embed shows (useapi allows 1024 characters).
REPLY_REF_CHARS = 300


def reply_ref_parts(ref: str | None, n: int = REPLY_REF_CHARS) -> tuple[str, str] | None:
    """How an embed names who a job is for: ("For", `<@id>`) when its `replyRef` is
    `discord:<id>` (an embed never pings), else ("Ref", the text verbatim but
    markdown-escaped and cut to `n`); None without one."""
    if ref is None:
        return None
    user = discord_user(ref)
    if user is not None:
        return "For", f"<@{user}>"
    return "Ref", shown(ref, False, n)


def reply_ref_line(ref: str | None, n: int = REPLY_REF_CHARS) -> str | None:
    """`reply_ref_parts` as one description line: `**For** <@id>`, `**Ref** text`."""
    parts = reply_ref_parts(ref, n)
    return None if parts is None else f"**{parts[0]}** {parts[1]}"


def provider_title(provider: str, titles: Mapping[str, str] | None) -> str:
    """The provider's display name (its configured title, else its name), escaped."""
    return escape(truncate((titles or {}).get(provider) or provider, PROVIDER_TITLE_CHARS))


def plural(n: int, word: str, plural_form: str | None = None) -> str:
    """``1 job``, ``3 jobs``."""
    return f"{n} {word if n == 1 else (plural_form or word + 's')}"


def when(dt: datetime) -> str:
    """A moment as Discord shows it: the date and time, then how long ago."""
    return f"{format_dt(dt, 'f')} ({format_dt(dt, 'R')})"


def data_age(snapshots: Sequence[Snapshot], now: datetime, fetched_at: datetime | None) -> str:
    """How old the data is: since `fetched_at`, else since the oldest snapshot was taken."""
    at = fetched_at or (min(s.taken_at for s in snapshots) if snapshots else now)
    return fmt_duration((now - at).total_seconds())


def join_bounded(lines: Sequence[str], limit: int, more: Callable[[int], str]) -> str:
    """Join lines with newlines, dropping trailing ones (announced by `more(n)`) to fit."""
    out: list[str] = []
    size = 0
    for i, line in enumerate(lines):
        add = text_len(line) + (1 if out else 0)
        tail = text_len(more(len(lines) - i)) + 1
        rest_fits = i == len(lines) - 1 or size + add + tail <= limit
        if size + add > limit or not rest_fits:
            out.append(more(len(lines) - i))
            break
        out.append(line)
        size += add
    return cut("\n".join(out), limit)


def add_fields_bounded(
    embed: discord.Embed,
    fields: Sequence[tuple[str, str]],
    more: Callable[[int], tuple[str, str]],
    budget: int = MESSAGE_BUDGET,
) -> None:
    """Add inline=False fields while the embed stays within `budget` characters and 25
    fields; what does not fit is announced by one `more(n)` field."""
    size = embed_size(embed)
    for i, (name, value) in enumerate(fields):
        name, value = cut(name, FIELD_NAME_MAX), cut(value, FIELD_VALUE_MAX)
        left = len(fields) - i
        tail_name, tail_value = more(left - 1)
        reserve = text_len(tail_name) + text_len(tail_value) if left > 1 else 0
        room_fields = len(embed.fields) < FIELDS_MAX - (1 if left > 1 else 0)
        if not room_fields or size + text_len(name) + text_len(value) + reserve > budget:
            n, v = more(left)
            embed.add_field(name=n, value=v, inline=False)
            return
        embed.add_field(name=name, value=value, inline=False)
        size += text_len(name) + text_len(value)


@dataclass(frozen=True, slots=True)
class Block:
    """One field-to-be: a name and its lines, already within the field limits."""

    name: str
    value: str


def chunk_lines(
    lines: Sequence[str], name: Callable[[int, int, bool], str], max_lines: int = FIELD_LINES
) -> list[Block]:
    """Split lines into field-sized blocks; `name(first, end, continued)` names each block."""
    spans: list[tuple[int, int, list[str]]] = []
    cur: list[str] = []
    size = 0
    start = 0
    for i, raw in enumerate(lines):
        line = cut(raw, FIELD_VALUE_MAX)
        add = text_len(line) + (1 if cur else 0)
        if cur and (len(cur) >= max_lines or size + add > FIELD_VALUE_MAX):
            spans.append((start, i, cur))
            cur, size, start = [], 0, i
            add = text_len(line)
        cur.append(line)
        size += add
    if cur:
        spans.append((start, len(lines), cur))
    return [
        Block(cut(name(s, e, k > 0), FIELD_NAME_MAX), "\n".join(c))
        for k, (s, e, c) in enumerate(spans)
    ]


def span_name(head: str, count: int) -> Callable[[int, int, bool], str]:
    """A `chunk_lines` namer: `head`, then which of the `count` lines a block holds when the
    lines take more than one block (``PixVerse accounts · 21–40 of 60``)."""

    def name(first: int, end: int, continued: bool) -> str:
        where = f" · {first + 1}–{end} of {count}" if continued or end < count else ""
        return f"{head}{where}"

    return name


def pages(
    blocks: Sequence[Block],
    *,
    title: str,
    description: str,
    colour: discord.Colour,
    footer: Callable[[int, int], str],
    timestamp: datetime | None = None,
    budget: int = PAGE_BUDGET,
) -> list[discord.Embed]:
    """Pack blocks into pages of at most `budget` characters and 25 fields each."""
    title = cut(title, TITLE_MAX)
    description = cut(description, DESCRIPTION_MAX)
    head = text_len(title) + text_len(description) + FOOTER_RESERVE
    groups: list[list[Block]] = [[]]
    size = head
    for b in blocks:
        bs = text_len(b.name) + text_len(b.value)
        if groups[-1] and (size + bs > budget or len(groups[-1]) >= FIELDS_MAX):
            groups.append([])
            size = head
        groups[-1].append(b)
        size += bs
    out: list[discord.Embed] = []
    for i, group in enumerate(groups, 1):
        e = discord.Embed(
            title=title, description=description or None, colour=colour, timestamp=timestamp
        )
        for b in group:
            e.add_field(name=b.name, value=b.value, inline=False)
        e.set_footer(text=cut(footer(i, len(groups)), FOOTER_RESERVE))
        out.append(e)
    return out
