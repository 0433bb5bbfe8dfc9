"""SqlAlchemyRepository: the core's Repository port on SQLite or PostgreSQL.

Each call runs its blocking database work in a worker thread, in one short transaction (storage/transactions.py);
clicks and comparison writes go through group commit (storage/group_commit.py). What each job does lives in its
module: votes.py, comparisons.py, battles.py, csv_export.py, people.py, registry.py (the model registry)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import IO, Any

from sqlalchemy import Connection, Engine, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from bot.channels import StoredSetting
from bot.domain import Choice, Comparison, Counts, Place, Status, Vote
from bot.errors import StorageError, UnknownComparisonError
from bot.export import ExportOptions, judge_for
from bot.judgement import JudgedComparison, Judgement
from bot.ports import Battle, ComparisonFilter, ComparisonPage, Forgotten, OutcomeCount
from bot.statistics.slices import BattleQuery, BattleSet
from bot.statistics.vote_table import VoteTable
from storage import announcements, battles, browse, channels, csv_export, judgements, people, vote_table
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

    async def vote_table(self, query: BattleQuery) -> VoteTable:
        return await self._run(lambda connection: vote_table.vote_table(connection, query))

    async def vote_places(self, matchup: str) -> list[Place]:
        return await self._run(lambda connection: announcements.vote_places(connection, matchup))

    async def claim_announcements(self, matchup: str, places: Sequence[Place], state: str,
                                  at: datetime) -> list[Place]:
        return await self._run(lambda connection: announcements.claim(connection, matchup, places, state, at))

    async def votes_per_voter(self, query: BattleQuery) -> list[int]:
        return await self._run(lambda connection: battles.votes_per_voter(connection, query))

    async def browse(self, query: ComparisonFilter) -> ComparisonPage:
        return await self._run(lambda connection: browse.browse(connection, query))

    async def votes_on(self, comparison_id: str) -> list[Vote]:
        return await self._run(lambda connection: browse.votes_on(connection, comparison_id))

    async def scope_settings(self, platform: str, server: str, channel: str) -> list[StoredSetting]:
        return await self._run(lambda connection: channels.scope_settings(connection, platform, server, channel))

    async def put_settings(self, platform: str, server: str, channel: str, values: Mapping[str, str | None],
                           by: str, at: datetime) -> None:
        await self._run(lambda connection: channels.put_settings(connection, platform, server, channel, values,
                                                                  by, at))

    async def take_rate_slot(self, member: str, limit: int, window_s: float, at: datetime) -> float:
        return await self._run(lambda connection: channels.take_rate_slot(connection, member, limit, window_s, at))
    async def record_feedback(self, comparison_id: str, voter: str, text: str) -> bool:
        return await self._run(lambda connection: people.record_feedback(connection, comparison_id, voter, text))

    async def forget(self, voter: str, dry_run: bool = False) -> Forgotten:
        return await self._run(lambda connection: people.forget(connection, voter, dry_run))

    async def installation_value(self, key: str, proposed: str) -> str:
        return await self._run(lambda connection: people.installation_value(connection, key, proposed))

    async def prune_rate_slots(self, before: datetime) -> int:
        return await self._run(lambda connection: channels.prune_rate_slots(connection, before))
    async def save_judgement(self, judgement: Judgement) -> None:
        try:
            await self._run(lambda connection: judgements.save_judgement(connection, judgement))
        except IntegrityError:  # the only constraint an upsert can break: the comparison's key
            raise UnknownComparisonError(judgement.comparison_id) from None

    async def judged(self, matchup: str | None = None, judge: str | None = None, *, platform: str | None = None,
                     server: str | None = None, channel: str | None = None) -> list[JudgedComparison]:
        where = {"matchup": matchup, "platform": platform, "server": server, "channel": channel}
        return await self._run(lambda connection: judgements.judged(connection, judge, where))

    async def unjudged(self, judge: str, matchup: str | None = None, limit: int | None = None) -> list[str]:
        return await self._run(lambda connection: judgements.unjudged(connection, judge, matchup, limit))

    def iter_battles(self, query: BattleQuery | None = None, by_comparison: bool = False) -> Iterator[Battle]:
        with self.engine.connect() as connection:
            yield from battles.iter_battles(connection, query, by_comparison)

    async def has_later_turns(self, query: BattleQuery | None = None) -> bool:
        return await self._run(lambda connection: battles.has_later_turns(connection, query))

    def write_csv(self, out: IO[str], options: ExportOptions, query: BattleQuery | None = None) -> int:
        with self.engine.connect() as connection:
            return csv_export.write_csv(connection, out, battles.export_conditions(query), judge_for(options))


def _write_comparisons(requests: list[Write], connection: Connection) -> list[Exception | None]:
    """A batch of comparison writes, and the CSV rendering of each finished one stored with it (the CSV
    export's fast path, storage/csv_export.py)."""
    written = write_comparisons(requests, connection)
    csv_export.store_renderings(connection, [c for kind, c in requests if kind == SAVE])
    return written
