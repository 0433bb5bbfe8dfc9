"""Per-member sliding-window rate limit for /compare."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

from bot.errors import RateLimitedError


class RateLimiter:
    """At most ``limit`` calls per member in any ``window_s`` seconds; ``limit`` 0 disables it."""

    def __init__(self, limit: int, window_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window_s = window_s
        self._clock = clock
        self._calls: dict[str, deque[float]] = {}

    def check(self, member: str) -> None:
        """Count one call for ``member`` or raise RateLimitedError with the seconds to wait."""
        if self.limit <= 0:
            return
        now = self._clock()
        calls = self._calls.setdefault(member, deque())
        while calls and now - calls[0] >= self.window_s:
            calls.popleft()
        if len(calls) >= self.limit:
            raise RateLimitedError(self.window_s - (now - calls[0]))
        calls.append(now)
