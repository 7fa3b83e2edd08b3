"""Interactions the fake sends to the bot, as a user would cause them: a slash command
(`invoke`), typing into an option (`autocomplete`), a button or select (`click`), and a plain
user message (`send_user_message`). Options are built from the synced command schema."""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from rig.fakediscord import payloads
from rig.fakediscord.gateway import Gateway
from rig.fakediscord.payloads import ADMIN_PERMISSIONS, MEMBER_PERMISSIONS
from rig.fakediscord.records import JSON, FakeInteraction

_OPTION_SUB_COMMAND = 1
_OPTION_SUB_COMMAND_GROUP = 2
_SNOWFLAKE_OPTION_TYPES = (6, 7, 8, 9, 11)


def _as_snowflake_str(value: Any) -> str:
    ident = getattr(value, "id", value)
    return str(int(ident))


def _infer_type(value: Any) -> int:
    if isinstance(value, bool):
        return 5
    if isinstance(value, int):
        return 4
    if isinstance(value, float):
        return 10
    return 3


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


def _find_component(components: Iterable[Any], custom_id: str) -> JSON | None:
    for comp in components:
        if not isinstance(comp, dict):
            continue
        if comp.get("custom_id") == custom_id:
            return comp
        for key in ("components", "accessory"):
            child = comp.get(key)
            children = [child] if isinstance(child, dict) else child or []
            found = _find_component(children, custom_id)
            if found is not None:
                return found
    return None


class Interactions(Gateway):
    # ------------------------------------------------------------------ building the data

    def _find_command(
        self, name: str, guild_id: int | None, ctype: int = 1
    ) -> tuple[JSON, int | None] | None:
        scopes: list[int | None] = [guild_id, None] if guild_id is not None else [None]
        for scope in scopes:
            for cmd in self._commands.get(scope, []):
                if cmd["name"] == name and int(cmd.get("type", 1)) == ctype:
                    return cmd, scope
        return None

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
                otype = int(spec["type"]) if spec else _infer_type(value)
                if name == focused:
                    coerced = value if otype != 3 else str(value)
                    if otype in _SNOWFLAKE_OPTION_TYPES:
                        coerced = str(value)
                else:
                    coerced = _coerce(otype, value)
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

    # ------------------------------------------------------------------ sending

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
        payload = payloads.interaction_create(
            interaction_id=iid,
            app_id=self.app_id,
            itype=itype,
            token=token,
            guild_id=gid,
            channel=self._channel_permissions(cid, perms),
            member=self.member(uid, roles=roles, permissions=perms),
            locale=locale,
            data=data,
            message=message,
        )
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
        comp = _find_component(msg.get("components") or [], custom_id)
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
