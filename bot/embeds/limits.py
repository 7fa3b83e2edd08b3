"""Discord's embed limits, how Discord counts toward them, and the check every builder passes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import discord

__all__ = [
    "AUTHOR_MAX",
    "DESCRIPTION_MAX",
    "EMBED_TOTAL_MAX",
    "FIELDS_MAX",
    "FIELD_NAME_MAX",
    "FIELD_VALUE_MAX",
    "FOOTER_MAX",
    "MESSAGE_EMBEDS_MAX",
    "MESSAGE_TOTAL_MAX",
    "TITLE_MAX",
    "EmbedLimitError",
    "check_limits",
    "embed_size",
    "limit_problems",
    "text_len",
]

TITLE_MAX: Final = 256
DESCRIPTION_MAX: Final = 4096
FIELDS_MAX: Final = 25
FIELD_NAME_MAX: Final = 256
FIELD_VALUE_MAX: Final = 1024
FOOTER_MAX: Final = 2048
AUTHOR_MAX: Final = 256
EMBED_TOTAL_MAX: Final = 6000
MESSAGE_TOTAL_MAX: Final = 6000
MESSAGE_EMBEDS_MAX: Final = 10


def text_len(s: str | None) -> int:
    """Length as Discord may count it: UTF-16 code units (never less than `len(s)`)."""
    if not s:
        return 0
    return len(s.encode("utf-16-le", "surrogatepass")) // 2


def embed_size(embed: discord.Embed) -> int:
    """Characters that count toward the 6000 limit: title, description, field names and
    values, footer text and author name."""
    total = text_len(embed.title) + text_len(embed.description)
    total += sum(text_len(f.name) + text_len(f.value) for f in embed.fields)
    total += text_len(embed.footer.text) + text_len(embed.author.name)
    return total


class EmbedLimitError(ValueError):
    """Some embed (or the message they make up) is over a Discord limit."""


def _embed_problems(i: int, e: discord.Embed) -> list[str]:
    """The limits one embed (the `i`th of its message) breaks on its own."""
    problems: list[str] = []
    checks = [
        ("title", e.title, TITLE_MAX),
        ("description", e.description, DESCRIPTION_MAX),
        ("footer", e.footer.text, FOOTER_MAX),
        ("author", e.author.name, AUTHOR_MAX),
    ]
    for what, text, limit in checks:
        if text_len(text) > limit:
            problems.append(f"embed {i}: {what} has {text_len(text)} chars (max {limit})")
    if len(e.fields) > FIELDS_MAX:
        problems.append(f"embed {i}: {len(e.fields)} fields (max {FIELDS_MAX})")
    for j, f in enumerate(e.fields):
        if not f.name or not f.value:
            problems.append(f"embed {i}: field {j} has an empty name or value")
        if text_len(f.name) > FIELD_NAME_MAX:
            problems.append(f"embed {i}: field {j} name has {text_len(f.name)} chars")
        if text_len(f.value) > FIELD_VALUE_MAX:
            problems.append(f"embed {i}: field {j} value has {text_len(f.value)} chars")
    size = embed_size(e)
    if size > EMBED_TOTAL_MAX:
        problems.append(f"embed {i}: {size} chars in total (max {EMBED_TOTAL_MAX})")
    return problems


def limit_problems(embeds: Sequence[discord.Embed]) -> list[str]:
    """Every Discord limit the embeds break when sent together as one message ([] = fine)."""
    problems: list[str] = []
    if len(embeds) > MESSAGE_EMBEDS_MAX:
        problems.append(f"{len(embeds)} embeds in one message (max {MESSAGE_EMBEDS_MAX})")
    for i, e in enumerate(embeds):
        problems += _embed_problems(i, e)
    total = sum(embed_size(e) for e in embeds)
    if total > MESSAGE_TOTAL_MAX:
        problems.append(f"{total} chars across the message (max {MESSAGE_TOTAL_MAX})")
    return problems


def check_limits(embeds: Sequence[discord.Embed] | discord.Embed) -> None:
    """Raise `EmbedLimitError` naming every limit broken by `embeds` as one message."""
    batch = [embeds] if isinstance(embeds, discord.Embed) else list(embeds)
    problems = limit_problems(batch)
    if problems:
        raise EmbedLimitError("; ".join(problems))
