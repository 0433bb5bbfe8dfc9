"""Helpers shared by providers: draining a stream into a Reply, bounded retries with backoff."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeVar

from bot.domain import LengthLimit, Reply
from bot.errors import ModelUnavailableError, ProviderError, ProviderRateLimitError

log = logging.getLogger(__name__)
T = TypeVar("T")

RETRIES = 3
BACKOFF_S = 0.5
# Worth another try: the server asked us to slow down, or failed in a way that may pass.
RETRYABLE: tuple[type[ProviderError], ...] = (ProviderRateLimitError, ModelUnavailableError)


async def collect_reply(pieces: AsyncIterator[str | LengthLimit]) -> Reply:
    """Drain a token stream into one Reply with its token count and latency."""
    started = time.perf_counter()
    reply = Reply()
    async for piece in pieces:
        if isinstance(piece, LengthLimit):
            reply.cut = True
            continue
        reply.text += piece
        reply.tokens += 1
    reply.latency_ms = round((time.perf_counter() - started) * 1000)
    return reply


async def with_retries(attempt: Callable[[], Awaitable[T]], *, name: str, retries: int = RETRIES,
                       backoff_s: float = BACKOFF_S, never: tuple[type[Exception], ...] = ()) -> T:
    """Run ``attempt``; retry rate limits and server failures up to ``retries`` more times with
    exponential backoff. Errors in ``never`` (and auth failures, which are not retryable) go straight up."""
    for number in range(retries + 1):
        try:
            return await attempt()
        except never:
            raise
        except RETRYABLE as exc:
            if number == retries:
                raise
            delay = backoff_s * 2**number
            # One line per failed attempt; what exactly failed is at debug level where it was raised.
            log.warning("model %s: %s Retry %d/%d in %.1f s.", name, exc.user_message, number + 1, retries, delay)
            await asyncio.sleep(delay)
    raise AssertionError("unreachable")
