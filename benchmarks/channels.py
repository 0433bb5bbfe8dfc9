"""Channel control's cost on the hot paths, through a real SQLite file and PostgreSQL.

1. A vote through ChatFlow (settings and allow-lists checked from the 5 s cache) against the same vote straight
   to ArenaService.vote, in alternating batches: p50 per vote each, and their ratio (the flow's whole sequence).
2. The allow-list check alone, warm (what every command and click pays): microseconds per call, target <= 50 us,
   and its share of a vote's p50, target <= 1 %.
3. A settings read from the database (what a process pays once per channel every 5 s): p50.
4. The shared rate limit, one transaction per compare: p50, and its ratio to a vote's p50 (one transaction too),
   target <= 1. Beside a compare (models answering for seconds), either is noise."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

from adapters import loop as event_loop
from adapters.flow import ChatFlow
from benchmarks import figures, machine
from benchmarks.arena import (
    BASE,
    PLACE,
    TUNED,
    PostgresUnavailableError,
    bench_settings,
    postgres_url,
    sqlite_url,
    wired_service,
)
from bot.channels import ChannelControl
from bot.domain import Comparison, Matchup, Reveal, Tally
from bot.providers.echo import EchoProvider
from bot.ratelimit import SharedRateLimiter
from bot.service import ArenaService
from bot.statistics.report import ArenaReport

ROUNDS, QUICK_ROUNDS = 6, 2
BATCH = 200
WARM_CALLS = 100_000
COLD_CALLS, SLOTS = 300, 300


class QuietSurface:
    """A surface that shows nothing: the flow's own cost, with no platform's."""

    voter = "bench:member"
    place = PLACE
    update_interval = 1.0
    streams = False
    shows_ratings = False
    admins = "nobody"
    export_command = "/export"
    roles: tuple[str, ...] = ()

    def is_admin(self) -> bool:
        return False

    async def acknowledge(self, *, private: bool = False, note: str = "") -> None: ...
    async def refuse(self, text: str) -> None:
        raise AssertionError(text)

    async def withdraw(self, text: str) -> None: ...
    async def tell(self, text: str) -> None: ...
    async def show_comparison(self, comparison: Comparison) -> None: ...
    async def show_reveal(self, reveal: Reveal) -> None: ...
    async def show_votes(self, comparison: Comparison, votes: int) -> None: ...
    async def show_leaderboard(self, tallies: list[Tally], report: ArenaReport | None, chart: bytes | None,
                               heading: str = "", private: bool = False) -> None: ...
    async def show_models(self, matchups: Sequence[Matchup], default: str) -> None: ...
    async def send_file(self, path: Path, text: str) -> None: ...


async def _votes(service: ArenaService, rounds: int) -> tuple[list[float], list[float]]:
    flow, surface = ChatFlow(service), QuietSurface()
    comparison = await service.compare("Tell me how to train my dog to sit", "bench-user", PLACE)
    through_flow: list[float] = []
    direct: list[float] = []
    for n in range(rounds * 2 + 1):
        timings = direct if n % 2 else through_flow
        for i in range(BATCH):
            choice = "ab"[i % 2]
            started = time.perf_counter()
            if n % 2:
                await service.vote(comparison.id, surface.voter, choice)
            else:
                await flow.vote(surface, comparison.id, choice)
            if n:  # the first round warms caches and is not counted
                timings.append(time.perf_counter() - started)
    return through_flow, direct


async def _checks(service: ArenaService) -> tuple[float, list[float]]:
    control = service.channels
    await control.admit(PLACE, "bench:member", (), False)
    started = time.perf_counter()
    for _ in range(WARM_CALLS):
        await control.admit(PLACE, "bench:member", (), False)
    warm = (time.perf_counter() - started) / WARM_CALLS
    cold_control = ChannelControl(control.store, control.defaults, control.matchups, ttl_s=0)
    cold = []
    for _ in range(COLD_CALLS):
        started = time.perf_counter()
        await cold_control.effective(PLACE)
        cold.append(time.perf_counter() - started)
    return warm, cold


async def _slots(service: ArenaService) -> list[float]:
    limiter = SharedRateLimiter(service.repository, limit=1_000_000, window_s=60)
    timings = []
    for n in range(SLOTS):
        started = time.perf_counter()
        await limiter.take(f"bench:member-{n % 20}")
        timings.append(time.perf_counter() - started)
    return timings


async def measure(url: str, rounds: int) -> None:
    settings = bench_settings(url)
    providers = {name: EchoProvider(settings.models[name]) for name in (BASE, TUNED)}
    async with wired_service(url, providers, settings) as service:
        through_flow, direct = await _votes(service, rounds)
        warm, cold = await _checks(service)
        slots = await _slots(service)
    flow_p50, direct_p50 = figures.median(through_flow), figures.median(direct)
    figures.figure("vote straight to the service, p50", f"{direct_p50 * 1000:.3f} ms")
    figures.figure("vote through the flow (allow-lists checked), p50", f"{flow_p50 * 1000:.3f} ms")
    figures.figure("flow / service, p50 per vote", f"{flow_p50 / direct_p50:.3f}",
                   "the flow's whole sequence, the check included")
    figures.check("allow-list check, warm cache", warm * 1e6, " us", at_most=50, fmt="{:,.1f}")
    figures.check("its share of a vote (check / vote p50)", warm / direct_p50 * 100, " %", at_most=1,
                  fmt="{:,.2f}")
    figures.figure("settings read from the database, p50", f"{figures.median(cold) * 1000:.3f} ms",
                   "once per channel per process every 5 s")
    slot_p50 = figures.median(slots)
    figures.figure("shared rate limit per compare, p50", f"{slot_p50 * 1000:.3f} ms")
    figures.check("rate limit / vote, p50 (one transaction each)", slot_p50 / direct_p50, "", at_most=1.0)


def main(argv: Sequence[str] | None = None) -> None:
    args = figures.parse_args(__doc__ or "", argv)
    rounds = QUICK_ROUNDS if args.quick else ROUNDS
    figures.header("channels: channel control on the hot paths", machine.facts(),
                   f"{rounds} alternating rounds x {BATCH} votes per path; {WARM_CALLS:,} warm checks; "
                   f"{COLD_CALLS} settings reads; {SLOTS} rate-limit slots")
    with sqlite_url() as url:
        figures.section("SQLite")
        event_loop.run(measure(url, rounds))
    try:
        with postgres_url() as url:
            figures.section("PostgreSQL")
            event_loop.run(measure(url, rounds))
    except PostgresUnavailableError as exc:
        figures.skipped("PostgreSQL", str(exc))


if __name__ == "__main__":
    main()
