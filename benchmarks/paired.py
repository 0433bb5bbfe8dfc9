"""Paired generation: do both models of a compare really answer at the same time?

Two fake models that take 1.0 s and 0.8 s go through ``ArenaService.compare`` on SQLite. Each run also times
each model alone and both one after the other, as the seed lab called them, so every ratio comes from one run.
Target: compare wall / max(single) <= 1.05 (the one-after-the-other way is expected near 1.8)."""

from __future__ import annotations

import itertools
import time
from collections.abc import Awaitable, Callable, Sequence

from adapters import loop as event_loop
from benchmarks import figures, machine
from benchmarks.arena import BASE, PLACE, TUNED, SleepyProvider, sqlite_url, wired_service
from bot.domain import GenerationParams
from bot.providers.common import collect_reply

BASE_S = 1.0
TUNED_S = 0.8
RUNS = 7
QUICK_RUNS = 3
TARGET_RATIO = 1.05
PROMPT = "Tell me how to train my dog to sit"
PARAMS = GenerationParams()


async def _timed(work: Callable[[], Awaitable[object]]) -> float:
    started = time.perf_counter()
    await work()
    return time.perf_counter() - started


async def measure(runs: int) -> dict[str, list[float]]:
    base, tuned = SleepyProvider(BASE_S), SleepyProvider(TUNED_S)

    async def single_base() -> None:
        await collect_reply(base.stream(PROMPT, PARAMS))

    async def single_tuned() -> None:
        await collect_reply(tuned.stream(PROMPT, PARAMS))

    async def one_after_the_other() -> None:
        await single_base()
        await single_tuned()

    times: dict[str, list[float]] = {"single base": [], "single tuned": [], "compare": [], "sequential": []}
    with sqlite_url() as url:
        async with wired_service(url, {BASE: base, TUNED: tuned}) as service:

            async def compare() -> None:
                result = await service.compare(PROMPT, "bench-user", PLACE)
                if not (result.reply_a.ok and result.reply_b.ok):
                    raise RuntimeError(f"a fake model failed: {result.reply_a.error or result.reply_b.error}")

            await compare()  # warm-up: first SQLAlchemy statements compile, the thread pool starts
            steps = {"single base": single_base, "single tuned": single_tuned, "compare": compare,
                     "sequential": one_after_the_other}
            # Rotate the order from run to run so no step always runs first (or last).
            orders = itertools.cycle(itertools.permutations(steps))
            for _ in range(runs):
                for name in next(orders):
                    times[name].append(await _timed(steps[name]))
    return times


def report(times: dict[str, list[float]]) -> None:
    slowest = [max(a, b) for a, b in zip(times["single base"], times["single tuned"], strict=True)]
    compare_ratio = [c / s for c, s in zip(times["compare"], slowest, strict=True)]
    sequential_ratio = [q / s for q, s in zip(times["sequential"], slowest, strict=True)]
    figures.section("wall time, median")
    for name, label in (("single base", f"base model alone ({BASE_S:g} s fake)"),
                        ("single tuned", f"tuned model alone ({TUNED_S:g} s fake)"),
                        ("compare", "ArenaService.compare (both + SQLite)"),
                        ("sequential", "one after the other (seed lab)")):
        figures.figure(label, f"{figures.median(times[name]):.3f} s")
    figures.section("ratios within each run, median")
    figures.check("compare / max(single)", figures.median(compare_ratio), "", at_most=TARGET_RATIO)
    figures.figure("one after the other / max(single)", f"{figures.median(sequential_ratio):.3f}",
                   "expected about 1.8")
    figures.figure("one after the other / compare",
                   f"{figures.median([q / c for q, c in zip(times['sequential'], times['compare'], strict=True)]):.3f}",
                   "speed-up of answering side by side")
    figures.figure("compare / max(single), worst run", f"{max(compare_ratio):.3f}")


def main(argv: Sequence[str] | None = None) -> None:
    args = figures.parse_args(__doc__ or "", argv)
    runs = QUICK_RUNS if args.quick else RUNS
    figures.header("paired: two fake models (1.0 s and 0.8 s) through ArenaService.compare on SQLite",
                   machine.facts(), f"{runs} per step, steps in rotating order, after one warm-up compare")
    report(event_loop.run(measure(runs)))


if __name__ == "__main__":
    main()
