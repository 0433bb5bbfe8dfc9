"""The web front end under load: the leaderboard page (``/``) and ``/api/leaderboard`` with 50 concurrent clients
over the synthetic benchmark database (1,000,000 votes; ``--quick``: 100,000), p50 and p99 latency, and the
event-loop lag the chat front ends sharing the loop would feel meanwhile.

The server runs in this process on the app's loop, as under ``ftarena serve web discord``; the clients run in a
child process, so their work does not count as the server's. Each route is primed first: the figures are for
pages served from the cached report (the service keeps one for 10 s; a fit at a million votes takes seconds and
runs in a worker thread, behind a single-flight lock)."""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import aiohttp
from aiohttp import web

from adapters import loop as event_loop
from adapters.web.app import build_web_app
from benchmarks import figures, machine, synthetic
from benchmarks.arena import bench_settings, wired_service

VOTES, QUICK_VOTES = 1_000_000, 100_000
CLIENTS = 50
REQUESTS_PER_CLIENT, QUICK_REQUESTS_PER_CLIENT = 20, 10
ROUTES = ("/", "/api/leaderboard")
TARGET_P50_MS = 50.0
TARGET_LAG_MS = 50.0
LAG_TICK_S = 0.01


async def _load(url: str, clients: int, requests: int) -> list[float]:
    """Latencies (ms) of ``clients`` clients each making ``requests`` requests one after another."""
    latencies: list[float] = []
    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(connector=connector) as session:
        async def client() -> None:
            for _ in range(requests):
                started = time.perf_counter()
                async with session.get(url) as response:
                    await response.read()
                    response.raise_for_status()
                latencies.append((time.perf_counter() - started) * 1000)

        await asyncio.gather(*(client() for _ in range(clients)))
    return latencies


async def _lag(samples: list[float], stop: asyncio.Event) -> None:
    """How late a 10 ms sleep wakes up, as a chat front end's heartbeat would."""
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        started = loop.time()
        await asyncio.sleep(LAG_TICK_S)
        samples.append((loop.time() - started - LAG_TICK_S) * 1000)


async def _serve_and_measure(path: Path, requests: int) -> None:
    url = f"sqlite:///{path}"
    settings = bench_settings(url)
    async with wired_service(url, {}, settings) as service:
        runner = web.AppRunner(build_web_app(service, settings, {"FTARENA_WEB__COOKIE_SECRET": "bench"}),
                               access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        base = f"http://127.0.0.1:{runner.addresses[0][1]}"
        try:
            async with aiohttp.ClientSession() as session:
                for route in ROUTES:
                    started = time.perf_counter()
                    async with session.get(base + route) as response:
                        await response.read()
                    figures.figure(f"{route} first request (fits the report)", f"{time.perf_counter() - started:.2f} s")
            for route in ROUTES:
                async with aiohttp.ClientSession() as session, session.get(base + route) as response:
                    await response.read()  # primed: the cached report is fresh for the run below
                lag: list[float] = []
                stop = asyncio.Event()
                watcher = asyncio.create_task(_lag(lag, stop))
                started = time.perf_counter()
                child = await asyncio.create_subprocess_exec(
                    sys.executable, "-m", "benchmarks.web", "--load", base + route, "--requests", str(requests),
                    stdout=subprocess.PIPE)
                out, _ = await child.communicate()
                wall = time.perf_counter() - started
                stop.set()
                await watcher
                latencies = json.loads(out)
                figures.section(f"GET {route}: {CLIENTS} clients x {requests} requests")
                figures.check("p50 latency", figures.percentile(latencies, 50), " ms", at_most=TARGET_P50_MS,
                              fmt="{:,.1f}")
                figures.figure("p99 latency", f"{figures.percentile(latencies, 99):,.1f} ms")
                figures.figure("requests per second", f"{len(latencies) / wall:,.0f}")
                figures.check("event-loop lag meanwhile, p99", figures.percentile(lag, 99), " ms",
                              at_most=TARGET_LAG_MS, fmt="{:,.1f}")
                figures.figure("event-loop lag meanwhile, max", f"{max(lag):,.1f} ms")
        finally:
            await runner.cleanup()


def main(argv: Sequence[str] | None = None) -> None:
    parser = figures.parser(__doc__ or "")
    parser.add_argument("--load", help=argparse.SUPPRESS)
    parser.add_argument("--requests", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.load:
        print(json.dumps(event_loop.run(_load(args.load, CLIENTS, args.requests))))
        return
    votes = QUICK_VOTES if args.quick else VOTES
    requests = QUICK_REQUESTS_PER_CLIENT if args.quick else REQUESTS_PER_CLIENT
    path = synthetic.cached_path(votes)
    figures.header(f"web: leaderboard page and /api/leaderboard on {votes:,} votes in SQLite", machine.facts(),
                   f"{CLIENTS} concurrent clients x {requests} requests per route, after priming the report")
    if not synthetic.is_complete(path, votes):
        started = time.perf_counter()
        synthetic.build(path, votes)
        figures.figure("built database", f"{time.perf_counter() - started:.1f} s", path.name)
    event_loop.run(_serve_and_measure(path, requests))


if __name__ == "__main__":
    main()
