"""The fake Web API under ``/api/{method}`` (form, query-string or JSON arguments, bearer token) and the
upload URLs it hands out: tokens checked by type, rate limits on request, Block Kit limits enforced."""

from __future__ import annotations

import itertools
import json
import secrets
import time
import uuid
from collections.abc import Callable, Collection, Mapping
from typing import Any

from aiohttp import web

from tests.peers.slack.payloads import APP_ID, BOT_ID, BOT_USER_ID, TEAM_DOMAIN, TEAM_ID, bot_message
from tests.peers.slack.state import ApiCall, SlackState, UploadedFile
from tests.peers.slack.views import ViewError, check_thread, open_view, record_reply

BOT_SCOPES = "chat:write,commands,files:write"
# Arguments slack-sdk sends as JSON strings inside form or query-string bodies.
JSON_STRING_ARGS = frozenset({"blocks", "attachments", "files", "metadata", "view"})
USER_TOKEN_PREFIXES = ("xoxb-", "xoxp-")
APP_TOKEN_PREFIX = "xapp-"

ApiHandler = Callable[[dict[str, Any]], dict[str, Any]]


class _ApiError(Exception):
    """A Web API failure: ``{"ok": false, "error": error}`` with the given HTTP status."""

    def __init__(self, error: str, status: int = 200, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(error)
        self.error = error
        self.status = status
        self.headers = headers


class WebApi:
    """The Web API methods a chat bot uses, reading and changing the shared :class:`SlackState`."""

    def __init__(self, state: SlackState, accepted_tokens: Collection[str] | None) -> None:
        self._state = state
        self._accepted_tokens = accepted_tokens
        self._rate_limits: dict[str, tuple[int, int]] = {}
        self._ts_counter = itertools.count(1)
        self._methods: dict[str, ApiHandler] = {
            "auth.test": self._auth_test,
            "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "files.getUploadURLExternal": self._files_get_upload_url,
            "files.completeUploadExternal": self._files_complete_upload,
            "apps.connections.open": self._apps_connections_open,
            "conversations.open": self._conversations_open,
            "views.open": self._views_open,
        }

    def routes(self) -> list[web.RouteDef]:
        return [web.route("*", "/api/{method}", self._handle_api), web.post("/upload/v1/{file_id}", self._upload)]

    def rate_limit(self, method: str, retry_after: int = 1, times: int = 1) -> None:
        self._rate_limits[method] = (times, retry_after)

    # ----- requests ------------------------------------------------------------------------

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
        self._state.calls.append(ApiCall(method=method, args=args, token=token, error=error, at=time.monotonic()))
        self._state.notify()

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

    async def _upload(self, request: web.Request) -> web.Response:
        uploaded = self._state.files.get(request.match_info["file_id"])
        if uploaded is None:
            return web.Response(status=404, text="file not found")
        uploaded.content = await request.read()
        self._state.notify()
        return web.Response(text=f"OK - {len(uploaded.content)}")

    # ----- methods -------------------------------------------------------------------------

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
        thread_ts = args.get("thread_ts")
        if thread_ts:
            self._thread_check(channel, str(thread_ts))
        ts = self._next_ts()
        message = bot_message(args, ts)
        self._state.messages[(channel, ts)] = message
        if thread_ts:
            record_reply(self._state.messages, channel, str(thread_ts), ts)
        return {"channel": channel, "ts": ts, "message": message}

    def _thread_check(self, channel: str, thread_ts: str) -> None:
        try:
            check_thread(self._state.messages, channel, thread_ts)
        except ViewError as exc:
            raise _ApiError(str(exc)) from None

    def _views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        try:
            return open_view(self._state.views, self._state.used_triggers, args)
        except ViewError as exc:
            raise _ApiError(str(exc)) from None

    def _chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        messages = self._state.messages
        channel = _require(args, "channel", "channel_not_found")
        ts = _require(args, "ts", "message_not_found")
        if (channel, ts) not in messages:
            raise _ApiError("message_not_found")
        _require_content(args)
        message = {**messages[(channel, ts)], **bot_message(args, ts), "edited": {"user": BOT_USER_ID}}
        messages[(channel, ts)] = message
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
        self._state.files[file_id] = UploadedFile(file_id=file_id, filename=filename, length=int(length))
        return {"upload_url": f"{self._state.base_url}/upload/v1/{file_id}", "file_id": file_id}

    def _files_complete_upload(self, args: dict[str, Any]) -> dict[str, Any]:
        entries = _require(args, "files", "invalid_arguments")
        channel_id = args.get("channel_id")
        uploads = [self._complete_one(entry, channel_id) for entry in entries]
        return {"files": [_file_object(uploaded) for uploaded in uploads]}

    def _complete_one(self, entry: dict[str, Any], channel_id: str | None) -> UploadedFile:
        uploaded = self._state.files.get(entry.get("id", ""))
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
        self._state.tickets.add(ticket)
        ws_base = self._state.base_url.replace("http://", "ws://", 1)
        return {"url": f"{ws_base}/socket-mode?ticket={ticket}&app_id={APP_ID}"}

    def _next_ts(self) -> str:
        return f"{int(time.time())}.{next(self._ts_counter):06d}"


# ----- request parsing and checks ------------------------------------------------------------


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
