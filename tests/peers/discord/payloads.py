"""Discord's wire vocabulary and the JSON objects the fake sends: users, members, channels, guilds,
interactions, messages, commands. Pure builders: no state beyond the ids passed in."""

from __future__ import annotations

import itertools
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

DISCORD_EPOCH_MS = 1_420_070_400_000

# Message flags and permission bits.
EPHEMERAL = 1 << 6
LOADING = 1 << 7
MANAGE_GUILD = 1 << 5
ALL_PERMISSIONS = (1 << 51) - 1

# Interaction types.
PING = 1
APPLICATION_COMMAND = 2
MESSAGE_COMPONENT = 3
AUTOCOMPLETE = 4
MODAL_SUBMIT = 5

# Interaction callback types.
CHANNEL_MESSAGE_WITH_SOURCE = 4
DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE = 5
DEFERRED_UPDATE_MESSAGE = 6
UPDATE_MESSAGE = 7

ALLOWED_CALLBACKS: dict[int, frozenset[int]] = {
    PING: frozenset({1}),
    APPLICATION_COMMAND: frozenset({4, 5, 9, 10, 12}),
    MESSAGE_COMPONENT: frozenset({4, 5, 6, 7, 9, 10, 12}),
    AUTOCOMPLETE: frozenset({8}),
    MODAL_SUBMIT: frozenset({4, 5, 6, 7, 10, 12}),
}
_OPTION_TYPES: tuple[tuple[type, int], ...] = ((bool, 5), (int, 4), (float, 10), (str, 3))


class Snowflakes:
    """Discord ids: milliseconds since the Discord epoch, then a 12-bit increment."""

    def __init__(self) -> None:
        self._increment = itertools.count()

    def next(self) -> str:
        millis = int(time.time() * 1000) - DISCORD_EPOCH_MS
        return str((millis << 22) | (next(self._increment) & 0xFFF))


def now_iso() -> str:
    return datetime.now(UTC).isoformat()


def slash_option(name: str, value: str | int | float | bool) -> dict[str, Any]:
    """Build a slash-command option (``data.options[n]``), inferring its type from ``value``."""
    option_type = next(code for kind, code in _OPTION_TYPES if isinstance(value, kind))
    return {"name": name, "type": option_type, "value": value}


def user(user_id: str, username: str, *, bot: bool) -> dict[str, Any]:
    """A user object as Discord sends it."""
    return {
        "id": user_id,
        "username": username,
        "global_name": None if bot else username.title(),
        "discriminator": "0",
        "avatar": None,
        "bot": bot,
        "public_flags": 0,
    }


def member(user: dict[str, Any], permissions: int = 0, roles: Sequence[str] = ()) -> dict[str, Any]:
    """A guild member; ``roles`` are role ids (never @everyone's, which Discord leaves implicit)."""
    return {
        "user": user,
        "roles": list(roles),
        "joined_at": now_iso(),
        "nick": None,
        "avatar": None,
        "premium_since": None,
        "deaf": False,
        "mute": False,
        "pending": False,
        "flags": 0,
        "permissions": str(permissions),
    }


def channel(channel_id: str, guild_id: str) -> dict[str, Any]:
    return {
        "id": channel_id,
        "type": 0,
        "guild_id": guild_id,
        "name": "general",
        "position": 0,
        "permission_overwrites": [],
        "nsfw": False,
        "parent_id": None,
        "topic": None,
        "last_message_id": None,
        "rate_limit_per_user": 0,
    }


def role(role_id: str, name: str, position: int, permissions: int = 0) -> dict[str, Any]:
    return {
        "id": role_id,
        "name": name,
        "permissions": str(permissions),
        "position": position,
        "color": 0,
        "hoist": False,
        "managed": False,
        "mentionable": False,
        "flags": 0,
    }


