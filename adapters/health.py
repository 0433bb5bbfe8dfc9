"""``/healthz`` (the process is up) and ``/readyz`` (the database answers) for orchestrators and load balancers."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiohttp import web

from bot.errors import StorageError
from bot.service import ArenaService

log = logging.getLogger(__name__)

READY_TIMEOUT_S = 5.0


def health_app(service: ArenaService) -> web.Application:
    async def healthz(_: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def readyz(_: web.Request) -> web.Response:
        try:
            await asyncio.wait_for(service.repository.ping(), READY_TIMEOUT_S)
        except (StorageError, TimeoutError):
            return web.json_response({"status": "unavailable", "database": "unreachable"}, status=503)
        return web.json_response({"status": "ready", "database": "ok"})

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    return app


@asynccontextmanager
async def health_server(service: ArenaService, port: int, host: str = "0.0.0.0") -> AsyncIterator[None]:
    if not port:
        yield
        return
    runner = web.AppRunner(health_app(service))
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    log.info("health endpoints on %s:%d (/healthz, /readyz)", host, port)
    try:
        yield
    finally:
        await runner.cleanup()
