"""FakeSlack: the Web API, upload URLs, ``response_url`` endpoints and Socket Mode on one local aiohttp
server, and the ``wait_for_*`` coroutines tests block on until a matching record shows up."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Collection, Mapping
from types import TracebackType
from typing import Any

from aiohttp import web

from tests.peers.slack.payloads import EnvelopeType
from tests.peers.slack.socket_mode import SocketMode
from tests.peers.slack.state import ApiCall, ResponseUrlPost, SlackState, SocketAck, first
from tests.peers.slack.web_api import WebApi


class FakeSlack(SlackState):
    """Fake Slack Web API + Socket Mode server; use as ``async with FakeSlack() as fake``."""

    def __init__(self, accepted_tokens: Collection[str] | None = None) -> None:
        """``accepted_tokens`` restricts valid tokens; by default any xoxb-/xoxp-/xapp- token passes."""
        super().__init__()
        self._web_api = WebApi(self, accepted_tokens)
        self._socket_mode = SocketMode(self)
        self._runner: web.AppRunner | None = None

    # ----- lifecycle -------------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application()
        app.add_routes([*self._web_api.routes(), web.post("/response/{key}", self._handle_response_url),
                        *self._socket_mode.routes()])
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        await self._socket_mode.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeSlack:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def api_base_url(self) -> str:
        """What ``AsyncWebClient(base_url=...)`` wants; slack-sdk urljoin()s the method, so keep the slash."""
        return f"{self.base_url}/api/"

    def response_url(self, key: str | None = None) -> str:
        """A ``response_url`` served by this fake; posts to it land in `response_posts`."""
        return f"{self.base_url}/response/{key or uuid.uuid4().hex}"

    def rate_limit(self, method: str, retry_after: int = 1, times: int = 1) -> None:
        """Answer the next ``times`` calls of ``method`` with HTTP 429 ``ratelimited``."""
        self._web_api.rate_limit(method, retry_after, times)

    # ----- waiting -----------------------------------------------------------------------

    async def wait_for_call(
        self, method: str, predicate: Callable[[ApiCall], bool] | None = None, timeout: float = 5.0
    ) -> ApiCall:
        """The first recorded (past or future) call of ``method`` matching ``predicate``."""

        def probe() -> ApiCall | None:
            return first(self.calls, lambda c: c.method == method and (predicate is None or predicate(c)))

        return await self.wait_until(
            probe, timeout, lambda: f"{method} (calls: {[c.method for c in self.calls]})"
        )

    async def wait_for_response_post(
        self,
        key: str | None = None,
        predicate: Callable[[ResponseUrlPost], bool] | None = None,
        timeout: float = 5.0,
    ) -> ResponseUrlPost:
        """The first post (past or future) to the ``response_url`` ``key`` (any key if None)."""

        def probe() -> ResponseUrlPost | None:
            return first(
                self.response_posts,
                lambda p: (key is None or p.key == key) and (predicate is None or predicate(p)),
            )

        return await self.wait_until(probe, timeout, lambda: f"a response_url post (key={key})")

    async def wait_for_ack(self, envelope_id: str, timeout: float = 5.0) -> SocketAck:
        """The client's ack of ``envelope_id``; its ``elapsed`` is the ack latency in seconds."""
        return await self.wait_until(
            lambda: first(self.acks, lambda a: a.envelope_id == envelope_id),
            timeout,
            lambda: f"the ack of envelope {envelope_id}",
        )

    async def wait_for_socket(self, timeout: float = 5.0) -> web.WebSocketResponse:
        """The most recent open Socket Mode connection (after its ``hello`` was sent)."""
        return await self._socket_mode.wait_for_socket(timeout)

    # ----- pushing to the client -----------------------------------------------------------

    async def send_envelope(
        self,
        type_: EnvelopeType,
        payload: Mapping[str, Any],
        *,
        envelope_id: str | None = None,
        accepts_response_payload: bool | None = None,
        timeout: float = 5.0,
    ) -> str:
        """Push an envelope to the connected Socket Mode client; returns its envelope_id."""
        return await self._socket_mode.send_envelope(type_, payload, envelope_id=envelope_id,
                                                     accepts_response=accepts_response_payload, timeout=timeout)

    async def _handle_response_url(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.response_posts.append(ResponseUrlPost(key=request.match_info["key"], body=body, at=time.monotonic()))
        self.notify()
        return web.Response(text="ok")
