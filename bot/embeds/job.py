"""`/job`: one job's outcome, times, prompt, result links and upstream error."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

import discord

from bot.embeds.layout import cut, provider_title, reply_ref_parts, shown, when
from bot.embeds.limits import FIELD_VALUE_MAX
from bot.embeds.links import links
from bot.embeds.preview import set_preview
from bot.embeds.style import BAD, NEUTRAL, OK, WARN
from bot.models import JobResult, Outcome
from bot.text import display_account, display_id

__all__ = ["job_embed"]

_OUTCOME_COLOUR: Final = {
    Outcome.RUNNING: NEUTRAL,
    Outcome.COMPLETED: OK,
    Outcome.FAILED: BAD,
    Outcome.MODERATED: WARN,
    Outcome.CANCELLED: WARN,
    Outcome.UNKNOWN: WARN,
}

ID_CHARS: Final = 1000
RAW_STATUS_CHARS: Final = 60
#: The account and model fields (inline: three to a row).
SHORT_FIELD_CHARS: Final = 200
#: Prompt and error text, before escaping grows them (then cut to the field limit).
LONG_TEXT_CHARS: Final = 900
#: Upstream's extra fields shown, and the length of each name and value.
EXTRA_SHOWN: Final = 5
EXTRA_NAME_CHARS: Final = 60
EXTRA_VALUE_CHARS: Final = 200


def job_embed(
    result: JobResult, *, titles: Mapping[str, str], redact: bool, previews: bool = True
) -> discord.Embed:
    """One job: outcome word and colour, provider, id, account, kind, model, times, prompt,
    result links and the upstream error text; with `previews` (`SHOW_PREVIEWS`), a completed
    job's picture or cover, as its alert shows it."""
    ptitle = provider_title(result.provider, titles)
    word = result.outcome.value
    e = discord.Embed(
        title=f"{ptitle} job {word}",
        description=f"**Id** {shown(display_id(result.id, redact), False, ID_CHARS)}",
        colour=_OUTCOME_COLOUR.get(result.outcome, NEUTRAL),
        timestamp=result.updated or result.created,
    )
    outcome = word
    if result.raw_status:
        outcome += f" (upstream: {shown(result.raw_status, redact, RAW_STATUS_CHARS)})"
    e.add_field(name="Outcome", value=outcome, inline=True)
    e.add_field(name="Provider", value=ptitle, inline=True)
    e.add_field(
        name="Account",
        inline=True,
        value=shown(display_account(result.account, redact), False, SHORT_FIELD_CHARS),
    )
    e.add_field(name="Kind", value=result.kind or "—", inline=True)
    e.add_field(
        name="Model",
        inline=True,
        value=shown(result.model, redact, SHORT_FIELD_CHARS) if result.model else "—",
    )
    ref = reply_ref_parts(result.reply_ref)
    if ref is not None:
        e.add_field(name=ref[0], value=ref[1], inline=True)
    if result.created:
        e.add_field(name="Created", value=when(result.created), inline=True)
    if result.updated:
        e.add_field(name="Updated", value=when(result.updated), inline=True)
    if result.prompt:
        e.add_field(
            name="Prompt",
            inline=False,
            value=cut(shown(result.prompt, redact, LONG_TEXT_CHARS), FIELD_VALUE_MAX),
        )
    result_links = links(result.urls, redact)
    if result_links:
        e.add_field(name=f"Results ({len(result.urls)})", value=result_links, inline=False)
    if result.error:
        e.add_field(
            name="Upstream error",
            inline=False,
            value=cut(shown(result.error, redact, LONG_TEXT_CHARS), FIELD_VALUE_MAX),
        )
    for k, v in list(result.extra.items())[:EXTRA_SHOWN]:
        if k and v:
            e.add_field(
                name=shown(k, redact, EXTRA_NAME_CHARS),
                value=shown(v, redact, EXTRA_VALUE_CHARS),
                inline=True,
            )
    e.set_footer(text="opsbot · /job")
    if previews and result.outcome is Outcome.COMPLETED:
        set_preview(e, image=result.image, cover=result.cover, redact=redact)
    return e
