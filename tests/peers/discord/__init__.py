"""A protocol-faithful fake Discord (REST API + gateway websocket) for end-to-end tests.

The fake runs an aiohttp server on 127.0.0.1 and speaks enough of Discord's API v10 for the
real discord.py library to log in, connect to the gateway, sync application commands and answer
interactions::

    async with FakeDiscord() as fake:
        restore = point_discord_py_at(fake.api_base_url, fake.gateway_url)
        try:
            ...  # start a discord.Client (guild_ready_timeout=0.05 makes READY quick), then:
            interaction = await fake.dispatch_slash_command("ping")
            callback = await fake.wait_for_callback(interaction)
            assert callback.json["type"] == 5
        finally:
            restore()

Snowflakes are strings, as on the wire. The gateway also answers heartbeats, RESUME (after
:meth:`FakeDiscord.request_reconnect`) and lets a new client IDENTIFY after the previous one closed.

What is faithful to Discord (so that bugs in a bot show up here rather than in production):

* JSON responses carry ``Content-Type: application/json`` exactly (discord.py ignores anything else);
* gateway frames are compressed as the client asks (``zlib-stream`` with ``Z_SYNC_FLUSH`` or
  ``zstd-stream`` with block flushes), or sent as text when it asks for no compression;
* an interaction can be acknowledged once, within ``interaction_deadline`` seconds
  (``40060`` / ``10062`` errors otherwise), and its webhook only works after that;
* the first follow-up after a ``DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE`` replaces the "thinking" message;
* unknown routes answer ``404`` with Discord's error body, bot routes need ``Authorization: Bot ...``.

Every REST request is recorded in :attr:`FakeDiscord.requests`; every gateway frame the client sends
is recorded in :attr:`FakeDiscord.gateway_frames`.

The package, by concern: ``server`` (FakeDiscord: lifecycle and what tests call), ``gateway`` (the
websocket: HELLO, IDENTIFY/READY, heartbeats, RESUME, dispatch, shards), ``rest`` (the API routes,
interaction callbacks and webhooks), ``messages`` (messages, attachments and Discord's limits),
``payloads`` (the wire vocabulary and JSON builders) and ``state`` (what the fake knows and records).
"""

from tests.peers.discord.payloads import (
    APPLICATION_COMMAND,
    EPHEMERAL,
    LOADING,
    MANAGE_GUILD,
    MESSAGE_COMPONENT,
    slash_option,
)
from tests.peers.discord.server import FakeDiscord, point_discord_py_at
from tests.peers.discord.state import DispatchedInteraction, GatewayFrame, RecordedRequest, UploadedFile

__all__ = [
    "APPLICATION_COMMAND",
    "EPHEMERAL",
    "LOADING",
    "MANAGE_GUILD",
    "MESSAGE_COMPONENT",
    "DispatchedInteraction",
    "FakeDiscord",
    "GatewayFrame",
    "RecordedRequest",
    "UploadedFile",
    "point_discord_py_at",
    "slash_option",
]
