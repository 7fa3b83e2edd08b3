"""The fake's REST API under ``/api/v10``: every request recorded, matched against the route
table, passed through the controls (delays, faults) and the token check, then answered.

The routes here: the bot's user and application, the gateway URL, users and DMs, guilds,
channels and their messages. Application commands are in `commands.py`, interaction
callbacks and webhooks in `callbacks.py`; they add their routes to the table.
"""

from __future__ import annotations

import contextlib
import json
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any, Unpack

from aiohttp import BodyPartReader, web

from rig.fakediscord import wire
from rig.fakediscord.controls import Controls
from rig.fakediscord.gateway import Gateway
from rig.fakediscord.records import JSON, RecordedRequest
from rig.fakediscord.wire import API_PREFIX, embed_media_problem, error, json_response, no_content
from rig.fakediscord.world import Options

Handler = Callable[..., Awaitable[web.Response]]
Matched = tuple[str, dict[str, str], Handler]


def _compile_template(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[a-z_]+\})", template)
    rx = "".join(
        f"(?P<{p[1:-1]}>[^/]+)" if p.startswith("{") and p.endswith("}") else re.escape(p)
        for p in parts
    )
    return re.compile(f"^{rx}$")


async def _read_body(request: web.Request) -> tuple[Any, list[JSON]]:
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


