"""The fake gateway websocket: HELLO, heartbeats, IDENTIFY -> READY (+ GUILD_CREATE), RESUME after a
RECONNECT, compressed framing, and dispatches routed to the shard that owns a guild."""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
import zlib
from collections.abc import Callable
from typing import Any

from aiohttp import WSMsgType, web

from tests.peers.discord import payloads
from tests.peers.discord.state import DiscordState, GatewayFrame

_log = logging.getLogger(__name__)

# Gateway opcodes.
OP_DISPATCH = 0
OP_HEARTBEAT = 1
OP_IDENTIFY = 2
OP_RESUME = 6
OP_RECONNECT = 7
OP_INVALID_SESSION = 9
OP_HELLO = 10
OP_HEARTBEAT_ACK = 11


def shard_of(guild_id: str, shard_count: int) -> int:
    """The shard Discord sends a guild's events to."""
    return (int(guild_id) >> 22) % shard_count


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


class Gateway:
    """The ``/gateway`` websocket endpoint and its sessions. The latest client to identify (or resume)
    receives dispatches; sharded clients receive those of the guilds whose shard they are."""

    def __init__(self, state: DiscordState) -> None:
        self._state = state
        self._sessions: dict[str, _GatewayConnection] = {}  # session id -> its latest connection
        self._connections: set[_GatewayConnection] = set()
        self._active: _GatewayConnection | None = None
        self._shards: dict[tuple[int, int], _GatewayConnection] = {}  # (id, count) -> its live connection

    def add_route(self, app: web.Application) -> None:
        app.router.add_get("/gateway", self._serve)

    async def close(self) -> None:
        for connection in list(self._connections):
            await connection.ws.close(code=1001)

    async def wait_until_connected(self, timeout: float = 5.0, shards: int = 1) -> None:
        def connected() -> bool:
            return self._active is not None and (shards == 1 or len(self._shards) >= shards)

        async with self._state.changed:
            await asyncio.wait_for(self._state.changed.wait_for(connected), timeout)

    async def dispatch(self, event: str, data: Any, timeout: float = 5.0) -> None:
        await self.wait_until_connected(timeout)
        await self._receiver(data).dispatch(event, data)

    async def request_reconnect(self, timeout: float = 5.0) -> None:
        await self.wait_until_connected(timeout)
        async with self._state.changed:
            connection, self._active = self._active, None
        assert connection is not None
        await connection.send({"op": OP_RECONNECT, "d": None})

    def _receiver(self, data: Any) -> _GatewayConnection:
        guild_id = data.get("guild_id") if isinstance(data, dict) else None
        if guild_id is not None and self._shards:
            for (shard_id, count), connection in self._shards.items():
                if shard_of(guild_id, count) == shard_id:
                    return connection
            raise RuntimeError(f"no shard of the bot is connected for guild {guild_id}")
        assert self._active is not None
        return self._active

    async def _serve(self, request: web.Request) -> web.WebSocketResponse:
        compress = request.query.get("compress")
        if request.query.get("encoding", "json") != "json" or (compress and compress not in _COMPRESSORS):
            raise web.HTTPBadRequest(text="only encoding=json and compress=zlib-stream|zstd-stream")
        ws = web.WebSocketResponse(max_msg_size=0)
        await ws.prepare(request)
        connection = _GatewayConnection(ws, _COMPRESSORS[compress]() if compress else None)
        self._connections.add(connection)
        try:
            await connection.send({"op": OP_HELLO, "d": {"heartbeat_interval": self._state.heartbeat_interval_ms}})
            async for msg in connection.ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                frame = json.loads(msg.data)
                await self._on_frame(connection, frame["op"], frame.get("d"))
        finally:
            await self._forget(connection)
        return ws

    async def _on_frame(self, connection: _GatewayConnection, op: int, d: Any) -> None:
        if isinstance(d, dict) and "token" in d:
            d = {**d, "token": "<redacted>"}
        self._state.gateway_frames.append(GatewayFrame(op, d, time.monotonic()))
        _log.debug("gateway op %s received", op)
        if op == OP_HEARTBEAT:
            await connection.send({"op": OP_HEARTBEAT_ACK})
        elif op == OP_IDENTIFY:
            await self._identify(connection, d)
        elif op == OP_RESUME:
            await self._resume(connection, d)

    async def _identify(self, connection: _GatewayConnection, identify: dict[str, Any]) -> None:
        state = self._state
        connection.session_id = secrets.token_hex(16)
        shard_id, shard_count = connection.shard = tuple(identify.get("shard", [0, 1]))  # type: ignore[assignment]
        owns_guild = shard_of(state.guild_id, shard_count) == shard_id
        ready = {
            "v": 10,
            "user": payloads.current_user(state.bot_user),
            "guilds": [{"id": state.guild_id, "unavailable": True}] if owns_guild else [],
            "session_id": connection.session_id,
            "resume_gateway_url": state.gateway_url,
            "shard": identify.get("shard", [0, 1]),
            "application": {"id": state.application_id, "flags": 0},
            "private_channels": [],
        }
        await connection.dispatch("READY", ready)
        if owns_guild:
            guild = payloads.guild(state.guild_id, state.guild_name, state.owner_user["id"],
                                   [state.channel_id, state.other_channel_id], state.bot_user, state.roles)
            await connection.dispatch("GUILD_CREATE", guild)
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
        async with self._state.changed:
            self._active = connection
            if connection.shard[1] > 1:
                self._shards[connection.shard] = connection
            self._state.changed.notify_all()

    async def _forget(self, connection: _GatewayConnection) -> None:
        self._connections.discard(connection)
        async with self._state.changed:
            if self._active is connection:
                self._active = None
            if self._shards.get(connection.shard) is connection:
                del self._shards[connection.shard]
            self._state.changed.notify_all()
