"""A helper process of the CSV export on SQLite (storage/csv_export.py runs one per core): SQLite's work of
stitching the votes' lines is CPU-bound and single-threaded per connection, and threads in one process
contend on SQLite's and malloc's locks, so a large export spreads its chunks over processes.

Standard library only, so it starts in a few tens of milliseconds. Its job arrives on stdin as one JSON line
(database file, judges file, SQL, parameters and where the chunk's bounds go in them, and the export's file
descriptor if it writes in place); then each line ``lo hi`` asks for the chunk of votes with ids in
[lo, hi], answered on stdout, in order, as a frame: four little-endian int64 (text bytes, votes, votes with
a current rendering, votes with a judge) followed by the text as UTF-8 (the SQL gives it as a BLOB).

Writing in place, the frame comes without the text, which the helper keeps until the next line: ``w OFFSET``
writes it into the export's file at that offset, ``d`` drops it; either is answered by one int64 (bytes
written, or minus the error number). EOF on stdin ends it."""

from __future__ import annotations

import json
import os
import sqlite3
import struct
import sys
from typing import Any

FRAME = struct.Struct("<4q")
WRITTEN = struct.Struct("<q")
JUDGES_SCHEMA = "ftarena_export"


def serve(job: dict[str, Any], requests: Any, out: int) -> None:
    connection = sqlite3.connect(job["database"], timeout=job["timeout_s"], isolation_level=None)
    in_place: int | None = job.get("out_fd")
    held = b""
    try:
        connection.execute(f"PRAGMA mmap_size={int(job['mmap_bytes'])}")
        # Unqualified in the SQL, the judges table resolves to this attached file (temp and main have none).
        connection.execute(f"ATTACH DATABASE ? AS {JUDGES_SCHEMA}", (job["judges"],))
        sql, params, at_lo, at_hi = job["sql"], list(job["params"]), job["lo_at"], job["hi_at"]
        for request in requests:
            command, *args = request.split()
            if in_place is not None and command in ("w", "d"):
                _write_all(out, WRITTEN.pack(_place(in_place, held, int(args[0])) if command == "w" else 0))
                held = b""
                continue
            params[at_lo], params[at_hi] = int(command), int(args[0])
            text, votes, rendered, judged = connection.execute(sql, params).fetchone()
            data = text or b""
            _write_all(out, FRAME.pack(len(data), votes, rendered, judged))
            if in_place is None:
                _write_all(out, data)
            else:
                held = data
    finally:
        connection.close()


def _place(fd: int, data: bytes, offset: int) -> int:
    """``data`` written into ``fd`` at ``offset``: its size, or minus the error number."""
    try:
        pwrite_all(fd, data, offset)
    except OSError as exc:
        return -(exc.errno or 5)  # EIO when the error has no number
    return len(data)


def pwrite_all(fd: int, data: bytes, offset: int) -> None:
    view = memoryview(data)
    while view:
        done = os.pwrite(fd, view, offset)
        view, offset = view[done:], offset + done


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def main() -> None:
    job = json.loads(sys.stdin.readline())
    serve(job, sys.stdin, sys.stdout.fileno())


if __name__ == "__main__":
    main()
