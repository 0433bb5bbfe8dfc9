"""The fake REST API under ``/api/v10``: the bot's user and application, the gateway URL, application
commands, interaction callbacks and their webhooks, and attachment downloads. Every request is recorded;
bot routes need ``Authorization: Bot ...``; unknown routes answer Discord's 404 body."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import BodyPartReader, web

from tests.peers.discord import payloads
from tests.peers.discord.messages import DiscordError, check_limits, edit_message, new_message
from tests.peers.discord.payloads import (
    ALLOWED_CALLBACKS,
    CHANNEL_MESSAGE_WITH_SOURCE,
    DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE,
    DEFERRED_UPDATE_MESSAGE,
    EPHEMERAL,
    LOADING,
    UPDATE_MESSAGE,
)
from tests.peers.discord.state import API_PREFIX, DiscordState, DispatchedInteraction, RecordedRequest, UploadedFile

_log = logging.getLogger(__name__)

_UNAUTHENTICATED_PREFIXES = ("/interactions/", "/webhooks/")


@dataclass
class _Body:
    json: Any = None
    files: tuple[UploadedFile, ...] = ()


_ApiHandler = Callable[[web.Request, _Body], Awaitable[web.Response]]


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


class Rest:
    """The REST routes, reading and changing the shared :class:`DiscordState`."""

    def __init__(self, state: DiscordState) -> None:
        self._state = state

    def add_routes(self, app: web.Application) -> None:
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
            ("POST", "/channels/{channel}/messages", self._post_channel_message),
            ("*", "/{unknown:.*}", self._unknown_route),
        ]
        for method, path, handler in api:
            app.router.add_route(method, API_PREFIX + path, self._recorded(handler))
        app.router.add_get("/attachments/{attachment}/{filename}", self._get_attachment)

    # ------------------------------------------------------------------ recording and auth

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
        except DiscordError as exc:
            return _error_response(exc.status, exc.message, exc.code)

    async def _unknown_route(self, request: web.Request, body: _Body) -> web.Response:
        return _error_response(404, "404: Not Found")

    def _is_bot_authorized(self, request: web.Request) -> bool:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        return scheme == "Bot" and bool(token) and self._state.token in (None, token)

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
        async with self._state.changed:
            self._state.requests.append(record)
            self._state.changed.notify_all()

    # ------------------------------------------------------------------ the bot and its commands

    async def _get_me(self, request: web.Request, body: _Body) -> web.Response:
        return _json_response(payloads.current_user(self._state.bot_user))

    async def _get_application(self, request: web.Request, body: _Body) -> web.Response:
        state = self._state
        return _json_response(payloads.application(state.application_id, state.bot_user, state.owner_user))

    async def _get_gateway(self, request: web.Request, body: _Body) -> web.Response:
        return _json_response({"url": self._state.gateway_url})

    async def _get_gateway_bot(self, request: web.Request, body: _Body) -> web.Response:
        limit = {"total": 1000, "remaining": 1000, "reset_after": 0, "max_concurrency": 1}
        return _json_response({"url": self._state.gateway_url, "shards": 1, "session_start_limit": limit})

    async def _get_commands(self, request: web.Request, body: _Body) -> web.Response:
        self._check_application(request)
        return _json_response(self._state.commands.get(request.match_info.get("guild"), []))

    async def _put_commands(self, request: web.Request, body: _Body) -> web.Response:
        self._check_application(request)
        state = self._state
        guild = request.match_info.get("guild")
        registered = []
        for command in body.json or []:
            key = (guild, command["name"], command.get("type", 1))
            command_id = state.command_ids.setdefault(key, state.snowflake())
            registered.append(payloads.registered_command(command, command_id, state.application_id,
                                                          state.snowflake(), guild))
        state.commands[guild] = registered
        return _json_response(state.commands[guild])

    def _check_application(self, request: web.Request) -> None:
        if request.match_info["app"] != self._state.application_id:
            raise DiscordError(404, "Unknown Application", 10002)

    # ------------------------------------------------------------------ interaction callbacks

    async def _post_callback(self, request: web.Request, body: _Body) -> web.Response:
        interaction = self._state.interactions.get(request.match_info["id"])
        known = interaction is not None and interaction.token == request.match_info["token"]
        if interaction is None or not known or self._expired(interaction):
            raise DiscordError(404, "Unknown interaction", 10062)
        if interaction.response_type is not None:
            raise DiscordError(400, "Interaction has already been acknowledged.", 40060)
        payload = body.json or {}
        callback_type = int(payload.get("type", 0))
        if callback_type not in ALLOWED_CALLBACKS[interaction.type]:
            raise DiscordError(400, "Invalid Form Body", 50035)
        check_limits(payload.get("data") or {})
        interaction.response_type = callback_type
        message = self._apply_callback(interaction, callback_type, payload.get("data") or {}, body.files)
        if not _is_truthy(request.query.get("with_response")):
            return web.Response(status=204)
        return _json_response(self._callback_response(interaction, callback_type, message))

    def _expired(self, interaction: DispatchedInteraction) -> bool:
        deadline = self._state.interaction_deadline
        return deadline is not None and time.monotonic() - interaction.dispatched_at > deadline

    def _apply_callback(
        self,
        interaction: DispatchedInteraction,
        callback_type: int,
        data: dict[str, Any],
        files: tuple[UploadedFile, ...],
    ) -> dict[str, Any] | None:
        """Create or update the interaction's original message as Discord does for this callback."""
        state = self._state
        if callback_type == CHANNEL_MESSAGE_WITH_SOURCE:
            message = new_message(state, interaction, data, files, data.get("flags", 0))
        elif callback_type == DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE:
            message = new_message(state, interaction, {}, (), LOADING | (data.get("flags", 0) & EPHEMERAL))
        elif callback_type == UPDATE_MESSAGE and interaction.message_id:
            message = edit_message(state, state.messages[interaction.message_id], data, files)
        elif callback_type == DEFERRED_UPDATE_MESSAGE and interaction.message_id:
            message = state.messages[interaction.message_id]
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

    # ------------------------------------------------------------------ interaction webhooks

    async def _post_followup(self, request: web.Request, body: _Body) -> web.Response:
        interaction = self._webhook_interaction(request)
        payload = body.json or {}
        check_limits(payload)
        original = self._state.messages.get(interaction.original_id or "")
        if original is not None and original["flags"] & LOADING:
            message = edit_message(self._state, original, payload, body.files)  # replaces the "thinking" message
        else:
            message = new_message(self._state, interaction, payload, body.files, payload.get("flags", 0))
            interaction.message_ids.add(message["id"])
        if not _is_truthy(request.query.get("wait")):
            return web.Response(status=204)
        return _json_response(message)

    async def _post_channel_message(self, request: web.Request, body: _Body) -> web.Response:
        """Create Message: the bot posting in a channel by itself, outside any interaction (no webhook)."""
        payload = body.json or {}
        check_limits(payload)
        message = {**self._state.message_skeleton(request.match_info["channel"], 0),
                   "content": payload.get("content") or "", "embeds": payload.get("embeds") or [],
                   "components": payload.get("components") or [], "attachments": [], "flags": payload.get("flags", 0)}
        del message["webhook_id"]
        self._state.messages[message["id"]] = message
        return _json_response(message)

    async def _get_webhook_message(self, request: web.Request, body: _Body) -> web.Response:
        return _json_response(self._webhook_message(request))

    async def _patch_webhook_message(self, request: web.Request, body: _Body) -> web.Response:
        check_limits(body.json or {})
        return _json_response(edit_message(self._state, self._webhook_message(request), body.json or {}, body.files))

    async def _delete_webhook_message(self, request: web.Request, body: _Body) -> web.Response:
        message = self._webhook_message(request)
        del self._state.messages[message["id"]]
        return web.Response(status=204)

    def _webhook_interaction(self, request: web.Request) -> DispatchedInteraction:
        token = request.match_info["token"]
        interaction = next((i for i in self._state.interactions.values() if i.token == token), None)
        acknowledged = interaction is not None and interaction.response_type is not None
        if request.match_info["app"] != self._state.application_id or not acknowledged:
            raise DiscordError(404, "Unknown Webhook", 10015)
        assert interaction is not None
        return interaction

    def _webhook_message(self, request: web.Request) -> dict[str, Any]:
        interaction = self._webhook_interaction(request)
        message_id = request.match_info["message"]
        if message_id == "@original":
            message_id = interaction.original_id or ""
        if message_id not in interaction.message_ids or message_id not in self._state.messages:
            raise DiscordError(404, "Unknown Message", 10008)
        return self._state.messages[message_id]

    async def _get_attachment(self, request: web.Request) -> web.Response:
        data = self._state.attachment_data.get(request.match_info["attachment"])
        if data is None:
            raise web.HTTPNotFound()
        return web.Response(body=data, content_type="application/octet-stream")
