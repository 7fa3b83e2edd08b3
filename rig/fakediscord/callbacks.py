"""How the bot answers an interaction: the callback (``POST /interactions/{id}/{token}/
callback``), then the original response and followups through the interaction's webhook."""

from __future__ import annotations

from aiohttp import web

from rig.fakediscord.records import JSON, FakeInteraction, RecordedRequest
from rig.fakediscord.rest import Rest
from rig.fakediscord.wire import embed_media_problem, error, json_response, no_content

CALLBACK_ROUTE = "POST /interactions/{interaction_id}/{token}/callback"


def _truthy(value: str | None) -> bool:
    return value is not None and value.lower() in ("1", "true", "yes")


class Callbacks(Rest):
    def _install_routes(self) -> None:
        super()._install_routes()
        r = self._add_route
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

    @property
    def interaction_responses(self) -> list[JSON]:
        """Bodies of accepted interaction callbacks, in order."""
        return [
            r.json
            for r in self.requests
            if r.route == CALLBACK_ROUTE and r.status is not None and 200 <= r.status < 300
        ]

    async def _post_callback(
        self, rec: RecordedRequest, interaction_id: str, token: str
    ) -> web.Response:
        inter = self._interactions_by_token.get(token)
        if inter is None or str(inter.id) != interaction_id:
            return error(404, "Unknown interaction", 10062)
        if inter.callback is not None:
            return error(400, "Interaction has already been acknowledged.", 40060)
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
            return no_content()
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
        return json_response(resp)

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

    def _webhook_message(
        self, app_id: str, token: str, message_id: str | None
    ) -> JSON | web.Response:
        """The message a webhook route names, or the 404 Discord gives."""
        inter, msg = self._webhook_target(app_id, token, message_id)
        if inter is None:
            return error(404, "Unknown Webhook", 10015)
        if msg is None:
            return error(404, "Unknown Message", 10008)
        return msg

    async def _get_webhook_message(
        self, rec: RecordedRequest, app_id: str, token: str, message_id: str | None = None
    ) -> web.Response:
        msg = self._webhook_message(app_id, token, message_id)
        return msg if isinstance(msg, web.Response) else json_response(msg)

    async def _patch_webhook_message(
        self, rec: RecordedRequest, app_id: str, token: str, message_id: str | None = None
    ) -> web.Response:
        msg = self._webhook_message(app_id, token, message_id)
        if isinstance(msg, web.Response):
            return msg
        problem = embed_media_problem(rec.json)
        if problem is not None:
            return error(400, problem, 50035)
        self._apply_edit(msg, rec.json if isinstance(rec.json, dict) else {}, rec.files)
        await self._emit_message("MESSAGE_UPDATE", msg)
        return json_response(msg)

    async def _delete_webhook_message(
        self, rec: RecordedRequest, app_id: str, token: str, message_id: str | None = None
    ) -> web.Response:
        msg = self._webhook_message(app_id, token, message_id)
        if isinstance(msg, web.Response):
            return msg
        self._deleted.add(int(msg["id"]))
        await self._emit_message("MESSAGE_DELETE", msg)
        return no_content()

    async def _post_followup(self, rec: RecordedRequest, app_id: str, token: str) -> web.Response:
        inter = self._webhook_interaction(app_id, token)
        if inter is None:
            return error(404, "Unknown Webhook", 10015)
        body = rec.json if isinstance(rec.json, dict) else {}
        msg = self._new_message(inter.channel_id or 0, body, rec.files, interaction=inter)
        inter.followup_message_ids.append(int(msg["id"]))
        await self._emit_message("MESSAGE_CREATE", msg)
        if not _truthy(rec.query.get("wait")):
            return no_content()
        return json_response(msg)
