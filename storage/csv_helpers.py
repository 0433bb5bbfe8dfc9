"""The parent side of the CSV export's helper processes (storage/csv_worker.py, one per core): SQLite's
work of stitching the votes' lines is CPU-bound and single-threaded per connection, and threads in one
process contend on SQLite's memory mutex, so a large export on a SQLite file spreads its id ranges over
processes. storage/csv_export.py decides when and checks each answer.

What they buy: a million-vote export in 2.2 s against 3.9 s stitched in-process, side by side on the 2-core VM
of 2026-12-01 (benchmarks/RESULTS.md, 2026-12-03, weighs them). What they cost: a process per core started,
fed and stopped per large export, the judges copied to a file they can attach, and this module and
csv_worker.py (about 320 lines) with the in-place writes of csv_file.py."""

from __future__ import annotations

import collections
import contextlib
import fcntl
import json
import logging
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any, NoReturn, Protocol

from sqlalchemy import Connection

from bot.errors import StorageError
from storage import csv_worker
from storage.database import SQLITE_BUSY_TIMEOUT_S
from storage.driver import Params

log = logging.getLogger(__name__)

HELPER_EXIT_S = 5.0
PIPE_BYTES = 1 << 20


@dataclass
class Answer:
    """A chunk's answer: its bounds, its text (UTF-8; empty while a helper holds it to write in place), its
    size, its votes, and how many had a current rendering and a judge. A held text must be placed or
    dropped before the next answer is read."""

    bounds: dict[str, int]
    text: bytes
    size: int
    votes: int
    rendered: int
    judged: int
    holder: Helper | None = None

    def place(self, offset: int) -> None:
        """The held text written into the export's file at ``offset``."""
        assert self.holder is not None
        self.holder.tell(f"w {offset}\n")
        self.holder = None

    def drop(self) -> None:
        if self.holder is not None:
            self.holder.tell("d\n")
            self.holder = None


class Ranges(Protocol):
    """The id ranges to answer, in order; told each answer's size, to size the ranges that follow."""

    def next(self) -> dict[str, int] | None: ...

    def answered(self, size: int) -> None: ...


def cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def sqlite_file(connection: Connection) -> str | None:
    """The SQLite file behind ``connection``, or None (another database, or one in memory)."""
    database = connection.engine.url.database
    if connection.dialect.name != "sqlite" or not database or database == ":memory:" or database.startswith("file:"):
        return None
    return os.path.abspath(database)


_LO, _HI = -(2**62) + 1, -(2**62) + 2  # no vote id: they mark where a chunk's bounds go among the parameters


def helper_job(database: str, sql: str, params: Params, mmap_bytes: int, out_fd: int | None = None
               ) -> dict[str, Any] | None:
    """What a helper process needs to stitch chunks (and, given ``out_fd``, write them into that file in
    place), or None if the slice's parameters cannot travel as JSON."""
    found = list(params({"lo": _LO, "hi": _HI}))
    if found.count(_LO) != 1 or found.count(_HI) != 1:
        return None
    job = {"database": database, "sql": sql, "params": found, "lo_at": found.index(_LO), "hi_at": found.index(_HI),
           "timeout_s": SQLITE_BUSY_TIMEOUT_S, "mmap_bytes": mmap_bytes, "out_fd": out_fd}
    try:
        if json.loads(json.dumps(job))["params"] != found:
            return None
    except (TypeError, ValueError):
        return None
    return job


