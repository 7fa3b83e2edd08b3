"""What went wrong, in plain words: an upstream error, or a problem with what the user typed."""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable, Mapping
from typing import Final

import discord

from bot import errors
from bot.embeds.layout import cut, provider_title, shown
from bot.embeds.limits import TITLE_MAX
from bot.embeds.style import BAD, WARN
from bot.text import escape, truncate

__all__ = ["error_embed", "input_error_embed"]

#: The upstream message and the request path quoted in an error embed.
MESSAGE_CHARS: Final = 1500
PATH_CHARS: Final = 300
#: The name of a payload field opsbot could not read.
FIELD_CHARS: Final = 80
#: What the user typed, quoted back.
INPUT_CHARS: Final = 2000

Headline = str | Callable[[errors.UpstreamError], str]


def _unreadable(exc: errors.UpstreamError) -> str:
    field = exc.field if isinstance(exc, errors.PayloadError) else None
    what = escape(truncate(field, FIELD_CHARS)) if field else "the response body"
    return f"useapi sent something opsbot cannot read: {what}"


#: (error type, headline, hint, colour), the most specific type first: the first that the
#: error is an instance of speaks for it.
_WORDS: Final[tuple[tuple[type[errors.UpstreamError], Headline, str, discord.Colour], ...]] = (
    (
        errors.Unauthorized,
        "useapi rejected the token (401)",
        "Check `USEAPI_TOKEN`; the token may be wrong or revoked.",
        BAD,
    ),
    (
        errors.PaymentRequired,
        "useapi says payment required (402) — subscription expired or out of credits",
        "Renew the useapi.net subscription or add credits.",
        BAD,
    ),
    (
        errors.RateLimited,
        "useapi is rate limiting (429) — too many requests right now",
        "opsbot backs off and retries; try again in a minute.",
        WARN,
    ),
    (
        errors.ServerError,
        lambda exc: (
            "useapi/provider error (5xx)"
            + (f" — upstream answered {exc.status}" if exc.status else "")
        ),
        "Usually temporary; opsbot keeps trying.",
        BAD,
    ),
    (
        errors.DeadlineExceeded,
        "useapi did not finish its answer in time (cut off)",
        "It sent too slowly; usually temporary, opsbot tries again next poll.",
        WARN,
    ),
    (
        errors.UpstreamTimeout,
        "useapi did not answer in time",
        "Usually temporary; try again shortly.",
        WARN,
    ),
    (errors.TransportError, "cannot reach useapi", "Check network/DNS and `USEAPI_BASE_URL`.", BAD),
    (
        errors.Redirected,
        lambda exc: f"useapi redirected elsewhere ({exc.status}, not followed)",
        "Check `USEAPI_BASE_URL`: it may be an old or wrong address.",
        BAD,
    ),
    (
        errors.BodyTooLarge,
        "useapi sent an answer too large to read",
        "opsbot stops reading past its size cap; please report it.",
        BAD,
    ),
    (
        errors.PayloadError,
        _unreadable,
        "The upstream format may have changed; please report it.",
        BAD,
    ),
    (errors.NotFound, "useapi has no such thing (404)", "Check the id and the provider.", WARN),
    (errors.Gone, "that is gone upstream (410)", "The job or account no longer exists.", WARN),
    (errors.BadRequest, "useapi rejected the request (400)", "Check the id and the options.", WARN),
    (
        errors.InsufficientCredits,
        "useapi says insufficient credits (412)",
        "Top up the provider account.",
        BAD,
    ),
    (
        errors.ModeratedPrompt,
        "the provider moderated this (422)",
        "The prompt or media was refused.",
        WARN,
    ),
    (
        errors.SessionExpired,
        "the provider session of this account expired (596)",
        "Re-add the account's session/cookies at useapi.net.",
        BAD,
    ),
    (
        errors.HTTPStatusError,
        lambda exc: (
            "useapi answered with an error" + (f" ({exc.status})" if exc.status is not None else "")
        ),
        "See the upstream message below.",
        BAD,
    ),
)
_OTHER: Final = ("useapi did not give usable data", "See the upstream message below.", BAD)


def _error_words(exc: errors.UpstreamError) -> tuple[str, str, discord.Colour]:
    """(headline, hint, colour) for an upstream error."""
    for kind, headline, hint, colour in _WORDS:
        if isinstance(exc, kind):
            return (headline if isinstance(headline, str) else headline(exc)), hint, colour
    return _OTHER


def error_embed(
    exc: errors.UpstreamError, *, titles: Mapping[str, str] | None = None, redact: bool = False
) -> discord.Embed:
    """Say in plain words what went wrong upstream, naming the provider when known."""
    headline, hint, colour = _error_words(exc)
    title = headline
    if exc.provider:
        title = f"{provider_title(exc.provider, titles)}: {headline}"
    lines = [hint]
    if exc.message:
        lines.append(f"**Upstream said:** {shown(exc.message, redact, MESSAGE_CHARS)}")
    if exc.path:
        # Decoded, so that an e-mail inside a percent-encoded id is masked like any other.
        lines.append(f"**Request:** {shown(urllib.parse.unquote(exc.path), redact, PATH_CHARS)}")
    return discord.Embed(title=cut(title, TITLE_MAX), description="\n".join(lines), colour=colour)


def input_error_embed(message: str) -> discord.Embed:
    """A problem with what the user typed (bad id, unknown provider …). `message` is plain
    text; it is escaped here."""
    return discord.Embed(
        title="Cannot do that", description=shown(message, False, INPUT_CHARS), colour=WARN
    )
