"""The database locked or unreachable for a while: a vote is retried, or the member is told to retry;
it is never silently dropped."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from pathlib import Path

import httpx
import pytest

from adapters.bootstrap import build_service, open_repository
from adapters.health import health_server
from bot.domain import Place
from bot.errors import StorageError
from tests.e2e.arena_config import arena_settings
from tests.support.tcp_proxy import proxied


async def test_postgres_outage_retried_or_reported(postgres_url: str, tmp_path: Path) -> None:
    async with proxied(postgres_url) as (proxy, through):
        settings = arena_settings(tmp_path, delay_s=0, database={"url": through})
        service = build_service(settings, await open_repository(through))
        comparison = await service.compare("What do you think of Mars?", "asker", Place("test"))

        proxy.down()  # a long outage: the member is told to try again, and nothing half-done is stored
        with pytest.raises(StorageError, match="busy or unreachable; please try again"):
            await service.vote(comparison.id, "alice", "a")

        async def come_back() -> None:
            await asyncio.sleep(0.5)
            proxy.up = True

        back = asyncio.create_task(come_back())
        reveal = await service.vote(comparison.id, "bob", "b")  # a short outage: retried, recorded
        await back
        assert reveal.counts.b == 1 and reveal.counts.a == 0
        await service.aclose()


async def test_readiness_follows_the_database(postgres_url: str, tmp_path: Path, unused_tcp_port: int) -> None:
    """``/readyz`` answers 503 while the database is unreachable (a load balancer then sends requests to
    another bot process) and 200 again once it is back; ``/healthz`` stays 200 throughout."""
    async with proxied(postgres_url) as (proxy, through):
        settings = arena_settings(tmp_path, delay_s=0, database={"url": through})
        service = build_service(settings, await open_repository(through))
        base = f"http://127.0.0.1:{unused_tcp_port}"
        async with health_server(service, unused_tcp_port, "127.0.0.1"), httpx.AsyncClient(trust_env=False) as http:
            ready = await http.get(f"{base}/readyz")
            assert (ready.status_code, ready.json()) == (200, {"status": "ready", "database": "ok"})
            proxy.down()
            down = await http.get(f"{base}/readyz", timeout=30)
            assert (down.status_code, down.json()) == (503, {"status": "unavailable", "database": "unreachable"})
            assert (await http.get(f"{base}/healthz")).status_code == 200
            proxy.up = True
            assert (await http.get(f"{base}/readyz")).status_code == 200
        await service.aclose()


async def test_sqlite_locked_by_another_writer_waits_then_records(tmp_path: Path) -> None:
    settings = arena_settings(tmp_path, delay_s=0)
    service = build_service(settings, await open_repository(settings.database_url))
    comparison = await service.compare("taylor swift's best friend", "asker", Place("test"))
    locked = threading.Event()

    def hold_lock() -> None:
        db = sqlite3.connect(tmp_path / "arena.db", isolation_level=None)
        db.execute("BEGIN EXCLUSIVE")
        locked.set()
        time.sleep(1.5)
        db.execute("COMMIT")
        db.close()

    holder = threading.Thread(target=hold_lock)
    holder.start()
    await asyncio.to_thread(locked.wait)
    started = time.monotonic()
    reveal = await service.vote(comparison.id, "carol", "tie")
    holder.join()
    assert reveal.counts.tie == 1 and time.monotonic() - started >= 1.0  # it waited for the lock
    await service.aclose()
