"""What the fake sends back over HTTP: JSON bodies, and Discord's error bodies."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from aiohttp import web

API_PREFIX = "/api/v10"

_STATUS_ERRORS: dict[int, tuple[str, int]] = {
    400: ("400: Bad Request", 50035),
    401: ("401: Unauthorized", 0),
    403: ("Missing Permissions", 50013),
    404: ("404: Not Found", 0),
    429: ("You are being rate limited.", 0),
    500: ("500: Internal Server Error", 0),
    502: ("502: Bad Gateway", 0),
    503: ("503: Service Unavailable", 0),
}


def json_response(
    data: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> web.Response:
    hdrs = {"Content-Type": "application/json"}
    if headers:
        hdrs.update(headers)
    return web.Response(status=status, body=json.dumps(data).encode(), headers=hdrs)


#: The longest URL Discord takes for an embed's image or thumbnail.
MEDIA_URL_MAX = 2048


def embed_media_problem(body: object) -> str | None:
    """What Discord says of an embed image or thumbnail it refuses (the whole message with
    it: 400, code 50035), else None: a scheme other than http(s) (or `attachment://`), or a
    URL over `MEDIA_URL_MAX` characters."""
    embeds = body.get("embeds") if isinstance(body, dict) else None
    for i, e in enumerate(embeds if isinstance(embeds, list) else []):
        for what in ("image", "thumbnail"):
            media = e.get(what) if isinstance(e, dict) else None
            url = media.get("url") if isinstance(media, dict) else None
            if url is None:
                continue
            where = f"embeds.{i}.{what}.url"
            if not isinstance(url, str) or len(url) > MEDIA_URL_MAX:
                return f"Invalid Form Body: {where}: Must be {MEDIA_URL_MAX} or fewer in length."
            if not re.match(r"(?i)(https?|attachment)://", url):
                return f"Invalid Form Body: {where}: Scheme must be one of ('http', 'https')."
    return None


def error(status: int, message: str | None = None, code: int | None = None) -> web.Response:
    """Discord's error body for `status`: its usual message and JSON error code unless given."""
    default_msg, default_code = _STATUS_ERRORS.get(status, (f"{status}: Error", 0))
    return json_response(
        {"message": message or default_msg, "code": default_code if code is None else code},
        status,
    )


def no_content() -> web.Response:
    return web.Response(status=204)


def pattern(p: str | re.Pattern[str]) -> re.Pattern[str]:
    """A regex searched in ``"METHOD /path"`` or a path (fault and wait patterns)."""
    return p if isinstance(p, re.Pattern) else re.compile(p)
