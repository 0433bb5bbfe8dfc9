"""The CSV export's hot path, run by the database. Each comparison's CSV columns are rendered once, when it
is saved (``comparison_csv``, written by ``store_renderings``), each vote's tstamp when it is cast, and
voters' judge columns once per export (a temporary table), so the database can stitch every vote's line
itself and hand over a few thousand lines as one string: Python never touches a vote.
``bot.export.csv_line`` is the same assembly in Python; it renders the rare vote whose comparison has no
current rendering, and tests hold the two byte for byte equal on SQLite and PostgreSQL."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    ColumnElement,
    Connection,
    MetaData,
    Select,
    Table,
    Text,
    bindparam,
    case,
    cast,
    func,
    select,
)
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ClauseElement
from sqlalchemy.sql.functions import FunctionElement

from bot.domain import Comparison
from bot.export import CSV_PARTS_VERSION, WINNERS, csv_line, csv_parts
from bot.ports import CsvChunk, CsvFile
from storage import csv_helpers, csv_worker
from storage.comparisons import load_comparisons
from storage.driver import Params, driver_many, driver_query, insert_many
from storage.orm import CSV_PARTS, ComparisonCsvRow, VoteRow

# Each chunk is one query and one string of about this size: memory stays flat however long the texts.
CHUNK_BYTES = 2_000_000
FIRST_CHUNK_IDS, MIN_CHUNK_IDS, MAX_CHUNK_IDS = 1000, 16, 20_000
JUDGE_BATCH = 10_000
CSV_PARTS_COLUMNS = ("comparison_id", "version", "head", "middle", "slices", "tail")
# Below this many ids a helper process costs more than it saves.
PARALLEL_MIN_IDS = 50_000
PROCESSES: int | None = None  # helper processes for a large export on SQLite; None: one per core
MMAP_BYTES = 1 << 34  # SQLite reads at most the file's size of this, by memory map, during an export
# The SQLite library the sqlite3 driver uses (the only SQLite driver SQLAlchemy is given here).
_UNIXEPOCH = sqlite3.sqlite_version_info >= (3, 38)
_ORDERED_AGGREGATES = sqlite3.sqlite_version_info >= (3, 44)

VOTES = VoteRow.__table__
CSV = ComparisonCsvRow.__table__
# The judge column of each voter in the export, filled from Python (pseudonyms are salted hashes).
JUDGES = Table("ftarena_export_judges", MetaData(), Column("voter", Text, primary_key=True),
               Column("judge", Text, nullable=False), prefixes=["TEMPORARY"], sqlite_with_rowid=False)


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


def store_renderings(connection: Connection, saved: Sequence[Comparison]) -> None:
    """Each saved comparison's CSV columns, rendered now, once, so that exporting its votes costs no
    rendering (saving again replaces them)."""
    if not saved:
        return
    driver_many(connection, f"DELETE FROM {CSV_PARTS.name} WHERE comparison_id = ?", [(c.id,) for c in saved])
    rows = [(c.id, CSV_PARTS_VERSION, *csv_parts(c)) for c in saved]
    insert_many(connection, CSV_PARTS.name, CSV_PARTS_COLUMNS, rows)


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
    # scanned, by id, as they are read NOT INDEXED (see _export_query) and are the outer loop of LEFT JOINs.
    return f"CAST(group_concat({line}, '') AS BLOB)"


@compiles(concat_lines, "postgresql")
def _concat_lines_postgresql(element: concat_lines, compiler: SQLCompiler, **kw: Any) -> str:
    line, order = _args(element, compiler, **kw)
    return f"string_agg({line}, '' ORDER BY {order})"


def _line() -> ColumnElement[str]:
    """A vote's CSV line, assembled as ``bot.export.csv_line`` does. Where its comparison has no current
    rendering or its voter no judge, the line is wrong and the chunk's counts say so."""
    v = VOTES.c
    # The vote's stored tstamp; computed for votes cast before it was stored.
    tstamp = func.coalesce(v.tstamp, tstamp_text(v.updated_at))
    return concat_text(CSV.c.head, case(WINNERS, value=v.choice), ",", JUDGES.c.judge, ",", CSV.c.middle,
                       tstamp, CSV.c.slices, cast(v.changes, Text()), CSV.c.tail)


