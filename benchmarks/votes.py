"""Vote throughput: 50 voters clicking at once through ``ArenaService.vote`` on SQLite and on PostgreSQL.

Every voter votes once on each of a set of finished comparisons, so the votes table must end up holding exactly
as many rows as votes were sent; the count is read back from the database and printed. PostgreSQL comes from
$FTARENA_TEST_POSTGRES_URL (a fresh schema, dropped afterwards) and is skipped with the reason when unreachable.
Targets: 5,000 votes/s on SQLite, 2,000 votes/s on PostgreSQL."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import func, select

from adapters import loop as event_loop
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
from bot.domain import Choice
from bot.providers.echo import EchoProvider
from bot.service import ArenaService
from storage.database import make_engine
from storage.orm import VoteRow

VOTERS = 50
COMPARISONS = 20
RUNS, QUICK_RUNS = 5, 2
PROBES, QUICK_PROBES = 200, 50
TARGETS = {"SQLite": 5000.0, "PostgreSQL": 2000.0}
CHOICES = tuple(Choice)


@dataclass
class VoteRuns:
    """What one backend did: votes/s per run, votes sent and rows found, and single-voter latencies."""

    rates: list[float] = field(default_factory=list)
    sent: int = 0
    stored: int = 0
    probes: dict[str, list[float]] = field(default_factory=dict)


async def _storm(service: ArenaService, comparison_ids: list[str], tag: str, seed: int) -> int:
    """``VOTERS`` concurrent voters, each voting once on every comparison in an order of its own."""
    sent = 0

    async def voter(number: int) -> None:
        nonlocal sent
        rng = random.Random(seed * 1000 + number)
        order = rng.sample(comparison_ids, len(comparison_ids))
        for cid in order:
            await service.vote(cid, f"{tag}-voter{number}", rng.choice(CHOICES))
            sent += 1

    await asyncio.gather(*(voter(n) for n in range(VOTERS)))
    return sent


async def _probe(service: ArenaService, comparison_ids: list[str], count: int) -> dict[str, list[float]]:
    """One voter alone: the latency of a whole vote and of each repository call it makes."""
    repo = service.repository
    timings: dict[str, list[float]] = {"vote": [], "get_comparison": [], "record_vote": [], "counts": []}
    for i in range(count):
        cid = comparison_ids[i % len(comparison_ids)]
        started = time.perf_counter()
        await service.vote(cid, f"probe{i}", Choice.A)
        timings["vote"].append(time.perf_counter() - started)
        started = time.perf_counter()
        await repo.get_comparison(cid)
        timings["get_comparison"].append(time.perf_counter() - started)
        started = time.perf_counter()
        await repo.record_vote(cid, f"probe{i}", Choice.B, datetime.now(UTC))
        timings["record_vote"].append(time.perf_counter() - started)
        started = time.perf_counter()
        await repo.counts(cid)
        timings["counts"].append(time.perf_counter() - started)
    return timings


_UPSERT = ("INSERT INTO votes (comparison_id, voter, choice, changes, created_at, updated_at) "
           "VALUES ({p}, {p}, {p}, 0, {p}, {p}) ON CONFLICT (comparison_id, voter) DO UPDATE SET "
           "previous_choice = votes.choice, choice = excluded.choice, updated_at = excluded.updated_at")


def _driver_floor(url: str, comparison_id: str, count: int) -> list[float]:
    """The same upsert through the bare DB-API driver, one commit per vote: what the database itself costs."""
    engine = make_engine(url)
    try:
        connection = engine.raw_connection()
        try:
            sql = _UPSERT.format(p="?" if engine.dialect.name == "sqlite" else "%s")
            at = datetime.now(UTC).replace(tzinfo=None).isoformat(sep=" ")
            timings = []
            for i in range(count):
                started = time.perf_counter()
                cursor = connection.cursor()
                cursor.execute(sql, (comparison_id, f"floor{i}", "a", at, at))
                cursor.close()
                connection.commit()
                timings.append(time.perf_counter() - started)
            return timings
        finally:
            connection.close()
    finally:
        engine.dispose()


def _stored_votes(url: str) -> int:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return int(connection.execute(select(func.count()).select_from(VoteRow)).scalar_one())
    finally:
        engine.dispose()


async def measure(url: str, runs: int, probes: int) -> VoteRuns:
    settings = bench_settings(url)
    providers = {name: EchoProvider(settings.models[name]) for name in (BASE, TUNED)}
    result = VoteRuns()
    async with wired_service(url, providers, settings) as service:
        ids = [(await service.compare(f"Prompt {i}", "bench-user", PLACE)).id for i in range(COMPARISONS)]
        result.sent += await _storm(service, ids[:2], "warmup", 0)
        for run in range(runs):
            started = time.perf_counter()
            sent = await _storm(service, ids, f"run{run}", run + 1)
            result.rates.append(sent / (time.perf_counter() - started))
            result.sent += sent
        result.probes = await _probe(service, ids, probes)
        result.probes["driver"] = await asyncio.to_thread(_driver_floor, url, ids[0], probes)
        # Probe voters vote once each (record_vote in the probe changes that same vote); so do the floor's.
        result.sent += 2 * probes
    result.stored = await asyncio.to_thread(_stored_votes, url)
    return result


def report(backend: str, result: VoteRuns) -> None:
    ms = 1000.0
    figures.section(backend)
    figures.check(f"votes per second, {VOTERS} concurrent voters (median)", figures.median(result.rates), " /s",
                  at_least=TARGETS[backend], fmt="{:,.0f}")
    figures.figure("  runs (votes/s)", ", ".join(f"{r:,.0f}" for r in result.rates))
    same = "equal" if result.sent == result.stored else "DIFFERENT"
    figures.figure("votes sent / rows in the votes table", f"{result.sent:,} / {result.stored:,}", same)
    figures.figure("one voter alone: ArenaService.vote, p50", f"{figures.median(result.probes['vote']) * ms:.2f} ms")
    for call in ("get_comparison", "record_vote", "counts"):
        figures.figure(f"  repository.{call}, p50", f"{figures.median(result.probes[call]) * ms:.2f} ms")
    floor = figures.median(result.probes["driver"])
    figures.figure("bare driver upsert + commit, one thread, p50", f"{floor * ms:.3f} ms",
                   f"= {1 / floor:,.0f} votes/s: the database's own cost")


def main(argv: Sequence[str] | None = None) -> None:
    args = figures.parse_args(__doc__ or "", argv)
    runs, probes = (QUICK_RUNS, QUICK_PROBES) if args.quick else (RUNS, PROBES)
    figures.header("votes: ArenaService.vote with 50 concurrent voters", machine.facts(),
                   f"{runs} x {VOTERS * COMPARISONS:,} votes ({VOTERS} voters x {COMPARISONS} comparisons) "
                   f"per backend after a warm-up; {probes} single-voter probes")
    with sqlite_url() as url:
        report("SQLite", event_loop.run(measure(url, runs, probes)))
    try:
        with postgres_url() as url:
            report("PostgreSQL", event_loop.run(measure(url, runs, probes)))
    except PostgresUnavailableError as exc:
        figures.section("PostgreSQL")
        figures.skipped("votes per second", str(exc))


if __name__ == "__main__":
    main()
