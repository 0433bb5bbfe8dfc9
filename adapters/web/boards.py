"""The leaderboard as the web serves it: per slice, one ``Board`` (the report, the win rates, the API's JSON and
the rendered board) made once and shared by every visitor until it is refreshed.

Stale while revalidating: once a board is older than the service's report cache, the next request starts one
refresh in the background and is still answered with the board it has, so a fit that takes seconds at a million
votes never holds a visitor up (only the very first request of a slice waits, behind a single-flight lock).
Measured in benchmarks/web.py; the cost is a board up to one fit older than the cache says."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from adapters import charts
from bot.domain import Tally
from bot.errors import ArenaError
from bot.reports import REPORT_CACHE_S
from bot.service import ArenaService
from bot.statistics.report import ArenaReport, report_json
from bot.statistics.slices import BattleQuery

log = logging.getLogger(__name__)

MAX_SLICES = 256  # boards kept at once; filters are typed by visitors, so the cache must not grow without bound


@dataclass
class Board:
    report: ArenaReport
    tallies: list[Tally]
    json: bytes  # /api/leaderboard: the object ``ftarena leaderboard --json`` prints
    html: str  # the live part of the page (templates/_board.html), rendered once
    made: float = field(default_factory=time.monotonic)
    png: bytes | None = None  # the chart, drawn on first request

    async def chart(self) -> bytes:
        if self.png is None:
            self.png = await asyncio.to_thread(charts.chart_png, self.report)
        return self.png


class Boards:
    def __init__(self, service: ArenaService, render: Callable[[ArenaReport, list[Tally]], str]) -> None:
        self.service = service
        self._render = render
        self._boards: dict[BattleQuery, Board] = {}
        self._locks: dict[BattleQuery, asyncio.Lock] = {}
        self._refreshing: dict[BattleQuery, asyncio.Task[None]] = {}

    async def get(self, query: BattleQuery) -> Board:
        board = self._boards.get(query)
        if board is None:
            async with self._locks.setdefault(query, asyncio.Lock()):
                board = self._boards.get(query) or await self._make(query)
            return board
        if time.monotonic() - board.made >= REPORT_CACHE_S and query not in self._refreshing:
            self._refreshing[query] = asyncio.create_task(self._refresh(query))
        return board

    async def _make(self, query: BattleQuery) -> Board:
        report = await self.service.report(query, verdicts=True)
        configured = query.matchup is None or query.matchup in self.service.matchups
        tallies = await self.service.leaderboard(query.matchup) if configured else []
        board = Board(report=report, tallies=tallies, json=json.dumps(report_json(report)).encode(),
                      html=self._render(report, tallies))
        if len(self._boards) >= MAX_SLICES and query not in self._boards:
            self._boards.pop(next(iter(self._boards)))
            self._locks = {q: lock for q, lock in self._locks.items() if q in self._boards or lock.locked()}
        self._boards[query] = board
        return board

    async def _refresh(self, query: BattleQuery) -> None:
        try:
            await self._make(query)
        except ArenaError as exc:
            log.warning("could not refresh the leaderboard: %s", exc.user_message)
        except Exception:
            log.exception("could not refresh the leaderboard")
        finally:
            del self._refreshing[query]
