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
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import secrets
import time
import zlib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

from aiohttp import BodyPartReader, WSMsgType, web

_log = logging.getLogger(__name__)

API_PREFIX = "/api/v10"
DISCORD_EPOCH_MS = 1_420_070_400_000

EPHEMERAL = 1 << 6
LOADING = 1 << 7
MANAGE_GUILD = 1 << 5
ALL_PERMISSIONS = (1 << 51) - 1

# Gateway opcodes.
OP_DISPATCH = 0
OP_HEARTBEAT = 1
OP_IDENTIFY = 2
OP_RESUME = 6
OP_RECONNECT = 7
OP_INVALID_SESSION = 9
OP_HELLO = 10
OP_HEARTBEAT_ACK = 11

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

_ALLOWED_CALLBACKS: dict[int, frozenset[int]] = {
    PING: frozenset({1}),
    APPLICATION_COMMAND: frozenset({4, 5, 9, 10, 12}),
    MESSAGE_COMPONENT: frozenset({4, 5, 6, 7, 9, 10, 12}),
    AUTOCOMPLETE: frozenset({8}),
    MODAL_SUBMIT: frozenset({4, 5, 6, 7, 10, 12}),
}
_OPTION_TYPES: tuple[tuple[type, int], ...] = ((bool, 5), (int, 4), (float, 10), (str, 3))
_UNAUTHENTICATED_PREFIXES = ("/interactions/", "/webhooks/")


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


@dataclass
class _Body:
    json: Any = None
    files: tuple[UploadedFile, ...] = ()


_ApiHandler = Callable[[web.Request, _Body], Awaitable[web.Response]]


class _DiscordError(Exception):
    """Raised by handlers to answer with a Discord error body."""

    def __init__(self, status: int, message: str, code: int = 0) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code


def slash_option(name: str, value: str | int | float | bool) -> dict[str, Any]:
    """Build a slash-command option (``data.options[n]``), inferring its type from ``value``."""
    option_type = next(code for kind, code in _OPTION_TYPES if isinstance(value, kind))
    return {"name": name, "type": option_type, "value": value}


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


def _check_message_limits(payload: Mapping[str, Any]) -> None:
    """Reject what Discord rejects: content over 2,000 characters, an embed description over 4,096,
    more than 10 embeds or 6,000 characters across them, more than 5 rows of components."""
    problems = []
    if len(payload.get("content") or "") > 2000:
        problems.append("content: Must be 2000 or fewer in length.")
    embeds = payload.get("embeds") or []
    if len(embeds) > 10:
        problems.append("embeds: Must be 10 or fewer in length.")
    total = 0
    for embed in embeds:
        if len(embed.get("description") or "") > 4096:
            problems.append("embeds.description: Must be 4096 or fewer in length.")
        total += sum(len(embed.get(key) or "") for key in ("title", "description"))
        total += len((embed.get("footer") or {}).get("text") or "")
        total += sum(len(f.get("name", "")) + len(f.get("value", "")) for f in embed.get("fields") or [])
    if total > 6000:
        problems.append("embeds: Embed size exceeds maximum size of 6000")
    if len(payload.get("components") or []) > 5:
        problems.append("components: Must be 5 or fewer in length.")
    if problems:
        raise _DiscordError(400, "Invalid Form Body: " + "; ".join(problems), 50035)


def _now_iso() -> str:
    return datetime.now(UTC).isoformat()


def _json_response(data: Any, status: int = 200) -> web.Response:
    # Not web.json_response: it appends "; charset=utf-8", which makes discord.py ignore the body.
    return web.Response(body=json.dumps(data).encode(), status=status, content_type="application/json")


def _error_response(status: int, message: str, code: int = 0) -> web.Response:
    return _json_response({"message": message, "code": code}, status)


def _is_truthy(query_value: str | None) -> bool:
    return (query_value or "").lower() in {"1", "true"}


def _needs_bot_auth(path: str) -> bool:
    return path != "/gateway" and not path.startswith(_UNAUTHENTICATED_PREFIXES)


async def _read_body(request: web.Request) -> _Body:
    if request.content_type == "application/json":
        return _Body(json=await request.json())
    if request.content_type == "multipart/form-data":
        return await _read_multipart(request)
    return _Body()


