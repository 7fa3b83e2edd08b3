"""Discord's JSON objects as the fake serves them (users, members, roles, guilds, the
application, READY): shapes only, no state."""

from __future__ import annotations

from collections.abc import Iterable

from rig.fakediscord.records import JSON, Guild

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


def bot_user(user_id: int, name: str) -> JSON:
    return {
        "id": str(user_id),
        "username": name,
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


def user(user_id: int, name: str | None) -> JSON:
    return {
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


def member(*, roles: Iterable[int], permissions: int | str | None, user: JSON | None) -> JSON:
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
    if user is not None:
        data["user"] = user
    return data


def role(guild: Guild, role_id: int, *, bot_name: str, bot_user_id: int) -> JSON:
    """`@everyone` (the guild's id), the bot's managed role, or one of the guild's roles."""
    if role_id == guild.id:
        name, perms, managed, pos = "@everyone", MEMBER_PERMISSIONS, False, 0
    elif role_id == guild.bot_role_id:
        name, perms, managed, pos = bot_name, ADMIN_PERMISSIONS, True, 1
    else:
        name, perms, managed, pos = guild.roles[role_id], MEMBER_PERMISSIONS, False, 2
    data: JSON = {
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
        data["tags"] = {"bot_id": str(bot_user_id)}
    return data


def guild_create(
    guild: Guild, *, channels: list[JSON], roles: list[JSON], bot_member: JSON, owner_id: int
) -> JSON:
    """The GUILD_CREATE payload: the guild with its channels, roles and the bot as member."""
    return {
        "id": str(guild.id),
        "name": guild.name,
        "icon": None,
        "splash": None,
        "discovery_splash": None,
        "banner": None,
        "description": None,
        "owner_id": str(owner_id),
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
        "roles": roles,
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


def application(
    *, app_id: int, name: str, flags: int, owner: JSON, guild_count: int, bot: JSON
) -> JSON:
    return {
        "id": str(app_id),
        "name": name,
        "icon": None,
        "description": "",
        "summary": "",
        "type": None,
        "rpc_origins": [],
        "bot_public": True,
        "bot_require_code_grant": False,
        "owner": owner,
        "team": None,
        "verify_key": "0" * 64,
        "flags": flags,
        "guild_id": None,
        "hook": True,
        "interactions_endpoint_url": None,
        "redirect_uris": [],
        "tags": [],
        "integration_types_config": {"0": {}},
        "approximate_guild_count": guild_count,
        "bot": bot,
    }


def ready(
    *,
    user: JSON,
    guild_ids: Iterable[int],
    session_id: str,
    gateway_url: str,
    shard: list[int],
    app_id: int,
    app_flags: int,
) -> JSON:
    """READY: the guilds arrive as unavailable, then one GUILD_CREATE each."""
    return {
        "v": 10,
        "user": user,
        "guilds": [{"id": str(g), "unavailable": True} for g in guild_ids],
        "session_id": session_id,
        "session_type": "normal",
        "resume_gateway_url": gateway_url,
        "shard": shard,
        "application": {"id": str(app_id), "flags": app_flags},
        "private_channels": [],
        "relationships": [],
        "presences": [],
        "guild_join_requests": [],
        "geo_ordered_rtc_regions": [],
        "user_settings": {},
        "auth": {},
    }


def interaction_create(
    *,
    interaction_id: int,
    app_id: int,
    itype: int,
    token: str,
    guild_id: int,
    channel: JSON,
    member: JSON,
    locale: str,
    data: JSON,
    message: JSON | None,
) -> JSON:
    """INTERACTION_CREATE in a guild channel; `message` is the one a component sits on."""
    payload: JSON = {
        "id": str(interaction_id),
        "application_id": str(app_id),
        "type": itype,
        "token": token,
        "version": 1,
        "guild_id": str(guild_id),
        "guild": {"id": str(guild_id), "locale": "en-US", "features": []},
        "guild_locale": "en-US",
        "channel_id": channel["id"],
        "channel": channel,
        "member": member,
        "app_permissions": str(ADMIN_PERMISSIONS),
        "locale": locale,
        "entitlements": [],
        "entitlement_sku_ids": [],
        "authorizing_integration_owners": {"0": str(guild_id)},
        "context": 0,
        "attachment_size_limit": 10 * 1024 * 1024,
        "data": data,
    }
    if message is not None:
        payload["message"] = message
    return payload
