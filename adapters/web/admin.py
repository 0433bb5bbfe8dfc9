"""The admin page: a token from the environment (``web.admin_token_env``) opens a session cookie; downloads
of every export format go through the service's export. The token is compared in constant time, never logged,
never put in a URL."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

from aiohttp import web

from adapters.web.app import STATE
from adapters.web.security import ADMIN_COOKIE, ADMIN_MAX_AGE_S
from bot import export

routes = web.RouteTableDef()
CHUNK = 256 * 1024
NO_TOKEN = "The admin page is off: set the variable named by web.admin_token_env and restart."
WRONG_TOKEN = "That is not the admin token."


def _authorised(request: web.Request) -> bool:
    return request.app[STATE].is_admin(request)


def _login(request: web.Request, message: str = "") -> web.Response:
    state = request.app[STATE]
    return state.render(request, "admin_login.html", status=401, message=message or
                        ("" if state.admin.enabled else NO_TOKEN), enabled=state.admin.enabled)


@routes.get("/admin")
async def admin(request: web.Request) -> web.Response:
    if not _authorised(request):
        return _login(request)
    return request.app[STATE].render(request, "admin.html", formats=list(export.FORMATS))


@routes.post("/admin/login")
async def login(request: web.Request) -> web.Response:
    state = request.app[STATE]
    token = str((await request.post()).get("token", ""))
    if not state.admin.token_ok(token):
        return _login(request, WRONG_TOKEN if state.admin.enabled else NO_TOKEN)
    response = web.HTTPSeeOther("/admin")
    response.set_cookie(ADMIN_COOKIE, state.admin.session(), max_age=ADMIN_MAX_AGE_S, path="/", httponly=True,
                        samesite="Strict", secure=request.secure)
    raise response


@routes.post("/admin/logout")
async def logout(request: web.Request) -> web.Response:
    response = web.HTTPSeeOther("/")
    response.del_cookie(ADMIN_COOKIE, path="/")
    raise response


@routes.get("/admin/export/{fmt}")
async def download(request: web.Request) -> web.StreamResponse:
    """Every vote in one export format, voters pseudonymised, written to a temporary file and streamed."""
    if not _authorised(request):
        return _login(request)
    fmt = request.match_info["fmt"]
    if fmt not in export.FORMATS:
        raise web.HTTPNotFound(reason=f"No export format {fmt[:20]!r}; known: {', '.join(export.FORMATS)}.")
    service = request.app[STATE].service
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
    name = f"arena-{fmt}-{stamp}.{'jsonl' if fmt in export.PREFERENCE_FORMATS else fmt}"
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        if fmt in export.BINARY_FORMATS:
            with path.open("wb") as out:
                await service.export(fmt, out)  # type: ignore[arg-type]
        else:
            with path.open("w", encoding="utf-8", newline="") as text:
                await service.export(fmt, text)
        response = web.StreamResponse(headers={
            "Content-Type": "application/octet-stream", "Content-Disposition": f'attachment; filename="{name}"',
            "Content-Length": str(path.stat().st_size), "Cache-Control": "no-store"})
        await response.prepare(request)
        with path.open("rb") as source:
            while chunk := source.read(CHUNK):
                await response.write(chunk)
        await response.write_eof()
    return response
