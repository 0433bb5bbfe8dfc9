"""Watch the event loop while something runs: a 10 ms ticker notes how long the loop ever went without
running it. A call that blocks the loop shows as a stall at least as long as the call; threads competing
for the GIL or the CPU only delay ticks by a few switch intervals."""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from adapters.loop import freeze_heap

TICK_S = 0.01
# Longest stall allowed: well under the blocking calls the tests guard against (a 0.5 s model timeout, a
# model load of seconds), well over a busy 2-core machine's scheduling and a full garbage collection.
MAX_STALL_S = 0.25


@dataclass
class LoopWatch:
    ticks: int = 0
    elapsed: float = 0.0
    longest_stall: float = 0.0

    @property
    def responsive(self) -> bool:
        """Nothing held the loop for long."""
        return self.longest_stall < MAX_STALL_S


@asynccontextmanager
async def watch_loop() -> AsyncIterator[LoopWatch]:
    """The test process's heap, hundreds of tests deep, is set aside first, as the app's entry points set
    theirs aside at start: a full collection of it held this loop for up to 0.7 s, which is not the code
    under test."""
    freeze_heap()
    watch = LoopWatch()
    last = started = time.perf_counter()

    async def tick() -> None:
        nonlocal last
        while True:
            await asyncio.sleep(TICK_S)
            now = time.perf_counter()
            watch.longest_stall = max(watch.longest_stall, now - last - TICK_S)
            watch.ticks += 1
            last = now

    task = asyncio.create_task(tick())
    try:
        yield watch
    finally:
        watch.elapsed = time.perf_counter() - started
        watch.longest_stall = max(watch.longest_stall, watch.elapsed - (last - started) - TICK_S)
        task.cancel()
        gc.unfreeze()
