"""Progress updates for a running comparison, paced without a task of their own: the comparison's code
tells ``Progress`` when it is stored and when a reply grows, and an update starts only when one is due.
A thousand comparisons at once then cost no waiting tasks, only the updates that really run."""

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
        self._stored = self._changed = False
        self._closed = callback is None
        self._next = 0.0  # loop time before which no update starts
        self._running: asyncio.Task[None] | None = None
        self._timer: asyncio.TimerHandle | None = None

    def stored(self) -> None:
        """The comparison is in the database: members may see it now."""
        self._stored = True
        if not self._closed:
            self._start()

    def changed(self) -> None:
        """A reply grew (called for every token: keep it cheap)."""
        self._changed = True
        if self._stored and self._running is None and self._timer is None and not self._closed:
            self._schedule()

    async def close(self) -> None:
        """No update starts from now on; one already running is waited for."""
        self._closed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._running is not None:
            await asyncio.wait({self._running})

    def _schedule(self) -> None:
        delay = self._next - self._loop.time()
        if delay <= 0:
            self._start()
        else:
            self._timer = self._loop.call_later(delay, self._due)

    def _due(self) -> None:
        self._timer = None
        if self._changed and self._running is None and not self._closed:
            self._start()

    def _start(self) -> None:
        self._changed = False
        self._next = self._loop.time() + self._interval
        self._running = self._loop.create_task(self._update())

    async def _update(self) -> None:
        assert self._callback is not None
        try:
            await self._callback(self._comparison)
        except Exception:
            log.exception("progress update for comparison %s failed", self._comparison.id)
        finally:
            self._running = None
        if self._changed and not self._closed:
            self._schedule()
