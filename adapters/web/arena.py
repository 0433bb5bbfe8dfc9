"""The blind arena: a prompt, both replies streaming in as server-sent events, four vote buttons, the reveal.
The chat flow sequences it all; this module parses, calls the flow with a ``WebSurface`` and relays."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

from aiohttp import web

from adapters.flow import SOMETHING_WENT_WRONG
from adapters.web import views
from adapters.web.app import STATE, VISITOR
from adapters.web.surface import WebSurface
from bot.domain import Choice, Place
from bot.errors import ArenaError

log = logging.getLogger(__name__)

routes = web.RouteTableDef()
PLACE = Place(platform="web", channel="arena")
CHOICES = {choice.value: choice for choice in Choice}
BAD_REQUEST = "Send a prompt (compare) or a comparison id and a choice (vote)."


def _surface(request: web.Request) -> WebSurface:
    return WebSurface("web:" + request[VISITOR], PLACE)


def _client(request: web.Request) -> str:
    """Who the per-client limit counts: the address, or behind a logging-in proxy (every visitor arrives from
    the proxy's address) the login it vouches for."""
    header = request.app[STATE].settings.web.identity_header
    if header and request.headers.get(header, "").strip():
        return "login:" + request[VISITOR]
    return "address:" + (request.remote or "unknown")


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except (ValueError, UnicodeDecodeError):
        raise web.HTTPBadRequest(reason=BAD_REQUEST) from None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(reason=BAD_REQUEST)
    return body


def _refusal(message: str, status: int = 400) -> web.Response:
    return web.json_response({"refused": message}, status=status)


@routes.get("/arena")
async def arena(request: web.Request) -> web.Response:
    return request.app[STATE].render(request, "arena.html", choices=list(Choice))


@routes.post("/arena/compare")
async def compare(request: web.Request) -> web.StreamResponse:
    """Run the flow's compare and stream what it shows, one event per update, until it is done. A visitor who
    leaves stops the comparison (stored as cancelled), as Ctrl-C does in the terminal."""
    state = request.app[STATE]
    prompt = (await _body(request)).get("prompt")
    if not isinstance(prompt, str):
        return _refusal(BAD_REQUEST)
    try:
        state.clients.check(_client(request))
    except ArenaError as exc:
        return _refusal(exc.user_message, 429)
    surface = _surface(request)
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store"})
    await response.prepare(request)
    task = asyncio.create_task(state.flow.compare(surface, prompt))
    try:
        while not (task.done() and surface.events.empty()):
            getter = asyncio.ensure_future(surface.events.get())
            await asyncio.wait({getter, task}, return_when=asyncio.FIRST_COMPLETED)
            if not getter.done():
                getter.cancel()
                continue
            await _send(response, getter.result())
        if task.exception() is not None:
            log.error("web arena comparison failed", exc_info=task.exception())
            await _send(response, {"event": "refused", "message": SOMETHING_WENT_WRONG})
        await _send(response, {"event": "end"})
    except ConnectionResetError:
        log.info("a web visitor left while comparing; the comparison is stopped")
    finally:
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    return response


async def _send(response: web.StreamResponse, event: dict[str, Any]) -> None:
    # JSON has no raw newline, so one data line holds the whole event.
    await response.write(f"event: {event['event']}\ndata: {json.dumps(event)}\n\n".encode())


@routes.post("/arena/vote")
async def vote(request: web.Request) -> web.Response:
    state = request.app[STATE]
    body = await _body(request)
    comparison_id, choice = body.get("comparison_id"), CHOICES.get(str(body.get("choice")))
    if not isinstance(comparison_id, str) or choice is None:
        return _refusal(BAD_REQUEST)
    surface = _surface(request)
    reveal = await state.flow.vote(surface, comparison_id[:64], choice)
    if reveal is None:
        return _refusal(surface.refused or BAD_REQUEST)
    return web.json_response({"reveal": views.reveal_json(reveal)})
