"""Per-member sliding-window rate limit for /compare: in one process (``RateLimiter``), or shared by every process
on one database (``SharedRateLimiter``, what ``ftarena serve`` uses)."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol

from bot.errors import RateLimitedError


class Limiter(Protocol):
    """Counts one comparison for a member, or raises RateLimitedError with the seconds to wait."""

    limit: int  # the configured comparisons per window (0: none)
    window_s: float

    async def take(self, member: str, limit: int | None = None) -> None:
        """``limit`` overrides the configured one for this call (the channel's setting); 0 disables it."""
        ...


class RateLimiter:
    """At most ``limit`` calls per member in any ``window_s`` seconds, counted in this process; 0 disables it."""

    def __init__(self, limit: int, window_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window_s = window_s
        self._clock = clock
        self._calls: dict[str, deque[float]] = {}

    def check(self, member: str, limit: int | None = None) -> None:
        """Count one call for ``member`` or raise RateLimitedError with the seconds to wait."""
        limit = self.limit if limit is None else limit
        if limit <= 0:
            return
        now = self._clock()
        calls = self._calls.setdefault(member, deque())
        while calls and now - calls[0] >= self.window_s:
            calls.popleft()
        if len(calls) >= limit:
            raise RateLimitedError(self.window_s - (now - calls[0]))
        calls.append(now)

    async def take(self, member: str, limit: int | None = None) -> None:
        self.check(member, limit)


class RateSlots(Protocol):
    """The part of the Repository port the shared limiter uses (bot/ports.py documents it)."""

    async def take_rate_slot(self, member: str, limit: int, window_s: float, at: datetime) -> float: ...


class SharedRateLimiter:
    """The same sliding window, held in the database: two processes on one database allow ``limit`` in all, not
    ``limit`` each. Costs one short transaction per comparison (a few ms beside seconds of generation)."""

    def __init__(self, slots: RateSlots, limit: int, window_s: float,
                 now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.slots = slots
        self.limit = limit
        self.window_s = window_s
        self._now = now

    async def take(self, member: str, limit: int | None = None) -> None:
        limit = self.limit if limit is None else limit
        if limit <= 0:
            return
        wait = await self.slots.take_rate_slot(member, limit, self.window_s, self._now())
        if wait > 0:
            raise RateLimitedError(wait)
