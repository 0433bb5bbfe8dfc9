"""Votes: one per member per comparison, written under the last-click-wins rule (``bot.domain.last_click_wins``)
by one atomic upsert per click, a batch of clicks at a time, each batch returning every comparison's counts."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, String, bindparam, case, func, literal, null, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect

from bot.domain import Choice, Counts, Vote
from bot.errors import UnknownComparisonError
from bot.export import tstamp_text
from storage.driver import Params, driver_statement
from storage.orm import COMPARISONS, UtcDateTime, VoteRow
from storage.reply_style import STYLE_TOTALS


@dataclass(frozen=True)
class VoteRequest:
    comparison_id: str
    voter: str
    choice: Choice
    at: datetime


VoteOutcome = tuple[Vote, Choice | None, Counts]
Voted = tuple[Vote, Choice | None]


def write_votes(requests: list[VoteRequest], connection: Connection) -> list[VoteOutcome | Exception]:
    """A batch of clicks (storage/group_commit.py): each one's vote and previous choice, with its comparison's
    counts once the whole batch is written, or its UnknownComparisonError."""
    written: list[Voted | Exception | None] = [None] * len(requests)
    # Rows are locked in one global order (comparison, voter), so two bot processes writing batches at
    # the same time queue behind each other instead of deadlocking. The order of one member's clicks does
    # not matter: the upsert keeps the latest click whatever order they are written in.
    order = sorted(range(len(requests)), key=lambda i: (requests[i].comparison_id, requests[i].voter))
    # A lone click skips the pipeline, whose set-up costs more than one round trip.
    if connection.dialect.name == "postgresql" and len(requests) > 1:
        for i, voted in zip(order, _upsert_pipelined(connection, [requests[i] for i in order]), strict=True):
            written[i] = voted
    else:
        for i, voted in zip(order, _upsert_each(connection, [requests[i] for i in order]), strict=True):
            written[i] = voted
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
        outcomes.append((*result, _as_counts(tallies[r.comparison_id])))
    return outcomes


VOTE_RETURNING = (VoteRow.choice, VoteRow.previous_choice, VoteRow.changes, VoteRow.created_at,
                   VoteRow.updated_at)


@functools.cache
def upsert_statement(dialect: str) -> Any:
    """The vote upsert, built once per dialect with bound parameters (rebuilding it per click costs more
    than running it).

    The vote copies its comparison's slice columns, so no comparison means no row (and no vote). One
    atomic statement on both backends, so no read-then-write race between voters' clicks, that carries out
    ``bot.domain.last_click_wins`` (its conflict clause; a stale click returns no row)."""
    insert_for = postgresql.insert if dialect == "postgresql" else sqlite.insert
    c = COMPARISONS.c
    at = bindparam("at", type_=UtcDateTime())
    source = select(c.id, bindparam("voter", type_=String()), bindparam("choice", type_=String()), null(),
                    literal(0), at, at, bindparam("tstamp", type_=String()), *(c[name] for name in COPIED)
                    ).where(c.id == bindparam("cid"))
    stmt = insert_for(VoteRow).from_select(
        ["comparison_id", "voter", "choice", "previous_choice", "changes", "created_at", "updated_at", "tstamp",
         *COPIED], source)
    return stmt.on_conflict_do_update(
        index_elements=[VoteRow.comparison_id, VoteRow.voter],
        set_={
            "previous_choice": VoteRow.choice,
            "choice": stmt.excluded.choice,
            "changes": VoteRow.changes + case((VoteRow.choice != stmt.excluded.choice, 1), else_=0),
            "updated_at": stmt.excluded.updated_at,
            "tstamp": stmt.excluded.tstamp,
            # A reason given for the other choice no longer explains this one.
            "feedback": case((VoteRow.choice != stmt.excluded.choice, ""), else_=VoteRow.feedback),
        },
        where=VoteRow.updated_at <= stmt.excluded.updated_at,
    ).returning(*VOTE_RETURNING)


COPIED = ("matchup", "model_a", "model_b", "platform", "server", "channel", "identity_leak", "reply_problem",
          "base_side", *STYLE_TOTALS)


def counts_in(connection: Connection, comparison_id: str) -> Counts:
    rows = connection.execute(select(VoteRow.choice, func.count()).where(VoteRow.comparison_id == comparison_id)
                              .group_by(VoteRow.choice)).all()
    return _as_counts({choice: n for choice, n in rows})


def _as_counts(found: dict[str, int]) -> Counts:
    return Counts(a=found.get("a", 0), b=found.get("b", 0), tie=found.get("tie", 0), both_bad=found.get("both_bad", 0))


def upsert_vote(connection: Connection, comparison_id: str, voter: str, choice: Choice,
                 at: datetime) -> tuple[Vote, Choice | None]:
    [voted] = _upsert_each(connection, [VoteRequest(comparison_id, voter, choice, at)])
    if isinstance(voted, Exception):
        raise voted
    return voted


@functools.lru_cache(maxsize=8)
def _driver_upsert(dialect: Dialect) -> tuple[str, Params, Callable[[Any], Any]]:
    """The upsert for the driver's own cursor, compiled once per dialect, and how to read a time it returns
    (SQLite gives text)."""
    sql, params = driver_statement(dialect, upsert_statement(dialect.name))
    read_time = UtcDateTime().dialect_impl(dialect).result_processor(dialect, None)
    assert read_time is not None  # a TypeDecorator always processes its results
    return sql, params, read_time


def _upsert_values(r: VoteRequest) -> dict[str, Any]:
    return {"cid": r.comparison_id, "voter": r.voter, "choice": r.choice.value, "at": r.at,
            "tstamp": tstamp_text(r.at)}


def _upsert_each(connection: Connection, requests: list[VoteRequest]) -> list[Voted | Exception]:
    """A batch's upserts one after another on the driver's own cursor: SQLAlchemy's work per statement cost
    more than SQLite's own."""
    sql, params, read_time = _driver_upsert(connection.dialect)
    cursor = connection.connection.cursor()
    rows: list[Any] = []
    try:
        for r in requests:
            cursor.execute(sql, params(_upsert_values(r)))
            rows.append(cursor.fetchone())
    finally:
        cursor.close()
    return _results(connection, requests, rows, read_time)


