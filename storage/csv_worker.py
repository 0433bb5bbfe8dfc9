"""A helper process of the CSV export on SQLite (storage/exports.py runs one per core): SQLite's work of
stitching the votes' lines is CPU-bound and single-threaded per connection, and threads in one process
contend on SQLite's and malloc's locks, so a large export spreads its chunks over processes.

Standard library only, so it starts in a few tens of milliseconds. Its job arrives on stdin as one JSON line
(database file, judges file, SQL, parameters and where the chunk's bounds go in them); then each line
``lo hi`` asks for the chunk of votes with ids in [lo, hi], answered on stdout, in order, as a frame: four
little-endian int64 (text bytes, votes, votes with a current rendering, votes with a judge) and the text
as UTF-8 (the SQL gives it as a BLOB). EOF on stdin ends it."""

from __future__ import annotations

import json
import os
import sqlite3
import struct
import sys
from typing import Any

FRAME = struct.Struct("<4q")
JUDGES_SCHEMA = "ftarena_export"


def serve(job: dict[str, Any], requests: Any, out: int) -> None:
    connection = sqlite3.connect(job["database"], timeout=job["timeout_s"], isolation_level=None)
    try:
        connection.execute(f"PRAGMA mmap_size={int(job['mmap_bytes'])}")
        # Unqualified in the SQL, the judges table resolves to this attached file (temp and main have none).
        connection.execute(f"ATTACH DATABASE ? AS {JUDGES_SCHEMA}", (job["judges"],))
        sql, params, at_lo, at_hi = job["sql"], list(job["params"]), job["lo_at"], job["hi_at"]
        for request in requests:
            params[at_lo], params[at_hi] = map(int, request.split())
            text, votes, rendered, judged = connection.execute(sql, params).fetchone()
            data = text or b""
            _write_all(out, FRAME.pack(len(data), votes, rendered, judged))
            _write_all(out, data)
    finally:
        connection.close()


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def main() -> None:
    job = json.loads(sys.stdin.readline())
    serve(job, sys.stdin, sys.stdout.fileno())


if __name__ == "__main__":
    main()
