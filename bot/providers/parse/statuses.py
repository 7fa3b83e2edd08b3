"""Status words (`COMPLETED`, `queued`, `Canceled`, …) → the normalised outcome."""

from __future__ import annotations

import re
from typing import Final

from bot.models import Outcome

_WORDS: Final[dict[str, Outcome]] = {
    **dict.fromkeys(
        (
            "created",
            "started",
            "progress",
            "in_progress",
            "processing",
            "pending",
            "queued",
            "generating",
            "running",
            "waiting",
            "submitted",
        ),
        Outcome.RUNNING,
    ),
    **dict.fromkeys(
        ("completed", "complete", "succeeded", "succeed", "success", "done", "finished"),
        Outcome.COMPLETED,
    ),
    **dict.fromkeys(("failed", "failure", "fail", "error", "errored"), Outcome.FAILED),
    **dict.fromkeys(("moderated", "moderation", "blocked", "rejected"), Outcome.MODERATED),
    **dict.fromkeys(("cancelled", "canceled", "cancel", "aborted"), Outcome.CANCELLED),
}


def outcome_from_word(word: object) -> Outcome | None:
    """The outcome a status word means (`COMPLETED`, `queued`, `Canceled`, …), else None."""
    if not isinstance(word, str):
        return None
    key = re.sub(r"[\s-]+", "_", word.strip().lower())
    if key in _WORDS:
        return _WORDS[key]
    if "moderat" in key:  # MODERATION_FAILED and friends
        return Outcome.MODERATED
    return None