class Helper:
    """One helper process (storage/csv_worker.py): asked for a range at a time, answering in order."""

    def __init__(self, job: dict[str, Any], errors: IO[bytes]) -> None:
        self.errors = errors
        self.in_place = job.get("out_fd") is not None
        self.told = 0  # place or drop commands whose answer is not read yet
        self.process = subprocess.Popen([sys.executable, "-I", csv_worker.__file__], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=errors,
                                        pass_fds=(job["out_fd"],) if self.in_place else ())
        assert self.process.stdout is not None
        with contextlib.suppress(OSError, AttributeError):  # fewer, larger hand-overs where Linux allows
            fcntl.fcntl(self.process.stdout.fileno(), fcntl.F_SETPIPE_SZ, PIPE_BYTES)
        self._send(json.dumps(job) + "\n")

    def _send(self, line: str) -> None:
        assert self.process.stdin is not None
        try:
            self.process.stdin.write(line.encode())
            self.process.stdin.flush()
        except OSError:
            self._failed()

    def ask(self, bounds: dict[str, int]) -> None:
        self._send(f"{bounds['lo']} {bounds['hi']}\n")

    def tell(self, command: str) -> None:
        self._send(command)
        self.told += 1

    def answer(self, bounds: dict[str, int]) -> Answer:
        self.settle()
        size, votes, rendered, judged = csv_worker.FRAME.unpack(self._read(csv_worker.FRAME.size))
        if self.in_place:
            return Answer(bounds, b"", size, votes, rendered, judged, holder=self)
        return Answer(bounds, self._read(size), size, votes, rendered, judged)

    def settle(self) -> None:
        """The answers to place and drop commands: a failed write in place is raised here."""
        while self.told:
            [written] = csv_worker.WRITTEN.unpack(self._read(csv_worker.WRITTEN.size))
            self.told -= 1
            if written < 0:
                raise OSError(-written, os.strerror(-written))

    def _read(self, size: int) -> bytes:
        assert self.process.stdout is not None
        data = self.process.stdout.read(size)
        if len(data) != size:
            self._failed()
        return data

    def _failed(self) -> NoReturn:
        self.stop()
        self.errors.seek(0)
        last = self.errors.read().decode(errors="replace").strip().splitlines()[-1:] or ["no message"]
        log.error("CSV export helper process failed (exit %s): %s", self.process.returncode, last[0][:300])
        raise StorageError("The export failed while reading the database; please try again.")

    def stop(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(OSError):
                assert self.process.stdin is not None
                self.process.stdin.close()
            try:
                self.process.wait(HELPER_EXIT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for pipe in (self.process.stdin, self.process.stdout):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()


def answers(connection: Connection, job: dict[str, Any], ranges: Ranges, helpers: int, judges_table: str
            ) -> Iterator[Answer]:
    """Each range of ``ranges`` answered, in order, each helper working on the next one while its last
    answer is handed on: with a range per helper in flight, memory stays a few chunks deep. Writing in
    place (``job["out_fd"]``), each answer must be placed or dropped before the next is asked for; every
    write has been made when this ends."""
    in_place = job.get("out_fd") is not None
    with tempfile.TemporaryDirectory(prefix="ftarena-export-") as directory:
        job = {**job, "judges": os.path.join(directory, "judges.db")}
        copy_judges(connection, judges_table, job["judges"])
        with contextlib.ExitStack() as stack:
            started: list[Helper] = []

            @stack.callback
            def stop_all() -> None:
                for helper in started:
                    helper.stop()

            asked: collections.deque[tuple[Helper, dict[str, int]]] = collections.deque()
            for n in range(helpers):
                if (bounds := ranges.next()) is None:
                    break
                errors = stack.enter_context(open(os.path.join(directory, f"helper-{n}.err"), "w+b"))
                started.append(helper := Helper(job, errors))
                helper.ask(bounds)
                asked.append((helper, bounds))
            while asked:
                helper, bounds = asked.popleft()
                answer = helper.answer(bounds)
                ranges.answered(answer.size)
                following = ranges.next()
                if following is not None and not in_place:
                    helper.ask(following)  # it works on while this chunk is handed on
                yield answer
                if in_place:
                    if answer.holder is not None:
                        raise AssertionError("an answer held for writing in place was neither placed nor dropped")
                    if following is not None:
                        helper.ask(following)
                if following is not None:
                    asked.append((helper, following))
            for helper in started:
                helper.settle()


def copy_judges(connection: Connection, table: str, path: str) -> None:
    """The judges' temporary ``table``, copied to a file the helpers attach (a temporary table is one
    connection's own)."""
    connection.exec_driver_sql(f"ATTACH DATABASE ? AS {csv_worker.JUDGES_SCHEMA}", (path,))
    try:
        name = f"{csv_worker.JUDGES_SCHEMA}.{table}"
        connection.exec_driver_sql(f"CREATE TABLE {name} (voter TEXT PRIMARY KEY, judge TEXT NOT NULL) WITHOUT ROWID")
        connection.exec_driver_sql(f"INSERT INTO {name} SELECT voter, judge FROM temp.{table} ORDER BY voter")
        connection.commit()
    finally:
        connection.exec_driver_sql(f"DETACH DATABASE {csv_worker.JUDGES_SCHEMA}")
