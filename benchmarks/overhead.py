"""Service overhead: what a compare costs beyond the models, through the service and a real SQLite file.

1. Instant echo models, compares one after another: compares per second and the p50 overhead per compare
   (compare time minus the time to drain both models directly, measured in the same batch). Target <= 2 ms.
2. 1,000 compares at once with echo models that take 1 s, against the same 2,000 model streams run directly
   without the service. Target: wall <= 1.3 s."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from datetime import UTC, datetime

from adapters import loop as event_loop
from benchmarks import figures, machine
from benchmarks.arena import BASE, PLACE, TUNED, bench_settings, echo_model, sqlite_url, wired_service
from bot.domain import Comparison, Side, Status
from bot.ports import Provider
from bot.providers.echo import EchoProvider
from bot.service import ArenaService, new_comparison_id

PROMPT = "Tell me how to train my dog to sit"
BATCHES, BATCH = 5, 200
QUICK_BATCHES, QUICK_BATCH = 3, 100
CONCURRENT = 1000
CONCURRENT_RUNS, QUICK_CONCURRENT_RUNS = 5, 2
SLOW_WORDS, SLOW_DELAY_S = 10, 0.1  # 10 words, 0.1 s before each: a 1 s model
TARGET_OVERHEAD_MS = 2.0
TARGET_CONCURRENT_S = 1.3


async def _drain_both(service: ArenaService) -> None:
    """Both models without the service: the floor a compare cannot go below."""
    params = service.matchup().base.params

    async def drain(provider: Provider) -> None:
        async for _ in provider.stream(PROMPT, params):
            pass

    await asyncio.gather(drain(service.providers[BASE]), drain(service.providers[TUNED]))


async def instant(batches: int, size: int) -> None:
    compares: list[float] = []
    direct: list[float] = []
    per_second: list[float] = []
    overhead_p50: list[float] = []
    add_s: list[float] = []
    save_s: list[float] = []
    with sqlite_url() as url:
        settings = bench_settings(url)
        providers = {name: EchoProvider(settings.models[name]) for name in (BASE, TUNED)}
        async with wired_service(url, providers, settings) as service:
            for _ in range(20):  # warm-up: statement caches, thread pool, SQLite pages
                await service.compare(PROMPT, "bench-user", PLACE)
            for _ in range(batches):
                batch_direct = []
                for _ in range(size):
                    started = time.perf_counter()
                    await _drain_both(service)
                    batch_direct.append(time.perf_counter() - started)
                batch = []
                batch_started = time.perf_counter()
                for _ in range(size):
                    started = time.perf_counter()
                    await service.compare(PROMPT, "bench-user", PLACE)
                    batch.append(time.perf_counter() - started)
                per_second.append(size / (time.perf_counter() - batch_started))
                overhead_p50.append(figures.median(batch) - figures.median(batch_direct))
                compares += batch
                direct += batch_direct
            # Diagnosis: the two storage calls every compare makes, timed alone on the same database.
            for _ in range(size):
                comparison = _finished_comparison()
                started = time.perf_counter()
                await service.repository.add_comparison(comparison)
                added = time.perf_counter()
                await service.repository.save_result(comparison)
                add_s.append(added - started)
                save_s.append(time.perf_counter() - added)

    ms = 1000.0
    figures.section(f"instant echo models, {batches} batches of {size} compares one after another")
    figures.figure("compares per second (median of batches)", f"{figures.median(per_second):,.0f} /s")
    tail = f"p90 {figures.percentile(compares, 90) * ms:.2f} ms, p99 {figures.percentile(compares, 99) * ms:.2f} ms"
    figures.figure("compare, p50 / p90 / p99", f"{figures.median(compares) * ms:.2f} ms", tail)
    figures.figure("both models drained directly, p50", f"{figures.median(direct) * ms:.3f} ms")
    figures.check("overhead per compare, p50 (median of batches)", figures.median(overhead_p50) * ms, " ms",
                  at_most=TARGET_OVERHEAD_MS, fmt="{:.2f}")
    figures.section("where it goes: repository calls alone, p50")
    figures.figure("add_comparison (INSERT, own transaction)", f"{figures.median(add_s) * ms:.2f} ms")
    figures.figure("save_result (UPDATE + 2 merges, own transaction)", f"{figures.median(save_s) * ms:.2f} ms")
    rest = figures.median(compares) - figures.median(add_s) - figures.median(save_s) - figures.median(direct)
    figures.figure("rest of compare (service logic, tasks, events)", f"{rest * ms:.2f} ms")


def _finished_comparison() -> Comparison:
    comparison = Comparison(
        id=new_comparison_id(), prompt=PROMPT, matchup="bench", model_a=BASE, model_b=TUNED, base_side=Side.A,
        blind=True, requester="bench-user", place=PLACE, created_at=datetime.now(UTC))
    comparison.status = Status.DONE
    comparison.reply_a.text = comparison.reply_b.text = "A short reply of eight words for benchmarks."
    return comparison


class StoredAt:
    """An ``on_update`` callback noting when each comparison was stored: the service calls it then, before any
    token, as it does for a chat adapter."""

    def __init__(self) -> None:
        self.times: dict[str, float] = {}

    async def __call__(self, comparison: Comparison) -> None:
        self.times.setdefault(comparison.id, time.perf_counter())


async def concurrent(runs: int) -> None:
    slow = echo_model(" ".join(f"word{i}" for i in range(SLOW_WORDS)), SLOW_DELAY_S)
    walls: list[float] = []
    direct_walls: list[float] = []
    last_stored: list[float] = []
    single: list[float] = []
    with sqlite_url() as url:
        settings = bench_settings(url, slow, slow)
        providers = {name: EchoProvider(settings.models[name]) for name in (BASE, TUNED)}
        async with wired_service(url, providers, settings) as service:
            await service.compare(PROMPT, "bench-user", PLACE)  # warm-up
            for _ in range(runs):
                started = time.perf_counter()
                await service.compare(PROMPT, "bench-user", PLACE)
                single.append(time.perf_counter() - started)

                started = time.perf_counter()
                await asyncio.gather(*(_drain_both(service) for _ in range(CONCURRENT)))
                direct_walls.append(time.perf_counter() - started)

                stored = StoredAt()
                started = time.perf_counter()
                results = await asyncio.gather(*(
                    service.compare(PROMPT, f"user{i}", PLACE, on_update=stored, update_interval=3600)
                    for i in range(CONCURRENT)))
                walls.append(time.perf_counter() - started)
                last_stored.append(max(stored.times.values()) - started)
                failed = sum(not (r.reply_a.ok and r.reply_b.ok) for r in results)
                if failed:
                    print(f"  warning: {failed} of {CONCURRENT} compares had a failed side")

    figures.section(f"{CONCURRENT:,} compares at once, 1 s echo models, {runs} runs, median")
    figures.figure("one compare alone", f"{figures.median(single):.3f} s")
    figures.figure(f"{CONCURRENT:,} x both models drained directly", f"{figures.median(direct_walls):.3f} s",
                   "no service, no database")
    figures.check(f"{CONCURRENT:,} compares through the service", figures.median(walls), " s",
                  at_most=TARGET_CONCURRENT_S)
    figures.figure("  of which: last comparison stored after", f"{figures.median(last_stored):.3f} s",
                   "the models run meanwhile")
    figures.figure("service wall / direct wall", f"{figures.median(walls) / figures.median(direct_walls):.2f}")


def main(argv: Sequence[str] | None = None) -> None:
    args = figures.parse_args(__doc__ or "", argv)
    batches, size = (QUICK_BATCHES, QUICK_BATCH) if args.quick else (BATCHES, BATCH)
    runs = QUICK_CONCURRENT_RUNS if args.quick else CONCURRENT_RUNS
    figures.header("overhead: service + SQLite cost per compare, and 1,000 concurrent compares", machine.facts(),
                   f"{batches} x {size} instant compares; {runs} x {CONCURRENT:,} concurrent 1 s compares")
    event_loop.run(instant(batches, size))
    event_loop.run(concurrent(runs))


if __name__ == "__main__":
    main()
