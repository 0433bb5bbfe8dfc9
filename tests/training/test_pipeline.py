"""The loop closed: votes in a real SQLite arena -> ``ftarena train`` (a real TRL run of two steps) -> a registered
contender with its lineage, live after a restart; ``--emit`` hands off to TRL's CLI (a killed run:
test_train_chat.py)."""

from __future__ import annotations

import asyncio
import os
import shlex
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from adapters import loop as event_loop
from adapters.bootstrap import load_settings, open_service
from bot.domain import GenerationParams
from bot.ports import ContenderRegistry
from bot.registry import votes_fingerprint
from tests.support.votes import FIRST_VOTE, seed_votes
from tests.training.conftest import PAIRS, needs_train_extra
from training.pipeline import sha256_of

ROOT = Path(__file__).resolve().parents[2]
QUICK = ["--min-pairs", "6", "--max-steps", "2", "--lora-r", "4", "--lora-alpha", "8", "--max-length", "64",
         "--batch-size", "1"]
NEW = "smollm2-135m-instruct+dpo-1"


def ftarena(url: str, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200", "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "adapters.cli", "--database", url, *argv], capture_output=True,
                          text=True, env=env, cwd=ROOT, timeout=600)


@pytest.mark.slow
def test_train_registers_a_live_contender_with_its_lineage_that_survives_a_restart(tmp_path: Path) -> None:
    needs_train_extra()
    url = f"sqlite:///{tmp_path / 'arena.db'}"
    ids = event_loop.run(seed_votes(url, PAIRS))
    trained = tmp_path / "trained"
    run = ftarena(url, "train", "--matchup", "embedded", "--adapters-dir", str(trained), *QUICK)
    assert run.returncode == 0, run.stderr[-3000:]
    said = " ".join(run.stdout.split())
    assert f"training {NEW} on 6 DPO examples" in said and "step 2/2" in said and "reward margin" in said
    assert f"registered {NEW} (vs smollm2-135m-instruct), from 6 votes" in said

    async def reopen() -> None:  # a new process's view of the same database: the restart
        service = await open_service(replace(load_settings(None, {}), database_url=url))
        try:
            assert isinstance(service.repository, ContenderRegistry)
            [new] = await service.repository.contenders()
            assert (new.name, new.parent, new.method, new.votes) == (NEW, "smollm2-135m-instruct", "dpo", 6)
            assert new.votes_hash == votes_fingerprint((cid, f"voter{n}") for n, cid in enumerate(ids))
            assert new.data_from is not None and new.data_from >= FIRST_VOTE
            assert new.data_until is not None and new.data_until > new.data_from
            assert new.params["lora_r"] == 4 and new.params["examples"] == 6 and len(new.curve) == 2
            adapter = Path(new.adapter)
            assert adapter == trained.resolve() / NEW / "adapter.gguf" and sha256_of(adapter) == new.adapter_sha256
            assert new.base_sha256 == sha256_of(Path(new.base_model)) and new.wall_s and new.wall_s > 0
            pair = service.matchup(NEW)
            assert pair.base.name == "smollm2-135m-instruct" and pair.finetuned.options["lora_path"] == str(adapter)
            # llama.cpp loads the converted adapter beside its parent and answers.
            reply = await service.providers[NEW].generate("Hi", GenerationParams(max_tokens=4, temperature=0))
            assert reply.ok and reply.tokens > 0
        finally:
            await service.aclose()

    asyncio.run(reopen())
    listed = ftarena(url, "models")
    assert listed.returncode == 0, listed.stderr
    text = " ".join(listed.stdout.split())
    assert f"{NEW} vs smollm2-135m-instruct · dpo · live" in text and "data: 6 votes" in text
    assert "lora_r 4" in text and "in 2 steps" in text
    again = ftarena(url, "train", "--matchup", "embedded", "--adapters-dir", str(trained), "--min-pairs", "60")
    assert again.returncode == 2 and "Only 6 usable preference pairs" in again.stderr


def test_emit_writes_a_dataset_datasets_loads_and_a_trl_command_that_names_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    needs_train_extra()
    from datasets import load_dataset
    from trl.scripts.dpo import make_parser

    url = f"sqlite:///{tmp_path / 'arena.db'}"
    event_loop.run(seed_votes(url, PAIRS))
    out = tmp_path / "handoff"
    run = ftarena(url, "train", "--matchup", "embedded", "--emit", str(out), "--min-pairs", "6", "--lora-r", "16")
    assert run.returncode == 0, run.stderr
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    data = load_dataset(str(out / "data"))
    assert data["train"].num_rows == 6 and set(data["train"].column_names) == {"prompt", "chosen", "rejected"}
    chosen = {row["prompt"][0]["content"]: row["chosen"] for row in data["train"]}  # conversational rows
    assert chosen == {p["prompt"]: [{"role": "assistant", "content": p["chosen"]}] for p in PAIRS}
    script = (out / "train.sh").read_text()
    [command] = [line for line in script.splitlines() if line.startswith("trl ")]
    argv = shlex.split(command)
    assert argv[:2] == ["trl", "dpo"] and command in " ".join(run.stdout.split())
    # TRL's DPOConfig trains in bf16 by default, which it refuses on a machine without a GPU such as this one:
    # the command is for the GPU machine, and --use_cpu (said in the script) is only for parsing it here.
    assert "--use_cpu" in script
    script_args, config, model_args, _, rest = make_parser().parse_args_and_config(
        [*argv[2:], "--use_cpu"], return_remaining_strings=True)
    assert rest == [] and script_args.dataset_name == str(out / "data")
    assert model_args.model_name_or_path == "HuggingFaceTB/SmolLM2-135M-Instruct"
    assert model_args.use_peft and model_args.lora_r == 16 and config.beta == 0.1
    assert f"ftarena models add smollm2-135m-instruct+dpo-trl --parent smollm2-135m-instruct --lora {out}/adapter" \
        in script
    refused = ftarena(url, "train", "--matchup", "embedded", "--emit", str(out), "--min-pairs", "6")
    assert refused.returncode == 2 and "is not empty" in refused.stderr
