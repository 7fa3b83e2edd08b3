"""Snapshots, job results and events → `discord.Embed`. Pure: no HTTP, no clock, no state.

Every builder takes normalised data (`bot.models`, `bot.events`, `bot.health`) plus `now` where
time matters, and returns embeds that are already inside every Discord limit (see
`check_limits`). Every string that came from upstream is shown verbatim, markdown-escaped only
(`layout.shown`: redacted when asked, then `bot.text.escape`): ids, accounts, prompts and
error texts can neither format nor link, and what a person copies out of an embed (as Discord
shows it) is what upstream said. Embeds never ping; every message's `allowed_mentions` sees to
its content.

The rooms: `limits` (Discord's limits and the check), `style` (colours, marks), `layout` (safe
text, bounded fields and pages), `links`; a module per view — `queue`, `capacity`, `job`,
`status`, `board`, `config` (/alerts show), `help`, `errors` — and for alerts `alert` (one
event) and `batch` (one message).
"""

from __future__ import annotations

from bot.embeds.alert import alert_embed, alert_title
from bot.embeds.batch import alert_batch
from bot.embeds.board import board_embed
from bot.embeds.capacity import capacity_pages
from bot.embeds.config import config_embed
from bot.embeds.errors import error_embed, input_error_embed
from bot.embeds.help import help_embed
from bot.embeds.job import job_embed
from bot.embeds.layout import FIELD_LINES, PAGE_BUDGET
from bot.embeds.limits import (
    AUTHOR_MAX,
    DESCRIPTION_MAX,
    EMBED_TOTAL_MAX,
    FIELD_NAME_MAX,
    FIELD_VALUE_MAX,
    FIELDS_MAX,
    FOOTER_MAX,
    MESSAGE_EMBEDS_MAX,
    MESSAGE_TOTAL_MAX,
    TITLE_MAX,
    EmbedLimitError,
    check_limits,
    embed_size,
    limit_problems,
    text_len,
)
from bot.embeds.queue import queue_pages
from bot.embeds.status import status_embed
from bot.embeds.style import BAD, NEUTRAL, OK, WARN

__all__ = [
    "AUTHOR_MAX",
    "BAD",
    "DESCRIPTION_MAX",
    "EMBED_TOTAL_MAX",
    "FIELDS_MAX",
    "FIELD_LINES",
    "FIELD_NAME_MAX",
    "FIELD_VALUE_MAX",
    "FOOTER_MAX",
    "MESSAGE_EMBEDS_MAX",
    "MESSAGE_TOTAL_MAX",
    "NEUTRAL",
    "OK",
    "PAGE_BUDGET",
    "TITLE_MAX",
    "WARN",
    "EmbedLimitError",
    "alert_batch",
    "alert_embed",
    "alert_title",
    "board_embed",
    "capacity_pages",
    "check_limits",
    "config_embed",
    "embed_size",
    "error_embed",
    "help_embed",
    "input_error_embed",
    "job_embed",
    "limit_problems",
    "queue_pages",
    "status_embed",
    "text_len",
]
