"""Every file in examples/ loads as the app loads a config, and says what it promises: the seed lab's three
contenders with their roles, and a LoRA example whose adapter is the file its documented commands write."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.bootstrap import load_settings
from bot.providers import PROVIDERS

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*")), ids=lambda p: p.name)
def test_every_example_loads(path: Path) -> None:
    assert path.suffix == ".toml", "examples/ holds configs only"
    settings = load_settings(path, {})
    assert settings.arena.default_matchup in settings.matchups
    assert all(m.provider in PROVIDERS for m in settings.models.values())
    assert "embedded" not in settings.matchups  # an example offers its own matchups only


def test_the_seed_lab_has_its_three_contenders_and_their_roles() -> None:
    settings = load_settings(EXAMPLES / "seed-lab.toml", {})
    models = {m.name: (m.provider, m.model, m.template)
              for matchup in settings.matchups.values() for m in (matchup.base, matchup.finetuned)}
    assert models == {"llama-2-7b": ("lamini", "meta-llama/Llama-2-7b-hf", "completion"),
                      "llama-2-7b-chat": ("lamini", "meta-llama/Llama-2-7b-chat-hf", "[INST] {prompt} [/INST]"),
                      "chatgpt": ("openai", "gpt-3.5-turbo", "chat")}
    roles = {name: {m.base.name: m.base_role, m.finetuned.name: m.finetuned_role}
             for name, m in settings.matchups.items()}
    assert roles == {"seed": {"llama-2-7b": "base", "llama-2-7b-chat": "finetuned"},
                     "chat-vs-chatgpt": {"chatgpt": "reference", "llama-2-7b-chat": "finetuned"},
                     "base-vs-chatgpt": {"llama-2-7b": "base", "chatgpt": "reference"}}
    assert sorted(settings.arena.sample_matchups) == sorted(settings.matchups)
    assert settings.models["chatgpt"].options["api_key_env"] == "OPENAI_API_KEY"  # never a key in the file


def test_the_lora_example_points_at_the_adapter_its_command_writes() -> None:
    from adapters.cli import _parser
    from training.pipeline import ADAPTER_FILE

    text = (EXAMPLES / "lora.toml").read_text()
    settings = load_settings(EXAMPLES / "lora.toml", {})
    lora_path = Path(str(settings.models["base-plus-lora"].options["lora_path"]))
    [command] = [line.removeprefix("#   ") for line in text.splitlines() if line.startswith("#   ftarena train")]
    args = _parser().parse_args(command.split()[1:])
    assert args.command == "train" and args.matchup == "embedded"
    assert lora_path == Path(settings.arena.adapters_dir) / args.name / ADAPTER_FILE
    # The adapter's parent is the embedded matchup's fine-tuned model, which this file pairs it with.
    assert load_settings(None, {}).matchups["embedded"].finetuned.model == settings.models["base"].model
