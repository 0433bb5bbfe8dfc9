"""SqlAlchemyRepository: the core's Repository port on SQLite or PostgreSQL.

Each call runs its blocking database work in a worker thread, in one short transaction."""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar, cast

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    String,
    Table,
    bindparam,
    case,
    delete,
    func,
    insert,
    literal,
    null,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError

from bot.analysis import BattleQuery, BattleSet, FilterStep
from bot.arena_ratings import BattleCount
from bot.domain import Choice, Comparison, Counts, Place, Reply, Side, Status, Vote
from bot.errors import StorageError, UnknownComparisonError
from bot.ports import Battle, OutcomeCount
from storage.orm import ComparisonRow, ReplyRow, UtcDateTime, VoteRow

log = logging.getLogger(__name__)

RETRIES = 4
RETRY_BASE_DELAY_S = 0.2
EXPORT_BATCH = 1000
WRITE_BATCH = 500
T = TypeVar("T")
R = TypeVar("R")
Out = TypeVar("Out")


class SqlAlchemyRepository:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._votes: Batcher[VoteRequest, VoteOutcome] = Batcher(self, _write_votes)
        self._comparisons: Batcher[tuple[str, Comparison], None] = Batcher(self, _write_comparisons)

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
        def work(connection: Connection) -> Comparison | None:
            row = connection.execute(select(COMPARISONS).where(COMPARISONS.c.id == comparison_id)).one_or_none()
            if row is None:
                return None
            replies = connection.execute(select(REPLIES).where(REPLIES.c.comparison_id == comparison_id)).all()
            by_side = {r.side: r for r in replies}
            return _comparison(row, by_side.get("a"), by_side.get("b"))

        return await self._run(work)

    async def record_vote(
        self, comparison_id: str, voter: str, choice: Choice, at: datetime
    ) -> tuple[Vote, Choice | None]:
        def work(connection: Connection) -> tuple[Vote, Choice | None]:
            return self._upsert_vote(connection, comparison_id, voter, choice, at)

        try:
            return await self._run(work)
        except IntegrityError:
            raise UnknownComparisonError(comparison_id) from None

    async def record_vote_and_count(
        self, comparison_id: str, voter: str, choice: Choice, at: datetime
    ) -> tuple[Vote, Choice | None, Counts]:
        return await self._votes.submit(VoteRequest(comparison_id, voter, choice, at))

    @staticmethod
    def _upsert_vote(connection: Connection, comparison_id: str, voter: str, choice: Choice,
                     at: datetime) -> tuple[Vote, Choice | None]:
        upsert = _upsert_statement(connection.dialect.name)
        columns = _VOTE_RETURNING
        params = {"cid": comparison_id, "voter": voter, "choice": choice.value, "at": at}
        row = connection.execute(upsert, params).one_or_none()
        stale = row is None
        if row is None:
            row = connection.execute(select(*columns).where(
                VoteRow.comparison_id == comparison_id, VoteRow.voter == voter)).one_or_none()
            if row is None:
                raise UnknownComparisonError(comparison_id)
        vote = Vote(comparison_id=comparison_id, voter=voter, choice=Choice(row.choice),
                    created_at=_aware(row.created_at), updated_at=_aware(row.updated_at), changes=row.changes)
        if stale:
            return vote, vote.choice
        return vote, Choice(row.previous_choice) if row.previous_choice else None

    async def counts(self, comparison_id: str) -> Counts:
        return await self._run(lambda connection: _counts(connection, comparison_id))

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
            rows = [(a, b, _WINNER[choice], leak, bad, n) for a, b, choice, leak, bad, n in connection.execute(
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


_WINNER = {"a": "model_a", "b": "model_b", "tie": "tie", "both_bad": "tie (bothbad)"}
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


@dataclass(frozen=True)
class VoteRequest:
    comparison_id: str
    voter: str
    choice: Choice
    at: datetime


VoteOutcome = tuple[Vote, Choice | None, Counts]


class Batcher(Generic[R, Out]):
    """Group commit: writes that arrive while a batch is being written wait for the next one, which runs
    them all, in order, in one transaction and one thread hop (the costs a single write would pay alone).
    ``write`` returns one result or exception per request; a batch that fails as a whole fails each of
    its requests (the member is told to try again)."""

    def __init__(self, repository: SqlAlchemyRepository,
                 write: Callable[[list[R], Connection], list[Out | Exception]], max_batch: int = WRITE_BATCH) -> None:
        self._repository = repository
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
                outcomes = await self._repository._run(functools.partial(self._write, requests))
            except Exception as exc:  # the batch's error belongs to every vote in it, not to this task
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


def _write_comparisons(requests: list[tuple[str, Comparison]], connection: Connection) -> list[Exception | None]:
    """New comparisons first, then finished ones (a comparison is always added before it is saved), each
    kind as one multi-row statement."""
    added = [c for kind, c in requests if kind == "add"]
    saved = [c for kind, c in requests if kind == "save"]
    if added:
        connection.execute(insert(COMPARISONS), [dict(
            id=c.id, prompt=c.prompt, matchup=c.matchup, model_a=c.model_a, model_b=c.model_b,
            base_side=c.base_side.value, blind=c.blind, requester=c.requester, platform=c.place.platform,
            server=c.place.server, channel=c.place.channel, status=c.status.value, created_at=c.created_at,
            identity_leak=False, reply_problem=False) for c in added])
    if saved:
        connection.execute(
            update(COMPARISONS).where(COMPARISONS.c.id == bindparam("cid")).values(
                status=bindparam("new_status"), identity_leak=bindparam("leak"), reply_problem=bindparam("problem")),
            [dict(cid=c.id, new_status=c.status.value, leak=c.identity_leak, problem=c.reply_problem) for c in saved])
        # Saving again replaces the replies.
        connection.execute(delete(REPLIES).where(REPLIES.c.comparison_id.in_([c.id for c in saved])))
        connection.execute(insert(REPLIES), [
            dict(comparison_id=c.id, side=side.value, model=c.model_on(side), text=c.reply(side).text,
                 tokens=c.reply(side).tokens, latency_ms=c.reply(side).latency_ms, error=c.reply(side).error)
            for c in saved for side in Side])
    return [None] * len(requests)


def _write_votes(requests: list[VoteRequest], connection: Connection) -> list[VoteOutcome | Exception]:
    written: list[tuple[Vote, Choice | None] | Exception | None] = [None] * len(requests)
    # Rows are locked in one global order (comparison, voter), so two bot processes writing batches at
    # the same time queue behind each other instead of deadlocking. The order of one member's clicks does
    # not matter: the upsert keeps the latest click whatever order they are written in.
    for i in sorted(range(len(requests)), key=lambda i: (requests[i].comparison_id, requests[i].voter)):
        r = requests[i]
        try:
            written[i] = SqlAlchemyRepository._upsert_vote(connection, r.comparison_id, r.voter, r.choice, r.at)
        except UnknownComparisonError as exc:
            written[i] = exc
    ids = sorted({r.comparison_id for r in requests})
    tallies: dict[str, dict[str, int]] = {cid: {} for cid in ids}
    for cid, choice, n in connection.execute(
            select(VoteRow.comparison_id, VoteRow.choice, func.count())
            .where(VoteRow.comparison_id.in_(ids)).group_by(VoteRow.comparison_id, VoteRow.choice)):
        tallies[cid][choice] = n
    outcomes: list[VoteOutcome | Exception] = []
    for r, result in zip(requests, written, strict=True):
        assert result is not None
        if isinstance(result, Exception):
            outcomes.append(result)
            continue
        found = tallies[r.comparison_id]
        counts = Counts(a=found.get("a", 0), b=found.get("b", 0), tie=found.get("tie", 0),
                        both_bad=found.get("both_bad", 0))
        outcomes.append((*result, counts))
    return outcomes


_VOTE_RETURNING = (VoteRow.choice, VoteRow.previous_choice, VoteRow.changes, VoteRow.created_at,
                   VoteRow.updated_at)


@functools.cache
def _upsert_statement(dialect: str) -> Any:
    """The vote upsert, built once per dialect with bound parameters (rebuilding it per click costs more
    than running it).

    The vote copies its comparison's slice columns, so no comparison means no row (and no vote). One
    atomic statement on both backends: no read-then-write race between voters' clicks. A click older than
    the stored one (clicks can be processed out of order, by several bot processes) changes nothing: the
    member's last click wins."""
    insert_for = postgresql.insert if dialect == "postgresql" else sqlite.insert
    c = COMPARISONS.c
    at = bindparam("at", type_=UtcDateTime())
    source = select(c.id, bindparam("voter", type_=String()), bindparam("choice", type_=String()), null(),
                    literal(0), at, at, *(c[name] for name in _COPIED)).where(c.id == bindparam("cid"))
    stmt = insert_for(VoteRow).from_select(
        ["comparison_id", "voter", "choice", "previous_choice", "changes", "created_at", "updated_at", *_COPIED],
        source)
    return stmt.on_conflict_do_update(
        index_elements=[VoteRow.comparison_id, VoteRow.voter],
        set_={
            "previous_choice": VoteRow.choice,
            "choice": stmt.excluded.choice,
            "changes": VoteRow.changes + case((VoteRow.choice != stmt.excluded.choice, 1), else_=0),
            "updated_at": stmt.excluded.updated_at,
        },
        where=VoteRow.updated_at <= stmt.excluded.updated_at,
    ).returning(*_VOTE_RETURNING)


_COPIED = ("matchup", "model_a", "model_b", "platform", "server", "channel", "identity_leak", "reply_problem")
COMPARISONS = cast(Table, ComparisonRow.__table__)
REPLIES = cast(Table, ReplyRow.__table__)


def _counts(connection: Connection, comparison_id: str) -> Counts:
    rows = connection.execute(select(VoteRow.choice, func.count()).where(VoteRow.comparison_id == comparison_id)
                              .group_by(VoteRow.choice)).all()
    found: dict[str, int] = {choice: n for choice, n in rows}
    return Counts(a=found.get("a", 0), b=found.get("b", 0), tie=found.get("tie", 0), both_bad=found.get("both_bad", 0))


def _aware(value: datetime) -> datetime:
    # Values from RETURNING on SQLite come back naive; they are UTC like every stored time.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def _reply(row: Any) -> Reply:
    if row is None:
        return Reply()
    return Reply(text=row.text, tokens=row.tokens, latency_ms=row.latency_ms, error=row.error)


def _comparison(row: Any, reply_a: Any, reply_b: Any) -> Comparison:
    return Comparison(
        id=row.id, prompt=row.prompt, matchup=row.matchup, model_a=row.model_a, model_b=row.model_b,
        base_side=Side(row.base_side), blind=row.blind, requester=row.requester,
        place=Place(platform=row.platform, channel=row.channel, server=row.server),
        created_at=row.created_at, status=Status(row.status), reply_a=_reply(reply_a), reply_b=_reply(reply_b),
        identity_leak=row.identity_leak,
    )
