"""The fast CSV export on real SQLite and PostgreSQL: stored renderings stitched per vote must equal the
csv module's output for the same votes, byte for byte, whether the rendering is stored, missing or stale."""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import tempfile
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import delete, update

from adapters.bootstrap import open_repository
from bot.domain import Choice, Comparison, Place, Reply, Side, Status
from bot.export import ExportOptions, csv_parts, judge_for
from bot.statistics.slices import BattleQuery
from storage import csv_export
from storage.battles import export_conditions
from storage.csv_file import in_place
from storage.orm import ComparisonCsvRow, VoteRow
from storage.repository import SqlAlchemyRepository
from tests.support.csv_reference import reference_csv

NOW = datetime(2026, 11, 22, 9, 30, 15, 123456, tzinfo=UTC)
# What chat members type and models answer: separators, quotes, line breaks, control and invisible
# characters, markup and SQL-looking text (NUL is refused before storage, so it never gets here).
HOSTILE = ["plain", 'say "hi", then go', "line\nbreak\r\nand CR\ronly", "tab\tbell\x07 unit\x1f del\x7f",
           "zero\u200bwidth \u202eRTL\u202c", "émoji 🎉 ✓", "back\\slash \\n", "", "<@everyone> **md** `x`",
           "'; DROP TABLE votes; --", "line\u2028separator"]


