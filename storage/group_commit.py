"""Group commit: writes that arrive while a batch is being written wait for the next one, which runs them all,
in order, in one transaction and one thread hop (the costs a single write would pay alone).

What it buys: with the Core connections that came the same day, 50 concurrent voters went from 488 to 5,667
votes/s on SQLite and from 393 to 2,120 on PostgreSQL (benchmarks/RESULTS.md, 2026-11-22). What it costs: a
write waits for the batch ahead of it, and a batch that fails as a whole fails every write in it."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from typing import Generic, TypeVar

from sqlalchemy import Connection

from storage.transactions import Transactions

WRITE_BATCH = 500
R = TypeVar("R")
Out = TypeVar("Out")
BatchWrite = Callable[[list[R], Connection], list[Out | Exception]]


class GroupCommit(Generic[R, Out]):
    """Batches of requests, each written by ``write`` in one of ``transactions``. ``write`` returns one result
    or exception per request; a batch that fails as a whole fails each of its requests (the member is told
    to try again)."""

    def __init__(self, transactions: Transactions, write: BatchWrite[R, Out], max_batch: int = WRITE_BATCH) -> None:
        self._transactions = transactions
        self._write = write
        self._max_batch = max_batch
        self._pending: list[tuple[R, asyncio.Future[Out]]] = []
        self._writer: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def submit(self, request: R) -> Out:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            # A repository outliving its event loop (asyncio.run twice): that loop's writer is gone.
            self._loop, self._pending, self._writer = loop, [], None
        future: asyncio.Future[Out] = loop.create_future()
        self._pending.append((request, future))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        while self._pending:
            batch, self._pending = self._pending[: self._max_batch], self._pending[self._max_batch:]
            requests = [request for request, _ in batch]
            try:
                outcomes = await self._transactions.run(functools.partial(self._write, requests))
            except Exception as exc:  # the batch's error belongs to every request in it, not to this task
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for (_, future), outcome in zip(batch, outcomes, strict=True):
                if future.done():
                    continue
                if isinstance(outcome, Exception):
                    future.set_exception(outcome)
                else:
                    future.set_result(outcome)
