"""A fake Discord API (REST + gateway) on 127.0.0.1 that the real discord.py talks to.

Nothing here reaches Discord. One :class:`FakeDiscord` serves:

* REST under ``/api/v10`` (login, app info, command sync, channel messages, interaction
  callbacks, webhook/followup messages and a few helpers such as typing and DMs). Every
  request is recorded in :attr:`FakeDiscord.requests`; a route the fake does not know is
  answered with a JSON 404 and recorded in :attr:`FakeDiscord.unknown_routes`.
* A JSON (uncompressed, text-frame) gateway at ``/gateway``: HELLO, IDENTIFY -> READY +
  GUILD_CREATE, heartbeat ACKs, RESUME with replay of missed dispatches + RESUMED.
* A control API for tests: :meth:`FakeDiscord.invoke`, :meth:`FakeDiscord.click`,
  :meth:`FakeDiscord.autocomplete`, waiting helpers (no polling: every recorded request or
  gateway frame notifies an :class:`asyncio.Condition`) and run-time faults
  (:meth:`FakeDiscord.fail`, :meth:`FakeDiscord.delay`, :meth:`FakeDiscord.drop_gateway`).
* Message nonces as Discord honours them: a channel POST whose ``nonce`` comes with
  ``enforce_nonce: true`` and repeats one accepted in that channel within
  :attr:`FakeDiscord.nonce_window` seconds gets the original message back, and no new one is
  created (counted in :attr:`FakeDiscord.nonce_duplicates`).

Typical use (the ``fake_discord`` fixture does the first three steps)::

    fake = FakeDiscord()
    await fake.start()
    restore = fake.patch_discord()        # Route.BASE + DiscordWebSocket.DEFAULT_GATEWAY
    await bot.login("any-token")
    task = asyncio.create_task(bot.connect())
    await bot.wait_until_ready()
    inter = await fake.invoke("echo", {"text": "hi"})
    body = await fake.wait_for_interaction_response(inter)

The module is also a pytest plugin (``pytest_plugins = ["tests.fakediscord"]``) providing the
``fake_discord`` fixture.
"""

# The control API takes ``timeout=`` arguments on purpose (it is a test helper).
# ruff: noqa: ASYNC109
from __future__ import annotations

import asyncio
import contextlib
import datetime as _dt
import json
import re
import secrets
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pytest
import pytest_asyncio
from aiohttp import BodyPartReader, WSMsgType, web

__all__ = [
    "ADMIN_PERMISSIONS",
    "MEMBER_PERMISSIONS",
    "Delay",
    "FakeDiscord",
    "FakeInteraction",
    "Fault",
    "GatewayFrame",
    "RecordedRequest",
    "WaitTimeout",
    "fake_discord",
]

JSON = dict[str, Any]
T = TypeVar("T")

API_PREFIX = "/api/v10"
DISCORD_EPOCH_MS = 1420070400000

# Permission bitfields (Discord's documented bit positions).
_MEMBER_BITS = (
    6,  # ADD_REACTIONS
    10,  # VIEW_CHANNEL
    11,  # SEND_MESSAGES
    14,  # EMBED_LINKS
    15,  # ATTACH_FILES
    16,  # READ_MESSAGE_HISTORY
    18,  # USE_EXTERNAL_EMOJIS
    20,  # CONNECT
    21,  # SPEAK
    26,  # CHANGE_NICKNAME
    31,  # USE_APPLICATION_COMMANDS
    38,  # SEND_MESSAGES_IN_THREADS
)
MEMBER_PERMISSIONS: int = sum(1 << b for b in _MEMBER_BITS)
"""A typical non-privileged member's permission bitfield."""
ADMIN_PERMISSIONS: int = (1 << 51) - 1
"""Every permission bit (what Discord reports for administrators)."""

# Gateway intents the fake looks at.
_INTENT_GUILD_MESSAGES = 1 << 9

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

_OPTION_SUB_COMMAND = 1
_OPTION_SUB_COMMAND_GROUP = 2
_SNOWFLAKE_OPTION_TYPES = (6, 7, 8, 9, 11)


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
class Fault:
    pattern: re.Pattern[str]
    status: int
    remaining: int | None
    retry_after: float
    is_global: bool
    body: Any
    hits: int = 0


@dataclass
class Delay:
    pattern: re.Pattern[str]
    seconds: float
    remaining: int | None
    hits: int = 0


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


@dataclass
class _Guild:
    id: int
    name: str
    channels: dict[int, str]
    roles: dict[int, str]
    bot_role_id: int


@dataclass
class _Session:
    session_id: str
    intents: int
    shard: list[int]
    seq: int = 0
    log: list[JSON] = field(default_factory=list)
    ws: web.WebSocketResponse | None = None
    send_lock: asyncio.Lock = field(default_factory=asyncio.Lock)


def _pattern(p: str | re.Pattern[str]) -> re.Pattern[str]:
    return p if isinstance(p, re.Pattern) else re.compile(p)


def _compile_template(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[a-z_]+\})", template)
    rx = "".join(
        f"(?P<{p[1:-1]}>[^/]+)" if p.startswith("{") and p.endswith("}") else re.escape(p)
        for p in parts
    )
    return re.compile(f"^{rx}$")


def _now_iso() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat()


def _truthy(value: str | None) -> bool:
    return value is not None and value.lower() in ("1", "true", "yes")


def _as_snowflake_str(value: Any) -> str:
    ident = getattr(value, "id", value)
    return str(int(ident))


