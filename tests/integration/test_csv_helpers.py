"""A helper process of the CSV export that fails (storage/csv_worker.py): the export fails clearly, the
log says why, and no helper is left running."""

from __future__ import annotations

import asyncio
import errno
import os
import uuid
from pathlib import Path
from typing import Any

import pytest

from adapters.bootstrap import open_repository
from bot.errors import StorageError
from bot.export import ExportOptions, judge_for
from bot.statistics.slices import BattleQuery
from storage import csv_export, csv_helpers
from storage.battles import export_conditions
from storage.csv_file import CsvFile
from storage.repository import SqlAlchemyRepository
from tests.integration.test_csv_export import _helpers_alive, exported, hostile_arena


@pytest.mark.asyncio
async def test_a_failing_helper_fails_the_export_clearly(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                         caplog: pytest.LogCaptureFixture) -> None:
    # Helper processes stitch SQLite files only: this one is on a file, with the helpers forced on.
    monkeypatch.setattr(csv_export, "PROCESSES", 2)
    monkeypatch.setattr(csv_export, "PARALLEL_MIN_IDS", 1)
    repo = await open_repository(f"sqlite:///{tmp_path / 'arena.db'}")
    assert isinstance(repo, SqlAlchemyRepository)
    await hostile_arena(repo, f"m-{uuid.uuid4().hex}")
    job = csv_helpers.helper_job

    def unreadable(*args: Any) -> dict[str, Any] | None:  # a database file the helpers cannot open
        found = job(*args)
        return found and {**found, "database": str(tmp_path / "gone" / "arena.db")}

    monkeypatch.setattr(csv_helpers, "helper_job", unreadable)
    with pytest.raises(StorageError, match="export failed"):
        await exported(repo, BattleQuery(drop_identity_leaks=False, drop_failed=False), ExportOptions())
    assert "helper process failed" in caplog.text and "unable to open database" in caplog.text
    assert not _helpers_alive()


@pytest.mark.asyncio
async def test_a_failed_write_in_place_fails_the_export_with_the_systems_error(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(csv_export, "PROCESSES", 2)
    monkeypatch.setattr(csv_export, "PARALLEL_MIN_IDS", 1)
    repo = await open_repository(f"sqlite:///{tmp_path / 'arena.db'}")
    assert isinstance(repo, SqlAlchemyRepository)
    await hostile_arena(repo, f"m-{uuid.uuid4().hex}")
    target = tmp_path / "votes.csv"
    target.write_bytes(b"")

    def export_into_a_file_open_only_for_reading() -> int | None:
        fd = os.open(target, os.O_RDONLY)
        try:
            with pytest.raises(OSError) as caught, repo.engine.connect() as connection:
                for _ in csv_export.iter_csv(connection, export_conditions(None), judge_for(ExportOptions()),
                                             CsvFile(fd, 0)):
                    pass
            return caught.value.errno
        finally:
            os.close(fd)

    assert await asyncio.to_thread(export_into_a_file_open_only_for_reading) == errno.EBADF
    assert not _helpers_alive() and target.read_bytes() == b""
