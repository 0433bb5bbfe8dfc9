"""A protocol-faithful fake Slack for end-to-end tests of a real slack-bolt app.

`FakeSlack` serves, on 127.0.0.1 and a random port:

* the Web API under ``/api/{method}`` (form, query-string or JSON arguments, bearer token),
* the upload URLs handed out by ``files.getUploadURLExternal`` (``/upload/v1/{file_id}``),
* ``response_url`` endpoints (``/response/{key}``),
* a Socket Mode websocket (``/socket-mode``) reached through ``apps.connections.open``.

Every Web API call, upload, ``response_url`` post and Socket Mode ack is recorded, and the
``wait_for_*`` coroutines block until a matching record shows up.

The module-level helpers build request bodies exactly as Slack sends them and sign them the
way Slack does, so tests can drive a Bolt app served over HTTP (`post_signed`) or through
Socket Mode (`FakeSlack.send_envelope`).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import secrets
import time
import uuid
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Literal, TypeVar
from urllib.parse import urlencode

from aiohttp import ClientSession, WSCloseCode, WSMsgType, web

TEAM_ID = "T0FAKETEAM"
TEAM_DOMAIN = "fake-arena"
APP_ID = "A0FAKEAPP1"
BOT_USER_ID = "U0FAKEBOT1"
BOT_ID = "B0FAKEBOT1"
DEFAULT_USER_ID = "U0FAKEUSR1"
DEFAULT_CHANNEL_ID = "C0FAKECHN1"
# The deprecated verification token Slack still puts in every payload.
VERIFICATION_TOKEN = "fake-verification-token"
BOT_SCOPES = "chat:write,commands,files:write"

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
# Arguments slack-sdk sends as JSON strings inside form or query-string bodies.
JSON_STRING_ARGS = frozenset({"blocks", "attachments", "files", "metadata"})
USER_TOKEN_PREFIXES = ("xoxb-", "xoxp-")
APP_TOKEN_PREFIX = "xapp-"

EnvelopeType = Literal["slash_commands", "interactive", "events_api"]
# Interactive payload types whose ack may carry a response (e.g. view_submission errors).
RESPONSE_PAYLOAD_INTERACTIONS = frozenset({"view_submission", "block_suggestion"})

T = TypeVar("T")
ApiHandler = Callable[[dict[str, Any]], dict[str, Any]]


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


class _ApiError(Exception):
    """A Web API failure: ``{"ok": false, "error": error}`` with the given HTTP status."""

    def __init__(self, error: str, status: int = 200, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(error)
        self.error = error
        self.status = status
        self.headers = headers


class FakeSlack:
    """Fake Slack Web API + Socket Mode server; use as ``async with FakeSlack() as fake``."""

    def __init__(self, accepted_tokens: Collection[str] | None = None) -> None:
        """``accepted_tokens`` restricts valid tokens; by default any xoxb-/xoxp-/xapp- token passes."""
        self._accepted_tokens = accepted_tokens
        self.calls: list[ApiCall] = []
        self.messages: dict[tuple[str, str], dict[str, Any]] = {}
        self.files: dict[str, UploadedFile] = {}
        self.response_posts: list[ResponseUrlPost] = []
        self.acks: list[SocketAck] = []
        self._sockets: list[web.WebSocketResponse] = []
        self._tickets: set[str] = set()
        self._sent_at: dict[str, float] = {}
        self._rate_limits: dict[str, tuple[int, int]] = {}
        self._ts_counter = itertools.count(1)
        self._changed = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._methods: dict[str, ApiHandler] = {
            "auth.test": self._auth_test,
            "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "files.getUploadURLExternal": self._files_get_upload_url,
            "files.completeUploadExternal": self._files_complete_upload,
            "apps.connections.open": self._apps_connections_open,
            "conversations.open": self._conversations_open,
        }

    # ----- lifecycle -------------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application()
        app.add_routes(
            [
                web.route("*", "/api/{method}", self._handle_api),
                web.post("/upload/v1/{file_id}", self._handle_upload),
                web.post("/response/{key}", self._handle_response_url),
                web.get("/socket-mode", self._handle_socket),
            ]
        )
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self._port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        for ws in list(self._sockets):
            await ws.close(code=WSCloseCode.GOING_AWAY, message=b"server stopping")
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
    def base_url(self) -> str:
        if self._port is None:
            raise RuntimeError("FakeSlack is not started")
        return f"http://127.0.0.1:{self._port}"

    @property
    def api_base_url(self) -> str:
        """What ``AsyncWebClient(base_url=...)`` wants; slack-sdk urljoin()s the method, so keep the slash."""
        return f"{self.base_url}/api/"

    def response_url(self, key: str | None = None) -> str:
        """A ``response_url`` served by this fake; posts to it land in `response_posts`."""
        return f"{self.base_url}/response/{key or uuid.uuid4().hex}"

    def rate_limit(self, method: str, retry_after: int = 1, times: int = 1) -> None:
        """Answer the next ``times`` calls of ``method`` with HTTP 429 ``ratelimited``."""
        self._rate_limits[method] = (times, retry_after)

    # ----- waiting -----------------------------------------------------------------------

    async def wait_for_call(
        self, method: str, predicate: Callable[[ApiCall], bool] | None = None, timeout: float = 5.0
    ) -> ApiCall:
        """The first recorded (past or future) call of ``method`` matching ``predicate``."""

        def probe() -> ApiCall | None:
            return _first(self.calls, lambda c: c.method == method and (predicate is None or predicate(c)))

        return await self._wait_until(
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
            return _first(
                self.response_posts,
                lambda p: (key is None or p.key == key) and (predicate is None or predicate(p)),
            )

        return await self._wait_until(probe, timeout, lambda: f"a response_url post (key={key})")

    async def wait_for_ack(self, envelope_id: str, timeout: float = 5.0) -> SocketAck:
        """The client's ack of ``envelope_id``; its ``elapsed`` is the ack latency in seconds."""
        return await self._wait_until(
            lambda: _first(self.acks, lambda a: a.envelope_id == envelope_id),
            timeout,
            lambda: f"the ack of envelope {envelope_id}",
        )

    async def wait_for_socket(self, timeout: float = 5.0) -> web.WebSocketResponse:
        """The most recent open Socket Mode connection (after its ``hello`` was sent)."""
        return await self._wait_until(
            lambda: self._sockets[-1] if self._sockets else None, timeout, lambda: "a Socket Mode connection"
        )

    async def _wait_until(self, probe: Callable[[], T | None], timeout: float, what: Callable[[], str]) -> T:
        try:
            async with asyncio.timeout(timeout):
                while (found := probe()) is None:
                    await self._changed.wait()
        except TimeoutError:
            raise TimeoutError(f"FakeSlack: no {what()} within {timeout}s") from None
        return found

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    # ----- Socket Mode -------------------------------------------------------------------

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
        ws = await self.wait_for_socket(timeout)
        envelope_id = envelope_id or str(uuid.uuid4())
        if accepts_response_payload is None:
            accepts_response_payload = _accepts_response_payload(type_, payload)
        envelope: dict[str, Any] = {
            "envelope_id": envelope_id,
            "type": type_,
            "payload": dict(payload),
            "accepts_response_payload": accepts_response_payload,
        }
        if type_ == "events_api":
            envelope.update(retry_attempt=0, retry_reason="")
        self._sent_at[envelope_id] = time.monotonic()
        await ws.send_json(envelope)
        return envelope_id

    async def _handle_socket(self, request: web.Request) -> web.StreamResponse:
        if request.query.get("ticket") not in self._tickets:
            return web.Response(status=401, text="invalid ticket")
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        await ws.send_json(_hello_message(len(self._sockets) + 1))
        self._sockets.append(ws)
        self._notify()
        try:
            async for message in ws:
                if message.type == WSMsgType.TEXT:
                    self._record_ack(message.data)
        finally:
            self._sockets.remove(ws)
            self._notify()
        return ws

    def _record_ack(self, raw: str) -> None:
        message = json.loads(raw)
        sent_at = self._sent_at.get(message.get("envelope_id", ""))
        if sent_at is None:
            return
        self.acks.append(
            SocketAck(
                envelope_id=message["envelope_id"],
                payload=message.get("payload"),
                elapsed=time.monotonic() - sent_at,
                raw=message,
            )
        )
        self._notify()

    # ----- HTTP endpoints ------------------------------------------------------------------

    async def _handle_api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args = await _read_args(request)
        token = _bearer_token(request) or args.get("token")
        args.pop("token", None)
        try:
            self._check_method_and_token(method, token)
            args = {key: _decode_json_string(key, value) for key, value in args.items()}
            self._check_rate_limit(method)
            result = self._methods[method](args)
        except _ApiError as exc:
            self._record_call(method, args, token, exc.error)
            body = {"ok": False, "error": exc.error}
            return web.json_response(body, status=exc.status, headers=exc.headers)
        self._record_call(method, args, token, None)
        return web.json_response({"ok": True, **result}, headers={"X-OAuth-Scopes": BOT_SCOPES})

    def _record_call(self, method: str, args: dict[str, Any], token: str | None, error: str | None) -> None:
        self.calls.append(ApiCall(method=method, args=args, token=token, error=error, at=time.monotonic()))
        self._notify()

    def _check_method_and_token(self, method: str, token: str | None) -> None:
        if method not in self._methods:
            raise _ApiError("unknown_method")
        if not token:
            raise _ApiError("not_authed")
        known_prefix = token.startswith((*USER_TOKEN_PREFIXES, APP_TOKEN_PREFIX))
        if not known_prefix or (self._accepted_tokens is not None and token not in self._accepted_tokens):
            raise _ApiError("invalid_auth")
        if (method == "apps.connections.open") != token.startswith(APP_TOKEN_PREFIX):
            raise _ApiError("not_allowed_token_type")

    def _check_rate_limit(self, method: str) -> None:
        remaining, retry_after = self._rate_limits.pop(method, (0, 0))
        if remaining <= 0:
            return
        if remaining > 1:
            self._rate_limits[method] = (remaining - 1, retry_after)
        raise _ApiError("ratelimited", status=429, headers={"Retry-After": str(retry_after)})

    async def _handle_upload(self, request: web.Request) -> web.Response:
        uploaded = self.files.get(request.match_info["file_id"])
        if uploaded is None:
            return web.Response(status=404, text="file not found")
        uploaded.content = await request.read()
        self._notify()
        return web.Response(text=f"OK - {len(uploaded.content)}")

    async def _handle_response_url(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.response_posts.append(
            ResponseUrlPost(key=request.match_info["key"], body=body, at=time.monotonic())
        )
        self._notify()
        return web.Response(text="ok")

    # ----- Web API methods -----------------------------------------------------------------

    def _auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": f"https://{TEAM_DOMAIN}.slack.com/",
            "team": "Fake Arena",
            "user": "arena-bot",
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _chat_post_message(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = _require(args, "channel", "channel_not_found")
        _require_content(args)
        ts = self._next_ts()
        message = _bot_message(args, ts)
        self.messages[(channel, ts)] = message
        return {"channel": channel, "ts": ts, "message": message}

    def _chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = _require(args, "channel", "channel_not_found")
        ts = _require(args, "ts", "message_not_found")
        if (channel, ts) not in self.messages:
            raise _ApiError("message_not_found")
        _require_content(args)
        message = {**self.messages[(channel, ts)], **_bot_message(args, ts), "edited": {"user": BOT_USER_ID}}
        self.messages[(channel, ts)] = message
        return {"channel": channel, "ts": ts, "text": message["text"], "message": message}

    def _chat_post_ephemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        _require(args, "channel", "channel_not_found")
        _require(args, "user", "user_not_in_channel")
        _require_content(args)
        return {"message_ts": self._next_ts()}

    def _files_get_upload_url(self, args: dict[str, Any]) -> dict[str, Any]:
        filename = _require(args, "filename", "invalid_arguments")
        length = _require(args, "length", "invalid_arguments")
        file_id = "F" + secrets.token_hex(5).upper()
        self.files[file_id] = UploadedFile(file_id=file_id, filename=filename, length=int(length))
        return {"upload_url": f"{self.base_url}/upload/v1/{file_id}", "file_id": file_id}

    def _files_complete_upload(self, args: dict[str, Any]) -> dict[str, Any]:
        entries = _require(args, "files", "invalid_arguments")
        channel_id = args.get("channel_id")
        uploads = [self._complete_one(entry, channel_id) for entry in entries]
        return {"files": [_file_object(uploaded) for uploaded in uploads]}

    def _complete_one(self, entry: dict[str, Any], channel_id: str | None) -> UploadedFile:
        uploaded = self.files.get(entry.get("id", ""))
        if uploaded is None or uploaded.content is None:
            raise _ApiError("file_not_found")
        uploaded.title = entry.get("title") or uploaded.filename
        uploaded.channel_id = channel_id
        uploaded.completed = True
        return uploaded

    def _conversations_open(self, args: dict[str, Any]) -> dict[str, Any]:
        users = str(_require(args, "users", "users_list_not_supplied"))
        if "," in users:
            raise _ApiError("not_implemented")  # group DMs are not needed here
        return {"channel": {"id": f"D{users}", "is_im": True, "user": users}}

    def _apps_connections_open(self, args: dict[str, Any]) -> dict[str, Any]:
        ticket = uuid.uuid4().hex
        self._tickets.add(ticket)
        ws_base = self.base_url.replace("http://", "ws://", 1)
        return {"url": f"{ws_base}/socket-mode?ticket={ticket}&app_id={APP_ID}"}

    def _next_ts(self) -> str:
        return f"{int(time.time())}.{next(self._ts_counter):06d}"


# ----- request parsing and response shapes ---------------------------------------------------


async def _read_args(request: web.Request) -> dict[str, Any]:
    args: dict[str, Any] = dict(request.query)
    if request.content_type == "application/json":
        args.update(await request.json())
    elif request.body_exists:
        args.update(await request.post())
    return args


def _decode_json_string(key: str, value: Any) -> Any:
    if key not in JSON_STRING_ARGS or not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        raise _ApiError(f"invalid_{key}") from None


def _bearer_token(request: web.Request) -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token if scheme.lower() == "bearer" and token else None


def _require(args: Mapping[str, Any], name: str, error: str) -> Any:
    value = args.get(name)
    if value in (None, ""):
        raise _ApiError(error)
    return value


def _require_content(args: Mapping[str, Any]) -> None:
    if not any(args.get(name) for name in ("text", "blocks", "attachments")):
        raise _ApiError("no_text")
    if len(args.get("text") or "") > 40_000:
        raise _ApiError("msg_too_long")
    _check_blocks(args.get("blocks") or [])


def _check_blocks(blocks: list[Any]) -> None:
    """Slack's Block Kit limits: 50 blocks; section text 3,000; button value 2,000; 25 actions."""
    if len(blocks) > 50:
        raise _ApiError("invalid_blocks")
    for block in blocks:
        texts = [block.get("text")] if block.get("type") == "section" else []
        texts += [e for e in block.get("elements", []) if block.get("type") == "context"]
        if any(len((t or {}).get("text", "")) > 3000 for t in texts):
            raise _ApiError("invalid_blocks")
        elements = block.get("elements", []) if block.get("type") == "actions" else []
        if len(elements) > 25 or any(len(e.get("value", "")) > 2000 for e in elements):
            raise _ApiError("invalid_blocks")


def _bot_message(args: Mapping[str, Any], ts: str) -> dict[str, Any]:
    message: dict[str, Any] = {
        "type": "message",
        "user": BOT_USER_ID,
        "bot_id": BOT_ID,
        "app_id": APP_ID,
        "team": TEAM_ID,
        "text": args.get("text", ""),
        "ts": ts,
    }
    for optional in ("blocks", "attachments", "thread_ts", "metadata"):
        if args.get(optional):
            message[optional] = args[optional]
    return message


def _file_object(uploaded: UploadedFile) -> dict[str, Any]:
    return {
        "id": uploaded.file_id,
        "created": int(time.time()),
        "name": uploaded.filename,
        "title": uploaded.title,
        "size": len(uploaded.content or b""),
        "user": BOT_USER_ID,
        "channels": [uploaded.channel_id] if uploaded.channel_id else [],
    }


def _hello_message(num_connections: int) -> dict[str, Any]:
    return {
        "type": "hello",
        "num_connections": num_connections,
        "debug_info": {"host": "fake-applink", "build_number": 1, "approximate_connection_time": 18060},
        "connection_info": {"app_id": APP_ID},
    }


def _accepts_response_payload(type_: EnvelopeType, payload: Mapping[str, Any]) -> bool:
    if type_ == "slash_commands":
        return True
    return type_ == "interactive" and payload.get("type") in RESPONSE_PAYLOAD_INTERACTIONS


def _first(items: list[T], predicate: Callable[[T], bool]) -> T | None:
    return next((item for item in items if predicate(item)), None)


# ----- payload builders ------------------------------------------------------------------------


def new_trigger_id() -> str:
    """A trigger_id shaped like Slack's (``<digits>.<digits>.<hex>``)."""
    return f"{secrets.randbelow(10**10)}.{secrets.randbelow(10**10)}.{secrets.token_hex(16)}"


def slash_command_body(
    command: str,
    text: str = "",
    *,
    response_url: str,
    user_id: str = DEFAULT_USER_ID,
    channel_id: str = DEFAULT_CHANNEL_ID,
    team_id: str = TEAM_ID,
    trigger_id: str | None = None,
) -> dict[str, str]:
    """The fields of a slash command: form-encode them (`form_body`) for HTTP, or send the dict
    itself as a Socket Mode ``slash_commands`` payload (Slack keeps every value a string)."""
    return {
        "token": VERIFICATION_TOKEN,
        "team_id": team_id,
        "team_domain": TEAM_DOMAIN,
        "channel_id": channel_id,
        "channel_name": "arena",
        "user_id": user_id,
        "user_name": "tester",
        "command": command,
        "text": text,
        "api_app_id": APP_ID,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id or new_trigger_id(),
    }


def block_actions_payload(
    *,
    action_id: str,
    value: str,
    message_ts: str,
    response_url: str,
    block_id: str = "actions",
    user_id: str = DEFAULT_USER_ID,
    channel_id: str = DEFAULT_CHANNEL_ID,
    team_id: str = TEAM_ID,
    trigger_id: str | None = None,
    message: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The interactive payload of a button click on the message ``message_ts`` (pass the stored
    ``message`` from `FakeSlack.messages` for full realism)."""
    return {
        "type": "block_actions",
        "user": {"id": user_id, "username": "tester", "name": "tester", "team_id": team_id},
        "api_app_id": APP_ID,
        "token": VERIFICATION_TOKEN,
        "container": {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel_id,
            "is_ephemeral": False,
        },
        "trigger_id": trigger_id or new_trigger_id(),
        "team": {"id": team_id, "domain": TEAM_DOMAIN},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel_id, "name": "arena"},
        "message": dict(message) if message is not None else _bot_message({}, message_ts),
        "state": {"values": {}},
        "response_url": response_url,
        "actions": [
            {
                "action_id": action_id,
                "block_id": block_id,
                "text": {"type": "plain_text", "text": value, "emoji": True},
                "value": value,
                "type": "button",
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }


def form_body(fields: Mapping[str, str]) -> bytes:
    """Form-encode fields the way Slack posts slash commands."""
    return urlencode(fields).encode()


def interactive_body(payload: Mapping[str, Any]) -> bytes:
    """Form-encode an interactive payload the way Slack posts it: ``payload=<json>``."""
    return form_body({"payload": json.dumps(payload)})


# ----- signed requests to a Bolt HTTP app ------------------------------------------------------


def sign_request(signing_secret: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    """Slack's request-signing headers: ``v0=`` HMAC-SHA256 of ``v0:{timestamp}:{body}``."""
    ts = int(time.time()) if timestamp is None else timestamp
    base = b"v0:" + str(ts).encode() + b":" + body
    digest = hmac.new(signing_secret.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": str(ts), "X-Slack-Signature": f"v0={digest}"}


async def post_signed(
    url: str,
    body: bytes | str,
    signing_secret: str,
    content_type: str = FORM_CONTENT_TYPE,
    timestamp: int | None = None,
    forge: bool = False,
) -> tuple[int, str, float]:
    """POST ``body`` signed like Slack (or, with ``forge``, with a wrong secret).

    Returns (HTTP status, response text, elapsed seconds).
    """
    raw = body.encode() if isinstance(body, str) else body
    secret = secrets.token_hex(16) if forge else signing_secret
    headers = {
        "Content-Type": content_type,
        "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
        **sign_request(secret, raw, timestamp),
    }
    async with ClientSession() as session:
        started = time.monotonic()
        async with session.post(url, data=raw, headers=headers) as response:
            text = await response.text()
        return response.status, text, time.monotonic() - started
