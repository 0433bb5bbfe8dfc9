"""Shared fixtures: databases (SQLite always, PostgreSQL when reachable) and proxy-free environments."""

from __future__ import annotations

import contextlib
import gc
import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from adapters import loop as event_loop

POSTGRES_ENV = "FTARENA_TEST_POSTGRES_URL"


def pytest_asyncio_loop_factories(config: pytest.Config, item: pytest.Item) -> dict[str, object]:
    """Async tests run on the loop the app's entry points run on (adapters/loop.py: uvloop where installed)."""
    return {"app-loop": event_loop.loop_factory()}


@pytest.fixture(autouse=True)
def _no_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    # Test peers live on 127.0.0.1; HTTP clients that honour proxy variables must not detour.
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


@pytest.fixture(autouse=True)
def _heap_unfrozen() -> Iterator[None]:
    # Entry points freeze the heap (adapters/loop.freeze_heap); in the test process that would keep every
    # earlier test's objects out of the collector's reach.
    yield
    if gc.get_freeze_count():
        gc.unfreeze()


def _postgres_base_url() -> str | None:
    return os.environ.get(POSTGRES_ENV)


@contextlib.contextmanager
def _postgres_schema() -> Iterator[str]:
    """A PostgreSQL URL whose search path is a new schema of its own, dropped afterwards."""
    base = _postgres_base_url()
    if not base:
        pytest.skip(f"PostgreSQL tests need {POSTGRES_ENV} (e.g. postgresql://postgres@127.0.0.1:5432/test)")
    url = make_url(base).set(drivername="postgresql+psycopg")
    schema = f"ftarena_test_{uuid.uuid4().hex[:10]}"
    try:
        admin = create_engine(url)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:  # any failure to connect means "not reachable" here
        pytest.skip(f"PostgreSQL unreachable at {url.render_as_string(hide_password=True)}: {type(exc).__name__}")
    scoped = url.update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield scoped.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A PostgreSQL URL with a schema of its own for this test session, dropped afterwards."""
    with _postgres_schema() as url:
        yield url


@pytest.fixture
def private_postgres_url() -> Iterator[str]:
    """A schema for one test, for state every process on a database shares (the model registry): what it
    registers never reaches another test's bots."""
    with _postgres_schema() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('db') / 'arena.db'}"
    return str(request.getfixturevalue("postgres_url"))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The arena-rank reference tests load JAX, whose threads make every later fork of the test process
    (subprocesses, pseudo-terminals) risk a deadlock: they run last."""
    items.sort(key=lambda item: item.path.name == "test_reference_arena_rank.py")
