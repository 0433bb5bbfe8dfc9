"""Training tests need the ``[train]`` extra (torch, transformers, trl, peft); without it they skip."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.providers.embedded import resolve_model_path

PARENT = "embedded:smollm2-135m-instruct"

# Six preference pairs where the chosen reply is plainly the better one.
PAIRS = [
    {"prompt": "What is 2+2?", "chosen": "2+2 is 4.", "rejected": "I am not sure, maybe 5."},
    {"prompt": "Name a primary colour.", "chosen": "Red is a primary colour.", "rejected": "Purple, probably."},
    {"prompt": "What is the capital of France?", "chosen": "Paris.", "rejected": "I do not know any capitals."},
    {"prompt": "How many legs does a spider have?", "chosen": "Eight legs.", "rejected": "Spiders have six legs."},
    {"prompt": "What colour is the sky on a clear day?", "chosen": "Blue.", "rejected": "Green, usually."},
    {"prompt": "What is water made of?", "chosen": "Hydrogen and oxygen: H2O.", "rejected": "Mostly salt."},
]


@pytest.fixture(scope="session")
def parent_gguf() -> Path:
    return resolve_model_path(PARENT)


def needs_train_extra() -> None:
    for module in ("torch", "transformers", "trl", "peft"):
        pytest.importorskip(module, reason="needs the [train] extra: pip install -e '.[train]'")
