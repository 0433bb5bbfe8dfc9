"""Statements run on the driver's own cursor, for the few hot paths where SQLAlchemy's per-row work costs more
than the database's own (the CSV export, a batch of clicks on PostgreSQL)."""

from __future__ import annotations

import typing
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ClauseElement

Params = Callable[[dict[str, Any]], Any]


def driver_query(connection: Connection, statement: ClauseElement) -> tuple[str, Params]:
    """``statement`` as SQL for the driver's own cursor, and a function giving its parameters (converted as
    SQLAlchemy converts them) for the values of its named ``bindparam``s."""
    dialect = connection.dialect
    compiled = typing.cast(SQLCompiler, statement.compile(dialect=dialect))
    converters = {name: bind.type.bind_processor(dialect) for name, bind in compiled.binds.items()}

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
