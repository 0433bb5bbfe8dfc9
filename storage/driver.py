"""Statements run on the driver's own cursor, for the few hot paths where SQLAlchemy's per-row work costs more
than the database's own (the CSV export, a batch of clicks on PostgreSQL)."""

from __future__ import annotations

import typing
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ClauseElement

Params = Callable[[dict[str, Any]], Any]


def driver_query(connection: Connection, statement: ClauseElement) -> tuple[str, Params]:
    """``statement`` as SQL for the driver's own cursor, and a function giving its parameters (converted as
    SQLAlchemy converts them) for the values of its named ``bindparam``s."""
    return driver_statement(connection.dialect, statement)


def driver_statement(dialect: Dialect, statement: ClauseElement) -> tuple[str, Params]:
    """``driver_query`` for a dialect: compile once, run on many connections."""
    compiled = typing.cast(SQLCompiler, statement.compile(dialect=dialect))
    # dialect_impl: the dialect's own form of each type (SQLite's DateTime writes text, in SQLAlchemy's format).
    converters = {name: bind.type.dialect_impl(dialect).bind_processor(dialect)
                  for name, bind in compiled.binds.items()}

    def params(values: dict[str, Any]) -> Any:
        found = compiled.construct_params(values)
        for name, value in found.items():
            convert = converters.get(name)
            if convert is not None:
                found[name] = convert(value)
        if compiled.positiontup is not None:
            return tuple(found[name] for name in compiled.positiontup)
        return found

    return compiled.string, params


def driver_many(connection: Connection, sql: str, rows: Sequence[Sequence[object]]) -> None:
    """``executemany`` on the driver itself, ``?`` standing for each value. Saves are on the critical path of
    every comparison waiting for its batch, and SQLAlchemy's per-row parameter processing cost more than
    the writes. Callers pass values every driver takes as they are (str, int, bool, None) or that they
    converted as SQLAlchemy would (times)."""
    if connection.dialect.paramstyle != "qmark":
        sql = sql.replace("?", "%s")  # psycopg's style; no value here is ever part of the SQL text
    connection.exec_driver_sql(sql, list(map(tuple, rows)))


def insert_many(connection: Connection, table: str, columns: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    placeholders = ", ".join("?" * len(columns))
    driver_many(connection, f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})", rows)
