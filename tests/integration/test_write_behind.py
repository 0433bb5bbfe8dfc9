"""Writing behind: every chunk, in order; a failed write reaches the caller and stops the rest."""

from __future__ import annotations

import threading

import pytest

from storage.write_behind import written_behind


def test_chunks_are_written_in_order_by_another_thread() -> None:
    written: list[str] = []
    threads: set[str] = set()

    def write(chunk: str) -> None:
        threads.add(threading.current_thread().name)
        written.append(chunk)

    with written_behind(write, depth=2) as put:
        for i in range(100):
            put(f"{i},")
    assert "".join(written) == "".join(f"{i}," for i in range(100))
    assert threads == {"write-behind"}


def test_a_failed_write_is_raised_and_nothing_after_it_is_written() -> None:
    written: list[str] = []

    def write(chunk: str) -> None:
        if chunk == "bad":
            raise OSError("No space left on device")
        written.append(chunk)

    with pytest.raises(OSError, match="No space left"), written_behind(write, depth=1) as put:
        for chunk in ["a", "bad", *("x" for _ in range(50))]:
            put(chunk)
    assert written == ["a"]
