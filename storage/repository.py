"""SqlAlchemyRepository: the core's Repository port on SQLite or PostgreSQL.

Each call runs its blocking database work in a worker thread, in one short transaction (storage/transactions.py);
clicks and comparison writes go through group commit (storage/group_commit.py). What each job does lives in its
module: votes.py, comparisons.py, battles.py, csv_export.py, registry.py (the model registry)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import datetime
from typing import IO, Any

from sqlalchemy import Connection, Engine, update
from sqlalchemy.exc import SQLAlchemyError

from bot.domain import Choice, Comparison, Counts, Status, Vote
from bot.errors import StorageError
from bot.export import ExportOptions, judge_for
from bot.ports import Battle, ComparisonFilter, ComparisonPage, OutcomeCount
from bot.statistics.slices import BattleQuery, BattleSet
from storage import battles, browse, csv_export
from storage.comparisons import ADD, SAVE, Write, load_comparisons, write_comparisons
from storage.group_commit import GroupCommit
from storage.orm import ComparisonRow
from storage.registry import RegistryStore
from storage.transactions import Transactions
from storage.votes import VoteOutcome, VoteRequest, counts_in, upsert_vote, write_votes


class SqlAlchemyRepository(RegistryStore):
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._transactions = Transactions(engine)
        self._run = self._transactions.run
        self._votes: GroupCommit[VoteRequest, VoteOutcome] = GroupCommit(self._transactions, write_votes)
        self._comparisons: GroupCommit[Write, None] = GroupCommit(self._transactions, _write_comparisons)

    async def ping(self) -> None:
        await asyncio.to_thread(self._ping)

    def _ping(self) -> None:
        # Once, not retried: a health check reports what it finds now.
        try:
            with self.engine.connect() as connection:
                connection.exec_driver_sql("SELECT 1")
        except SQLAlchemyError as exc:
            raise StorageError("The database is unreachable.") from exc

    async def add_comparison(self, comparison: Comparison) -> None:
        await self._comparisons.submit((ADD, comparison))

    async def save_result(self, comparison: Comparison) -> None:
        await self._comparisons.submit((SAVE, comparison))

    async def get_comparison(self, comparison_id: str) -> Comparison | None:
        found = await self._run(lambda connection: load_comparisons(connection, [comparison_id]))
        return found.get(comparison_id)

    async def record_vote(
        self, comparison_id: str, voter: str, choice: Choice, at: datetime
    ) -> tuple[Vote, Choice | None]:
        return await self._run(lambda connection: upsert_vote(connection, comparison_id, voter, choice, at))

    async def record_vote_and_count(
        self, comparison_id: str, voter: str, choice: Choice, at: datetime
    ) -> tuple[Vote, Choice | None, Counts]:
        return await self._votes.submit(VoteRequest(comparison_id, voter, choice, at))

    async def counts(self, comparison_id: str) -> Counts:
        return await self._run(lambda connection: counts_in(connection, comparison_id))

    async def outcome_counts(self, matchup: str | None = None) -> list[OutcomeCount]:
        return await self._run(lambda connection: battles.outcome_counts(connection, matchup))

    async def fail_unfinished(self, older_than: datetime | None = None, matchup: str | None = None) -> int:
        def work(connection: Connection) -> int:
            stmt = update(ComparisonRow).where(ComparisonRow.status == Status.RUNNING.value)
            if matchup is not None:
                stmt = stmt.where(ComparisonRow.matchup == matchup)
            if older_than is not None:
                stmt = stmt.where(ComparisonRow.created_at < older_than)
            result: Any = connection.execute(stmt.values(status=Status.FAILED.value))
            return int(result.rowcount or 0)

        return await self._run(work)

    async def battle_set(self, query: BattleQuery) -> BattleSet:
        return await self._run(lambda connection: battles.battle_set(connection, query))

    async def votes_per_voter(self, query: BattleQuery) -> list[int]:
        return await self._run(lambda connection: battles.votes_per_voter(connection, query))

    async def browse(self, query: ComparisonFilter) -> ComparisonPage:
        return await self._run(lambda connection: browse.browse(connection, query))

    async def votes_on(self, comparison_id: str) -> list[Vote]:
        return await self._run(lambda connection: browse.votes_on(connection, comparison_id))

    def iter_battles(self, query: BattleQuery | None = None, by_comparison: bool = False) -> Iterator[Battle]:
        with self.engine.connect() as connection:
            yield from battles.iter_battles(connection, query, by_comparison)

    def write_csv(self, out: IO[str], options: ExportOptions, query: BattleQuery | None = None) -> int:
        with self.engine.connect() as connection:
            return csv_export.write_csv(connection, out, battles.export_conditions(query), judge_for(options))


def _write_comparisons(requests: list[Write], connection: Connection) -> list[Exception | None]:
    """A batch of comparison writes, and the CSV rendering of each finished one stored with it (the CSV
    export's fast path, storage/csv_export.py)."""
    written = write_comparisons(requests, connection)
    csv_export.store_renderings(connection, [c for kind, c in requests if kind == SAVE])
    return written
