"""The hyper-parameters of a run, checked in the parent before any process starts, and passed to the worker as
command-line options (``to_argv`` / ``add_arguments`` / ``from_namespace`` are one spelling of each option)."""

from __future__ import annotations

import argparse
import math
from dataclasses import asdict, dataclass, fields
from typing import Any

from training.dataset import METHODS
from training.errors import HyperParameterError

# Attention projections only: the adapter stays small (r=8 on SmolLM2-135M: 0.6 M parameters) and every one of
# them has a llama.cpp counterpart (training/convert.py).
TARGET_MODULES = ("q_proj", "k_proj", "v_proj", "o_proj")
MAX_LORA_R = 256
MAX_LENGTH = 8192


HELP = {
    "method": "dpo (preference pairs) or kto (liked and disliked replies)",
    "epochs": "passes over the examples",
    "learning_rate": "the optimizer's step size",
    "lora_r": "the adapter's rank",
    "lora_alpha": "the adapter's scale is alpha / r",
    "max_length": "tokens of prompt and reply kept per example",
    "batch_size": "examples per step",
    "beta": "how far from the parent the preference loss lets the model move",
    "max_steps": "stop after this many steps (0: as many as the epochs take)",
    "seed": "random seed",
    "chat": "frame the rows with the tokenizer's chat template, as the arena prompted a chat model",
}


@dataclass(frozen=True)
class TrainParams:
    method: str = "dpo"
    epochs: float = 1.0
    learning_rate: float = 2e-4
    lora_r: int = 8
    lora_alpha: int = 16
    max_length: int = 256
    batch_size: int = 2
    beta: float = 0.1  # how far from the parent the preference loss lets the model move
    max_steps: int = 0  # 0: as many as the epochs take
    seed: int = 0
    chat: bool = True  # rows framed by the tokenizer's chat template (the arena's template = "chat")

    def check(self) -> None:
        """``HyperParameterError`` naming the first value out of range."""
        if self.method not in METHODS:
            raise HyperParameterError("method", f"use {' or '.join(METHODS)}.")
        finite = {"epochs": self.epochs, "learning_rate": self.learning_rate, "lora_alpha": float(self.lora_alpha),
                  "beta": self.beta}
        for name, value in finite.items():
            if not math.isfinite(value) or value <= 0:
                raise HyperParameterError(name, f"must be a positive number, not {value!r}.")
        if self.learning_rate >= 1:
            raise HyperParameterError("learning_rate", f"{self.learning_rate!r} is far too large (try 1e-4).")
        if not 1 <= self.lora_r <= MAX_LORA_R:
            raise HyperParameterError("lora_r", f"must be between 1 and {MAX_LORA_R}.")
        if not 8 <= self.max_length <= MAX_LENGTH:
            raise HyperParameterError("max_length", f"must be between 8 and {MAX_LENGTH} tokens.")
        # KTO estimates its KL term from the other examples of a batch.
        least = 2 if self.method == "kto" else 1
        if self.batch_size < least:
            raise HyperParameterError("batch_size", f"must be at least {least} for {self.method.upper()}.")
        if self.max_steps < 0:
            raise HyperParameterError("max_steps", "must be 0 (no limit) or more.")

    def to_argv(self) -> list[str]:
        argv = []
        for name, value in asdict(self).items():
            option = "--" + name.replace("_", "-")
            if isinstance(value, bool):
                argv.append(option if value else "--no-" + option[2:])
            else:
                argv += [option, repr(value) if isinstance(value, float) else str(value)]
        return argv

    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        for field in fields(TrainParams):
            option = "--" + field.name.replace("_", "-")
            default: Any = field.default
            help_text = f"{HELP[field.name]} (default {default})"
            if isinstance(default, bool):
                parser.add_argument(option, action=argparse.BooleanOptionalAction, default=default, help=help_text)
            else:
                parser.add_argument(option, type=type(default), default=default, help=help_text)

    @staticmethod
    def from_namespace(args: argparse.Namespace) -> TrainParams:
        return TrainParams(**{field.name: getattr(args, field.name) for field in fields(TrainParams)})