async def _read_multipart(request: web.Request) -> _Body:
    body = _Body()
    files: list[UploadedFile] = []
    reader = await request.multipart()
    async for part in reader:
        if not isinstance(part, BodyPartReader):
            continue  # nested multipart: Discord does not use it
        data = await part.read()
        if part.name == "payload_json":
            body.json = json.loads(data)
        else:
            content_type = part.headers.get("Content-Type", "application/octet-stream")
            files.append(UploadedFile(part.name or "", part.filename or "", content_type, bytes(data)))
    body.files = tuple(files)
    return body


def _zstd_stream() -> Callable[[bytes], bytes]:
    """One endless zstd frame, flushed per message (what discord.py's zstd decompressor expects)."""
    try:
        import zstandard
    except ImportError:
        from compression import zstd  # Python >= 3.14

        compressor = zstd.ZstdCompressor()
        return lambda data: compressor.compress(data, mode=zstd.ZstdCompressor.FLUSH_BLOCK)
    stream = zstandard.ZstdCompressor().compressobj()
    return lambda data: stream.compress(data) + stream.flush(zstandard.COMPRESSOBJ_FLUSH_BLOCK)


def _zlib_stream() -> Callable[[bytes], bytes]:
    """One zlib stream; each message ends with the Z_SYNC_FLUSH marker ``00 00 ff ff``."""
    stream = zlib.compressobj()
    return lambda data: stream.compress(data) + stream.flush(zlib.Z_SYNC_FLUSH)


_COMPRESSORS: dict[str, Callable[[], Callable[[bytes], bytes]]] = {
    "zlib-stream": _zlib_stream,
    "zstd-stream": _zstd_stream,
}


class _GatewayConnection:
    """One client websocket: framing, compression and the sequence number."""

    def __init__(self, ws: web.WebSocketResponse, compress: Callable[[bytes], bytes] | None) -> None:
        self.ws = ws
        self.session_id: str | None = None
        self.seq = 0
        self.shard: tuple[int, int] = (0, 1)  # (shard id, shard count) from its IDENTIFY
        self._compress = compress
        self._lock = asyncio.Lock()

    async def send(self, payload: dict[str, Any]) -> None:
        raw = json.dumps(payload)
        async with self._lock:  # compressed frames share one stream: keep them in order
            if self._compress is None:
                await self.ws.send_str(raw)
            else:
                await self.ws.send_bytes(self._compress(raw.encode()))

    async def dispatch(self, event: str, data: Any) -> None:
        self.seq += 1
        await self.send({"op": OP_DISPATCH, "t": event, "s": self.seq, "d": data})


