"""SqlAlchemyRepository: the core's Repository port on SQLite or PostgreSQL.

Each call runs its blocking database work in a worker thread, in one short transaction."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    case,
    func,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError

from bot.analysis import BattleQuery, BattleSet, FilterStep
from bot.arena_ratings import BattleCount
from bot.domain import Choice, Comparison, Counts, Place, Reply, Side, Status, Vote
from bot.errors import StorageError
from bot.export import WINNER
from bot.ports import Battle, ComparisonFilter, ComparisonPage, CsvChunk, CsvFile, OutcomeCount
from storage import browse, exports
from storage.orm import ComparisonRow, ReplyRow, VoteRow
from storage.rows import load_comparisons
from storage.writes import (
    Batcher,
    VoteOutcome,
    VoteRequest,
    counts_in,
    upsert_vote,
    write_comparisons,
    write_votes,
)

log = logging.getLogger(__name__)

RETRIES = 4
RETRY_BASE_DELAY_S = 0.2
EXPORT_BATCH = 1000
T = TypeVar("T")


class SqlAlchemyRepository:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._votes: Batcher[VoteRequest, VoteOutcome] = Batcher(self._run, write_votes)
        self._comparisons: Batcher[tuple[str, Comparison], None] = Batcher(self._run, write_comparisons)

    async def _run(self, work: Callable[[Connection], T]) -> T:
        return await asyncio.to_thread(self._with_retry, work)

    def _with_retry(self, work: Callable[[Connection], T]) -> T:
        """Run ``work`` in one transaction; a locked or briefly unreachable database is retried
        with backoff, and only then reported, so no vote is silently dropped."""
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

    async def ping(self) -> None:
        await asyncio.to_thread(self._ping)

    def _ping(self) -> None:
        try:
            with self.engine.connect() as connection:
                connection.exec_driver_sql("SELECT 1")
        except SQLAlchemyError as exc:
            raise StorageError("The database is unreachable.") from exc

    async def add_comparison(self, comparison: Comparison) -> None:
        await self._comparisons.submit(("add", comparison))

    async def save_result(self, comparison: Comparison) -> None:
        await self._comparisons.submit(("save", comparison))

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
        c, v = ComparisonRow, VoteRow
        base_model = case((c.base_side == "a", c.model_a), else_=c.model_b)
        finetuned_model = case((c.base_side == "a", c.model_b), else_=c.model_a)
        outcome = case(
            (v.choice == "tie", "tie"), (v.choice == "both_bad", "both_bad"),
            (v.choice == c.base_side, "base"), else_="finetuned")
        query = (select(c.matchup, base_model, finetuned_model, outcome, func.count())
                 .join(v, v.comparison_id == c.id).group_by(c.matchup, base_model, finetuned_model, outcome))
        if matchup is not None:
            query = query.where(c.matchup == matchup)

        def work(connection: Connection) -> list[OutcomeCount]:
            return [OutcomeCount(matchup=m, base_model=b, finetuned_model=f, outcome=o, count=n)
                    for m, b, f, o, n in connection.execute(query).all()]

        return await self._run(work)

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
        """Grouped (model_a, model_b, outcome) counts with each filter's toll, in one pass over the votes."""
        v = VoteRow
        # In the order of ix_votes_board, so the database can count from the index alone.
        keys = (v.model_a, v.model_b, v.choice, v.identity_leak, v.reply_problem)

        def work(connection: Connection) -> BattleSet:
            rows = [(a, b, WINNER[Choice(choice)], leak, bad, n) for a, b, choice, leak, bad, n in connection.execute(
                select(*keys, func.count()).where(*_slice(query)).group_by(*keys)).all()]
            sliced = sum(n for *_, n in rows)
            steps = []
            if query.drop_identity_leaks:
                steps.append(FilterStep("identity leak", sum(n for *_, leak, _, n in rows if leak)))
                rows = [r for r in rows if not r[3]]
            if query.drop_failed:
                steps.append(FilterStep("failed or empty reply", sum(n for *_, bad, n in rows if bad)))
                rows = [r for r in rows if not r[4]]
            grouped: dict[tuple[str, str, str], int] = {}
            for a, b, outcome, _, _, n in rows:
                grouped[(a, b, outcome)] = grouped.get((a, b, outcome), 0) + n
            if query.daily_cap is not None:
                capped = self._capped(connection, query)
                steps.append(FilterStep(f"more than {query.daily_cap} votes per voter per day",
                                        sum(grouped.values()) - sum(capped.values())))
                grouped = capped
            counts = tuple(BattleCount(a, b, outcome, n) for (a, b, outcome), n in grouped.items() if n)
            return BattleSet(counts=counts, sliced=sliced, steps=tuple(steps))

        return await self._run(work)

    @staticmethod
    def _capped(connection: Connection, query: BattleQuery) -> dict[tuple[str, str, str], int]:
        """Grouped counts keeping each voter's first ``daily_cap`` votes of every UTC day."""
        v = VoteRow
        on_pg = connection.dialect.name == "postgresql"
        # Days in UTC on both backends (PostgreSQL would otherwise use its own time zone).
        day = func.date(func.timezone("UTC", v.updated_at)) if on_pg else func.date(v.updated_at)
        numbered = (select(v.model_a, v.model_b, _OUTCOME.label("outcome"), func.row_number().over(
            partition_by=(v.voter, day), order_by=v.id).label("n")).where(*_conditions(query)).subquery())
        rows = connection.execute(
            select(numbered.c.model_a, numbered.c.model_b, numbered.c.outcome, func.count())
            .where(numbered.c.n <= query.daily_cap)
            .group_by(numbered.c.model_a, numbered.c.model_b, numbered.c.outcome)).all()
        return {(a, b, outcome): n for a, b, outcome, n in rows}

    async def votes_per_voter(self, query: BattleQuery) -> list[int]:
        stmt = select(func.count()).select_from(VoteRow).where(*_conditions(query)).group_by(VoteRow.voter)

        def work(connection: Connection) -> list[int]:
            return [int(n) for n in connection.execute(stmt).scalars()]

        return await self._run(work)

    async def browse(self, query: ComparisonFilter) -> ComparisonPage:
        return await self._run(lambda connection: browse.browse(connection, query))

    async def votes_on(self, comparison_id: str) -> list[Vote]:
        return await self._run(lambda connection: browse.votes_on(connection, comparison_id))

    def iter_battles(self, query: BattleQuery | None = None, by_comparison: bool = False) -> Iterator[Battle]:
        # Plain columns, not ORM objects: nothing piles up in a session however many rows stream by.
        c, v = ComparisonRow.__table__.c, VoteRow.__table__.c
        ra, rb = ReplyRow.__table__.alias("ra"), ReplyRow.__table__.alias("rb")
        columns = [*(col.label(f"c_{col.name}") for col in c), *(col.label(f"v_{col.name}") for col in v),
                   *(ra.c[n].label(f"a_{n}") for n in _REPLY_FIELDS), *(rb.c[n].label(f"b_{n}") for n in _REPLY_FIELDS)]
        order = (v.comparison_id, v.id) if by_comparison else (v.id,)
        statement = (select(*columns).select_from(VoteRow.__table__)
                     .join(ComparisonRow.__table__, c.id == v.comparison_id)
                     .outerjoin(ra, (ra.c.comparison_id == c.id) & (ra.c.side == "a"))
                     .outerjoin(rb, (rb.c.comparison_id == c.id) & (rb.c.side == "b"))
                     .where(*_conditions(query or RAW, filters=bool(query)))
                     .order_by(*order)
                     .execution_options(yield_per=EXPORT_BATCH))
        with self.engine.connect() as connection:
            for row in connection.execute(statement).mappings():
                yield _battle(row)

    def iter_csv(self, judge: Callable[[str], str], query: BattleQuery | None = None,
                 into: CsvFile | None = None) -> Iterator[CsvChunk]:
        with self.engine.connect() as connection:
            yield from exports.iter_csv(connection, _conditions(query or RAW, filters=bool(query)), judge, into)


