"""The CSV export's hot path. Each comparison's CSV columns are rendered once, when it is saved
(``comparison_csv``, written by storage/writes.py), so exporting a million votes reads each vote as five
plain values plus its comparison's stored text, and Python only stitches one line per vote
(``bot.export.write_csv``). Comparisons with no stored text, or text of an older format version, are
rendered here on the way out."""

from __future__ import annotations

import json
import sqlite3
import typing
from collections.abc import Iterator
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, Connection, Select, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from bot.export import CSV_PARTS_VERSION, csv_parts
from bot.ports import CsvBatch, VoteFields
from storage.orm import ComparisonCsvRow, VoteRow
from storage.rows import load_comparisons

# Votes per batch: each batch costs one query for its comparisons' text, and a comparison whose votes
# straddle two batches is read twice, so bigger is faster; a batch holds a few MB.
CSV_BATCH = 5000
_UNIXEPOCH = sqlite3.sqlite_version_info >= (3, 38)


class epoch_ms(FunctionElement[int]):  # lower case: it reads as the SQL function it is
    """Milliseconds since 1970 (truncated) of a stored UTC time: ``bot.export.epoch_ms`` in SQL."""

    type = BigInteger()
    inherit_cache = True


@compiles(epoch_ms, "sqlite")
def _epoch_ms_sqlite(element: epoch_ms, compiler: SQLCompiler, **kw: Any) -> str:
    # SQLAlchemy stores times on SQLite as 'YYYY-MM-DD HH:MM:SS.ffffff': milliseconds are characters 21-23.
    x = compiler.process(element.clauses, **kw)
    seconds = f"unixepoch({x})" if _UNIXEPOCH else f"CAST(strftime('%s', {x}) AS INTEGER)"
    return f"({seconds} * 1000 + CAST(substr({x}, 21, 3) AS INTEGER))"


@compiles(epoch_ms, "postgresql")
def _epoch_ms_postgresql(element: epoch_ms, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST(floor(EXTRACT(EPOCH FROM {compiler.process(element.clauses, **kw)}) * 1000) AS BIGINT)"


def votes_statement(conditions: list[ColumnElement[bool]]) -> Select[Any]:
    v = VoteRow.__table__.c
    return (select(v.comparison_id, v.voter, v.choice, v.changes, epoch_ms(v.updated_at))
            .where(*conditions).order_by(v.id))


def _driver_query(connection: Connection, statement: Select[Any]) -> tuple[str, Any]:
    """``statement`` as SQL text and parameters for the driver's own cursor, bound values converted as
    SQLAlchemy would convert them."""
    dialect = connection.dialect
    compiled = statement.compile(dialect=dialect)
    params = compiled.construct_params()
    for name, value in params.items():
        convert = compiled.binds[name].type.bind_processor(dialect)
        if convert is not None:
            params[name] = convert(value)
    if compiled.positiontup is not None:
        return compiled.string, tuple(params[name] for name in compiled.positiontup)
    return compiled.string, params


def _iter_votes(connection: Connection, conditions: list[ColumnElement[bool]]) -> Iterator[list[VoteFields]]:
    """Votes oldest first as the driver's plain tuples. SQLAlchemy's Row objects would cost more than the
    query itself at a million rows: the garbage collector tracks them, and rescans them batch after batch."""
    sql, params = _driver_query(connection, votes_statement(conditions))
    # A server-side cursor on PostgreSQL, so the votes stream instead of arriving all at once.
    named = {"name": "ftarena_csv_export"} if connection.dialect.name == "postgresql" else {}
    cursor = connection.connection.cursor(**named)
    try:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(CSV_BATCH):
            yield typing.cast("list[VoteFields]", rows)
    finally:
        cursor.close()


def _parts_sql(dialect: str) -> str:
    """Stored CSV text of a list of comparisons, in the driver's own parameter style (this runs once per
    batch, on the driver's cursor like the votes)."""
    table = ComparisonCsvRow.__tablename__
    columns = "comparison_id, head, middle, slices, tail"
    if dialect == "postgresql":
        return f"SELECT {columns} FROM {table} WHERE version = %s AND comparison_id = ANY(%s)"
    return f"SELECT {columns} FROM {table} WHERE version = ? AND comparison_id IN (SELECT value FROM json_each(?))"


def iter_csv_batches(connection: Connection, conditions: list[ColumnElement[bool]]) -> Iterator[CsvBatch]:
    """Votes oldest first, a batch at a time, each batch with its comparisons' CSV text."""
    dialect = connection.dialect.name
    sql = _parts_sql(dialect)
    cursor = connection.connection.cursor()
    try:
        for votes in _iter_votes(connection, conditions):
            ids = list({vote[0] for vote in votes})
            cursor.execute(sql, (CSV_PARTS_VERSION, ids if dialect == "postgresql" else json.dumps(ids)))
            parts: dict[str, tuple[str, str, str, str]] = {
                cid: (head, middle, slices, tail) for cid, head, middle, slices, tail in cursor.fetchall()}
            missing = [cid for cid in ids if cid not in parts]
            if missing:
                parts.update((cid, csv_parts(c)) for cid, c in load_comparisons(connection, missing).items())
            yield CsvBatch(votes=votes, comparisons=parts)
    finally:
        cursor.close()