def _joined() -> Any:
    return (VOTES.outerjoin(CSV, (CSV.c.comparison_id == VOTES.c.comparison_id) & (CSV.c.version == CSV_PARTS_VERSION))
            .outerjoin(JUDGES, JUDGES.c.voter == VOTES.c.voter))


def _in_chunk(conditions: list[ColumnElement[bool]]) -> list[ColumnElement[bool]]:
    return [*conditions, VOTES.c.id.between(bindparam("lo"), bindparam("hi"))]


def chunk_statement(conditions: list[ColumnElement[bool]]) -> Select[str, int, int, int]:
    """One chunk of votes as (text, votes, votes with a current rendering, votes with a judge)."""
    v = VOTES.c
    return (select(concat_lines(_line(), v.id), func.count(), func.count(CSV.c.comparison_id),
                   func.count(JUDGES.c.voter))
            .select_from(_joined()).where(*_in_chunk(conditions)))


def _export_query(connection: Connection, statement: ClauseElement) -> tuple[str, Params]:
    """``driver_query``, with the votes read ``NOT INDEXED`` on SQLite: in rowid order whatever the slice's
    conditions, the order ``concat_lines`` relies on."""
    sql, params = driver_query(connection, statement)
    if connection.dialect.name == "sqlite":
        scan = f"FROM {VoteRow.__tablename__} LEFT OUTER JOIN"
        if sql.count(scan) != 1:
            raise AssertionError(f"unexpected export query shape: {sql[:200]}")
        sql = sql.replace(scan, f"FROM {VoteRow.__tablename__} NOT INDEXED LEFT OUTER JOIN")
    return sql, params


def _fill_judges(connection: Connection, conditions: list[ColumnElement[bool]], judge: Callable[[str], str]) -> None:
    JUDGES.drop(connection, checkfirst=True)  # a pooled connection may hold one from an export that failed
    JUDGES.create(connection)
    voters = connection.execute(select(VOTES.c.voter).where(*conditions).distinct()
                                .execution_options(yield_per=JUDGE_BATCH))
    for part in voters.partitions():
        insert_many(connection, JUDGES.name, ("voter", "judge"), [(voter, judge(voter)) for (voter,) in part])


def _rendered_in_python(connection: Connection, conditions: list[ColumnElement[bool]], judge: Callable[[str], str],
                        bounds: dict[str, int]) -> CsvChunk:
    """A chunk with votes the database cannot stitch (a comparison saved before renderings were stored, or
    rendered by an older format): every line of it, the missing ones rendered from the comparison."""
    v = VOTES.c
    rows = connection.execute(
        select(_line(), CSV.c.comparison_id.is_not(None) & JUDGES.c.voter.is_not(None), v.comparison_id, v.voter,
               v.choice, v.changes, epoch_ms(v.updated_at))
        .select_from(_joined()).where(*_in_chunk(conditions)).order_by(v.id), bounds).all()
    missing = sorted({row.comparison_id for row in rows if not row[1]})
    comparisons = load_comparisons(connection, missing) if missing else {}
    lines = []
    for line, stitched, cid, voter, choice, changes, ms in rows:
        if not stitched:
            if cid not in comparisons:
                continue  # deleted since
            line = csv_line(csv_parts(comparisons[cid]), choice, judge(voter), ms, changes)
        lines.append(line)
    return CsvChunk("".join(lines), len(lines))