class FakeDiscord:
    """Fake Discord REST + gateway server. See the module docstring."""

    def __init__(
        self,
        *,
        guild_id: int = 1200000000000000100,
        channel_ids: Sequence[int] | Mapping[int, str] = (
            1200000000000000201,
            1200000000000000202,
        ),
        app_id: int = 1200000000000000001,
        bot_user_id: int | None = None,
        bot_name: str = "opsbot",
        guild_name: str = "Fake Guild",
        roles: Mapping[int, str] | None = None,
        owner_id: int = 1200000000000000900,
        token: str | None = None,
        heartbeat_interval_ms: int = 41250,
        app_flags: int = 0,
        default_user_id: int = 1200000000000000500,
    ) -> None:
        self.app_id = app_id
        self.bot_user_id = bot_user_id if bot_user_id is not None else app_id
        self.bot_name = bot_name
        self.owner_id = owner_id
        self.token = token
        """If set, REST and IDENTIFY reject other tokens (401 / close 4004)."""
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.app_flags = app_flags
        self.default_user_id = default_user_id

        self.requests: list[RecordedRequest] = []
        self.unknown_routes: list[str] = []
        self.gateway_frames: list[GatewayFrame] = []
        self.gateway_connections: list[JSON] = []
        """One entry per websocket connect: ``{"query": {...}, "time": float}``."""
        self.identify_count = 0
        self.resume_count = 0
        self.replayed: list[JSON] = []
        """Dispatch payloads re-sent to a client because of a RESUME."""
        self.faults: list[Fault] = []
        self.delays: list[Delay] = []
        self.interactions: list[FakeInteraction] = []

        self._guilds: dict[int, _Guild] = {}
        self._channels: dict[int, JSON] = {}
        self._users: dict[int, JSON] = {}
        self._messages: dict[int, JSON] = {}
        self._deleted: set[int] = set()
        self._channel_posts: list[int] = []
        self._nonces: dict[tuple[int, str], tuple[int, float]] = {}
        self.nonce_window = 300.0
        """Seconds a nonce sent with ``enforce_nonce`` is remembered per channel."""
        self.nonce_duplicates = 0
        """POSTs answered with an earlier message because of their nonce (not re-created)."""
        self._commands: dict[int | None, list[JSON]] = {}
        self._synced_payloads: dict[int | None, list[JSON]] = {}
        self._interactions_by_token: dict[str, FakeInteraction] = {}
        self._interactions_by_id: dict[int, FakeInteraction] = {}
        self._sessions: dict[str, _Session] = {}
        self._active: _Session | None = None
        self._sockets: set[web.WebSocketResponse] = set()
        self._last_snowflake = 0
        self._cond: asyncio.Condition | None = None
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._restore: Callable[[], None] | None = None

        self.add_guild(guild_id, channel_ids, name=guild_name, roles=roles)
        self.guild_id = guild_id
        self.channel_ids: list[int] = list(self._guilds[guild_id].channels)

        self._routes: list[tuple[str, str, re.Pattern[str], Callable[..., Any]]] = []
        self._install_routes()

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> FakeDiscord:
        self._cond = asyncio.Condition()
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("GET", "/gateway", self._gateway_handler)
        app.router.add_route("*", "/{tail:.*}", self._rest_handler)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        addresses = self._runner.addresses
        self._port = int(addresses[0][1])
        return self

    async def stop(self) -> None:
        self.restore_discord()
        for ws in list(self._sockets):
            with contextlib.suppress(Exception):
                await ws.close(code=1001, message=b"fake shutting down")
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeDiscord:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("FakeDiscord is not started")
        return self._port

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_base(self) -> str:
        return f"{self.base_url}{API_PREFIX}"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/gateway"

    def patch_discord(self) -> Callable[[], None]:
        """Point discord.py at this fake; returns a callable restoring the originals.

        discord.py 2.7 builds every REST URL from ``discord.http.Route.BASE`` (webhooks and
        interaction responses too) and ``Client.connect`` uses
        ``DiscordWebSocket.DEFAULT_GATEWAY`` (it does not call ``GET /gateway``); after READY
        it reconnects/resumes to READY's ``resume_gateway_url``, which points back here.
        ``AutoShardedClient`` calls ``GET /gateway/bot``, also served.
        """
        import discord.gateway
        import discord.http
        import yarl

        if self._restore is not None:
            return self._restore
        old_base = discord.http.Route.BASE
        old_gateway = discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
        discord.http.Route.BASE = self.api_base
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(self.gateway_url)

        def restore() -> None:
            discord.http.Route.BASE = old_base
            discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = old_gateway
            self._restore = None

        self._restore = restore
        return restore

    def restore_discord(self) -> None:
        if self._restore is not None:
            self._restore()

    # ------------------------------------------------------------------ world model

    def add_guild(
        self,
        guild_id: int,
        channel_ids: Sequence[int] | Mapping[int, str],
        *,
        name: str = "Fake Guild",
        roles: Mapping[int, str] | None = None,
    ) -> None:
        """Configure a guild (sent as GUILD_CREATE on IDENTIFY). Call before the bot connects."""
        if isinstance(channel_ids, Mapping):
            channels = {int(k): str(v) for k, v in channel_ids.items()}
        else:
            channels = {int(c): f"channel-{i}" for i, c in enumerate(channel_ids)}
        bot_role_id = guild_id + 7
        guild = _Guild(
            id=guild_id,
            name=name,
            channels=channels,
            roles={int(k): str(v) for k, v in (roles or {}).items()},
            bot_role_id=bot_role_id,
        )
        self._guilds[guild_id] = guild
        for pos, (cid, cname) in enumerate(channels.items()):
            self._channels[cid] = {
                "id": str(cid),
                "type": 0,
                "guild_id": str(guild_id),
                "name": cname,
                "position": pos,
                "permission_overwrites": [],
                "parent_id": None,
                "topic": None,
                "nsfw": False,
                "last_message_id": None,
                "rate_limit_per_user": 0,
                "flags": 0,
            }

    def snowflake(self) -> int:
        """A fresh, strictly increasing, time-based snowflake."""
        ms = int(time.time() * 1000) - DISCORD_EPOCH_MS
        value = max((ms << 22) | (1 << 17), self._last_snowflake + 1)
        self._last_snowflake = value
        return value

    def bot_user(self) -> JSON:
        return {
            "id": str(self.bot_user_id),
            "username": self.bot_name,
            "discriminator": "0",
            "global_name": None,
            "avatar": None,
            "bot": True,
            "system": False,
            "mfa_enabled": False,
            "verified": True,
            "flags": 0,
            "public_flags": 0,
            "email": None,
            "locale": "en-US",
            "banner": None,
            "accent_color": None,
        }

    def user(self, user_id: int, *, name: str | None = None) -> JSON:
        """The (stable) user object for ``user_id``; ``name`` sets/overrides the username."""
        if user_id == self.bot_user_id:
            return self.bot_user()
        existing = self._users.get(user_id)
        if existing is None or name is not None:
            existing = {
                "id": str(user_id),
                "username": name or f"user{user_id % 100000}",
                "discriminator": "0",
                "global_name": name,
                "avatar": None,
                "bot": False,
                "system": False,
                "public_flags": 0,
                "banner": None,
                "accent_color": None,
            }
            self._users[user_id] = existing
        return dict(existing)

    def member(
        self,
        user_id: int,
        *,
        roles: Iterable[int] = (),
        permissions: int | str | None = None,
        with_user: bool = True,
    ) -> JSON:
        data: JSON = {
            "roles": [str(r) for r in roles],
            "joined_at": "2024-01-01T00:00:00+00:00",
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "pending": False,
            "nick": None,
            "avatar": None,
            "banner": None,
            "flags": 0,
            "communication_disabled_until": None,
        }
        if permissions is not None:
            data["permissions"] = str(int(permissions))
        if with_user:
            data["user"] = self.user(user_id)
        return data

    def _role(self, guild: _Guild, role_id: int) -> JSON:
        if role_id == guild.id:
            name, perms, managed, pos = "@everyone", MEMBER_PERMISSIONS, False, 0
        elif role_id == guild.bot_role_id:
            name, perms, managed, pos = self.bot_name, ADMIN_PERMISSIONS, True, 1
        else:
            name, perms, managed, pos = guild.roles[role_id], MEMBER_PERMISSIONS, False, 2
        role: JSON = {
            "id": str(role_id),
            "name": name,
            "color": 0,
            "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
            "hoist": False,
            "icon": None,
            "unicode_emoji": None,
            "position": pos,
            "permissions": str(perms),
            "managed": managed,
            "mentionable": False,
            "flags": 0,
        }
        if role_id == guild.bot_role_id:
            role["tags"] = {"bot_id": str(self.bot_user_id)}
        return role

    def _guild_roles(self, guild: _Guild) -> list[JSON]:
        ids = [guild.id, guild.bot_role_id, *guild.roles]
        return [self._role(guild, r) for r in ids]

    def _guild_create(self, guild: _Guild) -> JSON:
        bot_member = self.member(self.bot_user_id, roles=[guild.bot_role_id])
        channels = []
        for cid in guild.channels:
            ch = dict(self._channels[cid])
            ch.pop("guild_id", None)
            channels.append(ch)
        return {
            "id": str(guild.id),
            "name": guild.name,
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "banner": None,
            "description": None,
            "owner_id": str(self.owner_id),
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "mfa_level": 0,
            "nsfw_level": 0,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "premium_progress_bar_enabled": False,
            "preferred_locale": "en-US",
            "features": [],
            "application_id": None,
            "system_channel_id": None,
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "public_updates_channel_id": None,
            "safety_alerts_channel_id": None,
            "vanity_url_code": None,
            "max_members": 500000,
            "max_video_channel_users": 25,
            "roles": self._guild_roles(guild),
            "emojis": [],
            "stickers": [],
            "joined_at": "2024-01-01T00:00:00+00:00",
            "large": False,
            "unavailable": False,
            "lazy": True,
            "member_count": 1,  # only the bot is a cached member, so guild.chunked holds
            "voice_states": [],
            "members": [bot_member],
            "channels": channels,
            "threads": [],
            "presences": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
        }

    def _application(self) -> JSON:
        return {
            "id": str(self.app_id),
            "name": self.bot_name,
            "icon": None,
            "description": "",
            "summary": "",
            "type": None,
            "rpc_origins": [],
            "bot_public": True,
            "bot_require_code_grant": False,
            "owner": self.user(self.owner_id, name="owner"),
            "team": None,
            "verify_key": "0" * 64,
            "flags": self.app_flags,
            "guild_id": None,
            "hook": True,
            "interactions_endpoint_url": None,
            "redirect_uris": [],
            "tags": [],
            "integration_types_config": {"0": {}},
            "approximate_guild_count": len(self._guilds),
            "bot": self.bot_user(),
        }

    def _channel_permissions(self, channel_id: int, permissions: int) -> JSON:
        ch = dict(self._channels[channel_id])
        ch["permissions"] = str(permissions)
        return ch

    # ------------------------------------------------------------------ REST plumbing

    def _install_routes(self) -> None:
        r = self._add_route
        r("GET", "/users/@me", self._get_me)
        r("GET", "/oauth2/applications/@me", self._get_application)
        r("GET", "/applications/@me", self._get_application)
        r("GET", "/gateway", self._get_gateway)
        r("GET", "/gateway/bot", self._get_gateway_bot)
        r("GET", "/users/{user_id}", self._get_user)
        r("POST", "/users/@me/channels", self._create_dm)
        # application commands
        for prefix in (
            "/applications/{app_id}/commands",
            "/applications/{app_id}/guilds/{guild_id}/commands",
        ):
            r("GET", prefix, self._get_commands)
            r("PUT", prefix, self._put_commands)
            r("POST", prefix, self._post_command)
            r("GET", prefix + "/{command_id}", self._get_command)
            r("PATCH", prefix + "/{command_id}", self._patch_command)
            r("DELETE", prefix + "/{command_id}", self._delete_command)
        # channels & messages
        r("GET", "/channels/{channel_id}", self._get_channel)
        r("POST", "/channels/{channel_id}/typing", self._no_content)
        r("POST", "/channels/{channel_id}/messages", self._post_message)
        r("GET", "/channels/{channel_id}/messages/{message_id}", self._get_message)
        r("PATCH", "/channels/{channel_id}/messages/{message_id}", self._patch_message)
        r("DELETE", "/channels/{channel_id}/messages/{message_id}", self._delete_message)
        reaction = "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me"
        r("PUT", reaction, self._no_content)
        r("DELETE", reaction, self._no_content)
        # guild helpers
        r("GET", "/guilds/{guild_id}", self._get_guild)
        r("GET", "/guilds/{guild_id}/channels", self._get_guild_channels)
        r("GET", "/guilds/{guild_id}/members/{user_id}", self._get_member)
        # interactions & webhooks
        r("POST", "/interactions/{interaction_id}/{token}/callback", self._post_callback)
        original = "/webhooks/{app_id}/{token}/messages/@original"
        r("GET", original, self._get_webhook_message)
        r("PATCH", original, self._patch_webhook_message)
        r("DELETE", original, self._delete_webhook_message)
        r("POST", "/webhooks/{app_id}/{token}", self._post_followup)
        followup = "/webhooks/{app_id}/{token}/messages/{message_id}"
        r("GET", followup, self._get_webhook_message)
        r("PATCH", followup, self._patch_webhook_message)
        r("DELETE", followup, self._delete_webhook_message)

    def _add_route(self, method: str, template: str, handler: Callable[..., Any]) -> None:
        self._routes.append((method, template, _compile_template(template), handler))

    def _match(
        self, method: str, path: str
    ) -> tuple[str, dict[str, str], Callable[..., Any]] | None:
        for m, template, rx, handler in self._routes:
            if m != method:
                continue
            found = rx.match(path)
            if found:
                return f"{m} {template}", found.groupdict(), handler
        return None

    @staticmethod
    def _json_response(
        data: Any, status: int = 200, headers: Mapping[str, str] | None = None
    ) -> web.Response:
        hdrs = {"Content-Type": "application/json"}
        if headers:
            hdrs.update(headers)
        return web.Response(status=status, body=json.dumps(data).encode(), headers=hdrs)

    @classmethod
    def _error(
        cls, status: int, message: str | None = None, code: int | None = None
    ) -> web.Response:
        default_msg, default_code = _STATUS_ERRORS.get(status, (f"{status}: Error", 0))
        return cls._json_response(
            {"message": message or default_msg, "code": default_code if code is None else code},
            status,
        )

    async def _notify(self) -> None:
        if self._cond is None:
            return
        async with self._cond:
            self._cond.notify_all()

    async def _read_body(self, request: web.Request) -> tuple[Any, list[JSON]]:
        files: list[JSON] = []
        ctype = request.content_type
        if ctype.startswith("multipart/"):
            payload: Any = None
            reader = await request.multipart()
            while True:
                part = await reader.next()
                if part is None:
                    break
                if not isinstance(part, BodyPartReader):
                    continue  # nested multipart: not used by discord.py
                data = await part.read()
                name = part.name or ""
                if name == "payload_json":
                    payload = json.loads(bytes(data).decode())
                else:
                    files.append(
                        {
                            "field": name,
                            "filename": part.filename,
                            "content_type": part.headers.get("Content-Type"),
                            "size": len(data),
                            "data": bytes(data),
                        }
                    )
            return payload, files
        raw = await request.read()
        if not raw:
            return None, files
        try:
            return json.loads(raw), files
        except ValueError:
            return raw.decode(errors="replace"), files

    async def _rest_handler(self, request: web.Request) -> web.StreamResponse:
        body, files = await self._read_body(request)
        path = request.path
        rel = path[len(API_PREFIX) :] if path.startswith(API_PREFIX + "/") else path
        matched = self._match(request.method, rel) if path.startswith(API_PREFIX + "/") else None
        rec = RecordedRequest(
            method=request.method,
            path=rel,
            query=dict(request.query),
            json=body,
            headers=dict(request.headers),
            time=time.monotonic(),
            route=matched[0] if matched else None,
            params=matched[1] if matched else {},
            files=files,
        )
        self.requests.append(rec)
        await self._notify()
        try:
            resp = await self._answer(rec, matched)
        except web.HTTPException:
            raise
        except Exception as exc:  # a bug in the fake: surface it loudly
            self.unknown_routes.append(f"FAKE ERROR {rec.key}: {exc!r}")
            resp = self._error(500, f"fake error: {exc!r}")
        rec.status = resp.status
        if isinstance(resp, web.Response) and resp.body is not None and resp.status != 204:
            with contextlib.suppress(ValueError, TypeError):
                rec.response = json.loads(resp.body)  # type: ignore[arg-type]
        await self._notify()
        return resp

    async def _answer(
        self,
        rec: RecordedRequest,
        matched: tuple[str, dict[str, str], Callable[..., Any]] | None,
    ) -> web.Response:
        if matched is None:
            self.unknown_routes.append(rec.key)
            return self._error(404, f"fake discord: unknown route {rec.key}")
        key = rec.key
        for d in self.delays:
            if (d.remaining is None or d.remaining > 0) and d.pattern.search(key):
                d.hits += 1
                if d.remaining is not None:
                    d.remaining -= 1
                await asyncio.sleep(d.seconds)
                break
        for f in self.faults:
            if (f.remaining is None or f.remaining > 0) and f.pattern.search(key):
                f.hits += 1
                if f.remaining is not None:
                    f.remaining -= 1
                rec.fault = f.status
                return self._fault_response(f, matched[0])
        if self.token is not None and not rec.path.startswith(("/webhooks/", "/interactions/")):
            if rec.headers.get("Authorization", "") != f"Bot {self.token}":
                return self._error(401)
        handler = matched[2]
        result: web.Response = await handler(rec, **matched[1])
        return result

    def _fault_response(self, f: Fault, route: str) -> web.Response:
        if f.status == 429:
            body = f.body or {
                "message": "You are being rate limited.",
                "retry_after": f.retry_after,
                "global": f.is_global,
            }
            bucket = format(abs(hash(route)) % (1 << 48), "x")
            headers = {
                "Via": "1.1 google",
                "Retry-After": str(max(1, int(f.retry_after + 0.999))),
                "X-RateLimit-Limit": "5",
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": f"{time.time() + f.retry_after:.3f}",
                "X-RateLimit-Reset-After": f"{f.retry_after:.3f}",
                "X-RateLimit-Bucket": bucket,
                "X-RateLimit-Scope": "shared" if not f.is_global else "global",
            }
            if f.is_global:
                headers["X-RateLimit-Global"] = "true"
            return self._json_response(body, 429, headers)
        if f.body is not None:
            return self._json_response(f.body, f.status)
        return self._error(f.status)

    # ------------------------------------------------------------------ faults

    def fail(
        self,
        pattern: str | re.Pattern[str],
        status: int = 500,
        count: int | None = 1,
        retry_after: float = 1.0,
        *,
        is_global: bool = False,
        body: Any = None,
    ) -> Fault:
        """Answer the next ``count`` (None = all) requests matching ``pattern`` with ``status``.

        ``pattern`` is a regex searched in ``"METHOD /path"`` (path relative to the API base,
        no query), e.g. ``r"POST /channels/\\d+/messages$"``. 429 answers carry
        ``retry_after`` in the body plus ``Via`` and ``X-RateLimit-*`` headers (without
        ``Via`` discord.py assumes a Cloudflare ban and raises instead of retrying).
        """
        fault = Fault(_pattern(pattern), status, count, retry_after, is_global, body)
        self.faults.append(fault)
        return fault

    def delay(
        self, pattern: str | re.Pattern[str], seconds: float, count: int | None = None
    ) -> Delay:
        """Delay answers to matching requests (same pattern syntax as :meth:`fail`)."""
        d = Delay(_pattern(pattern), seconds, count)
        self.delays.append(d)
        return d

    def clear_faults(self) -> None:
        self.faults.clear()
        self.delays.clear()

    # ------------------------------------------------------------------ REST handlers

    async def _get_me(self, rec: RecordedRequest) -> web.Response:
        return self._json_response(self.bot_user())

    async def _get_application(self, rec: RecordedRequest) -> web.Response:
        return self._json_response(self._application())

    async def _get_gateway(self, rec: RecordedRequest) -> web.Response:
        return self._json_response({"url": self.gateway_url})

    async def _get_gateway_bot(self, rec: RecordedRequest) -> web.Response:
        return self._json_response(
            {
                "url": self.gateway_url,
                "shards": 1,
                "session_start_limit": {
                    "total": 1000,
                    "remaining": 999,
                    "reset_after": 14400000,
                    "max_concurrency": 1,
                },
            }
        )

    async def _get_user(self, rec: RecordedRequest, user_id: str) -> web.Response:
        if not user_id.isdigit():
            return self._error(404, "Unknown User", 10013)
        return self._json_response(self.user(int(user_id)))

    async def _create_dm(self, rec: RecordedRequest) -> web.Response:
        recipient = int((rec.json or {}).get("recipient_id", 0))
        for ch in self._channels.values():
            if ch["type"] == 1 and ch["recipients"][0]["id"] == str(recipient):
                return self._json_response(ch)
        cid = self.snowflake()
        ch = {
            "id": str(cid),
            "type": 1,
            "last_message_id": None,
            "flags": 0,
            "recipients": [self.user(recipient)],
        }
        self._channels[cid] = ch
        return self._json_response(ch)

    async def _no_content(self, rec: RecordedRequest, **_: str) -> web.Response:
        return web.Response(status=204)

    def _check_app(self, app_id: str) -> web.Response | None:
        if app_id != str(self.app_id):
            return self._error(404, "Unknown Application", 10002)
        return None

    def _check_guild(self, guild_id: str | None) -> web.Response | None:
        if guild_id is not None and int(guild_id) not in self._guilds:
            return self._error(404, "Unknown Guild", 10004)
        return None

    def _stored_command(self, cmd: JSON, scope: int | None, old: list[JSON]) -> JSON:
        ctype = int(cmd.get("type", 1))
        prev = next((c for c in old if c["name"] == cmd["name"] and c["type"] == ctype), None)
        out = dict(cmd)
        out["id"] = prev["id"] if prev else str(self.snowflake())
        out["application_id"] = str(self.app_id)
        out["version"] = str(self.snowflake())
        out["type"] = ctype
        out.setdefault("description", "")
        out.setdefault("nsfw", False)
        dmp = out.get("default_member_permissions")
        out["default_member_permissions"] = None if dmp is None else str(dmp)
        if scope is not None:
            out["guild_id"] = str(scope)
        else:
            out.setdefault("dm_permission", True)
        return out

    async def _get_commands(
        self, rec: RecordedRequest, app_id: str, guild_id: str | None = None
    ) -> web.Response:
        err = self._check_app(app_id) or self._check_guild(guild_id)
        if err:
            return err
        scope = int(guild_id) if guild_id else None
        return self._json_response(self._commands.get(scope, []))

    async def _put_commands(
        self, rec: RecordedRequest, app_id: str, guild_id: str | None = None
    ) -> web.Response:
        err = self._check_app(app_id) or self._check_guild(guild_id)
        if err:
            return err
        if not isinstance(rec.json, list):
            return self._error(400, "Invalid Form Body", 50035)
        scope = int(guild_id) if guild_id else None
        old = self._commands.get(scope, [])
        self._synced_payloads[scope] = rec.json
        self._commands[scope] = [self._stored_command(c, scope, old) for c in rec.json]
        return self._json_response(self._commands[scope])

    async def _post_command(
        self, rec: RecordedRequest, app_id: str, guild_id: str | None = None
    ) -> web.Response:
        err = self._check_app(app_id) or self._check_guild(guild_id)
        if err:
            return err
        scope = int(guild_id) if guild_id else None
        old = self._commands.setdefault(scope, [])
        cmd = self._stored_command(rec.json, scope, old)
        self._commands[scope] = [c for c in old if c["id"] != cmd["id"]] + [cmd]
        return self._json_response(cmd, 201)

    def _find_command_by_id(self, scope: int | None, command_id: str) -> JSON | None:
        return next((c for c in self._commands.get(scope, []) if c["id"] == command_id), None)

    async def _get_command(
        self, rec: RecordedRequest, app_id: str, command_id: str, guild_id: str | None = None
    ) -> web.Response:
        scope = int(guild_id) if guild_id else None
        cmd = self._find_command_by_id(scope, command_id)
        if cmd is None:
            return self._error(404, "Unknown application command", 10063)
        return self._json_response(cmd)

    async def _patch_command(
        self, rec: RecordedRequest, app_id: str, command_id: str, guild_id: str | None = None
    ) -> web.Response:
        scope = int(guild_id) if guild_id else None
        cmd = self._find_command_by_id(scope, command_id)
        if cmd is None:
            return self._error(404, "Unknown application command", 10063)
        cmd.update(rec.json or {})
        cmd["version"] = str(self.snowflake())
        return self._json_response(cmd)

    async def _delete_command(
        self, rec: RecordedRequest, app_id: str, command_id: str, guild_id: str | None = None
    ) -> web.Response:
        scope = int(guild_id) if guild_id else None
        cmd = self._find_command_by_id(scope, command_id)
        if cmd is None:
            return self._error(404, "Unknown application command", 10063)
        self._commands[scope] = [c for c in self._commands[scope] if c is not cmd]
        return web.Response(status=204)

    async def _get_channel(self, rec: RecordedRequest, channel_id: str) -> web.Response:
        ch = self._channels.get(int(channel_id)) if channel_id.isdigit() else None
        if ch is None:
            return self._error(404, "Unknown Channel", 10003)
        return self._json_response(ch)

    async def _get_guild(self, rec: RecordedRequest, guild_id: str) -> web.Response:
        guild = self._guilds.get(int(guild_id)) if guild_id.isdigit() else None
        if guild is None:
            return self._error(404, "Unknown Guild", 10004)
        data = self._guild_create(guild)
        for key in ("members", "channels", "threads", "presences", "voice_states", "joined_at"):
            data.pop(key, None)
        return self._json_response(data)

    async def _get_guild_channels(self, rec: RecordedRequest, guild_id: str) -> web.Response:
        guild = self._guilds.get(int(guild_id)) if guild_id.isdigit() else None
        if guild is None:
            return self._error(404, "Unknown Guild", 10004)
        return self._json_response([self._channels[c] for c in guild.channels])

    async def _get_member(self, rec: RecordedRequest, guild_id: str, user_id: str) -> web.Response:
        guild = self._guilds.get(int(guild_id)) if guild_id.isdigit() else None
        if guild is None:
            return self._error(404, "Unknown Guild", 10004)
        if not user_id.isdigit():
            return self._error(404, "Unknown Member", 10007)
        uid = int(user_id)
        roles = [guild.bot_role_id] if uid == self.bot_user_id else []
        return self._json_response(self.member(uid, roles=roles))

    # -- messages

    def _build_attachments(
        self, channel_id: int, body: JSON, files: list[JSON], existing: list[JSON]
    ) -> list[JSON] | None:
        """Attachment objects from ``body['attachments']`` + uploaded ``files[n]`` parts."""
        by_field = {f["field"]: f for f in files}
        spec = body.get("attachments")
        if spec is None and not files:
            return None
        if spec is None:
            spec = [{"id": i} for i in range(len(files))]
        out: list[JSON] = []
        old = {a["id"]: a for a in existing}
        for item in spec:
            ident = str(item.get("id"))
            if ident in old:
                out.append(old[ident])
                continue
            upload = by_field.get(f"files[{ident}]") or by_field.get(f"file{ident}")
            filename = item.get("filename") or (upload["filename"] if upload else "file")
            aid = self.snowflake()
            url = f"{self.base_url}/attachments/{channel_id}/{aid}/{filename}"
            att: JSON = {
                "id": str(aid),
                "filename": filename,
                "size": upload["size"] if upload else 0,
                "url": url,
                "proxy_url": url,
                "content_type": upload["content_type"] if upload else None,
            }
            if item.get("description") is not None:
                att["description"] = item["description"]
            out.append(att)
        return out

    def _new_message(
        self,
        channel_id: int,
        body: JSON,
        files: list[JSON],
        *,
        author: JSON | None = None,
        msg_type: int = 0,
        interaction: FakeInteraction | None = None,
        extra_flags: int = 0,
    ) -> JSON:
        mid = self.snowflake()
        ch = self._channels.get(channel_id, {})
        embeds = [dict(e) for e in body.get("embeds") or []]
        for e in embeds:
            e.setdefault("type", "rich")
        msg: JSON = {
            "id": str(mid),
            "type": msg_type,
            "channel_id": str(channel_id),
            "author": author or self.bot_user(),
            "content": body.get("content") or "",
            "timestamp": _now_iso(),
            "edited_timestamp": None,
            "tts": bool(body.get("tts", False)),
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": self._build_attachments(channel_id, body, files, []) or [],
            "embeds": embeds,
            "reactions": [],
            "pinned": False,
            "flags": int(body.get("flags") or 0) | extra_flags,
            "components": list(body.get("components") or []),
        }
        if ch.get("guild_id"):
            msg["guild_id"] = ch["guild_id"]
        if body.get("nonce") is not None:
            msg["nonce"] = body["nonce"]
        ref = body.get("message_reference")
        if ref:
            msg["message_reference"] = {"channel_id": str(channel_id), **ref}
            if msg_type == 0:
                msg["type"] = 19
        if interaction is not None:
            msg["webhook_id"] = str(self.app_id)
            msg["application_id"] = str(self.app_id)
            meta: JSON = {
                "id": str(interaction.id),
                "type": interaction.type,
                "user": self.user(interaction.user_id),
                "authorizing_integration_owners": interaction.payload.get(
                    "authorizing_integration_owners", {}
                ),
            }
            if interaction.name:
                meta["name"] = interaction.name
                meta["command_type"] = 1
            if interaction.source_message_id is not None:
                meta["interacted_message_id"] = str(interaction.source_message_id)
            msg["interaction_metadata"] = meta
        self._messages[mid] = msg
        return msg

    def _apply_edit(self, msg: JSON, body: JSON, files: list[JSON]) -> JSON:
        for key in ("content", "components"):
            if key in body:
                msg[key] = body[key] if body[key] is not None else ([] if key != "content" else "")
        if "embeds" in body:
            embeds = [dict(e) for e in body["embeds"] or []]
            for e in embeds:
                e.setdefault("type", "rich")
            msg["embeds"] = embeds
        if "flags" in body and body["flags"] is not None:
            # only SUPPRESS_EMBEDS (4) and IS_COMPONENTS_V2 are editable; keep the rest.
            msg["flags"] = (int(msg["flags"]) & ~(4 | 32768)) | (int(body["flags"]) & (4 | 32768))
        atts = self._build_attachments(int(msg["channel_id"]), body, files, msg["attachments"])
        if atts is not None:
            msg["attachments"] = atts
        msg["flags"] = int(msg["flags"]) & ~128  # no longer "loading"
        msg["edited_timestamp"] = _now_iso()
        return msg

    def _live_message(self, message_id: str) -> JSON | None:
        if not message_id.isdigit():
            return None
        mid = int(message_id)
        if mid in self._deleted:
            return None
        return self._messages.get(mid)

    def _channel_message(self, channel_id: str, message_id: str) -> JSON | None:
        """The live message `message_id` if it is in `channel_id` (Discord: 404 otherwise)."""
        msg = self._live_message(message_id)
        return msg if msg is not None and msg["channel_id"] == channel_id else None

    async def _post_message(self, rec: RecordedRequest, channel_id: str) -> web.Response:
        cid = int(channel_id) if channel_id.isdigit() else 0
        if cid not in self._channels:
            return self._error(404, "Unknown Channel", 10003)
        body = rec.json if isinstance(rec.json, dict) else {}
        if not (
            body.get("content")
            or body.get("embeds")
            or body.get("components")
            or rec.files
            or body.get("sticker_ids")
            or body.get("poll")
        ):
            return self._error(400, "Cannot send an empty message", 50006)
        nonce = body.get("nonce")
        enforce = nonce is not None and body.get("enforce_nonce") is True
        if enforce:
            # As Discord does: the same nonce again within a few minutes returns the message
            # created the first time instead of creating another one.
            seen = self._nonces.get((cid, str(nonce)))
            if seen is not None and time.monotonic() - seen[1] <= self.nonce_window:
                self.nonce_duplicates += 1
                return self._json_response(self._messages[seen[0]])
        msg = self._new_message(cid, body, rec.files)
        if enforce:
            self._nonces[(cid, str(nonce))] = (int(msg["id"]), time.monotonic())
        self._channel_posts.append(int(msg["id"]))
        self._channels[cid]["last_message_id"] = msg["id"]
        await self._emit_message("MESSAGE_CREATE", msg)
        return self._json_response(msg)

    async def _get_message(
        self, rec: RecordedRequest, channel_id: str, message_id: str
    ) -> web.Response:
        msg = self._channel_message(channel_id, message_id)
        if msg is None:
            return self._error(404, "Unknown Message", 10008)
        return self._json_response(msg)

    async def _patch_message(
        self, rec: RecordedRequest, channel_id: str, message_id: str
    ) -> web.Response:
        msg = self._channel_message(channel_id, message_id)
        if msg is None:
            return self._error(404, "Unknown Message", 10008)
        if msg["author"]["id"] != str(self.bot_user_id) and set(rec.json or {}) - {"flags"}:
            return self._error(403, "Cannot edit a message authored by another user", 50005)
        self._apply_edit(msg, rec.json or {}, rec.files)
        await self._emit_message("MESSAGE_UPDATE", msg)
        return self._json_response(msg)

    async def _delete_message(
        self, rec: RecordedRequest, channel_id: str, message_id: str
    ) -> web.Response:
        msg = self._channel_message(channel_id, message_id)
        if msg is None:
            return self._error(404, "Unknown Message", 10008)
        self._deleted.add(int(message_id))
        await self._emit_message("MESSAGE_DELETE", msg)
        return web.Response(status=204)

    async def _emit_message(self, event: str, msg: JSON) -> None:
        session = self._active
        if session is None or not (session.intents & _INTENT_GUILD_MESSAGES):
            return
        if "guild_id" not in msg or int(msg.get("flags", 0)) & 64:
            return
        if event == "MESSAGE_DELETE":
            data: JSON = {
                "id": msg["id"],
                "channel_id": msg["channel_id"],
                "guild_id": msg["guild_id"],
            }
        else:
            data = dict(msg)
        await self._dispatch(event, data)

    # -- interactions & webhooks

    async def _post_callback(
        self, rec: RecordedRequest, interaction_id: str, token: str
    ) -> web.Response:
        inter = self._interactions_by_token.get(token)
        if inter is None or str(inter.id) != interaction_id:
            return self._error(404, "Unknown interaction", 10062)
        if inter.callback is not None:
            return self._error(400, "Interaction has already been acknowledged.", 40060)
        body = rec.json if isinstance(rec.json, dict) else {}
        ctype = int(body.get("type", 0))
        data = body.get("data") or {}
        inter.callback = body
        message: JSON | None = None
        if ctype == 4:  # CHANNEL_MESSAGE_WITH_SOURCE
            message = self._interaction_message(inter, data, rec.files)
            inter.original_message_id = int(message["id"])
        elif ctype == 5:  # DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE ("thinking")
            message = self._interaction_message(inter, {"flags": data.get("flags", 0)}, [], 128)
            inter.original_message_id = int(message["id"])
        elif ctype in (6, 7) and inter.source_message_id is not None:  # component update
            message = self._messages.get(inter.source_message_id)
            inter.original_message_id = inter.source_message_id
            if ctype == 7 and message is not None:
                self._apply_edit(message, data, rec.files)
        if message is not None and ctype in (4, 7):
            event = "MESSAGE_CREATE" if ctype == 4 else "MESSAGE_UPDATE"
            await self._emit_message(event, message)
        if not _truthy(rec.query.get("with_response")):
            return web.Response(status=204)
        resp: JSON = {
            "interaction": {
                "id": str(inter.id),
                "type": inter.type,
                "response_message_loading": ctype == 5,
                "response_message_ephemeral": bool(message and int(message["flags"]) & 64),
            }
        }
        if message is not None:
            resp["interaction"]["response_message_id"] = message["id"]
            resp["resource"] = {"type": ctype, "message": message}
        return self._json_response(resp)

    def _interaction_message(
        self, inter: FakeInteraction, data: JSON, files: list[JSON], extra_flags: int = 0
    ) -> JSON:
        channel_id = inter.channel_id or 0
        msg_type = 20 if inter.type == 2 else 0
        return self._new_message(
            channel_id, data, files, msg_type=msg_type, interaction=inter, extra_flags=extra_flags
        )

    def _webhook_interaction(self, app_id: str, token: str) -> FakeInteraction | None:
        if app_id != str(self.app_id):
            return None
        return self._interactions_by_token.get(token)

    def _webhook_target(
        self, app_id: str, token: str, message_id: str | None
    ) -> tuple[FakeInteraction | None, JSON | None]:
        inter = self._webhook_interaction(app_id, token)
        if inter is None:
            return None, None
        if message_id is None:  # @original
            if inter.original_message_id is None:
                return inter, None
            return inter, self._live_message(str(inter.original_message_id))
        msg = self._live_message(message_id)
        allowed = {inter.original_message_id, *inter.followup_message_ids}
        if msg is None or int(msg["id"]) not in allowed:
            return inter, None
        return inter, msg

    async def _get_webhook_message(
        self, rec: RecordedRequest, app_id: str, token: str, message_id: str | None = None
    ) -> web.Response:
        inter, msg = self._webhook_target(app_id, token, message_id)
        if inter is None:
            return self._error(404, "Unknown Webhook", 10015)
        if msg is None:
            return self._error(404, "Unknown Message", 10008)
        return self._json_response(msg)

    async def _patch_webhook_message(
        self, rec: RecordedRequest, app_id: str, token: str, message_id: str | None = None
    ) -> web.Response:
        inter, msg = self._webhook_target(app_id, token, message_id)
        if inter is None:
            return self._error(404, "Unknown Webhook", 10015)
        if msg is None:
            return self._error(404, "Unknown Message", 10008)
        self._apply_edit(msg, rec.json if isinstance(rec.json, dict) else {}, rec.files)
        await self._emit_message("MESSAGE_UPDATE", msg)
        return self._json_response(msg)

    async def _delete_webhook_message(
        self, rec: RecordedRequest, app_id: str, token: str, message_id: str | None = None
    ) -> web.Response:
        inter, msg = self._webhook_target(app_id, token, message_id)
        if inter is None:
            return self._error(404, "Unknown Webhook", 10015)
        if msg is None:
            return self._error(404, "Unknown Message", 10008)
        self._deleted.add(int(msg["id"]))
        await self._emit_message("MESSAGE_DELETE", msg)
        return web.Response(status=204)

    async def _post_followup(self, rec: RecordedRequest, app_id: str, token: str) -> web.Response:
        inter = self._webhook_interaction(app_id, token)
        if inter is None:
            return self._error(404, "Unknown Webhook", 10015)
        body = rec.json if isinstance(rec.json, dict) else {}
        msg = self._new_message(inter.channel_id or 0, body, rec.files, interaction=inter)
        inter.followup_message_ids.append(int(msg["id"]))
        await self._emit_message("MESSAGE_CREATE", msg)
        if not _truthy(rec.query.get("wait")):
            return web.Response(status=204)
        return self._json_response(msg)

    # ------------------------------------------------------------------ gateway

    async def _gateway_handler(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(max_msg_size=0, autoping=True)
        await ws.prepare(request)
        conn = len(self.gateway_connections)
        self.gateway_connections.append({"query": dict(request.query), "time": time.monotonic()})
        self._sockets.add(ws)
        session: _Session | None = None
        try:
            await ws.send_str(
                json.dumps(
                    {
                        "op": 10,
                        "d": {"heartbeat_interval": self.heartbeat_interval_ms},
                        "s": None,
                        "t": None,
                    }
                )
            )
            async for msg in ws:
                if msg.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
                    continue
                raw = msg.data if isinstance(msg.data, str) else bytes(msg.data).decode()
                frame = json.loads(raw)
                op = int(frame.get("op", -1))
                d = frame.get("d")
                self.gateway_frames.append(GatewayFrame(op, d, time.monotonic(), conn))
                if op == 1:  # HEARTBEAT
                    await ws.send_str(json.dumps({"op": 11, "d": None, "s": None, "t": None}))
                elif op == 2:  # IDENTIFY
                    session = await self._on_identify(ws, d)
                    if session is None:
                        break
                elif op == 6:  # RESUME
                    session = await self._on_resume(ws, d)
                elif op in (3, 4):  # PRESENCE_UPDATE, VOICE_STATE_UPDATE: accepted, recorded
                    pass
                elif op == 8:  # REQUEST_GUILD_MEMBERS
                    await self._on_request_members(d)
                else:
                    self.unknown_routes.append(f"GATEWAY op={op}")
                await self._notify()
        finally:
            self._sockets.discard(ws)
            if session is not None and session.ws is ws:
                session.ws = None
            await self._notify()
        return ws

    async def _on_identify(self, ws: web.WebSocketResponse, d: JSON) -> _Session | None:
        if self.token is not None and d.get("token") != self.token:
            await ws.close(code=4004, message=b"Authentication failed.")
            return None
        shard = list(d.get("shard") or [0, 1])
        session = _Session(
            session_id=secrets.token_hex(16), intents=int(d.get("intents") or 0), shard=shard
        )
        session.ws = ws
        self._sessions[session.session_id] = session
        self._active = session
        self.identify_count += 1
        await self._dispatch(
            "READY",
            {
                "v": 10,
                "user": self.bot_user(),
                "guilds": [{"id": str(g), "unavailable": True} for g in self._guilds],
                "session_id": session.session_id,
                "session_type": "normal",
                "resume_gateway_url": self.gateway_url,
                "shard": shard,
                "application": {"id": str(self.app_id), "flags": self.app_flags},
                "private_channels": [],
                "relationships": [],
                "presences": [],
                "guild_join_requests": [],
                "geo_ordered_rtc_regions": [],
                "user_settings": {},
                "auth": {},
            },
            session,
        )
        for guild in self._guilds.values():
            await self._dispatch("GUILD_CREATE", self._guild_create(guild), session)
        return session

    async def _on_resume(self, ws: web.WebSocketResponse, d: JSON) -> _Session | None:
        session = self._sessions.get(str(d.get("session_id")))
        if session is None or (self.token is not None and d.get("token") != self.token):
            await ws.send_str(json.dumps({"op": 9, "d": False, "s": None, "t": None}))
            return None
        seq = int(d.get("seq") or 0)
        async with session.send_lock:
            session.ws = ws
            self._active = session
            for payload in session.log:
                if payload["s"] > seq:
                    self.replayed.append(payload)
                    await ws.send_str(json.dumps(payload))
        self.resume_count += 1
        await self._dispatch("RESUMED", {"_trace": ["fake-discord"]}, session)
        return session

    async def _on_request_members(self, d: JSON) -> None:
        guild_id = str(d.get("guild_id"))
        members = []
        guild = self._guilds.get(int(guild_id)) if guild_id.isdigit() else None
        if guild is not None:
            members.append(self.member(self.bot_user_id, roles=[guild.bot_role_id]))
        chunk: JSON = {
            "guild_id": guild_id,
            "members": members,
            "chunk_index": 0,
            "chunk_count": 1,
            "not_found": [],
        }
        if d.get("nonce") is not None:
            chunk["nonce"] = d["nonce"]
        await self._dispatch("GUILD_MEMBERS_CHUNK", chunk)

    async def _dispatch(self, event: str, data: JSON, session: _Session | None = None) -> int:
        """Send a DISPATCH to the session (default: the active one); returns its seq.

        Sent frames are kept in the session log; if the socket is down, RESUME replays them.
        """
        session = session or self._active
        if session is None:
            raise RuntimeError("no gateway session: the client has not identified yet")
        async with session.send_lock:
            session.seq += 1
            payload = {"op": 0, "t": event, "s": session.seq, "d": data}
            session.log.append(payload)
            ws = session.ws
            if ws is not None and not ws.closed:
                with contextlib.suppress(ConnectionError, RuntimeError):
                    await ws.send_str(json.dumps(payload))
            return session.seq

    async def dispatch(self, event: str, data: JSON) -> int:
        """Send an arbitrary gateway DISPATCH event to the connected client."""
        seq = await self._dispatch(event, data)
        await self._notify()
        return seq

    async def drop_gateway(self, code: int = 4000) -> None:
        """Close the client's websocket from the server side (default code 4000 = resumable).

        discord.py then reconnects to READY's ``resume_gateway_url`` and sends RESUME; events
        dispatched meanwhile are replayed. Use :meth:`wait_resumed` to wait for that.
        """
        session = self._active
        if session is None or session.ws is None:
            raise RuntimeError("no connected gateway session to drop")
        ws = session.ws
        session.ws = None
        await ws.close(code=code, message=b"fake drop")

    async def send_op(self, op: int, d: Any = None) -> None:
        """Send a raw non-dispatch opcode to the connected client, e.g. ``7`` (RECONNECT)."""
        session = self._active
        if session is None or session.ws is None:
            raise RuntimeError("no connected gateway session")
        async with session.send_lock:
            await session.ws.send_str(json.dumps({"op": op, "d": d, "s": None, "t": None}))

    async def invalidate_session(self, resumable: bool = False) -> None:
        """Send INVALID_SESSION (op 9). With ``resumable=False`` the session is forgotten and
        discord.py re-IDENTIFYs (a fresh READY follows; see :attr:`identify_count`)."""
        session = self._active
        if session is None:
            raise RuntimeError("no gateway session")
        if not resumable:
            self._sessions.pop(session.session_id, None)
        await self.send_op(9, resumable)

    @property
    def session_id(self) -> str | None:
        return self._active.session_id if self._active else None

    @property
    def connected(self) -> bool:
        return self._active is not None and self._active.ws is not None

    # ------------------------------------------------------------------ interactions

    def _find_command(
        self, name: str, guild_id: int | None, ctype: int = 1
    ) -> tuple[JSON, int | None] | None:
        scopes: list[int | None] = [guild_id, None] if guild_id is not None else [None]
        for scope in scopes:
            for cmd in self._commands.get(scope, []):
                if cmd["name"] == name and int(cmd.get("type", 1)) == ctype:
                    return cmd, scope
        return None

    @staticmethod
    def _infer_type(value: Any) -> int:
        if isinstance(value, bool):
            return 5
        if isinstance(value, int):
            return 4
        if isinstance(value, float):
            return 10
        return 3

    @staticmethod
    def _coerce(option_type: int, value: Any) -> Any:
        if option_type == 3:
            return str(value)
        if option_type == 4:
            return int(value)
        if option_type == 5:
            return bool(value)
        if option_type == 10:
            return (
                value
                if isinstance(value, int | float) and not isinstance(value, bool)
                else float(value)
            )
        if option_type in _SNOWFLAKE_OPTION_TYPES:
            return _as_snowflake_str(value)
        return value

    def _resolve_into(
        self, resolved: JSON, option_type: int, value: str, guild_id: int | None
    ) -> None:
        sid = int(value)
        guild = self._guilds.get(guild_id) if guild_id is not None else None
        if option_type == 7 and sid in self._channels:
            ch = self._channel_permissions(sid, ADMIN_PERMISSIONS)
            resolved.setdefault("channels", {})[value] = ch
        elif (
            option_type in (8, 9)
            and guild is not None
            and (sid == guild.id or sid == guild.bot_role_id or sid in guild.roles)
        ):
            resolved.setdefault("roles", {})[value] = self._role(guild, sid)
        elif option_type in (6, 9):
            resolved.setdefault("users", {})[value] = self.user(sid)
            if guild is not None:
                member = self.member(sid, with_user=False, permissions=MEMBER_PERMISSIONS)
                resolved.setdefault("members", {})[value] = member

    def _build_options(
        self,
        schema: list[JSON] | None,
        values: Mapping[str, Any],
        resolved: JSON,
        guild_id: int | None,
        focused: str | None = None,
    ) -> list[JSON]:
        out: list[JSON] = []
        for name, value in values.items():
            if isinstance(value, Mapping) and "type" in value and "value" in value:
                opt: JSON = {"name": name, **value}
            else:
                spec = None
                if schema is not None:
                    spec = next((o for o in schema if o.get("name") == name), None)
                    if spec is None:
                        known = [o.get("name") for o in schema]
                        raise ValueError(f"option {name!r} not in synced schema {known}")
                otype = int(spec["type"]) if spec else self._infer_type(value)
                if name == focused:
                    coerced = value if otype != 3 else str(value)
                    if otype in _SNOWFLAKE_OPTION_TYPES:
                        coerced = str(value)
                else:
                    coerced = self._coerce(otype, value)
                opt = {"name": name, "type": otype, "value": coerced}
            if name == focused:
                opt["focused"] = True
            elif int(opt["type"]) in _SNOWFLAKE_OPTION_TYPES:
                self._resolve_into(resolved, int(opt["type"]), str(opt["value"]), guild_id)
            out.append(opt)
        return out

    def _command_data(
        self,
        name: str,
        options: Mapping[str, Any] | None,
        *,
        guild_id: int | None,
        subcommand: str | Sequence[str] | None,
        resolved: JSON | None,
        focused: str | None = None,
    ) -> JSON:
        found = self._find_command(name, guild_id)
        cmd, scope = found if found else (None, None)
        schema: list[JSON] | None = cmd.get("options", []) if cmd else None
        subs = subcommand.split() if isinstance(subcommand, str) else list(subcommand or [])
        chain: list[tuple[int, str]] = []
        for i, sub in enumerate(subs):
            kind = _OPTION_SUB_COMMAND if i == len(subs) - 1 else _OPTION_SUB_COMMAND_GROUP
            if schema is not None:
                spec = next(
                    (o for o in schema if o.get("name") == sub and int(o["type"]) == kind), None
                )
                if spec is None:
                    raise ValueError(f"subcommand {sub!r} not in synced schema of {name!r}")
                schema = spec.get("options", [])
            chain.append((kind, sub))
        res: JSON = {}
        opts = self._build_options(schema, options or {}, res, guild_id, focused)
        for kind, sub in reversed(chain):
            opts = [{"name": sub, "type": kind, "options": opts}]
        for key, items in (resolved or {}).items():
            res.setdefault(key, {}).update(items)
        data: JSON = {
            "id": cmd["id"] if cmd else str(self.snowflake()),
            "name": name,
            "type": 1,
        }
        if opts:
            data["options"] = opts
        if res:
            data["resolved"] = res
        if scope is not None:
            data["guild_id"] = str(scope)
        return data

    async def _send_interaction(
        self,
        itype: int,
        data: JSON,
        *,
        user_id: int | None,
        permissions: int | str | None,
        roles: Iterable[int],
        guild_id: int | None,
        channel_id: int | None,
        locale: str,
        message: JSON | None = None,
        name: str | None = None,
    ) -> FakeInteraction:
        if self._active is None:
            raise RuntimeError("no gateway session: await fake.wait_ready() first")
        gid = guild_id if guild_id is not None else self.guild_id
        if gid not in self._guilds:
            raise ValueError(f"guild {gid} is not configured (see add_guild)")
        if channel_id is not None:
            if channel_id not in self._channels:
                raise ValueError(f"channel {channel_id} is not configured")
            cid = channel_id
        elif message is not None:
            cid = int(message["channel_id"])
        else:
            cid = next(iter(self._guilds[gid].channels))
        uid = user_id if user_id is not None else self.default_user_id
        perms = int(permissions) if permissions is not None else MEMBER_PERMISSIONS
        iid = self.snowflake()
        token = "aW50ZXJhY3Rpb24" + secrets.token_urlsafe(48).replace("-", "x").replace("_", "y")
        payload: JSON = {
            "id": str(iid),
            "application_id": str(self.app_id),
            "type": itype,
            "token": token,
            "version": 1,
            "guild_id": str(gid),
            "guild": {"id": str(gid), "locale": "en-US", "features": []},
            "guild_locale": "en-US",
            "channel_id": str(cid),
            "channel": self._channel_permissions(cid, perms),
            "member": self.member(uid, roles=roles, permissions=perms),
            "app_permissions": str(ADMIN_PERMISSIONS),
            "locale": locale,
            "entitlements": [],
            "entitlement_sku_ids": [],
            "authorizing_integration_owners": {"0": str(gid)},
            "context": 0,
            "attachment_size_limit": 10 * 1024 * 1024,
            "data": data,
        }
        if message is not None:
            payload["message"] = message
        inter = FakeInteraction(
            id=iid,
            token=token,
            type=itype,
            payload=payload,
            guild_id=gid,
            channel_id=cid,
            user_id=uid,
            name=name,
            source_message_id=int(message["id"]) if message is not None else None,
        )
        self.interactions.append(inter)
        self._interactions_by_token[token] = inter
        self._interactions_by_id[iid] = inter
        await self._dispatch("INTERACTION_CREATE", payload)
        await self._notify()
        return inter

    async def invoke(
        self,
        name: str,
        options: Mapping[str, Any] | None = None,
        *,
        user_id: int | None = None,
        permissions: int | str | None = None,
        roles: Iterable[int] = (),
        guild_id: int | None = None,
        channel_id: int | None = None,
        subcommand: str | Sequence[str] | None = None,
        resolved: JSON | None = None,
        locale: str = "en-US",
    ) -> FakeInteraction:
        """Dispatch an APPLICATION_COMMAND (type 2) interaction for slash command ``name``.

        ``options`` maps option name -> value; types come from the synced schema (or are
        inferred: bool 5, int 4, float 10, else string 3). Pass ``{"type": t, "value": v}``
        to force a raw option. Channel/role/user options referencing known objects get
        ``resolved`` data filled in automatically. ``subcommand`` is ``"sub"`` or
        ``"group sub"``. If the command was never synced a random command id is used and
        no ``data.guild_id`` is set (discord.py then looks it up among global commands).
        """
        gid = guild_id if guild_id is not None else self.guild_id
        data = self._command_data(
            name, options, guild_id=gid, subcommand=subcommand, resolved=resolved
        )
        return await self._send_interaction(
            2,
            data,
            user_id=user_id,
            permissions=permissions,
            roles=roles,
            guild_id=gid,
            channel_id=channel_id,
            locale=locale,
            name=name,
        )

    async def autocomplete(
        self,
        name: str,
        options: Mapping[str, Any],
        focused: str,
        *,
        user_id: int | None = None,
        permissions: int | str | None = None,
        guild_id: int | None = None,
        channel_id: int | None = None,
        subcommand: str | Sequence[str] | None = None,
    ) -> FakeInteraction:
        """Dispatch an APPLICATION_COMMAND_AUTOCOMPLETE (type 4) interaction.

        ``focused`` names the option being typed; its value is sent as typed (string).
        The bot's answer (callback type 8) is in :meth:`wait_for_interaction_response`.
        """
        if focused not in options:
            raise ValueError(f"focused option {focused!r} must be in options")
        gid = guild_id if guild_id is not None else self.guild_id
        data = self._command_data(
            name, options, guild_id=gid, subcommand=subcommand, resolved=None, focused=focused
        )
        return await self._send_interaction(
            4,
            data,
            user_id=user_id,
            permissions=permissions,
            roles=(),
            guild_id=gid,
            channel_id=channel_id,
            locale="en-US",
            name=name,
        )

    @staticmethod
    def _find_component(components: Iterable[Any], custom_id: str) -> JSON | None:
        for comp in components:
            if not isinstance(comp, dict):
                continue
            if comp.get("custom_id") == custom_id:
                return comp
            for key in ("components", "accessory"):
                child = comp.get(key)
                children = [child] if isinstance(child, dict) else child or []
                found = FakeDiscord._find_component(children, custom_id)
                if found is not None:
                    return found
        return None

    def _resolve_message(self, message: Any) -> JSON:
        if isinstance(message, dict):
            mid = int(message["id"])
        else:
            mid = int(getattr(message, "id", message))
        if mid in self._deleted or mid not in self._messages:
            raise LookupError(f"message {mid} is not a live message the fake knows")
        return self._messages[mid]

    async def click(
        self,
        message: Any,
        custom_id: str,
        *,
        user_id: int | None = None,
        permissions: int | str | None = None,
        roles: Iterable[int] = (),
        values: Sequence[str] | None = None,
        component_type: int | None = None,
    ) -> FakeInteraction:
        """Dispatch a MESSAGE_COMPONENT (type 3) interaction on a message the bot sent.

        ``message`` is a message dict from the fake, a message id, or anything with ``.id``.
        The component is looked up by ``custom_id`` (LookupError if absent, ValueError if
        disabled). For select menus pass ``values``.
        """
        msg = self._resolve_message(message)
        comp = self._find_component(msg.get("components") or [], custom_id)
        if comp is None:
            raise LookupError(f"no component with custom_id {custom_id!r} on message {msg['id']}")
        if comp.get("disabled"):
            raise ValueError(f"component {custom_id!r} is disabled")
        ctype = component_type if component_type is not None else int(comp.get("type", 2))
        data: JSON = {"custom_id": custom_id, "component_type": ctype}
        if values is not None or ctype in (3, 5, 6, 7, 8):
            data["values"] = list(values or [])
        guild_id = int(msg["guild_id"]) if msg.get("guild_id") else None
        return await self._send_interaction(
            3,
            data,
            user_id=user_id,
            permissions=permissions,
            roles=roles,
            guild_id=guild_id,
            channel_id=int(msg["channel_id"]),
            locale="en-US",
            message=dict(msg),
        )

    async def send_user_message(
        self, channel_id: int, content: str, *, user_id: int | None = None
    ) -> JSON:
        """Simulate a user posting in a channel (MESSAGE_CREATE over the gateway)."""
        uid = user_id if user_id is not None else self.default_user_id
        msg = self._new_message(channel_id, {"content": content}, [], author=self.user(uid))
        ch = self._channels.get(channel_id, {})
        data = dict(msg)
        if ch.get("guild_id"):
            data["member"] = self.member(uid, with_user=False)
        await self._dispatch("MESSAGE_CREATE", data)
        await self._notify()
        return msg

    # ------------------------------------------------------------------ waiting

    async def _wait_until(self, check: Callable[[], T | None], timeout: float, what: str) -> T:
        if self._cond is None:
            raise RuntimeError("FakeDiscord is not started")
        try:
            async with asyncio.timeout(timeout):
                async with self._cond:
                    while True:
                        result = check()
                        if result is not None:
                            return result
                        await self._cond.wait()
        except TimeoutError:
            recent = ", ".join(f"{r.key}->{r.status}" for r in self.requests[-8:])
            raise WaitTimeout(
                f"timed out after {timeout}s waiting for {what}; last requests: [{recent}]"
            ) from None

    def mark(self) -> int:
        """Index to pass as ``start=`` to only consider requests made from now on."""
        return len(self.requests)

    async def wait_for(
        self,
        predicate: Callable[[RecordedRequest], bool],
        timeout: float = 5.0,
        *,
        start: int = 0,
        answered: bool = True,
    ) -> RecordedRequest:
        """Wait until a recorded request (from index ``start``) matches ``predicate``.

        With ``answered`` (default) the request must also have been answered, so its
        ``status``/``response`` are filled in.
        """

        def check() -> RecordedRequest | None:
            for rec in self.requests[start:]:
                if (not answered or rec.status is not None) and predicate(rec):
                    return rec
            return None

        return await self._wait_until(check, timeout, f"request matching {predicate!r}")

    async def wait_for_request(
        self,
        method: str,
        path_pattern: str | re.Pattern[str],
        timeout: float = 5.0,
        *,
        start: int = 0,
        status: int | None = None,
    ) -> RecordedRequest:
        """Wait for ``method`` + path regex (searched), optionally with a response status."""
        rx = _pattern(path_pattern)
        return await self.wait_for(
            lambda r: (
                r.method == method
                and bool(rx.search(r.path))
                and (status is None or r.status == status)
            ),
            timeout,
            start=start,
        )

    async def wait_ready(self, timeout: float = 5.0, *, identifies: int = 1) -> None:
        """Until a client has IDENTIFYed (``identifies`` times in total) and been sent READY
        + its GUILD_CREATEs. (discord.py's own ``wait_until_ready`` fires a bit later, after
        its ``guild_ready_timeout``.)"""
        await self._wait_until(
            lambda: True if self.identify_count >= identifies and self.connected else None,
            timeout,
            f"IDENTIFY #{identifies} + READY",
        )

    async def wait_resumed(self, count: int = 1, timeout: float = 5.0) -> None:
        """Until at least ``count`` successful RESUMEs happened in total."""
        await self._wait_until(
            lambda: True if self.resume_count >= count and self.connected else None,
            timeout,
            f"{count} RESUME(s)",
        )

    async def wait_for_gateway(
        self, predicate: Callable[[GatewayFrame], bool], timeout: float = 5.0, *, start: int = 0
    ) -> GatewayFrame:
        """Wait for a frame the client sent (e.g. ``lambda f: f.op == 6`` for RESUME)."""

        def check() -> GatewayFrame | None:
            return next((f for f in self.gateway_frames[start:] if predicate(f)), None)

        return await self._wait_until(check, timeout, "gateway frame")

    async def wait_for_interaction_response(
        self, interaction: FakeInteraction, timeout: float = 5.0
    ) -> JSON:
        """The body (``{"type": ..., "data": ...}``) of the interaction's callback."""
        return await self._wait_until(
            lambda: interaction.callback, timeout, f"callback of interaction {interaction.id}"
        )

    def _webhook_requests(
        self, interaction: FakeInteraction, method: str, original: bool
    ) -> Callable[[RecordedRequest], bool]:
        def pred(r: RecordedRequest) -> bool:
            if r.method != method or r.params.get("token") != interaction.token:
                return False
            is_original = r.path.endswith("/messages/@original")
            if method == "POST":
                return r.route == "POST /webhooks/{app_id}/{token}" and 200 <= (r.status or 0) < 300
            return is_original == original and 200 <= (r.status or 0) < 300

        return pred

    async def wait_for_original_edit(
        self, interaction: FakeInteraction, timeout: float = 5.0, *, start: int = 0
    ) -> JSON:
        """Body of the first successful ``PATCH .../messages/@original`` for the interaction
        (how discord.py completes a deferred response via ``edit_original_response``)."""
        rec = await self.wait_for(
            self._webhook_requests(interaction, "PATCH", True), timeout, start=start
        )
        body: JSON = rec.json
        return body

    async def wait_for_followup(
        self, interaction: FakeInteraction, timeout: float = 5.0, *, start: int = 0
    ) -> JSON:
        """Body of the first successful followup ``POST /webhooks/{app}/{token}``."""
        rec = await self.wait_for(
            self._webhook_requests(interaction, "POST", False), timeout, start=start
        )
        body: JSON = rec.json
        return body

    async def wait_for_message(
        self,
        channel_id: int | None = None,
        predicate: Callable[[JSON], bool] | None = None,
        timeout: float = 5.0,
        *,
        start: int = 0,
    ) -> JSON:
        """A message created by ``POST /channels/{id}/messages`` (current state)."""

        def check() -> JSON | None:
            for msg in self.messages(channel_id)[start:]:
                if predicate is None or predicate(msg):
                    return msg
            return None

        return await self._wait_until(check, timeout, f"message in channel {channel_id}")

    # ------------------------------------------------------------------ inspection

    def messages(self, channel_id: int | None = None) -> list[JSON]:
        """Messages created via ``POST /channels/{id}/messages``, in order, as their current
        dicts (edits applied; deleted ones included, see :meth:`is_deleted`)."""
        out = [self._messages[m] for m in self._channel_posts]
        if channel_id is not None:
            out = [m for m in out if m["channel_id"] == str(channel_id)]
        return out

    def message(self, message_id: int | str) -> JSON | None:
        """Any message the fake stores (channel posts, interaction responses, followups)."""
        return self._messages.get(int(message_id))

    def is_deleted(self, message_id: int | str) -> bool:
        return int(message_id) in self._deleted

    def original_message(self, interaction: FakeInteraction) -> JSON | None:
        if interaction.original_message_id is None:
            return None
        return self._messages.get(interaction.original_message_id)

    @property
    def interaction_responses(self) -> list[JSON]:
        """Bodies of accepted interaction callbacks, in order."""
        return [
            r.json
            for r in self.requests
            if r.route == "POST /interactions/{interaction_id}/{token}/callback"
            and r.status is not None
            and 200 <= r.status < 300
        ]

    def synced_commands(self, guild_id: int | None = None) -> list[JSON] | None:
        """The latest bulk ``PUT`` payload for global (None) or guild commands, as sent."""
        return self._synced_payloads.get(guild_id)

    def commands(self, guild_id: int | None = None) -> list[JSON]:
        """Stored commands (with generated ids) for global (None) or a guild."""
        return list(self._commands.get(guild_id, []))

    def requests_matching(self, pattern: str | re.Pattern[str]) -> list[RecordedRequest]:
        """Requests whose ``"METHOD /path"`` matches ``pattern`` (regex search)."""
        rx = _pattern(pattern)
        return [r for r in self.requests if rx.search(r.key)]


# ---------------------------------------------------------------------- pytest plugin


@pytest_asyncio.fixture
async def fake_discord() -> AsyncIterator[FakeDiscord]:
    """A started :class:`FakeDiscord`, patched into discord.py; restored and stopped after.

    Fails the test at teardown if any request hit an unknown route (or gateway opcode).
    Clear ``fake.unknown_routes`` in tests that provoke unknown routes on purpose.
    """
    fake = FakeDiscord()
    await fake.start()
    fake.patch_discord()
    try:
        yield fake
    finally:
        fake.restore_discord()
        await fake.stop()
    if fake.unknown_routes:
        pytest.fail(f"fake Discord saw unknown routes: {fake.unknown_routes}", pytrace=False)
