"""Result links from upstream as markdown links: only http(s) targets, escaped labels."""

from __future__ import annotations

import urllib.parse
from collections.abc import Sequence
from typing import Final

from bot.embeds.layout import join_bounded, plural, shown
from bot.embeds.limits import FIELD_VALUE_MAX
from bot.text import redact_email

__all__ = ["links"]

#: Characters left as they are in a link target (the rest is percent-encoded).
_URL_SAFE: Final = "/:?#@!$&'*+,;=%-._~"
#: A longer target is not shown (a link is for clicking, not for reading).
URL_MAX: Final = 512
#: A link's label: the last part of its path.
LABEL_CHARS: Final = 40
#: Room kept for the "N links not shown" note.
NOTE_RESERVE: Final = 40


def _link_target(url: str) -> str | None:
    """A URL fit for a markdown link target, or None (not http(s), or too long)."""
    url = url.strip()
    if not url.lower().startswith(("http://", "https://")):
        return None
    url = "".join(ch for ch in url if ch.isprintable())
    url = urllib.parse.quote(url, safe=_URL_SAFE)
    # Parentheses and angle brackets would end the markdown link early.
    url = url.replace("(", "%28").replace(")", "%29").replace("<", "%3C").replace(">", "%3E")
    return url if len(url) <= URL_MAX else None


def _link_label(url: str, i: int) -> str:
    path = urllib.parse.urlsplit(url).path
    tail = urllib.parse.unquote(path.rstrip("/").rsplit("/", 1)[-1])
    return tail or f"result {i}"


def links(urls: Sequence[str], redact: bool, limit: int = FIELD_VALUE_MAX) -> str | None:
    """Markdown links (escaped labels, only http(s) targets) fitting in `limit` characters."""
    if not urls:
        return None
    shown_links: list[str] = []
    skipped = 0
    for i, raw in enumerate(urls, 1):
        target = _link_target(redact_email(raw) if redact else raw)
        if target is None:
            skipped += 1
            continue
        shown_links.append(f"[{shown(_link_label(target, i), redact, LABEL_CHARS)}]({target})")
    lines = join_bounded(shown_links, limit - NOTE_RESERVE, lambda n: f"and {n} more")
    if skipped:
        note = f"{plural(skipped, 'link')} not shown (not http/https or too long)"
        lines = f"{lines}\n{note}" if lines else note
    return lines or None
