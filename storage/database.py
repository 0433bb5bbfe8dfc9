"""Engines and schema: SQLite gets WAL, foreign keys and a busy timeout; Alembic brings any
database to the current schema at start."""

from __future__ import annotations

import fcntl
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from bot.errors import ConfigError, StorageError

log = logging.getLogger(__name__)

SQLITE_BUSY_TIMEOUT_S = 30
CONNECT_TIMEOUT_S = 5
MIGRATIONS = Path(__file__).with_name("migrations")


def make_engine(url: str) -> Engine:
    """An engine for ``url``; ``postgresql://`` URLs use psycopg 3."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError("database.url", "is not a valid database URL") from None
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    kwargs: dict[str, Any] = {}
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT_S, "check_same_thread": False}
    else:
        # A database host that does not answer must fail fast, not after the OS's TCP timeout.
        kwargs.update(pool_pre_ping=True, pool_size=10, max_overflow=20,
                      connect_args={"connect_timeout": CONNECT_TIMEOUT_S})
    try:
        engine = create_engine(parsed, **kwargs)
    except (SQLAlchemyError, ImportError) as exc:
        raise ConfigError("database.url", f"cannot use this database ({type(exc).__name__})") from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_S * 1000}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


MIGRATION_LOCK_ID = 7243901  # any fixed number: bot processes sharing a database agree on it


@contextmanager
def _sqlite_file_lock(engine: Engine) -> Iterator[None]:
    """Several processes starting at once on one SQLite file migrate one after the other."""
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        yield
        return
    with open(f"{database}.migrate-lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def migrate(engine: Engine) -> None:
    """Upgrade the schema to the newest Alembic revision (creating it on an empty database). Bot processes
    starting together take turns: an advisory lock on PostgreSQL, a file lock on SQLite."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    try:
        with _sqlite_file_lock(engine), engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK_ID})")
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    except SQLAlchemyError as exc:
        log.error("migration failed: %s", type(exc).__name__)
        raise StorageError("The database could not be opened or upgraded; check database.url.") from exc
