"""The SQL functions the CSV export assembles each vote's line with, compiled for SQLite and PostgreSQL: the
same text ``bot.export.csv_line`` renders in Python, computed by the database (storage/csv_export.py)."""

from __future__ import annotations

import sqlite3
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, Text, case, func, literal_column, or_
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from bot.export import CSV_SPECIAL

# The SQLite library the sqlite3 driver uses (the only SQLite driver SQLAlchemy is given here).
_UNIXEPOCH = sqlite3.sqlite_version_info >= (3, 38)
_ORDERED_AGGREGATES = sqlite3.sqlite_version_info >= (3, 44)


class epoch_ms(FunctionElement[int]):  # lower case: it reads as the SQL function it is
    """Milliseconds since 1970 (truncated) of a stored UTC time: ``bot.export.epoch_ms`` in SQL."""

    type = BigInteger()
    inherit_cache = True


class tstamp_text(FunctionElement[str]):
    """The CSV ``tstamp`` of a stored UTC time: ``repr(epoch_ms / 1000)``, e.g. ``1790121630.12``."""

    type = Text()
    inherit_cache = True


class concat_text(FunctionElement[str]):
    """Its arguments as one string."""

    type = Text()
    inherit_cache = True


class concat_lines(FunctionElement[str]):
    """The lines of a chunk of votes as one string, in the order of the second argument."""

    type = Text()
    inherit_cache = True


def csv_field_sql(text: ColumnElement[str]) -> ColumnElement[str]:
    """``bot.export.csv_field`` in SQL: the text quoted, its quotes doubled, when it holds a CSV special."""
    # SQL constants, not bound parameters: PostgreSQL cannot type a parameter between two ||.
    def constant(value: str) -> ColumnElement[str]:
        return literal_column("'" + value.replace("'", "''") + "'", Text())

    special = or_(*(text.contains(constant(character)) for character in sorted(CSV_SPECIAL)))
    quote = constant('"')
    # Most votes carry no reason: one comparison settles those before any LIKE runs.
    return case((text == constant(""), text), (special, concat_text(quote, func.replace(text, quote, constant('""')),
                                                                      quote)), else_=text)


def _args(element: FunctionElement[Any], compiler: SQLCompiler, **kw: Any) -> list[str]:
    return [compiler.process(clause, **kw) for clause in element.clauses.clauses]


@compiles(epoch_ms, "sqlite")
def _epoch_ms_sqlite(element: epoch_ms, compiler: SQLCompiler, **kw: Any) -> str:
    # SQLAlchemy stores times on SQLite as 'YYYY-MM-DD HH:MM:SS.ffffff': milliseconds are characters 21-23.
    [x] = _args(element, compiler, **kw)
    return f"({_seconds_sqlite(x)} * 1000 + CAST(substr({x}, 21, 3) AS INTEGER))"


@compiles(epoch_ms, "postgresql")
def _epoch_ms_postgresql(element: epoch_ms, compiler: SQLCompiler, **kw: Any) -> str:
    [x] = _args(element, compiler, **kw)
    return _ms_postgresql(x)


def _ms_postgresql(x: str) -> str:
    # PostgreSQL 14 and newer: EXTRACT returns an exact numeric (a double before, which can floor 1 ms low).
    return f"CAST(floor(EXTRACT(EPOCH FROM {x}) * 1000) AS BIGINT)"


def _seconds_sqlite(x: str) -> str:
    return f"unixepoch({x})" if _UNIXEPOCH else f"CAST(strftime('%s', {x}) AS INTEGER)"


def _fraction(milliseconds: str) -> str:
    """'120' -> '12', '000' -> '0': the decimals Python's repr prints."""
    return f"coalesce(nullif(rtrim({milliseconds}, '0'), ''), '0')"


@compiles(tstamp_text, "sqlite")
def _tstamp_text_sqlite(element: tstamp_text, compiler: SQLCompiler, **kw: Any) -> str:
    [x] = _args(element, compiler, **kw)
    return f"({_seconds_sqlite(x)} || '.' || {_fraction(f'substr({x}, 21, 3)')})"


@compiles(tstamp_text, "postgresql")
def _tstamp_text_postgresql(element: tstamp_text, compiler: SQLCompiler, **kw: Any) -> str:
    [x] = _args(element, compiler, **kw)
    ms = _ms_postgresql(x)
    decimals = _fraction(f"lpad(CAST(mod({ms}, 1000) AS TEXT), 3, '0')")
    return f"(CAST(div({ms}, 1000) AS TEXT) || '.' || {decimals})"


@compiles(concat_text, "sqlite")
def _concat_text_sqlite(element: concat_text, compiler: SQLCompiler, **kw: Any) -> str:
    # One printf builds the line in one buffer; a chain of || copies the growing line at every step (about
    # 10% of the export's time on SQLite). NULL prints as nothing; the chunk's counts catch that case.
    parts = _args(element, compiler, **kw)
    return f"printf('{'%s' * len(parts)}', {', '.join(parts)})"


@compiles(concat_text, "postgresql")
def _concat_text_postgresql(element: concat_text, compiler: SQLCompiler, **kw: Any) -> str:
    return "(" + " || ".join(_args(element, compiler, **kw)) + ")"


@compiles(concat_lines, "sqlite")
def _concat_lines_sqlite(element: concat_lines, compiler: SQLCompiler, **kw: Any) -> str:
    line, order = _args(element, compiler, **kw)
    # As a BLOB, the chunk comes back as the UTF-8 it is, and goes to the file without decoding and encoding.
    if _ORDERED_AGGREGATES:
        return f"CAST(group_concat({line}, '' ORDER BY {order}) AS BLOB)"
    # Before 3.44 SQLite takes no ORDER BY here: rows reach the aggregate in the order the votes are
    # scanned, by id, as they are read NOT INDEXED (csv_export._export_query) and are the outer loop of LEFT JOINs.
    return f"CAST(group_concat({line}, '') AS BLOB)"


@compiles(concat_lines, "postgresql")
def _concat_lines_postgresql(element: concat_lines, compiler: SQLCompiler, **kw: Any) -> str:
    line, order = _args(element, compiler, **kw)
    return f"string_agg({line}, '' ORDER BY {order})"
