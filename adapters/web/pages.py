"""Pages and the JSON API for people who analyse the votes: the live leaderboard, its chart, the battles."""

from __future__ import annotations

import math
from urllib.parse import urlencode

from aiohttp import web
from markupsafe import Markup

from adapters.web import views
from adapters.web.app import STATE
from bot import display
from bot.domain import Comparison, Side, Vote
from bot.errors import UnknownComparisonError
from bot.ports import ComparisonFilter, ComparisonPage
from bot.statistics.slices import BattleQuery

routes = web.RouteTableDef()


def _battle_query(request: web.Request) -> BattleQuery:
    try:
        return views.battle_query(request.query)
    except views.BadFilterError as exc:
        raise web.HTTPBadRequest(reason=exc.user_message) from None


@routes.get("/")
async def leaderboard(request: web.Request) -> web.Response:
    state = request.app[STATE]
    board = await state.boards.get(_battle_query(request))
    filters = views.kept(request.query, views.SLICE_KEYS)
    return state.render(request, "leaderboard.html", board=Markup(board.html), filters=filters,
                        query_string=urlencode(filters))


@routes.get("/partials/board")
async def board_partial(request: web.Request) -> web.Response:
    """The leaderboard's live part, for the page's poller to swap in when /api/leaderboard changes."""
    board = await request.app[STATE].boards.get(_battle_query(request))
    return web.Response(text=board.html, content_type="text/html")


@routes.get("/chart.png")
async def chart(request: web.Request) -> web.Response:
    board = await request.app[STATE].boards.get(_battle_query(request))
    return web.Response(body=await board.chart(), content_type="image/png", headers={"Cache-Control": "no-cache"})


@routes.get("/api/leaderboard")
async def api_leaderboard(request: web.Request) -> web.Response:
    """The same object as ``ftarena leaderboard --json``, with the same filters as query parameters."""
    board = await request.app[STATE].boards.get(_battle_query(request))
    return web.Response(body=board.json, content_type="application/json")


async def _page(request: web.Request) -> tuple[ComparisonFilter, ComparisonPage]:
    try:
        query = views.comparison_filter(request.query)
    except views.BadFilterError as exc:
        raise web.HTTPBadRequest(reason=exc.user_message) from None
    return query, await request.app[STATE].service.repository.browse(query)


@routes.get("/battles")
async def battles(request: web.Request) -> web.Response:
    state = request.app[STATE]
    query, page = await _page(request)
    filters = views.kept(request.query, views.BATTLE_KEYS)
    number = query.offset // query.limit + 1
    pages = max(1, math.ceil(page.total / query.limit))
    link = {n: "/battles?" + urlencode({**filters, "page": n}) for n in (number - 1, number + 1)}
    return state.render(request, "battles.html", page=page, filters=filters, number=number, pages=pages, link=link,
                        outcomes=views.BROWSE_OUTCOMES)


@routes.get("/api/battles")
async def api_battles(request: web.Request) -> web.Response:
    state = request.app[STATE]
    query, page = await _page(request)
    salt = state.service.export_salt
    return web.json_response({
        "total": page.total, "offset": query.offset, "limit": query.limit,
        "items": [views.battle_json(item.comparison, salt, counts=views.counts_json(item),
                                    revealed=state.revealed(request, item.comparison)) for item in page.items]})


async def _battle(request: web.Request) -> tuple[Comparison, list[Vote]]:
    service = request.app[STATE].service
    try:
        comparison = await service.get(request.match_info["id"])
    except UnknownComparisonError as exc:
        raise web.HTTPNotFound(reason=exc.user_message) from None
    return comparison, await service.repository.votes_on(comparison.id)


@routes.get("/battles/{id}")
async def battle(request: web.Request) -> web.Response:
    state = request.app[STATE]
    comparison, votes = await _battle(request)
    salt = state.service.export_salt
    revealed = state.revealed(request, comparison, (v.voter for v in votes))
    return state.render(request, "battle.html", c=comparison, sides=list(Side), role=display.role,
                        votes=[views.vote_json(v, salt) for v in votes], revealed=revealed)


@routes.get("/api/battles/{id}")
async def api_battle(request: web.Request) -> web.Response:
    state = request.app[STATE]
    comparison, votes = await _battle(request)
    revealed = state.revealed(request, comparison, (v.voter for v in votes))
    return web.json_response(views.battle_json(comparison, state.service.export_salt, votes, revealed=revealed))