@pytest.fixture(autouse=True, params=["in-process", "helper processes"])
def stitched(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test twice on SQLite: the export's own connection stitching the lines, and two helper
    processes (storage/csv_worker.py) doing it, as a large export on a file does."""
    if request.param == "helper processes":
        monkeypatch.setattr(csv_export, "PROCESSES", 2)
        monkeypatch.setattr(csv_export, "PARALLEL_MIN_IDS", 1)
    else:
        monkeypatch.setattr(csv_export, "PROCESSES", 1)
    return str(request.param)


@pytest.fixture
async def repo(database_url: str) -> SqlAlchemyRepository:
    repository = await open_repository(database_url)
    assert isinstance(repository, SqlAlchemyRepository)
    return repository


async def hostile_arena(repo: SqlAlchemyRepository, matchup: str) -> list[Comparison]:
    comparisons = []
    for i, text in enumerate(HOSTILE):
        c = Comparison(
            id=uuid.uuid4().hex[:16], prompt=f"{text} #{i}", matchup=matchup, model_a=f"base {text}"[:200],
            model_b="tuned,1", base_side=Side.A if i % 2 else Side.B, blind=bool(i % 3), requester="req",
            place=Place("discord", f"chan {text}", f"guild,{i}"), created_at=NOW)
        await repo.add_comparison(c)
        c.reply_a = Reply(text * 3, 3, 100 + i)
        c.reply_b = Reply(f"{text}!", 1, 7, text or None) if i % 4 else Reply("", 0, 2000, "The model timed out.")
        c.status = Status.DONE
        await repo.save_result(c)
        comparisons.append(c)
        for k, voter in enumerate((f"voter {text}", f"v{i}")):
            at = NOW + timedelta(seconds=i, microseconds=999 * k)
            await repo.record_vote(c.id, voter, list(Choice)[(i + k) % 4], at)
    return comparisons


async def exported(repo: SqlAlchemyRepository, query: BattleQuery, options: ExportOptions) -> tuple[str, str]:
    """(fast export, csv-module reference) for one slice. The fast export is made twice: into a string, and
    into a file, which helper processes write in place; the two must agree."""
    def work() -> tuple[str, str]:
        out = io.StringIO()
        rows = repo.write_csv(out, options, query)
        with tempfile.TemporaryDirectory() as directory:
            target = Path(directory) / "votes.csv"
            with open(target, "w", newline="", encoding="utf-8") as file:
                rows_in_file = repo.write_csv(file, options, query)
                file.write("after")  # the file goes on where the lines end
            in_file = target.read_bytes().decode()
        assert in_file == out.getvalue() + "after" and rows_in_file == rows
        return out.getvalue(), reference_csv(repo.iter_battles(query), options)

    return await asyncio.to_thread(work)


@pytest.mark.asyncio
async def test_fast_csv_equals_the_csv_module(repo: SqlAlchemyRepository, monkeypatch: pytest.MonkeyPatch) -> None:
    # Many small chunks, most with votes of other tests between; and every line stitched by the database.
    monkeypatch.setattr(csv_export, "FIRST_CHUNK_IDS", 7)
    monkeypatch.setattr(csv_export, "CHUNK_BYTES", 20_000)
    monkeypatch.setattr(csv_export, "_rendered_in_python", None)
    matchup = f"m-{uuid.uuid4().hex}"
    await hostile_arena(repo, matchup)
    query = BattleQuery(matchup=matchup, drop_identity_leaks=False, drop_failed=False)
    for options in (ExportOptions(salt="pepper"), ExportOptions(raw_voters=True)):
        fast, reference = await exported(repo, query, options)
        assert fast.count("\n") > 2 * len(HOSTILE) and fast == reference


@pytest.mark.asyncio
@pytest.mark.parametrize("narrow", [{"voter": "v3"}, {"since": NOW + timedelta(seconds=4)},
                                    {"until": NOW + timedelta(seconds=5)}, {"drop_identity_leaks": True}])
async def test_slices_keep_the_order_of_the_votes(repo: SqlAlchemyRepository, narrow: dict[str, object]) -> None:
    # Conditions an index could serve (voter, time): the votes are still read, and written, oldest first.
    matchup = f"m-{uuid.uuid4().hex}"
    await hostile_arena(repo, matchup)
    await hostile_arena(repo, matchup)  # the same voters again, later ids
    query = BattleQuery(**{"matchup": matchup, "drop_identity_leaks": False, "drop_failed": False, **narrow})
    fast, reference = await exported(repo, query, ExportOptions())
    assert fast.count("\r\n") >= 3 and fast == reference


@pytest.mark.asyncio
async def test_missing_or_stale_renderings_are_rendered_on_the_way_out(repo: SqlAlchemyRepository) -> None:
    matchup = f"m-{uuid.uuid4().hex}"
    comparisons = await hostile_arena(repo, matchup)
    query = BattleQuery(matchup=matchup, drop_identity_leaks=False, drop_failed=False)
    before, _ = await exported(repo, query, ExportOptions())
    table = ComparisonCsvRow.__table__
    with repo.engine.begin() as connection:  # as a database from before the renderings, or an older format
        connection.execute(delete(table).where(table.c.comparison_id.in_([c.id for c in comparisons[::2]])))
        connection.execute(update(table).where(table.c.comparison_id == comparisons[1].id)
                           .values(version=0, middle="stale"))
    after, reference = await exported(repo, query, ExportOptions())
    assert after == before == reference and "stale" not in after


@pytest.mark.asyncio
async def test_each_votes_tstamp_follows_its_last_click_and_old_votes_get_theirs_computed(
        repo: SqlAlchemyRepository) -> None:
    matchup = f"m-{uuid.uuid4().hex}"
    [first, second, *_] = await hostile_arena(repo, matchup)
    later = NOW.replace(microsecond=120_000) + timedelta(minutes=3)
    await repo.record_vote(first.id, "v0", Choice.TIE, later)
    await repo.record_vote(second.id, "v1", Choice.A, NOW - timedelta(days=1))  # older: changes nothing
    query = BattleQuery(matchup=matchup, drop_identity_leaks=False, drop_failed=False)
    stored, reference = await exported(repo, query, ExportOptions())
    assert stored == reference and f",{later.timestamp()!r}," in stored and str(later.timestamp()).endswith(".12")
    votes = VoteRow.__table__
    with repo.engine.begin() as connection:  # as votes cast before revision 0006, which kept no tstamp
        connection.execute(update(votes).where(votes.c.matchup == matchup, votes.c.id % 2 == 0).values(tstamp=None))
    computed, reference = await exported(repo, query, ExportOptions())
    assert computed == stored == reference


@pytest.mark.asyncio
async def test_saving_again_replaces_the_rendering(repo: SqlAlchemyRepository) -> None:
    [c, *_] = await hostile_arena(repo, f"m-{uuid.uuid4().hex}")
    c.reply_a = Reply("a better answer, \"quoted\"", 5, 10)
    await repo.save_result(c)
    table = ComparisonCsvRow.__table__
    with repo.engine.connect() as connection:
        [row] = connection.execute(table.select().where(table.c.comparison_id == c.id)).all()
    assert (row.head, row.middle, row.slices, row.tail) == csv_parts(c)


def _helpers_alive() -> set[int]:
    """Child processes of this one running the export helper."""
    found = set()
    for task in os.listdir("/proc/self/task"):
        with open(f"/proc/self/task/{task}/children") as children:
            for pid in children.read().split():
                with contextlib.suppress(OSError), open(f"/proc/{pid}/cmdline", "rb") as cmdline:
                    if b"csv_worker" in cmdline.read():
                        found.add(int(pid))
    return found


@pytest.mark.asyncio
@pytest.mark.skipif(not os.path.exists("/proc/self/task"), reason="lists child processes through Linux's /proc")
async def test_helpers_stop_when_the_reader_stops(repo: SqlAlchemyRepository, stitched: str,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(csv_export, "FIRST_CHUNK_IDS", 2)
    monkeypatch.setattr(csv_export, "MAX_CHUNK_IDS", 2)
    await hostile_arena(repo, f"m-{uuid.uuid4().hex}")

    def first_chunk_then_stop() -> tuple[int, set[int]]:
        with repo.engine.connect() as connection:
            chunks = csv_export.iter_csv(connection, export_conditions(None), judge_for(ExportOptions()))
            rows = next(chunks).rows
            during = _helpers_alive()
            chunks.close()  # as write_csv does when the file cannot be written
        return rows, during

    rows, during = await asyncio.to_thread(first_chunk_then_stop)
    on_sqlite = repo.engine.dialect.name == "sqlite"
    assert rows > 0 and len(during) == (2 if on_sqlite and stitched == "helper processes" else 0)
    assert not _helpers_alive()
    fast, reference = await exported(repo, BattleQuery(drop_identity_leaks=False, drop_failed=False), ExportOptions())
    assert fast == reference  # the connection went back to the pool fit for the next export


class FullDisk(io.StringIO):
    """A file that takes the header and then fails, as a full disk does."""

    def write(self, text: str) -> int:
        if self.tell():
            raise OSError(28, "No space left on device")
        return super().write(text)


@pytest.mark.asyncio
async def test_a_failed_write_stops_the_export_and_leaves_the_connection_fit(
        repo: SqlAlchemyRepository, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(csv_export, "FIRST_CHUNK_IDS", 2)
    monkeypatch.setattr(csv_export, "MAX_CHUNK_IDS", 2)
    await hostile_arena(repo, f"m-{uuid.uuid4().hex}")
    with pytest.raises(OSError, match="No space left"):
        await asyncio.to_thread(repo.write_csv, FullDisk(), ExportOptions())
    fast, reference = await exported(repo, BattleQuery(drop_identity_leaks=False, drop_failed=False), ExportOptions())
    assert fast == reference  # the connection went back to the pool fit for the next export


@pytest.mark.asyncio
async def test_written_to_a_file_as_utf8(repo: SqlAlchemyRepository, tmp_path: Path) -> None:
    # The database's chunks go to the file's bytes directly, after the header the text layer holds.
    await hostile_arena(repo, f"m-{uuid.uuid4().hex}")
    query = BattleQuery(drop_identity_leaks=False, drop_failed=False)
    _, reference = await exported(repo, query, ExportOptions())
    target = tmp_path / "votes.csv"

    def work() -> None:
        with open(target, "w", newline="", encoding="utf-8") as out:
            repo.write_csv(out, ExportOptions(), query)

    await asyncio.to_thread(work)
    assert target.read_bytes() == reference.encode()


@pytest.mark.asyncio
async def test_a_file_opened_to_append_gets_the_lines_after_what_it_held(repo: SqlAlchemyRepository,
                                                                        tmp_path: Path) -> None:
    # Every write to such a file goes to its end, whatever the offset: no lines are written in place.
    await hostile_arena(repo, f"m-{uuid.uuid4().hex}")
    query = BattleQuery(drop_identity_leaks=False, drop_failed=False)
    _, reference = await exported(repo, query, ExportOptions())
    target = tmp_path / "votes.csv"
    target.write_bytes(b"kept\r\n")

    def work() -> None:
        with open(target, "a", newline="", encoding="utf-8") as out:
            assert in_place(out) is None
            repo.write_csv(out, ExportOptions(), query)

    await asyncio.to_thread(work)
    assert target.read_bytes() == b"kept\r\n" + reference.encode()
