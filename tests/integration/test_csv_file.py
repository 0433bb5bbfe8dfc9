"""Where the CSV export's lines go (storage/csv_file.py): in place only into a regular file written at a position,
and the stream then goes on after them."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from bot.export import COLUMNS, CSV_HEADER
from storage.csv_file import CsvChunk, CsvFile, in_place, write_lines


def test_lines_go_in_place_only_into_a_regular_file_written_at_a_position(tmp_path: Path) -> None:
    assert in_place(io.StringIO()) is None
    with open(tmp_path / "a.csv", "w", encoding="utf-8") as out:
        out.write("héllo\n")  # buffered: in_place flushes it first
        found = in_place(out)
        assert found is not None and found.fd == out.fileno() and found.offset == len("héllo\n".encode())
    with open(tmp_path / "a.csv", "a", encoding="utf-8") as out:
        assert in_place(out) is None  # appending: every write lands at the end
    with open(tmp_path / "b.csv", "w", encoding="latin-1") as out:
        assert in_place(out) is None  # the database's lines are UTF-8
    read, write = os.pipe()
    with open(write, "w", encoding="utf-8") as out, open(read, "rb"):
        assert in_place(out) is None  # a pipe has no offsets


def test_write_lines_lets_its_source_write_in_place_and_goes_on_after(tmp_path: Path) -> None:
    def source(into: CsvFile | None) -> list[CsvChunk]:
        assert into is not None
        os.pwrite(into.fd, "a,é\r\n".encode(), into.offset)
        os.pwrite(into.fd, b"b\r\n", into.offset + len("a,é\r\n".encode()))
        return [CsvChunk(b"", 1, written=len("a,é\r\n".encode())), CsvChunk(b"", 1, written=3)]

    with open(tmp_path / "votes.csv", "w", newline="", encoding="utf-8") as out:
        out.write(CSV_HEADER)  # as the export writes it, through the stream, before the lines
        assert write_lines(source, out) == 2
        out.write("end")
    header = ",".join(COLUMNS) + "\r\n"
    assert (tmp_path / "votes.csv").read_bytes().decode() == header + "a,é\r\nb\r\nend"


def test_write_lines_refuses_lines_claimed_written_where_nothing_can_be() -> None:
    def claims(into: CsvFile | None) -> list[CsvChunk]:
        return [CsvChunk(b"", 1, written=10)]

    with pytest.raises(RuntimeError, match="nowhere to go"):
        write_lines(claims, io.StringIO())
