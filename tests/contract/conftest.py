"""The repository every contract test runs on: the in-memory fake, SQLite and PostgreSQL (skipped with its reason
where no PostgreSQL is reachable, see tests/conftest.py)."""

from __future__ import annotations

import pytest

from adapters.bootstrap import open_repository
from bot.ports import Repository
from tests.fakes import InMemoryRepository


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
async def repo(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Repository:
    if request.param == "memory":
        return InMemoryRepository()
    if request.param == "sqlite":
        return await open_repository(f"sqlite:///{tmp_path_factory.mktemp('db') / 'arena.db'}")
    return await open_repository(str(request.getfixturevalue("postgres_url")))