_REPLY_FIELDS = ("text", "tokens", "latency_ms", "error")


def _row_reply(row: Any, prefix: str) -> Reply:
    if row[f"{prefix}_text"] is None:
        return Reply()
    return Reply(text=row[f"{prefix}_text"], tokens=row[f"{prefix}_tokens"], latency_ms=row[f"{prefix}_latency_ms"],
                 error=row[f"{prefix}_error"])


def _battle(row: Any) -> Battle:
    comparison = Comparison(
        id=row["c_id"], prompt=row["c_prompt"], matchup=row["c_matchup"], model_a=row["c_model_a"],
        model_b=row["c_model_b"], base_side=Side(row["c_base_side"]), blind=row["c_blind"],
        requester=row["c_requester"],
        place=Place(platform=row["c_platform"], channel=row["c_channel"], server=row["c_server"]),
        created_at=row["c_created_at"], status=Status(row["c_status"]), reply_a=_row_reply(row, "a"),
        reply_b=_row_reply(row, "b"), identity_leak=row["c_identity_leak"])
    vote = Vote(comparison_id=row["v_comparison_id"], voter=row["v_voter"], choice=Choice(row["v_choice"]),
                created_at=row["v_created_at"], updated_at=row["v_updated_at"], changes=row["v_changes"])
    return Battle(comparison=comparison, vote=vote)


RAW = BattleQuery(drop_identity_leaks=False, drop_failed=False)
_OUTCOME = case((VoteRow.choice == "a", "model_a"), (VoteRow.choice == "b", "model_b"),
                (VoteRow.choice == "tie", "tie"), else_="tie (bothbad)")


def _slice(query: BattleQuery) -> list[ColumnElement[bool]]:
    v = VoteRow
    wanted: list[tuple[Any, Any]] = [(v.matchup, query.matchup), (v.platform, query.platform),
                                     (v.server, query.server), (v.channel, query.channel), (v.voter, query.voter)]
    conditions = [column == value for column, value in wanted if value is not None]
    if query.since is not None:
        conditions.append(v.updated_at >= query.since)
    if query.until is not None:
        conditions.append(v.updated_at < query.until)
    return conditions


def _conditions(query: BattleQuery, filters: bool = True) -> list[ColumnElement[bool]]:
    conditions = _slice(query)
    if filters and query.drop_identity_leaks:
        conditions.append(VoteRow.identity_leak.is_(False))
    if filters and query.drop_failed:
        conditions.append(VoteRow.reply_problem.is_(False))
    return conditions
