"""SqlAlchemyRepository on real SQLite and PostgreSQL beyond the port's contract (tests/contract): stored
formats, migrations, engines, event loops and processes."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

from adapters.bootstrap import open_repository
from bot.domain import Choice
from storage.database import MIGRATIONS, make_engine, migrate
from storage.repository import SqlAlchemyRepository
from tests.contract.test_repository_contract import NOW, finished, new_comparison


async def test_times_are_stored_as_sqlalchemy_writes_them_on_sqlite(tmp_path: Path) -> None:
    """Comparisons and votes are written on the driver's own cursor: their times must still be SQLAlchemy's
    text, microseconds included when they are zero (the CSV export and the --since/--until slices read it)."""
    repository = await open_repository(f"sqlite:///{tmp_path / 'times.db'}")
    assert isinstance(repository, SqlAlchemyRepository)
    c = await finished(repository, "m")
    await repository.record_vote(c.id, "alice", Choice.A, NOW)  # one vote alone
    await asyncio.gather(*(repository.record_vote_and_count(c.id, voter, Choice.B, NOW)  # a batch
                           for voter in ("bob", "carol")))
    with repository.engine.connect() as connection:
        stored = {connection.exec_driver_sql("SELECT created_at FROM comparisons").scalar_one(),
                  *connection.exec_driver_sql("SELECT created_at FROM votes").scalars(),
                  *connection.exec_driver_sql("SELECT updated_at FROM votes").scalars()}
    assert stored == {"2026-11-22 09:30:00.000000"}


def test_migrations_are_idempotent(database_url: str) -> None:
    engine = make_engine(database_url)
    migrate(engine)
    migrate(engine)
    with engine.connect() as conn:
        newest = max(p.name[:4] for p in MIGRATIONS.glob("versions/0*.py"))  # revisions are numbered 0001, 0002, …
        assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == newest
    engine.dispose()


def test_sqlite_runs_in_wal_with_foreign_keys(tmp_path: object) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/x/arena.db")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    engine.dispose()


def test_upgrade_copies_comparison_columns_onto_existing_votes(tmp_path: Path) -> None:
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import text

    from storage.database import MIGRATIONS

    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0002")
        connection.execute(text(
            "INSERT INTO comparisons (id, prompt, matchup, model_a, model_b, base_side, blind, requester, platform,"
            " server, channel, status, created_at, identity_leak, reply_problem) VALUES ('c1', 'p', 'm', 'x', 'y',"
            " 'a', 1, 'r', 'slack', 'T1', 'C1', 'done', '2026-11-01 00:00:00.000000', 1, 0)"))
        connection.execute(text(
            "INSERT INTO votes (comparison_id, voter, choice, changes, created_at, updated_at) VALUES"
            " ('c1', 'u', 'a', 0, '2026-11-01 00:00:00.000000', '2026-11-01 00:00:00.000000')"))
    migrate(engine)
    with engine.connect() as connection:
        row = connection.execute(text(
            "SELECT matchup, model_a, model_b, platform, server, channel, identity_leak FROM votes")).one()
    engine.dispose()
    assert tuple(row) == ("m", "x", "y", "slack", "T1", "C1", 1)


def test_a_repository_keeps_working_across_event_loops(tmp_path: Path) -> None:
    repo = asyncio.run(open_repository(f"sqlite:///{tmp_path / 'loops.db'}"))
    assert isinstance(repo, SqlAlchemyRepository)
    first = new_comparison("m")
    second = new_comparison("m")
    asyncio.run(repo.add_comparison(first))
    asyncio.run(repo.add_comparison(second))  # a new loop: the old loop's writer must not be waited on
    assert asyncio.run(repo.get_comparison(second.id)) is not None


def test_processes_starting_together_migrate_one_after_the_other(database_url: str, tmp_path: Path) -> None:
    """Four processes upgrade one fresh database at the same moment: no error, one schema."""
    import subprocess
    import sys

    code = ("import sys; from storage.database import make_engine, migrate; "
            "migrate(make_engine(sys.argv[1])); print('ok')")
    root = Path(__file__).resolve().parents[2]
    if "postgresql" in database_url:  # a fresh schema of its own, so every process finds it empty
        from sqlalchemy import create_engine, text
        from sqlalchemy.engine import make_url

        url = make_url(database_url)
        schema = f"race_{uuid.uuid4().hex[:8]}"
        admin = create_engine(url)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        database_url = url.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
            hide_password=False)
    else:
        database_url = f"sqlite:///{tmp_path / 'race.db'}"
    processes = [subprocess.Popen([sys.executable, "-c", code, database_url], cwd=root, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for _ in range(4)]
    outputs = [p.communicate(timeout=120) for p in processes]
    assert [p.returncode for p in processes] == [0] * 4, [err[-500:] for _, err in outputs]
    engine = make_engine(database_url)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM alembic_version").scalar() == 1
    engine.dispose()
