"""Transactions: each piece of database work in one short transaction, in a worker thread, retried while
the database is briefly unreachable, so no vote is silently dropped."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError

from bot.errors import StorageError

log = logging.getLogger(__name__)

RETRIES = 4
RETRY_BASE_DELAY_S = 0.2
T = TypeVar("T")


class Transactions:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    async def run(self, work: Callable[[Connection], T]) -> T:
        """``work`` in one transaction, in a worker thread (the event loop never waits on the database)."""
        return await asyncio.to_thread(self.run_blocking, work)

    def run_blocking(self, work: Callable[[Connection], T]) -> T:
        """``work`` in one transaction; a locked or briefly unreachable database is retried with backoff,
        and only then reported."""
        for attempt in range(RETRIES):
            try:
                # Core connections, not ORM sessions: these paths are hot and need no identity map.
                with self.engine.begin() as connection:
                    return work(connection)
            except OperationalError as exc:
                # SQLite's busy timeout has already waited for the lock; waiting again only stalls.
                locked = "database is locked" in str(exc.orig)
                if attempt == RETRIES - 1 or locked:
                    log.error("database unavailable after %d tries: %s", RETRIES, exc.orig.__class__.__name__)
                    raise StorageError("The database is busy or unreachable; please try again.") from exc
                time.sleep(RETRY_BASE_DELAY_S * 2**attempt)
            except IntegrityError:
                raise
            except SQLAlchemyError as exc:
                log.error("database error: %s", type(exc).__name__)
                raise StorageError("The database failed; please try again.") from exc
        raise AssertionError("unreachable")
