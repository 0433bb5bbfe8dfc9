"""FakeDiscord: the REST API and the gateway on one local aiohttp server, and what tests do with it
(send slash commands and button clicks, wait for the bot's requests)."""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any

from aiohttp import web

from tests.peers.discord import gateway, payloads
from tests.peers.discord.gateway import OP_HEARTBEAT, OP_IDENTIFY, Gateway
from tests.peers.discord.payloads import APPLICATION_COMMAND, MESSAGE_COMPONENT, MODAL_SUBMIT
from tests.peers.discord.rest import Rest
from tests.peers.discord.state import DiscordState, DispatchedInteraction, RecordedRequest
from tests.peers.discord.threads import submission

_log = logging.getLogger(__name__)


class FakeDiscord(DiscordState):
    """Fake Discord REST API and gateway for one bot application in one guild (interactions may name
    others). Sharded clients get what Discord gives them: the events of the guilds whose shard they are,
    ``(guild_id >> 22) % shard_count``."""

    def __init__(
        self,
        *,
        token: str | None = None,
        application_id: int = 1_200_000_000_000_000_001,
        guild_id: int = 1_200_000_000_000_000_002,
        channel_id: int = 1_200_000_000_000_000_003,
        guild_name: str = "Fake Guild",
        bot_username: str = "arena-bot",
        heartbeat_interval_ms: int = 41_250,
        interaction_deadline: float | None = 3.0,
        roles: tuple[str, ...] = (),
    ) -> None:
        """``token`` (if given) is the only bot token accepted; ``interaction_deadline`` is Discord's
        3-second limit for the initial interaction response (``None`` disables it); ``roles`` names the
        guild's roles beside @everyone (their ids in ``role_ids``)."""
        super().__init__(token=token, application_id=application_id, guild_id=guild_id, channel_id=channel_id,
                         guild_name=guild_name, bot_username=bot_username,
                         heartbeat_interval_ms=heartbeat_interval_ms, interaction_deadline=interaction_deadline,
                         roles=roles)
        self._gateway = Gateway(self)
        self._rest = Rest(self)
        self._runner: web.AppRunner | None = None

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Bind the server on 127.0.0.1 (random port)."""
        app = web.Application()
        self._rest.add_routes(app)
        self._gateway.add_route(app)
        self._runner = web.AppRunner(app, shutdown_timeout=1.0, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        _log.debug("fake Discord listening on %s", self.base_url)

    async def stop(self) -> None:
        """Close open gateway connections and the server (close the bot client first)."""
        await self._gateway.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeDiscord:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    # ------------------------------------------------------------------ what the client did

    @property
    def identifies(self) -> list[dict[str, Any]]:
        """IDENTIFY payloads received so far (token redacted)."""
        return [frame.d for frame in self.gateway_frames if frame.op == OP_IDENTIFY]

    @property
    def heartbeat_count(self) -> int:
        return sum(1 for frame in self.gateway_frames if frame.op == OP_HEARTBEAT)

    async def wait_for(self, predicate: Callable[[RecordedRequest], bool], timeout: float = 5.0) -> RecordedRequest:
        """Return the first recorded request (past or future) matching ``predicate``."""

        def seen_match() -> bool:
            return any(map(predicate, self.requests))

        async with self.changed:
            try:
                await asyncio.wait_for(self.changed.wait_for(seen_match), timeout)
            except TimeoutError:
                seen = ", ".join(f"{r.method} {r.path} -> {r.status}" for r in self.requests)
                raise TimeoutError(f"no matching request within {timeout}s; seen: {seen}") from None
            return next(request for request in self.requests if predicate(request))

    async def wait_for_callback(self, interaction: DispatchedInteraction, timeout: float = 5.0) -> RecordedRequest:
        """Wait for the client's ``POST /interactions/{id}/{token}/callback`` for ``interaction``."""
        path = f"/interactions/{interaction.id}/{interaction.token}/callback"
        return await self.wait_for(lambda r: r.method == "POST" and r.path == path, timeout)

    # ------------------------------------------------------------------ the gateway, seen from a test

    async def wait_until_connected(self, timeout: float = 5.0, shards: int = 1) -> None:
        """Wait until a client has identified (or resumed) and is the one receiving dispatches; with
        ``shards`` > 1, until that many shards of a sharded client have."""
        await self._gateway.wait_until_connected(timeout, shards)

    @staticmethod
    def shard_of(guild_id: str, shard_count: int) -> int:
        """The shard Discord sends a guild's events to."""
        return gateway.shard_of(guild_id, shard_count)

    async def dispatch(self, event: str, data: Any, timeout: float = 5.0) -> None:
        """Send a DISPATCH (op 0) event to the connected client (sharded: to the shard of its guild)."""
        await self._gateway.dispatch(event, data, timeout)

    async def request_reconnect(self, timeout: float = 5.0) -> None:
        """Send op 7 RECONNECT: the client should come back with a RESUME of the same session."""
        await self._gateway.request_reconnect(timeout)

    # ------------------------------------------------------------------ interactions

    async def dispatch_slash_command(
        self,
        name: str,
        options: list[dict[str, Any]] | None = None,
        *,
        user: dict[str, Any] | None = None,
        permissions: int = 0,
        locale: str = "en-US",
        guild_id: str | None = None,
        channel_id: str | None = None,
        roles: tuple[str, ...] = (),
    ) -> DispatchedInteraction:
        """Send an INTERACTION_CREATE for ``/name`` (see :func:`slash_option` for ``options``), in this
        fake's guild or in ``guild_id``, from its first channel or ``channel_id``, by a member with ``roles``."""
        command = self.find_command(name)
        data: dict[str, Any] = {
            "id": command["id"] if command else self.snowflake(),
            "name": name,
            "type": 1,
            "options": options or [],
        }
        if command and command.get("guild_id"):
            data["guild_id"] = command["guild_id"]
        return await self._dispatch_interaction(APPLICATION_COMMAND, data, user, permissions, locale,
                                                guild_id=guild_id, channel_id=channel_id, roles=roles)

    async def dispatch_component(
        self,
        custom_id: str,
        *,
        message: dict[str, Any] | None = None,
        component_type: int = 2,
        values: list[str] | None = None,
        user: dict[str, Any] | None = None,
        permissions: int = 0,
        locale: str = "en-US",
        guild_id: str | None = None,
        channel_id: str | None = None,
        roles: tuple[str, ...] = (),
    ) -> DispatchedInteraction:
        """Send an INTERACTION_CREATE for a click on ``custom_id`` (a select if ``values`` is given).

        ``message`` is the message the component sits on (e.g. one from :attr:`messages`); by
        default a bot message holding a single button with that ``custom_id``.
        """
        message = message or payloads.button_message(self.message_skeleton(channel_id or self.channel_id, 0),
                                                     custom_id)
        self.messages[message["id"]] = message
        data: dict[str, Any] = {"custom_id": custom_id, "component_type": component_type}
        if values is not None:
            data["values"] = values
        return await self._dispatch_interaction(MESSAGE_COMPONENT, data, user, permissions, locale, message=message,
                                                guild_id=guild_id, channel_id=channel_id, roles=roles)

    async def submit_modal(self, opened: DispatchedInteraction, values: dict[str, str], *,
                           user: dict[str, Any] | None = None) -> DispatchedInteraction:
        """The member submits the modal that ``opened`` answered with (callback type 9): a MODAL_SUBMIT
        interaction with each text input's value, and the message of the button that opened it, if any."""
        message = self.messages.get(opened.message_id or "")
        return await self._dispatch_interaction(MODAL_SUBMIT, submission(opened, values), user, 0, "en-US",
                                                message=message)

    async def _dispatch_interaction(
        self,
        interaction_type: int,
        data: dict[str, Any],
        user: dict[str, Any] | None,
        permissions: int,
        locale: str,
        *,
        message: dict[str, Any] | None = None,
        guild_id: str | None = None,
        channel_id: str | None = None,
        roles: tuple[str, ...] = (),
    ) -> DispatchedInteraction:
        await self.wait_until_connected()
        # An interaction on a message happens in the message's channel: a thread, for a message in one.
        channel_id = channel_id or (message["channel_id"] if message else self.channel_id)
        interaction = DispatchedInteraction(
            id=self.snowflake(),
            token=secrets.token_hex(32),
            type=interaction_type,
            channel_id=channel_id,
            dispatched_at=time.monotonic(),
            message_id=message["id"] if message else None,
        )
        self.interactions[interaction.id] = interaction
        payload = payloads.interaction(
            interaction_id=interaction.id, application_id=self.application_id, interaction_type=interaction.type,
            token=interaction.token, data=data, user=user or self.default_user, permissions=permissions,
            locale=locale, guild_id=guild_id or self.guild_id, channel_id=channel_id, roles=roles,
            channel_object=self.threads.get(channel_id))
        if message is not None:
            payload["message"] = message
        await self.dispatch("INTERACTION_CREATE", payload)
        return interaction


def point_discord_py_at(api_base_url: str, gateway_url: str) -> Callable[[], None]:
    """Make discord.py (2.4 to 2.7) talk to the fake; returns a function that undoes it.

    discord.py builds every REST URL (the bot's and the interaction webhooks') from the class
    attribute ``discord.http.Route.BASE``. ``discord.Client`` never asks ``GET /gateway/bot`` for the
    gateway: it connects to ``DiscordWebSocket.DEFAULT_GATEWAY`` and later to READY's
    ``resume_gateway_url``. Both class attributes are process-wide, hence the undo function.
    """
    import yarl
    from discord.gateway import DiscordWebSocket
    from discord.http import Route

    old_base, old_gateway = Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY
    Route.BASE = api_base_url
    DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)

    def restore() -> None:
        Route.BASE = old_base
        DiscordWebSocket.DEFAULT_GATEWAY = old_gateway

    return restore
