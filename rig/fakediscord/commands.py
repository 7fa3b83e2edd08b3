"""Application commands: the bot syncs them (bulk ``PUT``) and edits them; the fake keeps them
per scope (global or a guild), with ids, so that an invoked interaction names a real one."""

from __future__ import annotations

from aiohttp import web

from rig.fakediscord.records import JSON, RecordedRequest
from rig.fakediscord.rest import Rest
from rig.fakediscord.wire import error, json_response, no_content


def _scope(guild_id: str | None) -> int | None:
    return int(guild_id) if guild_id else None


class CommandSync(Rest):
    def _install_routes(self) -> None:
        super()._install_routes()
        for prefix in (
            "/applications/{app_id}/commands",
            "/applications/{app_id}/guilds/{guild_id}/commands",
        ):
            self._add_route("GET", prefix, self._get_commands)
            self._add_route("PUT", prefix, self._put_commands)
            self._add_route("POST", prefix, self._post_command)
            self._add_route("GET", prefix + "/{command_id}", self._get_command)
            self._add_route("PATCH", prefix + "/{command_id}", self._patch_command)
            self._add_route("DELETE", prefix + "/{command_id}", self._delete_command)

    def _check_app(self, app_id: str) -> web.Response | None:
        if app_id != str(self.app_id):
            return error(404, "Unknown Application", 10002)
        return None

    def _check_guild(self, guild_id: str | None) -> web.Response | None:
        if guild_id is not None and int(guild_id) not in self._guilds:
            return error(404, "Unknown Guild", 10004)
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
        return json_response(self._commands.get(_scope(guild_id), []))

    async def _put_commands(
        self, rec: RecordedRequest, app_id: str, guild_id: str | None = None
    ) -> web.Response:
        err = self._check_app(app_id) or self._check_guild(guild_id)
        if err:
            return err
        if not isinstance(rec.json, list):
            return error(400, "Invalid Form Body", 50035)
        scope = _scope(guild_id)
        old = self._commands.get(scope, [])
        self._synced_payloads[scope] = rec.json
        self._commands[scope] = [self._stored_command(c, scope, old) for c in rec.json]
        return json_response(self._commands[scope])

    async def _post_command(
        self, rec: RecordedRequest, app_id: str, guild_id: str | None = None
    ) -> web.Response:
        err = self._check_app(app_id) or self._check_guild(guild_id)
        if err:
            return err
        scope = _scope(guild_id)
        old = self._commands.setdefault(scope, [])
        cmd = self._stored_command(rec.json, scope, old)
        self._commands[scope] = [c for c in old if c["id"] != cmd["id"]] + [cmd]
        return json_response(cmd, 201)

    def _find_command_by_id(self, scope: int | None, command_id: str) -> JSON | None:
        return next((c for c in self._commands.get(scope, []) if c["id"] == command_id), None)

    async def _get_command(
        self, rec: RecordedRequest, app_id: str, command_id: str, guild_id: str | None = None
    ) -> web.Response:
        cmd = self._find_command_by_id(_scope(guild_id), command_id)
        if cmd is None:
            return error(404, "Unknown application command", 10063)
        return json_response(cmd)

    async def _patch_command(
        self, rec: RecordedRequest, app_id: str, command_id: str, guild_id: str | None = None
    ) -> web.Response:
        cmd = self._find_command_by_id(_scope(guild_id), command_id)
        if cmd is None:
            return error(404, "Unknown application command", 10063)
        cmd.update(rec.json or {})
        cmd["version"] = str(self.snowflake())
        return json_response(cmd)

    async def _delete_command(
        self, rec: RecordedRequest, app_id: str, command_id: str, guild_id: str | None = None
    ) -> web.Response:
        scope = _scope(guild_id)
        cmd = self._find_command_by_id(scope, command_id)
        if cmd is None:
            return error(404, "Unknown application command", 10063)
        self._commands[scope] = [c for c in self._commands[scope] if c is not cmd]
        return no_content()
