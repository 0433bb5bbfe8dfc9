"""``ftarena models`` and the refusals of ``ftarena train`` through the real command line, on real SQLite: what
is refused leaves the models and matchups exactly as they were, with a message that says why."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from adapters import cli
from adapters import loop as event_loop
from adapters.bootstrap import open_repository
from bot.ports import ContenderRegistry
from bot.providers.embedded import resolve_model_path
from bot.registry import Contender
from tests.support.lora import write_lora_adapter
from tests.support.votes import seed_votes
from tests.training.conftest import PAIRS

TUNED = "smollm2-135m-instruct"


@pytest.fixture()
def database(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'arena.db'}"
    event_loop.run(seed_votes(url, PAIRS))
    return url


def registered(url: str, include_retired: bool = True) -> list[Contender]:
    async def read() -> list[Contender]:
        repository = await open_repository(url)
        assert isinstance(repository, ContenderRegistry)
        return await repository.contenders(include_retired)

    return asyncio.run(read())


def ftarena(capsys: pytest.CaptureFixture[str], url: str, *argv: str) -> tuple[int, str]:
    code = cli.run(["--database", url, *argv])
    out, err = capsys.readouterr()
    return code, " ".join((out + err).split())  # Rich wraps long lines: compare words, not line breaks


@pytest.mark.parametrize(("options", "message"), [
    (["--min-pairs", "20"], "Only 6 usable preference pairs in the votes; training needs at least 20"),
    (["--method", "kto", "--min-pairs", "20"], "Only 12 usable judged replies in the votes; training needs at"),
    (["--learning-rate", "5"], "Bad hyper-parameter learning_rate: 5.0 is far too large"),
    (["--lora-r", "0"], "Bad hyper-parameter lora_r: must be between 1 and 256"),
    (["--epochs", "nan"], "Bad hyper-parameter epochs: must be a positive number"),
    (["--matchup", "nope"], "nope"),
    (["--name", "bad name!"], "is not a usable model name"),
])
def test_a_refused_run_changes_nothing_and_says_why(capsys: pytest.CaptureFixture[str], database: str,
                                                    tmp_path: Path, options: list[str], message: str) -> None:
    trained = tmp_path / "trained"
    code, said = ftarena(capsys, database, "train", "--matchup", "embedded", "--min-pairs", "1",
                         "--adapters-dir", str(trained), *options)
    assert code == cli.EXIT_USAGE
    assert message in said
    assert registered(database) == [] and not trained.exists()


def test_models_add_lists_and_remove_retire_a_contender_keeping_its_row(
        capsys: pytest.CaptureFixture[str], database: str, tmp_path: Path) -> None:
    parent = resolve_model_path(f"embedded:{TUNED}")
    adapter = write_lora_adapter(parent, tmp_path / "elsewhere.gguf", blocks=2)
    code, said = ftarena(capsys, database, "models", "add", "smol-v2", "--parent", TUNED, "--lora", str(adapter))
    assert code == 0 and "added smol-v2 (vs smollm2-135m-instruct)" in said
    [added] = registered(database)
    assert (added.parent, added.method, added.adapter) == (TUNED, "external", str(adapter.resolve()))
    assert len(added.adapter_sha256) == 64 and len(added.base_sha256) == 64 and added.live

    code, said = ftarena(capsys, database, "models")
    assert code == 0 and "smol-v2" in said and "external" in said and added.adapter_sha256[:12] in said

    code, said = ftarena(capsys, database, "models", "add", "smol-v2", "--parent", TUNED, "--lora", str(adapter))
    assert code == cli.EXIT_USAGE and "smol-v2 is already a model's name" in said
    code, said = ftarena(capsys, database, "models", "add", "smol-v3", "--parent", TUNED, "--lora", str(parent))
    assert code == cli.EXIT_USAGE and "is a GGUF model, not a LoRA adapter" in said
    code, said = ftarena(capsys, database, "models", "add", "embedded", "--parent", TUNED, "--lora", str(adapter))
    assert code == cli.EXIT_USAGE and "embedded is already a model's name" in said  # a config matchup's name
    code, said = ftarena(capsys, database, "models", "add", "smol-v3", "--parent", "nope", "--lora", str(adapter))
    assert code == cli.EXIT_USAGE and "no configured model named 'nope'" in said
    assert [c.name for c in registered(database)] == ["smol-v2"]

    code, said = ftarena(capsys, database, "models", "remove", "smol-v2")
    assert code == 0 and "its votes stay" in said
    [retired] = registered(database)
    assert not retired.live and registered(database, include_retired=False) == []
    code, said = ftarena(capsys, database, "models", "remove", "smol-v2")
    assert code == cli.EXIT_USAGE and "No registered contender named 'smol-v2'" in said


def test_a_second_run_waits_for_the_first(capsys: pytest.CaptureFixture[str], database: str,
                                          tmp_path: Path) -> None:
    from datetime import UTC, datetime

    async def claim() -> None:
        repository = await open_repository(database)
        assert isinstance(repository, ContenderRegistry)
        now = datetime.now(UTC)
        assert await repository.claim_training("other-host:42", now, now) is None

    asyncio.run(claim())
    code, said = ftarena(capsys, database, "train", "--matchup", "embedded", "--min-pairs", "6",
                         "--adapters-dir", str(tmp_path / "trained"))
    assert code == cli.EXIT_USAGE and "Another training run (other-host:42) is going" in said
    assert registered(database) == []


def test_emit_kto_writes_judged_replies_and_a_trl_kto_command(capsys: pytest.CaptureFixture[str], database: str,
                                                              tmp_path: Path) -> None:
    import json

    out = tmp_path / "handoff"
    code, said = ftarena(capsys, database, "train", "--matchup", "embedded", "--emit", str(out), "--method", "kto",
                         "--min-pairs", "12", "--no-chat", "--hf-model", "my-org/smol-base")
    assert code == 0, said
    rows = [json.loads(line) for line in (out / "data" / "train.jsonl").read_text().splitlines()]
    assert len(rows) == 12 and sum(row["label"] for row in rows) == 6  # each vote: one liked, one disliked reply
    assert all(isinstance(row["prompt"], str) for row in rows)  # --no-chat: plain text, not conversations
    script = (out / "train.sh").read_text()
    assert f"trl kto --model_name_or_path my-org/smol-base --dataset_name {out / 'data'}" in script
    assert registered(database) == []  # a hand-off registers nothing until `models add`
