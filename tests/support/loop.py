"""Watch the event loop while something runs: a 10 ms ticker counts how often it got to run."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

TICK_S = 0.01


@dataclass
class LoopWatch:
    ticks: int = 0
    elapsed: float = 0.0

    @property
    def responsive(self) -> bool:
        """The loop ran at least 30% of the ticks it could have: nothing blocked it for long."""
        return self.ticks >= self.elapsed / TICK_S * 0.3


@asynccontextmanager
async def watch_loop() -> AsyncIterator[LoopWatch]:
    watch = LoopWatch()

    async def tick() -> None:
        while True:
            await asyncio.sleep(TICK_S)
            watch.ticks += 1

    task = asyncio.create_task(tick())
    started = time.perf_counter()
    try:
        yield watch
    finally:
        watch.elapsed = time.perf_counter() - started
        task.cancel()
