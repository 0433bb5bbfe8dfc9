"""The ContenderRegistry port's contract (the model registry and the training slot), held by the in-memory fake
and by SqlAlchemyRepository on real SQLite and PostgreSQL (unique names per test: tests share a database)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from adapters.bootstrap import open_repository
from bot.ports import ContenderRegistry
from bot.registry import Contender, RegistryError
from tests.fakes import InMemoryRepository

NOW = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
async def registry(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> ContenderRegistry:
    if request.param == "memory":
        return InMemoryRepository()
    if request.param == "sqlite":
        repository = await open_repository(f"sqlite:///{tmp_path_factory.mktemp('db') / 'arena.db'}")
    else:
        repository = await open_repository(str(request.getfixturevalue("private_postgres_url")))
    assert isinstance(repository, ContenderRegistry)
    return repository


def contender(name: str, created_at: datetime = NOW) -> Contender:
    return Contender(
        name=name, parent="smollm2-135m-instruct", method="dpo", adapter=f"/models/{name}/adapter.gguf",
        adapter_sha256="a" * 64, base_model="/models/smollm2.gguf", base_sha256="b" * 64, votes=12,
        votes_hash="c" * 64, data_from=NOW - timedelta(days=2), data_until=NOW - timedelta(hours=1),
        params={"method": "dpo", "epochs": 1.0, "learning_rate": 0.0002, "lora_r": 8},
        curve=({"step": 1, "loss": 0.69, "reward_margin": 0.0}, {"step": 2, "loss": 0.41, "reward_margin": None}),
        wall_s=31.5, created_at=created_at)


def mine(found: list[Contender], tag: str) -> list[Contender]:
    return [c for c in found if c.name.startswith(tag)]


@pytest.mark.asyncio
async def test_a_registered_contender_round_trips_with_its_lineage(registry: ContenderRegistry) -> None:
    tag = uuid.uuid4().hex[:8]
    first, second = contender(f"{tag}+dpo-1"), contender(f"{tag}+dpo-2", NOW + timedelta(minutes=1))
    await registry.register_contender(second)
    await registry.register_contender(first)
    assert mine(await registry.contenders(), tag) == [first, second]  # oldest first, every field kept


@pytest.mark.asyncio
async def test_a_name_is_registered_once_and_retiring_keeps_the_row(registry: ContenderRegistry) -> None:
    tag = uuid.uuid4().hex[:8]
    await registry.register_contender(contender(f"{tag}+dpo-1"))
    with pytest.raises(RegistryError, match="already registered"):
        await registry.register_contender(contender(f"{tag}+dpo-1"))
    before = await registry.registry_version()
    assert await registry.retire_contender(f"{tag}+dpo-1", NOW + timedelta(hours=1))
    assert await registry.registry_version() != before
    assert not await registry.retire_contender(f"{tag}+dpo-1", NOW + timedelta(hours=2))  # already retired
    assert not await registry.retire_contender(f"{tag}-missing", NOW)
    assert mine(await registry.contenders(), tag) == []
    [retired] = mine(await registry.contenders(include_retired=True), tag)
    assert retired.retired_at == NOW + timedelta(hours=1) and not retired.live
    with pytest.raises(RegistryError):  # a retired name is not reused: its votes carry it
        await registry.register_contender(contender(f"{tag}+dpo-1"))


@pytest.mark.asyncio
async def test_the_version_moves_on_every_registration(registry: ContenderRegistry) -> None:
    before = await registry.registry_version()
    assert await registry.registry_version() == before  # reading changes nothing
    await registry.register_contender(contender(f"{uuid.uuid4().hex[:8]}+dpo-1"))
    assert await registry.registry_version() != before


@pytest.mark.asyncio
async def test_one_training_run_at_a_time_and_a_dead_claim_is_taken_over(registry: ContenderRegistry) -> None:
    first, second = f"host:{uuid.uuid4().hex[:6]}", f"host:{uuid.uuid4().hex[:6]}"
    stale = NOW - timedelta(minutes=15)
    assert await registry.claim_training(first, NOW, stale) is None
    assert await registry.claim_training(second, NOW, stale) == first
    assert await registry.claim_training(first, NOW + timedelta(minutes=10), stale) is None  # heartbeat
    # Twenty minutes after the heartbeat, the first run is taken for dead.
    later = NOW + timedelta(minutes=30)
    assert await registry.claim_training(second, later, later - timedelta(minutes=15)) is None
    await registry.release_training(first)  # not the holder any more: changes nothing
    assert await registry.claim_training(first, later, later - timedelta(minutes=15)) == second
    await registry.release_training(second)
    assert await registry.claim_training(first, later, later - timedelta(minutes=15)) is None
    await registry.release_training(first)
