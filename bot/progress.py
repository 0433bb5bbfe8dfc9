"""Progress updates for a running comparison, paced without a task or timer of their own: the comparison's
code tells ``Progress`` when it is stored and when a reply grows, and an update starts when a reply grows
once one is due. A thousand comparisons at once then cost no waiting tasks or timers, only the updates
that really run. Text that arrives just before a model pauses shows with its next token, or in the final
message once the comparison is done."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from bot.domain import Comparison

log = logging.getLogger(__name__)

UpdateCallback = Callable[[Comparison], Awaitable[None]]


class Progress:
    """Calls ``callback`` once the comparison is stored, then as its replies grow: at most once per
    ``interval`` seconds, one call at a time, never after ``close`` returns. A failing update is logged
    and the comparison goes on; rendering progress is best effort."""

    def __init__(self, callback: UpdateCallback | None, comparison: Comparison, interval: float) -> None:
        self._callback = callback
        self._comparison = comparison
        self._interval = interval
        self._loop = asyncio.get_running_loop()
        self._stored = self._busy = False
        self._closed = callback is None
        self.shown = False  # whether an update has reached members (the first post can fail)
        self._next = 0.0  # loop time before which no update starts
        self._task: asyncio.Task[None] | None = None

    async def stored(self) -> None:
        """The comparison is in the database: members may see it now. The first update runs right here, in
        the caller's task (a thousand comparisons starting at once need no thousand more tasks)."""
        self._stored = True
        if not self._closed:
            self._busy = True
            await self._update()

    def changed(self) -> None:
        """A reply grew (called for every token: keep it cheap)."""
        if self._stored and not self._busy and not self._closed and self._loop.time() >= self._next:
            self._busy = True
            self._task = self._loop.create_task(self._update())

    async def close(self) -> None:
        """No update starts from now on; one already running is waited for."""
        self._closed = True
        if self._task is not None and not self._task.done():
            await asyncio.wait({self._task})

    async def finish(self) -> None:
        """The last update, once the comparison is stored with its result: it waits out the interval since the
        previous update (platforms rate-limit message edits), then runs even after ``close``. Unlike the
        updates before it, a failure here reaches the caller: the final message is the one members vote on."""
        await self.close()
        if self._callback is None:
            return
        delay = self._next - self._loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        self._next = self._loop.time() + self._interval
        await self._callback(self._comparison)

    async def _update(self) -> None:
        assert self._callback is not None
        self._next = self._loop.time() + self._interval
        try:
            await self._callback(self._comparison)
            self.shown = True
        except Exception:
            log.exception("progress update for comparison %s failed", self._comparison.id)
        finally:
            self._busy = False
