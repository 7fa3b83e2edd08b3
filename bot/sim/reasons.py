"""useapi's error texts, and the HTML error page a proxy in front of it sends."""

from __future__ import annotations

import http

#: Error text for a `status` fault, by status (useapi's `error` field).
REASONS: dict[int, str] = {
    400: "Bad request",
    401: "Unauthorized",
    402: "Account has no subscription or subscription expired",
    403: "Forbidden",
    404: "Not found",
    408: "Request timeout",
    412: "Insufficient credits",
    422: "Prompt moderated",
    429: "Too many requests / all accounts busy",
    500: "Internal server error",
    502: "Bad gateway",
    503: "Service unavailable",
    504: "Gateway timeout",
    596: "Account session expired, please add the account again",
}


def reason_for(status: int) -> str:
    """Error text for `status`: ours, else the HTTP reason phrase, else `HTTP <status>`."""
    if status in REASONS:
        return REASONS[status]
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return f"HTTP {status}"


def html_page(status: int) -> bytes:
    """The kind of HTML error page a proxy in front of an API sends."""
    title = f"{status} {_phrase(status)}"
    return (
        f"<html><head><title>{title}</title></head><body><center><h1>{title}</h1></center>"
        "<hr><center>cloudflare</center></body></html>"
    ).encode()


def _phrase(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return reason_for(status)