def _upsert_pipelined(connection: Connection, requests: list[VoteRequest]) -> list[Voted | Exception]:
    """A batch's upserts in one round trip to PostgreSQL (psycopg's pipelined ``executemany``), still one
    statement per click, in order: a member's two clicks in one batch behave as they would one by one."""
    sql, params, read_time = _driver_upsert(connection.dialect)
    cursor: Any = connection.connection.cursor()  # psycopg's, whose executemany can return rows
    rows: list[Any] = []
    try:
        cursor.executemany(sql, [params(_upsert_values(r)) for r in requests], returning=True)
        while True:
            rows.append(cursor.fetchone())
            if not cursor.nextset():
                break
    finally:
        cursor.close()
    return _results(connection, requests, rows, read_time)


def _results(connection: Connection, requests: list[VoteRequest], rows: list[Any],
             read_time: Callable[[Any], Any]) -> list[Voted | Exception]:
    """Each request's vote from the row its upsert returned (None: it changed nothing), its times read by
    ``read_time``."""
    results: list[Voted | Exception] = []
    for r, row in zip(requests, rows, strict=True):
        if row is not None:
            choice, previous, changes, created_at, updated_at = row
            row = (choice, previous, changes, read_time(created_at), read_time(updated_at))
        try:
            results.append(_voted(connection, r.comparison_id, r.voter, row))
        except UnknownComparisonError as exc:
            results.append(exc)
    return results


def _voted(connection: Connection, comparison_id: str, voter: str, row: Any) -> tuple[Vote, Choice | None]:
    """The vote and its previous choice from the upsert's returned (choice, previous_choice, changes,
    created_at, updated_at); when it returned nothing, the stored vote as ``last_click_wins`` gives it for a
    stale click, or UnknownComparisonError (no such comparison)."""
    stale = row is None
    if row is None:
        row = connection.execute(select(*VOTE_RETURNING).where(
            VoteRow.comparison_id == comparison_id, VoteRow.voter == voter)).one_or_none()
        if row is None:
            raise UnknownComparisonError(comparison_id)
    choice, previous, changes, created_at, updated_at = row
    vote = Vote(comparison_id=comparison_id, voter=voter, choice=Choice(choice), created_at=aware(created_at),
                updated_at=aware(updated_at), changes=changes)
    if stale:
        return vote, vote.choice
    return vote, Choice(previous) if previous else None


def aware(value: datetime) -> datetime:
    # Values from RETURNING on SQLite come back naive, and the driver's own cursor on PostgreSQL gives the
    # session's time zone: every stored time is UTC.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
