"""What the fake Discord knows and records: its application, guild and channel, the commands and
messages the bot made, the interactions sent to it, and every request and gateway frame it received.

The gateway and the REST routes both change this state; tests read it and wait on ``changed``."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from tests.peers.discord import payloads

API_PREFIX = "/api/v10"


@dataclass(frozen=True)
class UploadedFile:
    """One ``files[n]`` part of a multipart/form-data request."""

    field: str
    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class RecordedRequest:
    """A REST request the client made; ``path`` is relative to ``/api/v10``."""

    method: str
    path: str
    query: dict[str, str]
    json: Any
    files: tuple[UploadedFile, ...]
    headers: dict[str, str]
    status: int
    at: float


@dataclass(frozen=True)
class GatewayFrame:
    """A gateway payload the client sent (the IDENTIFY/RESUME token is redacted)."""

    op: int
    d: Any
    at: float


@dataclass
class DispatchedInteraction:
    """An interaction sent to the client, and what the client answered so far."""

    id: str
    token: str
    type: int
    channel_id: str
    dispatched_at: float
    message_id: str | None = None
    response_type: int | None = None
    original_id: str | None = None
    message_ids: set[str] = field(default_factory=set)
    modal: dict[str, Any] | None = None  # the modal this interaction answered with (callback type 9), if any


class DiscordState:
    """One bot application in one guild with two channels (interactions come from the first unless a test
    names another) and the roles a test asks for, and what happened to it."""

    def __init__(
        self,
        *,
        token: str | None,
        application_id: int,
        guild_id: int,
        channel_id: int,
        guild_name: str,
        bot_username: str,
        heartbeat_interval_ms: int,
        interaction_deadline: float | None,
        roles: tuple[str, ...] = (),
    ) -> None:
        self._snowflakes = payloads.Snowflakes()
        self.application_id = str(application_id)
        self.guild_id = str(guild_id)
        self.channel_id = str(channel_id)
        self.other_channel_id = str(channel_id + 1)
        # The guild's roles beside @everyone, id -> name; ``role_ids`` by name, for tests.
        self.roles = {str(guild_id + 100 + n): name for n, name in enumerate(roles)}
        self.role_ids = {name: role_id for role_id, name in self.roles.items()}
        self.guild_name = guild_name
        self.bot_user: dict[str, Any] = self.make_user(self.application_id, bot_username, bot=True)
        self.owner_user: dict[str, Any] = self.make_user(username="owner")
        self.default_user: dict[str, Any] = self.make_user(username="tester")
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.interaction_deadline = interaction_deadline
        self.token = token

        self.requests: list[RecordedRequest] = []
        self.gateway_frames: list[GatewayFrame] = []
        self.commands: dict[str | None, list[dict[str, Any]]] = {}
        self.interactions: dict[str, DispatchedInteraction] = {}
        self.messages: dict[str, dict[str, Any]] = {}
        self.threads: dict[str, dict[str, Any]] = {}  # thread channels by id (a thread started on a message)
        self.attachment_data: dict[str, bytes] = {}
        self.command_ids: dict[tuple[str | None, str, int], str] = {}
        # Notified on every recorded request and every gateway (dis)connection.
        self.changed = asyncio.Condition()
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_base_url(self) -> str:
        return f"{self.base_url}{API_PREFIX}"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/gateway"

    def snowflake(self) -> str:
        return self._snowflakes.next()

    def make_user(self, user_id: str | None = None, username: str = "tester", *, bot: bool = False) -> dict[str, Any]:
        """A user object as Discord sends it."""
        return payloads.user(user_id or self.snowflake(), username, bot=bot)

    def message_skeleton(self, channel_id: str, message_type: int) -> dict[str, Any]:
        return payloads.message_skeleton(self.snowflake(), channel_id, message_type, self.bot_user,
                                         self.application_id)

    def find_command(self, name: str) -> dict[str, Any] | None:
        """The chat-input command ``name``, registered for the guild or globally."""
        for scope in (self.guild_id, None):
            for command in self.commands.get(scope, []):
                if command["name"] == name and command.get("type", 1) == 1:
                    return command
        return None
