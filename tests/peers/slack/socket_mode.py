"""The fake Socket Mode websocket (``/socket-mode``, reached with a ticket from apps.connections.open):
``hello`` on connect, envelopes pushed by tests, and the client's acks recorded with their latency."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Mapping
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

from tests.peers.slack.payloads import EnvelopeType, accepts_response_payload, hello_message
from tests.peers.slack.state import SlackState, SocketAck


class SocketMode:
    """Open Socket Mode connections; envelopes go to the most recent one."""

    def __init__(self, state: SlackState) -> None:
        self._state = state
        self._sockets: list[web.WebSocketResponse] = []
        self._sent_at: dict[str, float] = {}

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/socket-mode", self._handle_socket)]

    async def close(self) -> None:
        for ws in list(self._sockets):
            await ws.close(code=WSCloseCode.GOING_AWAY, message=b"server stopping")

    async def wait_for_socket(self, timeout: float = 5.0) -> web.WebSocketResponse:
        return await self._state.wait_until(
            lambda: self._sockets[-1] if self._sockets else None, timeout, lambda: "a Socket Mode connection"
        )

    async def send_envelope(
        self,
        type_: EnvelopeType,
        payload: Mapping[str, Any],
        *,
        envelope_id: str | None = None,
        accepts_response: bool | None = None,
        timeout: float = 5.0,
    ) -> str:
        ws = await self.wait_for_socket(timeout)
        envelope_id = envelope_id or str(uuid.uuid4())
        if accepts_response is None:
            accepts_response = accepts_response_payload(type_, payload)
        envelope: dict[str, Any] = {
            "envelope_id": envelope_id,
            "type": type_,
            "payload": dict(payload),
            "accepts_response_payload": accepts_response,
        }
        if type_ == "events_api":
            envelope.update(retry_attempt=0, retry_reason="")
        self._sent_at[envelope_id] = time.monotonic()
        await ws.send_json(envelope)
        return envelope_id

    async def _handle_socket(self, request: web.Request) -> web.StreamResponse:
        if request.query.get("ticket") not in self._state.tickets:
            return web.Response(status=401, text="invalid ticket")
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        await ws.send_json(hello_message(len(self._sockets) + 1))
        self._sockets.append(ws)
        self._state.notify()
        try:
            async for message in ws:
                if message.type == WSMsgType.TEXT:
                    self._record_ack(message.data)
        finally:
            self._sockets.remove(ws)
            self._state.notify()
        return ws

    def _record_ack(self, raw: str) -> None:
        message = json.loads(raw)
        sent_at = self._sent_at.get(message.get("envelope_id", ""))
        if sent_at is None:
            return
        self._state.acks.append(
            SocketAck(
                envelope_id=message["envelope_id"],
                payload=message.get("payload"),
                elapsed=time.monotonic() - sent_at,
                raw=message,
            )
        )
        self._state.notify()
