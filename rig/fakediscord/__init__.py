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

One module per area, each a layer of the one class (`fake.py` stacks them):

==================  ==========================================================================
`world.py`          guilds, channels, roles, users, messages, commands; where it is served
`payloads.py`       Discord's JSON objects built from the world (no state)
`gateway.py`        the websocket: sessions, IDENTIFY/RESUME, dispatches
`rest.py`           REST plumbing (record, match, controls, auth) and the channel/guild routes
`commands.py`       application command sync
`callbacks.py`      interaction callbacks, @original and followups
`interactions.py`   interactions sent to the bot: invoke, autocomplete, click, user messages
`controls.py`       fault injection: `fail` (429s with rate-limit headers, 5xx, 403 …), `delay`
`waiters.py`        the ``wait_for_*`` helpers
`records.py`        what is recorded: requests, gateway frames, interactions
==================  ==========================================================================

Typical use (the ``fake_discord`` fixture in ``tests/fixtures`` does the first three steps)::

    fake = FakeDiscord()
    await fake.start()
    restore = fake.patch_discord()        # Route.BASE + DiscordWebSocket.DEFAULT_GATEWAY
    await bot.login("any-token")
    task = asyncio.create_task(bot.connect())
    await bot.wait_until_ready()
    inter = await fake.invoke("echo", {"text": "hi"})
    body = await fake.wait_for_interaction_response(inter)
"""

from rig.fakediscord.callbacks import CALLBACK_ROUTE
from rig.fakediscord.controls import Delay, Fault
from rig.fakediscord.fake import FakeDiscord
from rig.fakediscord.payloads import ADMIN_PERMISSIONS, MEMBER_PERMISSIONS
from rig.fakediscord.records import FakeInteraction, GatewayFrame, RecordedRequest, WaitTimeout

__all__ = [
    "ADMIN_PERMISSIONS",
    "CALLBACK_ROUTE",
    "MEMBER_PERMISSIONS",
    "Delay",
    "FakeDiscord",
    "FakeInteraction",
    "Fault",
    "GatewayFrame",
    "RecordedRequest",
    "WaitTimeout",
]