class FakeDiscord:
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
    ) -> None:
        """``token`` (if given) is the only bot token accepted; ``interaction_deadline`` is Discord's
        3-second limit for the initial interaction response (``None`` disables it)."""
        self._increment = itertools.count()
        self.application_id = str(application_id)
        self.guild_id = str(guild_id)
        self.channel_id = str(channel_id)
        self.guild_name = guild_name
        self.bot_user: dict[str, Any] = self.make_user(self.application_id, bot_username, bot=True)
        self.owner_user: dict[str, Any] = self.make_user(username="owner")
        self.default_user: dict[str, Any] = self.make_user(username="tester")
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.interaction_deadline = interaction_deadline
        self._token = token

        self.requests: list[RecordedRequest] = []
        self.gateway_frames: list[GatewayFrame] = []
        self.commands: dict[str | None, list[dict[str, Any]]] = {}
        self.interactions: dict[str, DispatchedInteraction] = {}
        self.messages: dict[str, dict[str, Any]] = {}

        self._attachment_data: dict[str, bytes] = {}
        self._command_ids: dict[tuple[str | None, str, int], str] = {}
        self._sessions: dict[str, _GatewayConnection] = {}  # session id -> its latest connection
        self._connections: set[_GatewayConnection] = set()
        self._active: _GatewayConnection | None = None
        self._shards: dict[tuple[int, int], _GatewayConnection] = {}  # (id, count) -> its live connection
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self._port = 0

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Bind the server on 127.0.0.1 (random port)."""
        app = web.Application()
        self._add_routes(app)
        self._runner = web.AppRunner(app, shutdown_timeout=1.0, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self._port = self._runner.addresses[0][1]
        _log.debug("fake Discord listening on %s", self.base_url)

    async def stop(self) -> None:
        """Close open gateway connections and the server (close the bot client first)."""
        for connection in list(self._connections):
            await connection.ws.close(code=1001)
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

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    @property
    def api_base_url(self) -> str:
        return f"{self.base_url}{API_PREFIX}"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self._port}/gateway"

    # ------------------------------------------------------------------ test helpers

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

        async with self._changed:
            try:
                await asyncio.wait_for(self._changed.wait_for(seen_match), timeout)
            except TimeoutError:
                seen = ", ".join(f"{r.method} {r.path} -> {r.status}" for r in self.requests)
                raise TimeoutError(f"no matching request within {timeout}s; seen: {seen}") from None
            return next(request for request in self.requests if predicate(request))

    async def wait_for_callback(self, interaction: DispatchedInteraction, timeout: float = 5.0) -> RecordedRequest:
        """Wait for the client's ``POST /interactions/{id}/{token}/callback`` for ``interaction``."""
        path = f"/interactions/{interaction.id}/{interaction.token}/callback"
        return await self.wait_for(lambda r: r.method == "POST" and r.path == path, timeout)

    async def wait_until_connected(self, timeout: float = 5.0, shards: int = 1) -> None:
        """Wait until a client has identified (or resumed) and is the one receiving dispatches; with
        ``shards`` > 1, until that many shards of a sharded client have."""
        def connected() -> bool:
            return self._active is not None and (shards == 1 or len(self._shards) >= shards)

        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(connected), timeout)

    @staticmethod
    def shard_of(guild_id: str, shard_count: int) -> int:
        """The shard Discord sends a guild's events to."""
        return (int(guild_id) >> 22) % shard_count

    async def dispatch(self, event: str, data: Any, timeout: float = 5.0) -> None:
        """Send a DISPATCH (op 0) event to the connected client (sharded: to the shard of its guild)."""
        await self.wait_until_connected(timeout)
        await self._receiver(data).dispatch(event, data)

    def _receiver(self, data: Any) -> _GatewayConnection:
        guild_id = data.get("guild_id") if isinstance(data, dict) else None
        if guild_id is not None and self._shards:
            for (shard_id, count), connection in self._shards.items():
                if self.shard_of(guild_id, count) == shard_id:
                    return connection
            raise RuntimeError(f"no shard of the bot is connected for guild {guild_id}")
        assert self._active is not None
        return self._active

    async def request_reconnect(self, timeout: float = 5.0) -> None:
        """Send op 7 RECONNECT: the client should come back with a RESUME of the same session."""
        await self.wait_until_connected(timeout)
        async with self._changed:
            connection, self._active = self._active, None
        assert connection is not None
        await connection.send({"op": OP_RECONNECT, "d": None})

    async def dispatch_slash_command(
        self,
        name: str,
        options: list[dict[str, Any]] | None = None,
        *,
        user: dict[str, Any] | None = None,
        permissions: int = 0,
        locale: str = "en-US",
        guild_id: str | None = None,
    ) -> DispatchedInteraction:
        """Send an INTERACTION_CREATE for ``/name`` (see :func:`slash_option` for ``options``), in this
        fake's guild or in ``guild_id``."""
        command = self._find_command(name)
        data: dict[str, Any] = {
            "id": command["id"] if command else self._snowflake(),
            "name": name,
            "type": 1,
            "options": options or [],
        }
        if command and command.get("guild_id"):
            data["guild_id"] = command["guild_id"]
        return await self._dispatch_interaction(APPLICATION_COMMAND, data, user, permissions, locale,
                                                guild_id=guild_id)

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
    ) -> DispatchedInteraction:
        """Send an INTERACTION_CREATE for a click on ``custom_id`` (a select if ``values`` is given).

        ``message`` is the message the component sits on (e.g. one from :attr:`messages`); by
        default a bot message holding a single button with that ``custom_id``.
        """
        message = message or self._button_message(custom_id)
        self.messages[message["id"]] = message
        data: dict[str, Any] = {"custom_id": custom_id, "component_type": component_type}
        if values is not None:
            data["values"] = values
        return await self._dispatch_interaction(MESSAGE_COMPONENT, data, user, permissions, locale, message=message,
                                                guild_id=guild_id)

    def make_user(self, user_id: str | None = None, username: str = "tester", *, bot: bool = False) -> dict[str, Any]:
        """A user object as Discord sends it."""
        return {
            "id": user_id or self._snowflake(),
            "username": username,
            "global_name": None if bot else username.title(),
            "discriminator": "0",
            "avatar": None,
            "bot": bot,
            "public_flags": 0,
        }

    # ------------------------------------------------------------------ routing

    def _add_routes(self, app: web.Application) -> None:
        api: list[tuple[str, str, _ApiHandler]] = [
            ("GET", "/users/@me", self._get_me),
            ("GET", "/oauth2/applications/@me", self._get_application),
            ("GET", "/gateway", self._get_gateway),
            ("GET", "/gateway/bot", self._get_gateway_bot),
            ("GET", "/applications/{app}/commands", self._get_commands),
            ("PUT", "/applications/{app}/commands", self._put_commands),
            ("GET", "/applications/{app}/guilds/{guild}/commands", self._get_commands),
            ("PUT", "/applications/{app}/guilds/{guild}/commands", self._put_commands),
            ("POST", "/interactions/{id}/{token}/callback", self._post_callback),
            ("POST", "/webhooks/{app}/{token}", self._post_followup),
            ("GET", "/webhooks/{app}/{token}/messages/{message}", self._get_webhook_message),
            ("PATCH", "/webhooks/{app}/{token}/messages/{message}", self._patch_webhook_message),
            ("DELETE", "/webhooks/{app}/{token}/messages/{message}", self._delete_webhook_message),
            ("*", "/{unknown:.*}", self._unknown_route),
        ]
        for method, path, handler in api:
            app.router.add_route(method, API_PREFIX + path, self._recorded(handler))
        app.router.add_get("/gateway", self._gateway)
        app.router.add_get("/attachments/{attachment}/{filename}", self._get_attachment)

    def _recorded(self, handler: _ApiHandler) -> Callable[[web.Request], Awaitable[web.Response]]:
        """Wrap an API handler: parse the body, check auth, map errors, record the request."""

        async def handle(request: web.Request) -> web.Response:
            body = await _read_body(request)
            path = request.path.removeprefix(API_PREFIX)
            status = 500
            try:
                response = await self._respond(handler, request, body, path)
                status = response.status
                return response
            finally:
                await self._record(request, path, body, status)

        return handle

    async def _respond(self, handler: _ApiHandler, request: web.Request, body: _Body, path: str) -> web.Response:
        if _needs_bot_auth(path) and not self._is_bot_authorized(request):
            return _error_response(401, "401: Unauthorized")
        try:
            return await handler(request, body)
        except _DiscordError as exc:
            return _error_response(exc.status, exc.message, exc.code)

    async def _unknown_route(self, request: web.Request, body: _Body) -> web.Response:
        return _error_response(404, "404: Not Found")

    def _is_bot_authorized(self, request: web.Request) -> bool:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        return scheme == "Bot" and bool(token) and self._token in (None, token)

    async def _record(self, request: web.Request, path: str, body: _Body, status: int) -> None:
        headers = {k: v for k, v in request.headers.items() if k.lower() != "authorization"}
        record = RecordedRequest(
            method=request.method,
            path=path,
            query=dict(request.query),
            json=body.json,
            files=body.files,
            headers=headers,
            status=status,
            at=time.monotonic(),
        )
        _log.debug("%s %s -> %s", record.method, record.path, record.status)
        async with self._changed:
            self.requests.append(record)
            self._changed.notify_all()

    # ------------------------------------------------------------------ REST: bot

    async def _get_me(self, request: web.Request, body: _Body) -> web.Response:
        return _json_response({**self.bot_user, "verified": True, "mfa_enabled": False, "flags": 0})

    async def _get_application(self, request: web.Request, body: _Body) -> web.Response:
        return _json_response(
            {
                "id": self.application_id,
                "name": self.bot_user["username"],
                "description": "",
                "icon": None,
                "bot_public": True,
                "bot_require_code_grant": False,
                "owner": self.owner_user,
                "verify_key": "0" * 64,
                "flags": 0,
                "team": None,
                "bot": self.bot_user,
                "interactions_endpoint_url": None,
            }
        )

    async def _get_gateway(self, request: web.Request, body: _Body) -> web.Response:
        return _json_response({"url": self.gateway_url})

    async def _get_gateway_bot(self, request: web.Request, body: _Body) -> web.Response:
        limit = {"total": 1000, "remaining": 1000, "reset_after": 0, "max_concurrency": 1}
        return _json_response({"url": self.gateway_url, "shards": 1, "session_start_limit": limit})

    async def _get_commands(self, request: web.Request, body: _Body) -> web.Response:
        self._check_application(request)
        return _json_response(self.commands.get(request.match_info.get("guild"), []))

    async def _put_commands(self, request: web.Request, body: _Body) -> web.Response:
        self._check_application(request)
        guild = request.match_info.get("guild")
        self.commands[guild] = [self._registered_command(guild, c) for c in body.json or []]
        return _json_response(self.commands[guild])

    def _check_application(self, request: web.Request) -> None:
        if request.match_info["app"] != self.application_id:
            raise _DiscordError(404, "Unknown Application", 10002)

    def _registered_command(self, guild: str | None, command: Mapping[str, Any]) -> dict[str, Any]:
        key = (guild, command["name"], command.get("type", 1))
        command_id = self._command_ids.setdefault(key, self._snowflake())
        registered = {
            "type": 1,
            "description": "",
            "options": [],
            "default_member_permissions": None,
            "nsfw": False,
            **command,
            "id": command_id,
            "application_id": self.application_id,
            "version": self._snowflake(),
        }
        if guild is not None:
            registered["guild_id"] = guild
        return registered

    def _find_command(self, name: str) -> dict[str, Any] | None:
        for scope in (self.guild_id, None):
            for command in self.commands.get(scope, []):
                if command["name"] == name and command.get("type", 1) == 1:
                    return command
        return None

    # ------------------------------------------------------------------ REST: interactions

    async def _post_callback(self, request: web.Request, body: _Body) -> web.Response:
        interaction = self.interactions.get(request.match_info["id"])
        known = interaction is not None and interaction.token == request.match_info["token"]
        if interaction is None or not known or self._expired(interaction):
            raise _DiscordError(404, "Unknown interaction", 10062)
        if interaction.response_type is not None:
            raise _DiscordError(400, "Interaction has already been acknowledged.", 40060)
        payload = body.json or {}
        callback_type = int(payload.get("type", 0))
        if callback_type not in _ALLOWED_CALLBACKS[interaction.type]:
            raise _DiscordError(400, "Invalid Form Body", 50035)
        _check_message_limits(payload.get("data") or {})
        interaction.response_type = callback_type
        message = self._apply_callback(interaction, callback_type, payload.get("data") or {}, body.files)
        if not _is_truthy(request.query.get("with_response")):
            return web.Response(status=204)
        return _json_response(self._callback_response(interaction, callback_type, message))

    def _expired(self, interaction: DispatchedInteraction) -> bool:
        deadline = self.interaction_deadline
        return deadline is not None and time.monotonic() - interaction.dispatched_at > deadline

    def _apply_callback(
        self,
        interaction: DispatchedInteraction,
        callback_type: int,
        data: dict[str, Any],
        files: tuple[UploadedFile, ...],
    ) -> dict[str, Any] | None:
        """Create or update the interaction's original message as Discord does for this callback."""
        if callback_type == CHANNEL_MESSAGE_WITH_SOURCE:
            message = self._new_message(interaction, data, files, data.get("flags", 0))
        elif callback_type == DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE:
            message = self._new_message(interaction, {}, (), LOADING | (data.get("flags", 0) & EPHEMERAL))
        elif callback_type == UPDATE_MESSAGE and interaction.message_id:
            message = self._edit_message(self.messages[interaction.message_id], data, files)
        elif callback_type == DEFERRED_UPDATE_MESSAGE and interaction.message_id:
            message = self.messages[interaction.message_id]
        else:
            return None
        interaction.original_id = message["id"]
        interaction.message_ids.add(message["id"])
        return message

    def _callback_response(
        self, interaction: DispatchedInteraction, callback_type: int, message: dict[str, Any] | None
    ) -> dict[str, Any]:
        summary: dict[str, Any] = {"id": interaction.id, "type": interaction.type}
        resource: dict[str, Any] = {"type": callback_type}
        if message is not None:
            summary["response_message_id"] = message["id"]
            summary["response_message_loading"] = bool(message["flags"] & LOADING)
            summary["response_message_ephemeral"] = bool(message["flags"] & EPHEMERAL)
            if callback_type in (CHANNEL_MESSAGE_WITH_SOURCE, UPDATE_MESSAGE):
                resource["message"] = message
        return {"interaction": summary, "resource": resource}

    # ------------------------------------------------------------------ REST: interaction webhooks

    async def _post_followup(self, request: web.Request, body: _Body) -> web.Response:
        interaction = self._webhook_interaction(request)
        payload = body.json or {}
        _check_message_limits(payload)
        original = self.messages.get(interaction.original_id or "")
        if original is not None and original["flags"] & LOADING:
            message = self._edit_message(original, payload, body.files)  # replaces the "thinking" message
        else:
            message = self._new_message(interaction, payload, body.files, payload.get("flags", 0))
            interaction.message_ids.add(message["id"])
        if not _is_truthy(request.query.get("wait")):
            return web.Response(status=204)
        return _json_response(message)

    async def _get_webhook_message(self, request: web.Request, body: _Body) -> web.Response:
        return _json_response(self._webhook_message(request))

    async def _patch_webhook_message(self, request: web.Request, body: _Body) -> web.Response:
        _check_message_limits(body.json or {})
        return _json_response(self._edit_message(self._webhook_message(request), body.json or {}, body.files))

    async def _delete_webhook_message(self, request: web.Request, body: _Body) -> web.Response:
        message = self._webhook_message(request)
        del self.messages[message["id"]]
        return web.Response(status=204)

    def _webhook_interaction(self, request: web.Request) -> DispatchedInteraction:
        token = request.match_info["token"]
        interaction = next((i for i in self.interactions.values() if i.token == token), None)
        acknowledged = interaction is not None and interaction.response_type is not None
        if request.match_info["app"] != self.application_id or not acknowledged:
            raise _DiscordError(404, "Unknown Webhook", 10015)
        assert interaction is not None
        return interaction

    def _webhook_message(self, request: web.Request) -> dict[str, Any]:
        interaction = self._webhook_interaction(request)
        message_id = request.match_info["message"]
        if message_id == "@original":
            message_id = interaction.original_id or ""
        if message_id not in interaction.message_ids or message_id not in self.messages:
            raise _DiscordError(404, "Unknown Message", 10008)
        return self.messages[message_id]

    async def _get_attachment(self, request: web.Request) -> web.Response:
        data = self._attachment_data.get(request.match_info["attachment"])
        if data is None:
            raise web.HTTPNotFound()
        return web.Response(body=data, content_type="application/octet-stream")

    # ------------------------------------------------------------------ messages

    def _new_message(
        self,
        interaction: DispatchedInteraction,
        payload: Mapping[str, Any],
        files: tuple[UploadedFile, ...],
        flags: int,
    ) -> dict[str, Any]:
        is_command_reply = interaction.type == APPLICATION_COMMAND and interaction.original_id is None
        message_type = 20 if is_command_reply else 0  # CHAT_INPUT_COMMAND, else DEFAULT
        message = {
            **self._message_skeleton(interaction.channel_id, message_type),
            "content": payload.get("content") or "",
            "embeds": payload.get("embeds") or [],
            "components": payload.get("components") or [],
            "attachments": self._attachments(payload, files, []),
            "flags": flags,
        }
        self.messages[message["id"]] = message
        return message

    def _edit_message(
        self, message: dict[str, Any], payload: Mapping[str, Any], files: tuple[UploadedFile, ...]
    ) -> dict[str, Any]:
        for key, empty in (("content", ""), ("embeds", []), ("components", [])):
            if key in payload:
                message[key] = payload[key] or empty
        if "attachments" in payload or files:
            message["attachments"] = self._attachments(payload, files, message["attachments"])
        message["flags"] &= ~LOADING
        message["edited_timestamp"] = _now_iso()
        return message

    def _attachments(
        self, payload: Mapping[str, Any], files: tuple[UploadedFile, ...], previous: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """Resolve ``payload.attachments``: ids of kept attachments, or ``files[n]`` indexes for uploads."""
        requested = payload.get("attachments")
        if requested is None:
            requested = [{"id": index} for index in range(len(files))]
        kept = {attachment["id"]: attachment for attachment in previous}
        result = []
        for entry in requested:
            entry_id = str(entry["id"])
            if entry_id in kept:
                result.append(kept[entry_id])
            elif entry_id.isdigit() and int(entry_id) < len(files):
                result.append(self._store_attachment(files[int(entry_id)], entry))
        return result

    def _store_attachment(self, upload: UploadedFile, entry: Mapping[str, Any]) -> dict[str, Any]:
        attachment_id = self._snowflake()
        filename = entry.get("filename") or upload.filename
        url = f"{self.base_url}/attachments/{attachment_id}/{filename}"
        self._attachment_data[attachment_id] = upload.data
        return {
            "id": attachment_id,
            "filename": filename,
            "description": entry.get("description"),
            "content_type": upload.content_type,
            "size": len(upload.data),
            "url": url,
            "proxy_url": url,
        }

    def _message_skeleton(self, channel_id: str, message_type: int) -> dict[str, Any]:
        return {
            "id": self._snowflake(),
            "type": message_type,
            "channel_id": channel_id,
            "author": self.bot_user,
            "webhook_id": self.application_id,
            "application_id": self.application_id,
            "timestamp": _now_iso(),
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "pinned": False,
        }

    def _button_message(self, custom_id: str) -> dict[str, Any]:
        button = {"type": 2, "style": 1, "label": custom_id, "custom_id": custom_id}
        return {
            **self._message_skeleton(self.channel_id, 0),
            "content": "",
            "embeds": [],
            "attachments": [],
            "components": [{"type": 1, "components": [button]}],
            "flags": 0,
        }

    # ------------------------------------------------------------------ interactions

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
    ) -> DispatchedInteraction:
        await self.wait_until_connected()
        interaction = DispatchedInteraction(
            id=self._snowflake(),
            token=secrets.token_hex(32),
            type=interaction_type,
            channel_id=self.channel_id,
            dispatched_at=time.monotonic(),
            message_id=message["id"] if message else None,
        )
        self.interactions[interaction.id] = interaction
        payload = self._interaction_payload(interaction, data, user or self.default_user, permissions, locale,
                                            guild_id or self.guild_id)
        if message is not None:
            payload["message"] = message
        await self.dispatch("INTERACTION_CREATE", payload)
        return interaction

    def _interaction_payload(
        self,
        interaction: DispatchedInteraction,
        data: dict[str, Any],
        user: dict[str, Any],
        permissions: int,
        locale: str,
        guild_id: str,
    ) -> dict[str, Any]:
        return {
            "id": interaction.id,
            "application_id": self.application_id,
            "type": interaction.type,
            "data": data,
            "token": interaction.token,
            "version": 1,
            "guild_id": guild_id,
            "guild": {"id": guild_id, "locale": "en-US", "features": []},
            "channel_id": self.channel_id,
            "channel": {**self._channel_payload(), "guild_id": guild_id},
            "member": self._member_payload(user, permissions),
            "locale": locale,
            "guild_locale": "en-US",
            "app_permissions": str(ALL_PERMISSIONS),
            "entitlements": [],
            "authorizing_integration_owners": {"0": guild_id},
            "context": 0,
            "attachment_size_limit": 10 * 1024 * 1024,
        }

    def _member_payload(self, user: dict[str, Any], permissions: int = 0) -> dict[str, Any]:
        return {
            "user": user,
            "roles": [],
            "joined_at": _now_iso(),
            "nick": None,
            "avatar": None,
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "pending": False,
            "flags": 0,
            "permissions": str(permissions),
        }

    def _channel_payload(self) -> dict[str, Any]:
        return {
            "id": self.channel_id,
            "type": 0,
            "guild_id": self.guild_id,
            "name": "general",
            "position": 0,
            "permission_overwrites": [],
            "nsfw": False,
            "parent_id": None,
            "topic": None,
            "last_message_id": None,
            "rate_limit_per_user": 0,
        }

    def _guild_payload(self) -> dict[str, Any]:
        everyone = {
            "id": self.guild_id,
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
            "id": self.guild_id,
            "name": self.guild_name,
            "unavailable": False,
            "owner_id": self.owner_user["id"],
            "joined_at": _now_iso(),
            "large": False,
            "member_count": 1,
            "features": [],
            "roles": [everyone],
            "channels": [self._channel_payload()],
            "members": [self._member_payload(self.bot_user)],
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

    # ------------------------------------------------------------------ gateway

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        compress = request.query.get("compress")
        if request.query.get("encoding", "json") != "json" or (compress and compress not in _COMPRESSORS):
            raise web.HTTPBadRequest(text="only encoding=json and compress=zlib-stream|zstd-stream")
        ws = web.WebSocketResponse(max_msg_size=0)
        await ws.prepare(request)
        connection = _GatewayConnection(ws, _COMPRESSORS[compress]() if compress else None)
        self._connections.add(connection)
        try:
            await connection.send({"op": OP_HELLO, "d": {"heartbeat_interval": self.heartbeat_interval_ms}})
            await self._serve_gateway(connection)
        finally:
            await self._forget(connection)
        return ws

    async def _serve_gateway(self, connection: _GatewayConnection) -> None:
        async for msg in connection.ws:
            if msg.type != WSMsgType.TEXT:
                continue
            frame = json.loads(msg.data)
            await self._on_gateway_frame(connection, frame["op"], frame.get("d"))

    async def _on_gateway_frame(self, connection: _GatewayConnection, op: int, d: Any) -> None:
        if isinstance(d, dict) and "token" in d:
            d = {**d, "token": "<redacted>"}
        self.gateway_frames.append(GatewayFrame(op, d, time.monotonic()))
        _log.debug("gateway op %s received", op)
        if op == OP_HEARTBEAT:
            await connection.send({"op": OP_HEARTBEAT_ACK})
        elif op == OP_IDENTIFY:
            await self._identify(connection, d)
        elif op == OP_RESUME:
            await self._resume(connection, d)

    async def _identify(self, connection: _GatewayConnection, identify: dict[str, Any]) -> None:
        connection.session_id = secrets.token_hex(16)
        shard_id, shard_count = connection.shard = tuple(identify.get("shard", [0, 1]))  # type: ignore[assignment]
        owns_guild = self.shard_of(self.guild_id, shard_count) == shard_id
        ready = {
            "v": 10,
            "user": {**self.bot_user, "verified": True, "mfa_enabled": False, "flags": 0},
            "guilds": [{"id": self.guild_id, "unavailable": True}] if owns_guild else [],
            "session_id": connection.session_id,
            "resume_gateway_url": self.gateway_url,
            "shard": identify.get("shard", [0, 1]),
            "application": {"id": self.application_id, "flags": 0},
            "private_channels": [],
        }
        await connection.dispatch("READY", ready)
        if owns_guild:
            await connection.dispatch("GUILD_CREATE", self._guild_payload())
        await self._activate(connection)

    async def _resume(self, connection: _GatewayConnection, resume: dict[str, Any]) -> None:
        previous = self._sessions.get(resume.get("session_id") or "")
        if previous is None:
            await connection.send({"op": OP_INVALID_SESSION, "d": False})
            return
        connection.session_id, connection.seq = previous.session_id, previous.seq
        await connection.dispatch("RESUMED", {})
        await self._activate(connection)

    async def _activate(self, connection: _GatewayConnection) -> None:
        assert connection.session_id is not None
        self._sessions[connection.session_id] = connection
        async with self._changed:
            self._active = connection
            if connection.shard[1] > 1:
                self._shards[connection.shard] = connection
            self._changed.notify_all()

    async def _forget(self, connection: _GatewayConnection) -> None:
        self._connections.discard(connection)
        async with self._changed:
            if self._active is connection:
                self._active = None
            if self._shards.get(connection.shard) is connection:
                del self._shards[connection.shard]
            self._changed.notify_all()

    # ------------------------------------------------------------------ ids

    def _snowflake(self) -> str:
        millis = int(time.time() * 1000) - DISCORD_EPOCH_MS
        return str((millis << 22) | (next(self._increment) & 0xFFF))
