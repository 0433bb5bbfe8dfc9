"""The web app: ``build_web_app`` wires the pages, the arena, the admin page and the JSON API onto one service;
``serve_web`` runs it in the event loop the chat front ends share (``ftarena web`` / ``ftarena serve web``)."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web
from markupsafe import Markup

from adapters import charts
from adapters.flow import ChatFlow
from adapters.web import markdown
from adapters.web.boards import Boards
from adapters.web.security import (
    ADMIN_COOKIE,
    CSRF_FIELD,
    CSRF_HEADER,
    VISITOR_COOKIE,
    VISITOR_MAX_AGE_S,
    AdminGate,
    ClientLimiter,
    Signer,
    new_visitor_id,
    secret_from,
    visitor_from_header,
)
from bot import display
from bot.config import Settings
from bot.domain import Comparison, Tally
from bot.service import ArenaService
from bot.statistics.report import ArenaReport
from bot.statistics.verdicts import verdict_lines

log = logging.getLogger(__name__)

HERE = Path(__file__).parent
# Nothing but our own files: no inline script, no other origin (a reply that slipped past escaping still could
# not run a script).
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
       "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class WebState:
    service: ArenaService
    settings: Settings
    signer: Signer
    admin: AdminGate
    clients: ClientLimiter
    templates: jinja2.Environment
    flow: ChatFlow
    boards: Boards

    def is_admin(self, request: web.Request) -> bool:
        """The admin token as a bearer token (tools) or the session cookie the admin page set (browsers)."""
        bearer = request.headers.get("Authorization", "")
        if bearer.startswith("Bearer ") and self.admin.token_ok(bearer.removeprefix("Bearer ").strip()):
            return True
        return self.admin.session_ok(request.cookies.get(ADMIN_COOKIE, ""))

    def revealed(self, request: web.Request, comparison: Comparison, voters: Iterable[str] = ()) -> bool:
        """Whether this visitor may see which model gave which reply: always for an open matchup; for a blind
        one only once they voted on it, or as admin — the battle pages must not let anyone peek before voting."""
        return not comparison.blind or "web:" + request[VISITOR] in voters or self.is_admin(request)

    def render(self, request: web.Request, name: str, status: int = 200, **context: Any) -> web.Response:
        page = self.templates.get_template(name).render(
            csrf=request.get(CSRF_TOKEN, ""), path=request.path, matchups=sorted(self.service.matchups), **context)
        return web.Response(text=page, status=status, content_type="text/html")


STATE = web.AppKey("state", WebState)
VISITOR = web.RequestKey("visitor", str)  # the visitor's id, without the ``web:`` of votes
CSRF_TOKEN = web.RequestKey("csrf", str)
NEW_VISITOR = web.RequestKey("new_visitor", str)  # set when this request gets a new visitor cookie


def board_renderer(env: jinja2.Environment) -> Callable[[ArenaReport, list[Tally]], str]:
    def render(report: ArenaReport, tallies: list[Tally]) -> str:
        return env.get_template("_board.html").render(
            report=report, tallies=tallies, percent=display.percent,
            notes=charts.filter_lines(report) + (verdict_lines(report.verdicts) if report.verdicts else []),
            plural=display.plural)

    return render


def templates() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True)
    env.filters["markdown"] = lambda text: Markup(markdown.to_html(text or ""))  # escapes before any tag
    return env


@web.middleware
async def identity(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Who is asking (the operator's login header, else the signed cookie, else a new id) and, for a POST, a
    CSRF token bound to that identity."""
    state = request.app[STATE]
    header = state.settings.web.identity_header
    visitor = visitor_from_header(request.headers.get(header, "")) if header else None
    if visitor is None:
        visitor = state.signer.unsign("visitor", request.cookies.get(VISITOR_COOKIE, ""))
    if visitor is None:
        visitor = request[NEW_VISITOR] = new_visitor_id()
    request[VISITOR] = visitor
    request[CSRF_TOKEN] = state.signer.csrf_token(visitor)
    if request.method == "POST":
        offered = request.headers.get(CSRF_HEADER, "")
        if not offered and request.content_type == "application/x-www-form-urlencoded":
            offered = str((await request.post()).get(CSRF_FIELD, ""))
        if not state.signer.csrf_ok(visitor, offered):
            return state.render(request, "error.html", status=403,
                                message="This form has expired or came from elsewhere. Reload the page and try again.")
    response = await handler(request)
    fresh = request.get(NEW_VISITOR)
    # A streamed response (the arena's compare) is sent already, but it needs a valid cookie to pass CSRF anyway.
    if fresh and not response.prepared:
        response.set_cookie(VISITOR_COOKIE, state.signer.sign("visitor", fresh), max_age=VISITOR_MAX_AGE_S,
                            path="/", httponly=True, samesite="Lax", secure=request.secure)
    return response


@web.middleware
async def errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400 or exc.content_type != "text/plain" or request.path.startswith("/api/"):
            raise
        return request.app[STATE].render(request, "error.html", status=exc.status, message=exc.reason)
    except Exception:
        log.exception("web request %s %s failed", request.method, request.path)
        return request.app[STATE].render(request, "error.html", status=500,
                                         message="Something went wrong on our side; the error is logged.")


async def _headers(request: web.Request, response: web.StreamResponse) -> None:
    """Security headers on every response, streamed ones too."""
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("X-Frame-Options", "DENY")


def build_web_app(service: ArenaService, settings: Settings, env: Mapping[str, str] | None = None) -> web.Application:
    from adapters.web import admin, arena, pages

    env = os.environ if env is None else env
    signer = Signer(secret_from(env, settings.web.cookie_secret_env))
    environment = templates()
    state = WebState(service=service, settings=settings, signer=signer,
                     admin=AdminGate(env.get(settings.web.admin_token_env, "").strip(), signer),
                     clients=ClientLimiter(settings.arena.rate_limit, settings.arena.rate_window_s),
                     templates=environment, flow=ChatFlow(service),
                     boards=Boards(service, board_renderer(environment)))
    app = web.Application(middlewares=[errors, identity], client_max_size=64 * 1024)
    app[STATE] = state
    app.on_response_prepare.append(_headers)
    for module in (pages, arena, admin):
        app.add_routes(module.routes)
    app.router.add_static("/static", HERE / "static", name="static")
    return app


async def serve_web(service: ArenaService, settings: Settings, env: Mapping[str, str] | None = None) -> None:
    """Serve until cancelled, in the running loop (the chat platforms' loop under ``ftarena serve``)."""
    runner = web.AppRunner(build_web_app(service, settings, env), access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, settings.web.host, settings.web.port)
        await site.start()
        log.info("web arena on http://%s:%d/", settings.web.host, settings.web.port)
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()
