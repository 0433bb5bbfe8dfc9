"""What the fake Slack records (Web API calls, messages, files, response_url posts, Socket Mode acks) and
how a test waits for a record to show up."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class ApiCall:
    """One Web API request as the fake saw it; ``error`` is None when it answered ``ok: true``."""

    method: str
    args: dict[str, Any]
    token: str | None
    error: str | None
    at: float

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class UploadedFile:
    """A file announced by files.getUploadURLExternal, filled by the upload and completion."""

    file_id: str
    filename: str
    length: int
    content: bytes | None = None
    title: str | None = None
    channel_id: str | None = None
    completed: bool = False


@dataclass(frozen=True)
class ResponseUrlPost:
    """A JSON body posted to a ``response_url`` handed out by `FakeSlack.response_url`."""

    key: str
    body: dict[str, Any]
    at: float


@dataclass(frozen=True)
class SocketAck:
    """A client's ack of a Socket Mode envelope; ``elapsed`` is seconds since the envelope was sent."""

    envelope_id: str
    payload: dict[str, Any] | None
    elapsed: float
    raw: dict[str, Any]


def first(items: list[T], predicate: Callable[[T], bool]) -> T | None:
    return next((item for item in items if predicate(item)), None)


class SlackState:
    """The records, and one event that fires whenever any of them changes."""

    def __init__(self) -> None:
        self.calls: list[ApiCall] = []
        self.messages: dict[tuple[str, str], dict[str, Any]] = {}
        self.files: dict[str, UploadedFile] = {}
        self.response_posts: list[ResponseUrlPost] = []
        self.acks: list[SocketAck] = []
        # Socket Mode tickets apps.connections.open handed out; the websocket accepts only these.
        self.tickets: set[str] = set()
        self.views: dict[str, dict[str, Any]] = {}  # modals views.open opened, by view id
        self.used_triggers: set[str] = set()  # a trigger_id opens one modal
        self.port: int | None = None
        self._changed = asyncio.Event()

    @property
    def base_url(self) -> str:
        if self.port is None:
            raise RuntimeError("FakeSlack is not started")
        return f"http://127.0.0.1:{self.port}"

    def notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def wait_until(self, probe: Callable[[], T | None], timeout: float, what: Callable[[], str]) -> T:
        try:
            async with asyncio.timeout(timeout):
                while (found := probe()) is None:
                    await self._changed.wait()
        except TimeoutError:
            raise TimeoutError(f"FakeSlack: no {what()} within {timeout}s") from None
        return found
