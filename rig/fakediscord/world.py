"""The fake Discord's world: its guilds, channels, roles, users, messages and application
commands, the Discord objects built from them, and where the fake is served.

Every other part of the fake (gateway, REST routes, interactions, controls, waiters) is a
layer over this state; `rig.fakediscord.fake.FakeDiscord` stacks them.
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import TypedDict

from rig.fakediscord import payloads
from rig.fakediscord.records import JSON, FakeInteraction, Guild
from rig.fakediscord.wire import API_PREFIX

DISCORD_EPOCH_MS = 1420070400000


class Options(TypedDict, total=False):
    """`FakeDiscord`'s keyword arguments, as the layers pass them down to `World`."""

    guild_id: int
    channel_ids: Sequence[int] | Mapping[int, str]
    app_id: int
    bot_user_id: int | None
    bot_name: str
    guild_name: str
    roles: Mapping[int, str] | None
    owner_id: int
    token: str | None
    heartbeat_interval_ms: int
    app_flags: int
    default_user_id: int


def _now_iso() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat()


class World:
    """The state every layer of the fake shares. See the package docstring."""

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

        self.unknown_routes: list[str] = []
        """REST routes (and gateway opcodes) the fake does not know, as they came."""
        self.interactions: list[FakeInteraction] = []
        self._interactions_by_token: dict[str, FakeInteraction] = {}

        self._guilds: dict[int, Guild] = {}
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
        self._last_snowflake = 0
        #: Role id → permission bitfield served in place of the role's default.
        self.role_permissions: dict[int, int] = {}
        #: Notified on every request, frame and dispatch (the waiters wait on it); made by
        #: `start`, on the loop that serves the fake.
        self._cond: asyncio.Condition | None = None
        self._port: int | None = None

        self.add_guild(guild_id, channel_ids, name=guild_name, roles=roles)
        self.guild_id = guild_id
        self.channel_ids: list[int] = list(self._guilds[guild_id].channels)

    # ------------------------------------------------------------------ where it is served

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

    async def _notify(self) -> None:
        if self._cond is None:
            return
        async with self._cond:
            self._cond.notify_all()

    # ------------------------------------------------------------------ guilds and users

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
        guild = Guild(
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
        return payloads.bot_user(self.bot_user_id, self.bot_name)

    def user(self, user_id: int, *, name: str | None = None) -> JSON:
        """The (stable) user object for ``user_id``; ``name`` sets/overrides the username."""
        if user_id == self.bot_user_id:
            return self.bot_user()
        existing = self._users.get(user_id)
        if existing is None or name is not None:
            existing = payloads.user(user_id, name)
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
        return payloads.member(
            roles=roles, permissions=permissions, user=self.user(user_id) if with_user else None
        )

    def _role(self, guild: Guild, role_id: int) -> JSON:
        data = payloads.role(guild, role_id, bot_name=self.bot_name, bot_user_id=self.bot_user_id)
        if role_id in self.role_permissions:
            data["permissions"] = str(self.role_permissions[role_id])
        return data

    # ------------------------------------------------------------------ permissions, threads
    # (call before the bot connects: GUILD_CREATE is built at IDENTIFY)

    def bot_role_id(self, guild_id: int | None = None) -> int:
        """The bot's own (managed) role in a guild (default: the first guild)."""
        return self._guilds[self.guild_id if guild_id is None else guild_id].bot_role_id

    def set_role_permissions(self, role_id: int, permissions: int) -> None:
        """Serve `role_id` (the guild's id for @everyone, `Guild.bot_role_id` for the bot's
        own role) with `permissions` instead of its default."""
        self.role_permissions[role_id] = permissions

    def set_overwrite(
        self,
        channel_id: int,
        target_id: int,
        *,
        allow: int = 0,
        deny: int = 0,
        member: bool = False,
    ) -> None:
        """A permission overwrite on a channel for a role (or a member), replacing the one
        the target had there."""
        overwrites = self._channels[channel_id]["permission_overwrites"]
        overwrites[:] = [o for o in overwrites if o["id"] != str(target_id)]
        overwrites.append(
            {"id": str(target_id), "type": int(member), "allow": str(allow), "deny": str(deny)}
        )

    def add_thread(self, parent_id: int, thread_id: int, name: str = "thread") -> None:
        """A public thread in `parent_id`: served by ``GET /channels/{id}`` and taking posts,
        but not in GUILD_CREATE (as a thread nobody wrote in lately)."""
        parent = self._channels[parent_id]
        self._channels[thread_id] = {
            "id": str(thread_id),
            "type": 11,
            "guild_id": parent["guild_id"],
            "parent_id": str(parent_id),
            "owner_id": str(self.owner_id),
            "name": name,
            "last_message_id": None,
            "rate_limit_per_user": 0,
            "message_count": 0,
            "member_count": 1,
            "flags": 0,
            "thread_metadata": {
                "archived": False,
                "auto_archive_duration": 1440,
                "archive_timestamp": _now_iso(),
                "locked": False,
            },
        }

    def _guild_create(self, guild: Guild) -> JSON:
        channels = []
        for cid in guild.channels:
            ch = dict(self._channels[cid])
            ch.pop("guild_id", None)
            channels.append(ch)
        roles = [self._role(guild, r) for r in (guild.id, guild.bot_role_id, *guild.roles)]
        bot_member = self.member(self.bot_user_id, roles=[guild.bot_role_id])
        return payloads.guild_create(
            guild, channels=channels, roles=roles, bot_member=bot_member, owner_id=self.owner_id
        )

    def _application(self) -> JSON:
        return payloads.application(
            app_id=self.app_id,
            name=self.bot_name,
            flags=self.app_flags,
            owner=self.user(self.owner_id, name="owner"),
            guild_count=len(self._guilds),
            bot=self.bot_user(),
        )

    def _channel_permissions(self, channel_id: int, permissions: int) -> JSON:
        ch = dict(self._channels[channel_id])
        ch["permissions"] = str(permissions)
        return ch

    # ------------------------------------------------------------------ messages

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
            msg["interaction_metadata"] = self._interaction_metadata(interaction)
        self._messages[mid] = msg
        return msg

    def _interaction_metadata(self, interaction: FakeInteraction) -> JSON:
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
        return meta

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

    def synced_commands(self, guild_id: int | None = None) -> list[JSON] | None:
        """The latest bulk ``PUT`` payload for global (None) or guild commands, as sent."""
        return self._synced_payloads.get(guild_id)

    def commands(self, guild_id: int | None = None) -> list[JSON]:
        """Stored commands (with generated ids) for global (None) or a guild."""
        return list(self._commands.get(guild_id, []))
