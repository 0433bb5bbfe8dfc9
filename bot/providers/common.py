"""Helpers shared by providers."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

from bot.domain import Reply


async def collect_reply(pieces: AsyncIterator[str]) -> Reply:
    """Drain a token stream into one Reply with its token count and latency."""
    started = time.perf_counter()
    reply = Reply()
    async for piece in pieces:
        reply.text += piece
        reply.tokens += 1
    reply.latency_ms = round((time.perf_counter() - started) * 1000)
    return reply
