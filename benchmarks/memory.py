"""Memory measurements: peak RSS growth (``resource.getrusage`` maxrss), Python allocations (``tracemalloc``), and a
background sampler of the current RSS for showing that a long job's memory stays flat."""

from __future__ import annotations

import os
import resource
import threading
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

MB = 1024 * 1024
_PAGE = os.sysconf("SC_PAGE_SIZE")


def max_rss() -> int:
    """This process's peak resident set so far, in bytes (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def current_rss() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * _PAGE


@dataclass(frozen=True)
class Footprint:
    first_s: float  # the first run, the one whose maxrss growth is measured
    maxrss_growth: int  # bytes the process's peak RSS grew by during the first run
    times: list[float]  # the timed runs after it
    traced_peak: int  # tracemalloc's peak during one more run


async def footprint(work: Callable[[], Awaitable[object]], runs: int) -> Footprint:
    """Run ``work`` once for maxrss growth (the high-water mark only moves the first time, so this must come first
    in a fresh process), ``runs`` times for time without tracing, then once under tracemalloc."""
    before = max_rss()
    started = time.perf_counter()
    await work()
    first = time.perf_counter() - started
    growth = max_rss() - before
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        await work()
        times.append(time.perf_counter() - started)
    tracemalloc.start()
    try:
        await work()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return Footprint(first, growth, times, peak)


class RssSampler:
    """Samples the current RSS every ``interval`` seconds in a thread while the ``with`` block runs."""

    def __init__(self, interval: float = 0.05) -> None:
        self.interval = interval
        self.samples: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="rss-sampler", daemon=True)

    def _sample(self) -> None:
        while True:
            self.samples.append(current_rss())
            if self._stop.wait(self.interval):
                return

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.samples.append(current_rss())

    def at(self, fraction: float) -> int:
        """RSS at ``fraction`` of the way through the block (0 = start, 1 = end)."""
        return self.samples[min(len(self.samples) - 1, round(fraction * (len(self.samples) - 1)))]
