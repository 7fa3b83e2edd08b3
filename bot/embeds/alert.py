"""One alert as one embed: provider, job id or account, one outcome word, detail, links."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Final

import discord

from bot.embeds.layout import cut, provider_title, reply_ref_line, shown, when
from bot.embeds.limits import DESCRIPTION_MAX, TITLE_MAX
from bot.embeds.links import links
from bot.embeds.preview import preview_url, set_preview
from bot.embeds.style import word_colour
from bot.events import Event, EventKind
from bot.text import display_account, display_id, escape, truncate

__all__ = ["alert_embed", "alert_target", "alert_title", "has_preview"]

#: The word in the title (it is one of ours; the bound guards a stored row from elsewhere).
WORD_CHARS: Final = 40
#: The account an alert is about.
ACCOUNT_CHARS: Final = 100
JOB_ID_CHARS: Final = 600
DETAIL_CHARS: Final = 1500
#: The event's extra fields shown (kind, model, prompt, started …) and their lengths.
EXTRA_SHOWN: Final = 4
EXTRA_NAME_CHARS: Final = 40
EXTRA_VALUE_CHARS: Final = 100
LINKS_CHARS: Final = 1000


def alert_target(event: Event, redact: bool) -> str:
    """The account the alert is about, or "all accounts"."""
    if event.account:
        return shown(display_account(event.account, redact), False, ACCOUNT_CHARS)
    return "all accounts"


def alert_title(event: Event, *, titles: Mapping[str, str], redact: bool) -> str:
    """``PixVerse job completed``, ``MiniMax capacity exhausted · 412345``,
    ``Dreamina upstream unauthorized`` — the outcome word always appears literally."""
    ptitle = provider_title(event.provider, titles)
    word = escape(truncate(event.word, WORD_CHARS))
    if event.kind is EventKind.CAPACITY:
        return cut(f"{ptitle} capacity {word} · {alert_target(event, redact)}", TITLE_MAX)
    if event.kind is EventKind.ACCOUNT:
        if not event.account:  # the subscription: useapi-wide
            return cut(f"{ptitle} {word}", TITLE_MAX)
        noun = "" if word.startswith("account") else "account "
        return cut(f"{ptitle} {noun}{word} · {alert_target(event, redact)}", TITLE_MAX)
    noun = "job" if event.kind is EventKind.JOB else "upstream"
    return f"{ptitle} {noun} {word}"


def _ends(event: Event) -> datetime | None:
    """When an account's session or token ends (`expires soon`), read from the event."""
    raw = event.extra.get("expires") if event.kind is EventKind.ACCOUNT else None
    if not raw:
        return None
    try:
        t = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None
    return t if t.tzinfo is not None else t.replace(tzinfo=UTC)


def has_preview(event: Event, redact: bool) -> bool:
    """Whether the alert for `event` shows a picture: a completed job's image or cover, fit
    to show (`preview_url`). Never a failed, moderated or cancelled job's."""
    if event.kind is not EventKind.JOB or event.word != "completed":
        return False
    return (preview_url(event.image, redact) or preview_url(event.cover, redact)) is not None


def alert_embed(
    event: Event, *, titles: Mapping[str, str], redact: bool, previews: bool = True
) -> discord.Embed:
    """One alert: provider, job id / account, one outcome word in the title, colour by word,
    detail, result links, `event.at` as the timestamp; with `previews` (`SHOW_PREVIEWS`), a
    completed job's picture or cover (`has_preview`)."""
    lines: list[str] = []
    if event.job_id:
        lines.append(f"**Job** {shown(display_id(event.job_id, redact), False, JOB_ID_CHARS)}")
    ref = reply_ref_line(event.reply_ref)
    if ref is not None:
        lines.append(ref)
    if event.account:
        lines.append(f"**Account** {alert_target(event, redact)}")
    elif event.kind is EventKind.CAPACITY:
        lines.append("**Account** all accounts")
    if event.detail:
        lines.append(shown(event.detail, redact, DETAIL_CHARS))
    ends = _ends(event)
    if ends is not None:
        lines.append(f"**Ends** {when(ends)}")
    for k, v in list(event.extra.items())[:EXTRA_SHOWN]:
        if k and v and not (ends is not None and k == "expires"):
            lines.append(
                f"**{shown(k, redact, EXTRA_NAME_CHARS)}** {shown(v, redact, EXTRA_VALUE_CHARS)}"
            )
    result_links = links(event.urls, redact, limit=LINKS_CHARS)
    if result_links:
        lines.append(result_links)
    lines.append(f"**When** {when(event.at)}")
    e = discord.Embed(
        title=alert_title(event, titles=titles, redact=redact),
        description=cut("\n".join(lines), DESCRIPTION_MAX),
        colour=word_colour(event.word),
        timestamp=event.at,
    )
    e.set_footer(text=f"{event.kind.value} alert")
    if previews and has_preview(event, redact):
        set_preview(e, image=event.image, cover=event.cover, redact=redact)
    return e
