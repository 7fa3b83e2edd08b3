"""A completed job's result on its embed: an image job's picture as the embed's image, a
video's or song's cover as its thumbnail. Only `bot.models.previewable` URLs; the result
itself (video, audio, every image) stays in the links."""

from __future__ import annotations

from typing import Final

import discord

from bot.models import previewable
from bot.text import redact_email

__all__ = ["PREVIEWS_PER_MESSAGE", "preview_url", "set_preview"]

#: The most embeds of one message that carry a picture: a batch of many completions shows
#: the first few, then the summary (ten full-size pictures in one post bury the channel).
PREVIEWS_PER_MESSAGE: Final = 4


def preview_url(url: str | None, redact: bool) -> str | None:
    """`url` as a picture may show it, else None: `previewable`, and with `REDACT_ACCOUNTS`
    none that holds an e-mail (masking it would break the URL; it stays a masked link)."""
    ok = previewable(url)
    if ok is None or (redact and redact_email(ok) != ok):
        return None
    return ok


def set_preview(
    embed: discord.Embed, *, image: str | None, cover: str | None, redact: bool
) -> bool:
    """Put the picture and the cover on `embed` (each only when fit); whether it got one."""
    picture = preview_url(image, redact)
    thumb = preview_url(cover, redact)
    if picture is not None:
        embed.set_image(url=picture)
    if thumb is not None:
        embed.set_thumbnail(url=thumb)
    return picture is not None or thumb is not None