class Rest(Gateway, Controls):
    def __init__(self, **options: Unpack[Options]) -> None:
        super().__init__(**options)
        self.requests: list[RecordedRequest] = []
        #: Users who closed their DMs: a message to their DM channel is refused as Discord
        #: does (403, code 50007).
        self.closed_dms: set[int] = set()
        self._routes: list[tuple[str, str, re.Pattern[str], Handler]] = []
        self._install_routes()

    # ------------------------------------------------------------------ plumbing

    def _install_routes(self) -> None:
        r = self._add_route
        r("GET", "/users/@me", self._get_me)
        r("GET", "/oauth2/applications/@me", self._get_application)
        r("GET", "/applications/@me", self._get_application)
        r("GET", "/gateway", self._get_gateway)
        r("GET", "/gateway/bot", self._get_gateway_bot)
        r("GET", "/users/{user_id}", self._get_user)
        r("POST", "/users/@me/channels", self._create_dm)
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

    def _add_route(self, method: str, template: str, handler: Handler) -> None:
        self._routes.append((method, template, _compile_template(template), handler))

    def _match(self, method: str, path: str) -> Matched | None:
        for m, template, rx, handler in self._routes:
            if m != method:
                continue
            found = rx.match(path)
            if found:
                return f"{m} {template}", found.groupdict(), handler
        return None

    async def _rest_handler(self, request: web.Request) -> web.StreamResponse:
        body, files = await _read_body(request)
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
            resp = error(500, f"fake error: {exc!r}")
        rec.status = resp.status
        if isinstance(resp, web.Response) and resp.body is not None and resp.status != 204:
            with contextlib.suppress(ValueError, TypeError):
                rec.response = json.loads(resp.body)  # type: ignore[arg-type]
        await self._notify()
        return resp

    async def _answer(self, rec: RecordedRequest, matched: Matched | None) -> web.Response:
        if matched is None:
            self.unknown_routes.append(rec.key)
            return error(404, f"fake discord: unknown route {rec.key}")
        controlled = await self._controlled(rec, matched[0])
        if controlled is not None:
            return controlled
        if self.token is not None and not rec.path.startswith(("/webhooks/", "/interactions/")):
            if rec.headers.get("Authorization", "") != f"Bot {self.token}":
                return error(401)
        handler = matched[2]
        return await handler(rec, **matched[1])

    def requests_matching(self, pattern: str | re.Pattern[str]) -> list[RecordedRequest]:
        """Requests whose ``"METHOD /path"`` matches ``pattern`` (regex search)."""
        rx = wire.pattern(pattern)
        return [r for r in self.requests if rx.search(r.key)]

    # ------------------------------------------------------------------ users, app, gateway

    async def _get_me(self, rec: RecordedRequest) -> web.Response:
        return json_response(self.bot_user())

    async def _get_application(self, rec: RecordedRequest) -> web.Response:
        return json_response(self._application())

    async def _get_gateway(self, rec: RecordedRequest) -> web.Response:
        return json_response({"url": self.gateway_url})

    async def _get_gateway_bot(self, rec: RecordedRequest) -> web.Response:
        return json_response(
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
            return error(404, "Unknown User", 10013)
        return json_response(self.user(int(user_id)))

    async def _create_dm(self, rec: RecordedRequest) -> web.Response:
        recipient = int((rec.json or {}).get("recipient_id", 0))
        for ch in self._channels.values():
            if ch["type"] == 1 and ch["recipients"][0]["id"] == str(recipient):
                return json_response(ch)
        cid = self.snowflake()
        ch = {
            "id": str(cid),
            "type": 1,
            "last_message_id": None,
            "flags": 0,
            "recipients": [self.user(recipient)],
        }
        self._channels[cid] = ch
        return json_response(ch)

    async def _no_content(self, rec: RecordedRequest, **_: str) -> web.Response:
        return no_content()

    # ------------------------------------------------------------------ guilds and channels

    async def _get_channel(self, rec: RecordedRequest, channel_id: str) -> web.Response:
        ch = self._channels.get(int(channel_id)) if channel_id.isdigit() else None
        if ch is None:
            return error(404, "Unknown Channel", 10003)
        return json_response(ch)

    async def _get_guild(self, rec: RecordedRequest, guild_id: str) -> web.Response:
        guild = self._guilds.get(int(guild_id)) if guild_id.isdigit() else None
        if guild is None:
            return error(404, "Unknown Guild", 10004)
        data = self._guild_create(guild)
        for key in ("members", "channels", "threads", "presences", "voice_states", "joined_at"):
            data.pop(key, None)
        return json_response(data)

    async def _get_guild_channels(self, rec: RecordedRequest, guild_id: str) -> web.Response:
        guild = self._guilds.get(int(guild_id)) if guild_id.isdigit() else None
        if guild is None:
            return error(404, "Unknown Guild", 10004)
        return json_response([self._channels[c] for c in guild.channels])

    async def _get_member(self, rec: RecordedRequest, guild_id: str, user_id: str) -> web.Response:
        guild = self._guilds.get(int(guild_id)) if guild_id.isdigit() else None
        if guild is None:
            return error(404, "Unknown Guild", 10004)
        if not user_id.isdigit():
            return error(404, "Unknown Member", 10007)
        uid = int(user_id)
        roles = [guild.bot_role_id] if uid == self.bot_user_id else []
        return json_response(self.member(uid, roles=roles))

    # ------------------------------------------------------------------ messages

    async def _post_message(self, rec: RecordedRequest, channel_id: str) -> web.Response:
        cid = int(channel_id) if channel_id.isdigit() else 0
        if cid not in self._channels:
            return error(404, "Unknown Channel", 10003)
        ch = self._channels[cid]
        if ch["type"] == 1 and int(ch["recipients"][0]["id"]) in self.closed_dms:
            return error(403, "Cannot send messages to this user", 50007)
        body = rec.json if isinstance(rec.json, dict) else {}
        if not (
            body.get("content")
            or body.get("embeds")
            or body.get("components")
            or rec.files
            or body.get("sticker_ids")
            or body.get("poll")
        ):
            return error(400, "Cannot send an empty message", 50006)
        problem = embed_media_problem(body)
        if problem is not None:
            return error(400, problem, 50035)
        nonce = body.get("nonce")
        enforce = nonce is not None and body.get("enforce_nonce") is True
        if enforce:
            # As Discord does: the same nonce again within a few minutes returns the message
            # created the first time instead of creating another one.
            seen = self._nonces.get((cid, str(nonce)))
            if seen is not None and time.monotonic() - seen[1] <= self.nonce_window:
                self.nonce_duplicates += 1
                return json_response(self._messages[seen[0]])
        msg = self._new_message(cid, body, rec.files)
        if enforce:
            self._nonces[(cid, str(nonce))] = (int(msg["id"]), time.monotonic())
        self._channel_posts.append(int(msg["id"]))
        self._channels[cid]["last_message_id"] = msg["id"]
        await self._emit_message("MESSAGE_CREATE", msg)
        return json_response(msg)

    async def _get_message(
        self, rec: RecordedRequest, channel_id: str, message_id: str
    ) -> web.Response:
        msg = self._channel_message(channel_id, message_id)
        if msg is None:
            return error(404, "Unknown Message", 10008)
        return json_response(msg)

    async def _patch_message(
        self, rec: RecordedRequest, channel_id: str, message_id: str
    ) -> web.Response:
        msg = self._channel_message(channel_id, message_id)
        if msg is None:
            return error(404, "Unknown Message", 10008)
        if msg["author"]["id"] != str(self.bot_user_id) and set(rec.json or {}) - {"flags"}:
            return error(403, "Cannot edit a message authored by another user", 50005)
        self._apply_edit(msg, rec.json or {}, rec.files)
        await self._emit_message("MESSAGE_UPDATE", msg)
        return json_response(msg)

    async def _delete_message(
        self, rec: RecordedRequest, channel_id: str, message_id: str
    ) -> web.Response:
        msg = self._channel_message(channel_id, message_id)
        if msg is None:
            return error(404, "Unknown Message", 10008)
        self._deleted.add(int(message_id))
        await self._emit_message("MESSAGE_DELETE", msg)
        return no_content()
