"""`opsbot invite`: the OAuth2 URL that adds the bot to a server with exactly what it needs.

The permissions and scopes are `bot.discordcheck`'s (`INVITE_PERMISSIONS`, `INVITE_SCOPES`: what
`opsbot check` looks for), so the two never disagree. The application id comes from
`--application-id`, or from Discord itself, logged in with `DISCORD_TOKEN`.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Final

import aiohttp
import discord

from bot.discordcheck import INVITE_PERMISSIONS, INVITE_SCOPES, PERMISSION_WORDS

#: Seconds Discord gets to name the application.
INVITE_TIMEOUT: Final = 20.0


class InviteError(Exception):
    """Discord could not name the application; the message is one line for a human."""


def invite_url(application_id: int) -> str:
    """The invite URL for `application_id`: the bot's permissions and both scopes."""
    return discord.utils.oauth_url(
        application_id, permissions=INVITE_PERMISSIONS, scopes=INVITE_SCOPES
    )


def what_it_asks() -> str:
    """One line naming what the URL asks for, as the Developer Portal words it."""
    return (
        f"permissions: {', '.join(PERMISSION_WORDS.values())} ({INVITE_PERMISSIONS.value}); "
        f"scopes: {', '.join(INVITE_SCOPES)}"
    )


async def application_id(token: str) -> int:
    """The id of the application whose bot `token` is (GET /oauth2/applications/@me)."""
    # No voice, no gateway, no cache: none of discord.py's warnings about them apply here.
    discord.VoiceClient.warn_nacl = False
    discord.VoiceClient.warn_dave = False
    quiet, level = logging.getLogger("discord"), logging.getLogger("discord").level
    quiet.setLevel(logging.ERROR)
    client = discord.Client(intents=discord.Intents.none())
    try:
        async with asyncio.timeout(INVITE_TIMEOUT):
            await client.login(token)
            return (await client.application_info()).id
    except discord.LoginFailure:
        raise InviteError(
            "Discord rejected DISCORD_TOKEN (401 Unauthorized): reset it in the Developer "
            "Portal (Bot tab), or give --application-id"
        ) from None
    except TimeoutError:
        raise InviteError(
            f"Discord did not answer within {INVITE_TIMEOUT:g} s at {discord.http.Route.BASE}; "
            "give --application-id instead"
        ) from None
    except (aiohttp.ClientError, OSError, discord.HTTPException) as exc:
        reason = (
            f"HTTP {exc.status}" if isinstance(exc, discord.HTTPException) else type(exc).__name__
        )
        raise InviteError(
            f"cannot reach Discord at {discord.http.Route.BASE} ({reason}); give "
            "--application-id instead"
        ) from None
    finally:
        await client.close()
        quiet.setLevel(level)
