"""The model registry in the core: names, the matchups contenders bring, and a service whose matchups follow the
registry without a restart (the in-memory repository; the SQL ones are held to the same contract)."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from bot.domain import Choice, Model, Place
from bot.errors import ConfigError
from bot.registry import (
    Contender,
    RegistryError,
    RegistryView,
    check_name,
    check_parent,
    next_name,
    registry_matchups,
    votes_fingerprint,
)
from bot.service import ArenaService
from tests.fakes import InMemoryRepository, ScriptedProvider, matchup

NOW = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)
PLACE = Place("console")


def local(name: str) -> Model:
    return Model(name=name, provider="llamacpp", model=f"/models/{name}.gguf", template="chat")


def contender(name: str, parent: str = "tuned-m", retired: bool = False) -> Contender:
    return Contender(name=name, parent=parent, method="dpo", adapter=f"/trained/{name}/adapter.gguf",
                     adapter_sha256="a" * 64, created_at=NOW, retired_at=NOW if retired else None)


def test_names_count_up_past_every_used_one_retired_included() -> None:
    assert next_name("smol", "dpo", []) == "smol+dpo-1"
    assert next_name("smol", "dpo", ["smol+dpo-1", "smol+dpo-2", "smol+kto-3"]) == "smol+dpo-3"
    assert next_name("smol", "kto", ["smol+dpo-1"]) == "smol+kto-1"
    with pytest.raises(RegistryError, match="not a usable model name"):
        check_name("bad name; drop table")


def test_the_vote_fingerprint_ignores_order_and_sees_every_vote() -> None:
    keys = [("c1", "alice"), ("c2", "bob")]
    assert votes_fingerprint(keys) == votes_fingerprint(list(reversed(keys)))
    assert votes_fingerprint(keys) != votes_fingerprint(keys[:1])


def test_a_contender_brings_a_matchup_of_its_name_against_its_parent() -> None:
    models = {"smol": local("smol"), "remote": Model(name="remote", provider="openai", model="base-id")}
    found = registry_matchups(models, [contender("smol+dpo-1", "smol"), contender("remote+v2", "remote"),
                                       contender("gone+dpo-1", "gone"), contender("smol+dpo-2", "smol", True)])
    assert sorted(found) == ["remote+v2", "smol+dpo-1"]  # unknown parent and retired left out
    local_pair = found["smol+dpo-1"]
    assert local_pair.base == models["smol"] and local_pair.finetuned.name == "smol+dpo-1"
    assert local_pair.finetuned.model == "/models/smol.gguf"
    assert local_pair.finetuned.options["lora_path"] == "/trained/smol+dpo-1/adapter.gguf"
    assert found["remote+v2"].finetuned.model == "/trained/remote+v2/adapter.gguf"  # the server's LoRA name


def test_a_parent_must_be_a_configured_model_without_an_adapter() -> None:
    models = {"smol": local("smol"), "smol-lora": replace(local("x"), options={"lora_path": "/a.gguf"})}
    assert check_parent(models, "smol") is models["smol"]
    with pytest.raises(ConfigError, match="no configured model named 'nope'"):
        check_parent(models, "nope")
    with pytest.raises(RegistryError, match="already carries a LoRA"):
        check_parent(models, "smol-lora")


def make(repo: InMemoryRepository) -> tuple[ArenaService, RegistryView, list[str]]:
    built: list[str] = []

    def factory(model: Model) -> ScriptedProvider:
        built.append(model.name)
        return ScriptedProvider([model.name, " says", " hi"])

    pair = matchup()
    service = ArenaService({"pair": pair}, {"base-m": ScriptedProvider(["b"]), "tuned-m": ScriptedProvider(["t"])},
                           repo, rng=random.Random(7))
    models = {pair.base.name: pair.base, pair.finetuned.name: pair.finetuned}
    view = RegistryView(service, repo, models, factory, every_s=0)
    service.registry_view = view
    return service, view, built


@pytest.mark.asyncio
async def test_a_registered_contender_is_live_at_the_next_refresh_and_gone_when_retired() -> None:
    repo = InMemoryRepository()
    service, view, built = make(repo)
    assert await view.refresh() and sorted(service.matchups) == ["pair"]
    assert not await view.refresh()  # nothing changed: nothing reloaded
    await repo.register_contender(contender("tuned-m+dpo-1"))
    assert await view.refresh()
    assert built == ["tuned-m+dpo-1"]
    done = await service.compare("hello", "alice", PLACE, "tuned-m+dpo-1")
    assert {done.reply_a.text, done.reply_b.text} == {"t", "tuned-m+dpo-1 says hi"}
    assert [t.matchup for t in await service.leaderboard()] == ["pair", "tuned-m+dpo-1"]
    await repo.retire_contender("tuned-m+dpo-1", NOW)
    assert await view.refresh()
    assert sorted(service.matchups) == ["pair"]
    assert (await service.vote(done.id, "bob", Choice.A)).comparison_id == done.id  # its votes stay votable


@pytest.mark.asyncio
async def test_a_compare_naming_no_matchup_favours_the_under_voted_new_contender() -> None:
    repo = InMemoryRepository()
    service, view, _ = make(repo)
    for voter in range(9):
        c = await service.compare("an old prompt", "alice", PLACE, "pair")
        await service.vote(c.id, f"voter{voter}", Choice.A)
    assert all(service.prepare("hi", "bob", PLACE).matchup == "pair" for _ in range(20))  # one matchup only
    await repo.register_contender(contender("tuned-m+dpo-1"))
    await view.refresh()
    drawn = [service.prepare("hi", "bob", PLACE).matchup for _ in range(200)]
    # Weights 1/(1+9) for pair and 1/(1+0) for the new one: about 91% of the draws go to the new contender.
    assert 160 <= drawn.count("tuned-m+dpo-1") <= 195