def guild(guild_id: str, name: str, owner_id: str, channel_ids: Sequence[str], bot_user: dict[str, Any],
          roles: Mapping[str, str] | None = None) -> dict[str, Any]:
    """GUILD_CREATE's payload: text channels, the @everyone role and ``roles`` (id -> name), and the bot as
    its only member."""
    everyone = {
        "id": guild_id,
        "name": "@everyone",
        "permissions": "1071698660929",
        "position": 0,
        "color": 0,
        "hoist": False,
        "managed": False,
        "mentionable": False,
        "flags": 0,
    }
    return {
        "id": guild_id,
        "name": name,
        "unavailable": False,
        "owner_id": owner_id,
        "joined_at": now_iso(),
        "large": False,
        "member_count": 1,
        "features": [],
        "roles": [everyone, *(role(role_id, role_name, n + 1) for n, (role_id, role_name)
                              in enumerate((roles or {}).items()))],
        "channels": [channel(channel_id, guild_id) for channel_id in channel_ids],
        "members": [member(bot_user)],
        "threads": [],
        "emojis": [],
        "stickers": [],
        "voice_states": [],
        "presences": [],
        "stage_instances": [],
        "guild_scheduled_events": [],
        "soundboard_sounds": [],
        "preferred_locale": "en-US",
    }


def interaction(
    *,
    interaction_id: str,
    application_id: str,
    interaction_type: int,
    token: str,
    data: dict[str, Any],
    user: dict[str, Any],
    permissions: int,
    locale: str,
    guild_id: str,
    channel_id: str,
    roles: Sequence[str] = (),
    channel_object: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """INTERACTION_CREATE's payload; ``permissions`` are the member's in the channel, ``roles`` their role ids,
    ``channel_object`` the channel when it is not the text channel (a thread)."""
    return {
        "id": interaction_id,
        "application_id": application_id,
        "type": interaction_type,
        "data": data,
        "token": token,
        "version": 1,
        "guild_id": guild_id,
        "guild": {"id": guild_id, "locale": "en-US", "features": []},
        "channel_id": channel_id,
        "channel": channel_object or channel(channel_id, guild_id),
        "member": member(user, permissions, roles),
        "locale": locale,
        "guild_locale": "en-US",
        "app_permissions": str(ALL_PERMISSIONS),
        "entitlements": [],
        "authorizing_integration_owners": {"0": guild_id},
        "context": 0,
        "attachment_size_limit": 10 * 1024 * 1024,
    }


def message_skeleton(message_id: str, channel_id: str, message_type: int, bot_user: dict[str, Any],
                     application_id: str) -> dict[str, Any]:
    """The fields every message the bot sends through an interaction carries."""
    return {
        "id": message_id,
        "type": message_type,
        "channel_id": channel_id,
        "author": bot_user,
        "webhook_id": application_id,
        "application_id": application_id,
        "timestamp": now_iso(),
        "edited_timestamp": None,
        "tts": False,
        "mention_everyone": False,
        "mentions": [],
        "mention_roles": [],
        "pinned": False,
    }


def button_message(skeleton: dict[str, Any], custom_id: str) -> dict[str, Any]:
    """A bot message holding a single button with ``custom_id``."""
    button = {"type": 2, "style": 1, "label": custom_id, "custom_id": custom_id}
    return {
        **skeleton,
        "content": "",
        "embeds": [],
        "attachments": [],
        "components": [{"type": 1, "components": [button]}],
        "flags": 0,
    }


def registered_command(command: Mapping[str, Any], command_id: str, application_id: str, version: str,
                       guild: str | None) -> dict[str, Any]:
    """An application command as Discord stores it after a bulk overwrite."""
    registered = {
        "type": 1,
        "description": "",
        "options": [],
        "default_member_permissions": None,
        "nsfw": False,
        **command,
        "id": command_id,
        "application_id": application_id,
        "version": version,
    }
    if guild is not None:
        registered["guild_id"] = guild
    return registered


def application(application_id: str, bot_user: dict[str, Any], owner: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": application_id,
        "name": bot_user["username"],
        "description": "",
        "icon": None,
        "bot_public": True,
        "bot_require_code_grant": False,
        "owner": owner,
        "verify_key": "0" * 64,
        "flags": 0,
        "team": None,
        "bot": bot_user,
        "interactions_endpoint_url": None,
    }


def current_user(bot_user: dict[str, Any]) -> dict[str, Any]:
    """``GET /users/@me`` and READY's ``user``: the bot user with its account fields."""
    return {**bot_user, "verified": True, "mfa_enabled": False, "flags": 0}
