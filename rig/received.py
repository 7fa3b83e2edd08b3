"""What the bot posted to the fake Discord, as a test reads it: its alert embeds, with
markdown escapes undone."""

from __future__ import annotations

import re
from typing import Any

from rig.fakediscord import FakeDiscord

JSON = dict[str, Any]

#: Channel posts (alerts and boards), as a `FakeDiscord.fail` / `requests_matching` pattern.
POSTS = r"POST /channels/\d+/messages$"


def plain(s: str) -> str:
    return s.replace("\\", "")


def alerts(fake: FakeDiscord, channel: int | None = None) -> list[tuple[str, str, JSON]]:
    """(title, unescaped description, message) of every alert embed posted (boards left out)."""
    return [
        (e.get("title", ""), plain(e.get("description", "")), m)
        for m in fake.messages(channel)
        for e in m["embeds"]
        if e.get("title") != "opsbot board"
    ]


def count(fake: FakeDiscord, word: str, needle: str = "", channel: int | None = None) -> int:
    """Alerts whose title carries `word` and whose text mentions `needle`."""
    rx = re.compile(rf"\b{re.escape(word)}\b")
    return sum(
        1 for title, desc, _ in alerts(fake, channel) if rx.search(title) and needle in title + desc
    )
