"""A contender registered while bots run is live in every ``ftarena serve`` process sharing the database, without
a restart, and a retired one leaves them: two web arenas on one SQLite file, the registry changed by the CLI."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.e2e.processes import Served, free_port, wait_for_port, write_config

ROOT = Path(__file__).resolve().parents[2]
NEW = "tuned-echo+v2"


def option_listed(port: int) -> bool:
    page = httpx.get(f"http://127.0.0.1:{port}/", timeout=5, trust_env=False)
    page.raise_for_status()
    return f'<option value="{NEW}"' in page.text


def wait_until(port: int, listed: bool, timeout: float = 20) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if option_listed(port) == listed:
            return time.monotonic() - started
        time.sleep(0.2)
    raise AssertionError(f"{NEW} {'never appeared' if listed else 'never left'} on port {port}")


def ftarena(config: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "adapters.cli", "--config", str(config), *argv],
                          capture_output=True, text=True, cwd=ROOT, timeout=60)


@pytest.mark.slow
async def test_two_running_bots_pick_up_a_new_contender_and_drop_a_retired_one(tmp_path: Path) -> None:
    config = write_config(tmp_path, f"sqlite:///{tmp_path / 'arena.db'}")
    ports = [free_port(), free_port()]
    bots = [Served(config, ["web"], {"FTARENA_WEB__PORT": str(port)}, tmp_path / f"bot{i}.log")
            for i, port in enumerate(ports)]
    try:
        for bot, port in zip(bots, ports, strict=True):
            await asyncio.to_thread(bot.wait_ready)
            await asyncio.to_thread(wait_for_port, port)
        assert not any([await asyncio.to_thread(option_listed, port) for port in ports])
        added = await asyncio.to_thread(ftarena, config, "models", "add", NEW, "--parent", "tuned-echo", "--lora",
                                        "served-v2")
        assert added.returncode == 0, added.stderr
        for port in ports:
            assert await asyncio.to_thread(wait_until, port, True) < 10  # a refresh every 3 s
        removed = await asyncio.to_thread(ftarena, config, "models", "remove", NEW)
        assert removed.returncode == 0, removed.stderr
        for port in ports:
            await asyncio.to_thread(wait_until, port, False)
        assert all(bot.process.poll() is None for bot in bots)  # nobody restarted
    finally:
        for bot in bots:
            bot.stop()
