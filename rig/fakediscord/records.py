"""The fake Discord's records: its guilds, the REST requests and gateway frames it received,
and the interactions it dispatched."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

JSON = dict[str, Any]


@dataclass
class Guild:
    id: int
    name: str
    channels: dict[int, str]
    roles: dict[int, str]
    bot_role_id: int


class WaitTimeout(TimeoutError):
    """Raised by the ``wait_*`` helpers; the message says what was awaited."""


@dataclass
class RecordedRequest:
    """One REST request as the fake saw it."""

    method: str
    path: str
    """Path relative to the API base, e.g. ``/channels/1/messages`` (no query)."""
    query: dict[str, str]
    json: Any
    """Parsed JSON body; for multipart bodies the parsed ``payload_json`` part."""
    headers: dict[str, str]
    time: float
    """``time.monotonic()`` at arrival."""
    route: str | None
    """Matched route template, e.g. ``POST /channels/{channel_id}/messages``; None if unknown."""
    params: dict[str, str] = field(default_factory=dict)
    files: list[JSON] = field(default_factory=list)
    """Uploaded files: ``{"field", "filename", "content_type", "size", "data"}``."""
    status: int | None = None
    """Response status once answered (None while in flight)."""
    response: Any = None
    """Response JSON body (None for 204)."""
    fault: int | None = None
    """Status of the injected fault that answered this request, if any."""

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"


@dataclass
class GatewayFrame:
    """A frame the client sent to the fake gateway."""

    op: int
    d: Any
    time: float
    connection: int
    """Index of the websocket connection (0 = first connect)."""


@dataclass
class FakeInteraction:
    """An interaction the fake dispatched (INTERACTION_CREATE) and its lifecycle."""

    id: int
    token: str
    type: int
    payload: JSON
    guild_id: int | None
    channel_id: int | None
    user_id: int
    name: str | None = None
    source_message_id: int | None = None
    callback: JSON | None = None
    """Body of the (first accepted) POST .../callback."""
    original_message_id: int | None = None
    followup_message_ids: list[int] = field(default_factory=list)
