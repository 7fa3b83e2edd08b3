"""The fake gateway at ``/gateway``: JSON text frames, HELLO, IDENTIFY -> READY +
GUILD_CREATE, heartbeat ACKs, RESUME with the missed dispatches replayed, and dispatches
sent from the fake (messages, interactions, anything a test sends)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any, Unpack

from aiohttp import WSMsgType, web

from rig.fakediscord import payloads
from rig.fakediscord.records import JSON, GatewayFrame
from rig.fakediscord.world import Options, World

# Gateway intents the fake looks at.
_INTENT_GUILD_MESSAGES = 1 << 9


@dataclass
class _Session:
    session_id: str
    intents: int
    shard: list[int]
    seq: int = 0
    log: list[JSON] = field(default_factory=list)
    ws: web.WebSocketResponse | None = None
    send_lock: asyncio.Lock = field(default_factory=asyncio.Lock)


def _frame(op: int, d: Any) -> str:
    return json.dumps({"op": op, "d": d, "s": None, "t": None})


class Gateway(World):
    def __init__(self, **options: Unpack[Options]) -> None:
        super().__init__(**options)
        self.gateway_frames: list[GatewayFrame] = []
        self.gateway_connections: list[JSON] = []
        """One entry per websocket connect: ``{"query": {...}, "time": float}``."""
        self.identify_count = 0
        self.resume_count = 0
        self.replayed: list[JSON] = []
        """Dispatch payloads re-sent to a client because of a RESUME."""
        self._sessions: dict[str, _Session] = {}
        self._active: _Session | None = None
        self._sockets: set[web.WebSocketResponse] = set()

    async def _gateway_handler(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(max_msg_size=0, autoping=True)
        await ws.prepare(request)
        conn = len(self.gateway_connections)
        self.gateway_connections.append({"query": dict(request.query), "time": time.monotonic()})
        self._sockets.add(ws)
        session: _Session | None = None
        try:
            await ws.send_str(_frame(10, {"heartbeat_interval": self.heartbeat_interval_ms}))
            async for msg in ws:
                if msg.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
                    continue
                raw = msg.data if isinstance(msg.data, str) else bytes(msg.data).decode()
                frame = json.loads(raw)
                op = int(frame.get("op", -1))
                d = frame.get("d")
                self.gateway_frames.append(GatewayFrame(op, d, time.monotonic(), conn))
                if op == 1:  # HEARTBEAT
                    await ws.send_str(_frame(11, None))
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

    async def _close_sockets(self) -> None:
        for ws in list(self._sockets):
            with contextlib.suppress(Exception):
                await ws.close(code=1001, message=b"fake shutting down")

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
        ready = payloads.ready(
            user=self.bot_user(),
            guild_ids=self._guilds,
            session_id=session.session_id,
            gateway_url=self.gateway_url,
            shard=shard,
            app_id=self.app_id,
            app_flags=self.app_flags,
        )
        await self._dispatch("READY", ready, session)
        for guild in self._guilds.values():
            await self._dispatch("GUILD_CREATE", self._guild_create(guild), session)
        return session

    async def _on_resume(self, ws: web.WebSocketResponse, d: JSON) -> _Session | None:
        session = self._sessions.get(str(d.get("session_id")))
        if session is None or (self.token is not None and d.get("token") != self.token):
            await ws.send_str(_frame(9, False))
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

    async def _emit_message(self, event: str, msg: JSON) -> None:
        """MESSAGE_CREATE/UPDATE/DELETE for a guild message, if the client asked for them."""
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
            await session.ws.send_str(_frame(op, d))

    async def invalidate_session(self, resumable: bool = False) -> None:
        """Send INVALID_SESSION (op 9). With ``resumable=False`` the session is forgotten and
        discord.py re-IDENTIFYs (a fresh READY follows; see :attr:`identify_count`)."""
        session = self._active
        if session is None:
            raise RuntimeError("no gateway session")
        if not resumable:
            self._sessions.pop(session.session_id, None)
        await self.send_op(9, resumable)

    def activate(self, session_id: str) -> None:
        """Make an identified session the active one: interactions and message events go to
        it (several bots logged in to one fake are one session each; the last to identify
        is active until this is called)."""
        self._active = self._sessions[session_id]

    @property
    def session_id(self) -> str | None:
        return self._active.session_id if self._active else None

    @property
    def connected(self) -> bool:
        return self._active is not None and self._active.ws is not None
