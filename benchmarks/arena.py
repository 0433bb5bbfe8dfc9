"""Arena set-ups shared by the benchmarks: a sleeping fake model, echo-model settings, a wired service on a
throwaway SQLite file, and a throwaway PostgreSQL schema."""

from __future__ import annotations

import asyncio
import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from adapters.bootstrap import build_service, open_repository, parse_settings
from bot.config import Settings
from bot.domain import GenerationParams, Place, Reply
from bot.ports import Provider, Repository
from bot.providers.common import collect_reply
from bot.service import ArenaService
from storage.repository import SqlAlchemyRepository

MATCHUP = "bench"
BASE = "base-model"
TUNED = "tuned-model"
PLACE = Place(platform="bench", channel="bench")
POSTGRES_ENV = "FTARENA_TEST_POSTGRES_URL"
POSTGRES_DEFAULT = "postgresql://postgres@127.0.0.1:5432/test"


class SleepyProvider:
    """A fake model that takes ``seconds`` to stream ``tokens`` tokens, sleeping (not computing) in between."""

    def __init__(self, seconds: float, tokens: int = 20) -> None:
        self.seconds = seconds
        self.tokens = tokens

    async def stream(self, prompt: str, params: GenerationParams) -> AsyncIterator[str]:
        pause = self.seconds / self.tokens
        for i in range(min(self.tokens, params.max_tokens)):
            await asyncio.sleep(pause)
            yield f" tok{i}"

    async def generate(self, prompt: str, params: GenerationParams) -> Reply:
        return await collect_reply(self.stream(prompt, params))

    async def aclose(self) -> None:
        return None


def echo_model(reply: str, delay_s: float = 0.0) -> dict[str, Any]:
    """A config table for the bundled echo provider: ``reply`` word by word, ``delay_s`` before each word."""
    return {"provider": "echo", "model": "echo", "reply": reply, "delay_s": delay_s, "max_tokens": 512}


def bench_settings(database_url: str, base: Mapping[str, Any] | None = None,
                   tuned: Mapping[str, Any] | None = None) -> Settings:
    """Settings as the app parses them, with one matchup ``bench`` of two models (instant echo ones by default)."""
    instant = echo_model("A short reply of eight words for benchmarks.")
    return parse_settings({
        "database": {"url": database_url},
        "arena": {"default_matchup": MATCHUP},
        "models": {BASE: dict(base or instant), TUNED: dict(tuned or instant)},
        "matchups": {MATCHUP: {"base": BASE, "finetuned": TUNED}},
    }, env={})


@asynccontextmanager
async def wired_service(database_url: str, providers: Mapping[str, Provider], settings: Settings | None = None,
                        ) -> AsyncIterator[ArenaService]:
    """The service as the composition root builds it, on a migrated database, with ``providers`` for both models."""
    settings = settings or bench_settings(database_url)
    repository = await open_repository(database_url)
    service = build_service(settings, repository, providers)
    try:
        yield service
    finally:
        await service.aclose()
        close_repository(repository)


def close_repository(repository: Repository) -> None:
    if isinstance(repository, SqlAlchemyRepository):
        repository.engine.dispose()


@contextmanager
def sqlite_url() -> Iterator[str]:
    """A URL to a fresh SQLite file in a temporary directory removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="ftarena-bench-") as directory:
        yield f"sqlite:///{Path(directory) / 'arena.db'}"


class PostgresUnavailableError(Exception):
    """PostgreSQL could not be reached; the message says where and why, without the password."""


@contextmanager
def postgres_url() -> Iterator[str]:
    """A PostgreSQL URL scoped to a schema of its own (``search_path``), created here and dropped afterwards,
    as tests/conftest.py does. Raises PostgresUnavailableError when the server does not answer."""
    base = make_url(os.environ.get(POSTGRES_ENV) or POSTGRES_DEFAULT).set(drivername="postgresql+psycopg")
    where = base.render_as_string(hide_password=True)
    schema = f"ftarena_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base, connect_args={"connect_timeout": 5})
    try:
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:  # any failure to connect or create means "not usable here"
        admin.dispose()
        raise PostgresUnavailableError(f"PostgreSQL unreachable at {where}: {type(exc).__name__}") from exc
    try:
        yield base.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
