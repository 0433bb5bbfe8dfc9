"""Keep edits of one chat message at least an interval apart (platforms rate-limit message edits)."""

from __future__ import annotations

import asyncio
import time


class Pacer:
    def __init__(self, interval_s: float) -> None:
        self.interval_s = interval_s
        self._last: float | None = None

    async def wait(self) -> None:
        """Sleep until an interval has passed since the previous edit, then count this one."""
        if self._last is not None:
            await asyncio.sleep(max(0.0, self.interval_s - (time.monotonic() - self._last)))
        self._last = time.monotonic()