def iter_csv(connection: Connection, conditions: list[ColumnElement[bool]], judge: Callable[[str], str],
             into: CsvFile | None = None) -> Iterator[CsvChunk]:
    """The votes matching ``conditions`` as CSV lines, oldest first, a range of ids at a time, each range
    sized to give about ``CHUNK_BYTES`` of text (the lines' length depends on the prompts and replies).

    On a SQLite file with at least ``PARALLEL_MIN_IDS`` ids to cover, the ranges are stitched by
    ``PROCESSES`` helper processes (storage/csv_helpers.py), a range each at a time, and handed on in order;
    given a file ``into``, the helpers write them there themselves (every chunk then says ``written``)."""
    lo, hi = connection.execute(select(func.min(VOTES.c.id), func.max(VOTES.c.id)).where(*conditions)).one()
    if lo is None:
        return
    _fill_judges(connection, conditions, judge)
    connection.commit()  # the judges stay for this connection's reads; the drop below commits too
    sql, params = _export_query(connection, chunk_statement(conditions))
    spans = _Spans(lo, hi)
    helpers = csv_helpers.cores() if PROCESSES is None else PROCESSES
    database = csv_helpers.sqlite_file(connection)
    try:
        if connection.dialect.name == "sqlite":
            connection.exec_driver_sql(f"PRAGMA mmap_size={MMAP_BYTES}")  # pages read in place, not copied
        job = None
        if database and helpers > 1 and hi - lo + 1 >= PARALLEL_MIN_IDS:
            job = csv_helpers.helper_job(database, sql, params, MMAP_BYTES, into.fd if into else None)
        answers = (csv_helpers.answers(connection, job, spans, helpers, JUDGES.name) if job is not None
                   else _answered_here(connection, sql, params, spans))
        place = into if job is not None else None  # the helpers write the chunks in place
        offset = place.offset if place is not None else 0
        for answer in answers:
            whole = answer.rendered == answer.judged == answer.votes
            if place is None:
                chunk = (CsvChunk(answer.text, answer.votes) if whole
                         else _rendered_in_python(connection, conditions, judge, answer.bounds))
            elif whole:
                answer.place(offset)
                chunk = CsvChunk(b"", answer.votes, written=answer.size)
            else:
                answer.drop()
                rendered = _rendered_in_python(connection, conditions, judge, answer.bounds)
                data = rendered.text.encode() if isinstance(rendered.text, str) else rendered.text
                csv_worker.pwrite_all(place.fd, data, offset)
                chunk = CsvChunk(b"", rendered.rows, written=len(data))
            offset += chunk.written
            if chunk.rows:
                yield chunk
    finally:
        _drop_judges(connection)


class _Spans:
    """The id ranges of the chunks, in order: the next range's width is set from the text the last answered
    range gave, so each chunk comes to about ``CHUNK_BYTES``."""

    def __init__(self, lo: int, hi: int) -> None:
        self.start, self.hi, self.width = lo, hi, FIRST_CHUNK_IDS

    def next(self) -> dict[str, int] | None:
        if self.start > self.hi:
            return None
        bounds = {"lo": self.start, "hi": self.start + self.width - 1}
        self.start += self.width
        return bounds

    def answered(self, size: int) -> None:
        if size:
            self.width = max(MIN_CHUNK_IDS, min(MAX_CHUNK_IDS, self.width * CHUNK_BYTES // size))


def _answered_here(connection: Connection, sql: str, params: Params, spans: _Spans) -> Iterator[csv_helpers.Answer]:
    # The driver's own cursor: one row per chunk, and nothing of SQLAlchemy's between it and the text.
    cursor = connection.connection.cursor()
    try:
        while (bounds := spans.next()) is not None:
            cursor.execute(sql, params(bounds))
            text, votes, rendered, judged = cursor.fetchone() or (b"", 0, 0, 0)
            text = text or b""
            spans.answered(len(text))
            yield csv_helpers.Answer(bounds, text, len(text), votes, rendered, judged)
    finally:
        cursor.close()


def _drop_judges(connection: Connection) -> None:
    """The pooled connection lives on, so the judges go for good: the reads (or a failed query, after which
    PostgreSQL refuses all else) are rolled back first, then the drop is committed."""
    with contextlib.suppress(SQLAlchemyError, connection.dialect.loaded_dbapi.Error):
        connection.connection.rollback()
        JUDGES.drop(connection, checkfirst=True)
        if connection.dialect.name == "sqlite":
            connection.exec_driver_sql("PRAGMA mmap_size=0")  # the pooled connection goes back as it came
        connection.commit()
