"""``ftarena train --emit DIR``: the hand-off to an existing training engine for models too big for a laptop.

Writes ``DIR/data/train.jsonl`` (the preference rows, in TRL's conversational form for chat models: ``datasets``
loads the folder as a dataset with a ``train`` split) and ``DIR/train.sh``, a ready command for TRL's own CLI
(``trl dpo`` / ``trl kto``, which start through ``accelerate launch``: ``--accelerate_config multi_gpu`` on a
cluster), followed by the line that brings the adapter back into the arena (``ftarena models add``)."""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path

from bot.domain import Model
from training.dataset import Row, check_enough, conversational, write_rows
from training.errors import TrainingError
from training.params import TARGET_MODULES
from training.pipeline import TrainRequest

# The checkpoints the embedded GGUF files were converted from: TRL trains the original weights, not a GGUF.
EMBEDDED_CHECKPOINTS = {
    "embedded:smollm2-135m-instruct": "HuggingFaceTB/SmolLM2-135M-Instruct",
    "embedded:gemma-3-270m": "google/gemma-3-270m",
}
HF_MODEL_OPTION = "hf_model"  # models.<name>.hf_model in the config: the checkpoint a model was built from


@dataclass(frozen=True)
class Handoff:
    data_dir: Path
    script: Path
    examples: int
    argv: tuple[str, ...]
    add_command: str

    @property
    def command(self) -> str:
        return shlex.join(self.argv)


def checkpoint_of(model: Model, hf_model: str | None) -> str:
    """The checkpoint TRL should train: ``--hf-model``, else the model's ``hf_model`` option, else the embedded
    model's origin."""
    chosen = hf_model or model.options.get(HF_MODEL_OPTION) or EMBEDDED_CHECKPOINTS.get(model.model)
    if not chosen:
        raise TrainingError(f"Which checkpoint should TRL train for {model.name}? Give --hf-model ID (or set "
                            f"models.{model.name}.{HF_MODEL_OPTION} in the config).")
    return str(chosen)


def trl_argv(checkpoint: str, data_dir: Path, adapter_dir: Path, request: TrainRequest) -> list[str]:
    """``trl dpo`` (or ``trl kto``) with our hyper-parameters under TRL's own option names."""
    p = request.params
    argv = ["trl", p.method, "--model_name_or_path", checkpoint, "--dataset_name", str(data_dir),
            "--output_dir", str(adapter_dir), "--use_peft", "--lora_r", str(p.lora_r),
            "--lora_alpha", str(p.lora_alpha), "--lora_target_modules", *TARGET_MODULES,
            "--learning_rate", repr(p.learning_rate), "--num_train_epochs", repr(p.epochs),
            "--per_device_train_batch_size", str(p.batch_size), "--max_length", str(p.max_length),
            "--beta", repr(p.beta), "--seed", str(p.seed)]
    if p.max_steps:
        argv += ["--max_steps", str(p.max_steps)]
    return argv


def emit_handoff(rows: list[Row], request: TrainRequest, parent: Model, out: Path,
                 hf_model: str | None = None) -> Handoff:
    """Write the dataset and the command into ``out`` (which must be new or empty)."""
    request.params.check()
    checkpoint = checkpoint_of(parent, hf_model)
    kept = check_enough(rows, request.params.method, request.min_pairs)
    out = out.resolve()
    if out.exists() and any(out.iterdir()):
        raise TrainingError(f"{out} is not empty; choose a new folder for --emit.")
    data_dir, adapter_dir = out / "data", out / "adapter"
    argv = trl_argv(checkpoint, data_dir, adapter_dir, request)
    name = request.name or f"{parent.name}+{request.params.method}-trl"
    add = shlex.join(["ftarena", "models", "add", name, "--parent", parent.name, "--lora", str(adapter_dir)])
    data_dir.mkdir(parents=True)
    if request.params.chat:
        kept = [conversational(row, request.params.method) for row in kept]
    write_rows(kept, data_dir / "train.jsonl")
    script = out / "train.sh"
    script.write_text(
        "#!/bin/sh\n"
        f"# {len(kept)} preference rows from the arena's votes on {parent.name}; TRL's CLI trains a LoRA.\n"
        "# trl launches through accelerate: on a cluster add --accelerate_config multi_gpu (or zero2, fsdp2).\n"
        "# It trains in bf16 on a GPU by default; on a machine without one, add --use_cpu.\n"
        f"set -e\n{shlex.join(argv)}\n"
        "# Back in the arena (a PEFT adapter folder is converted to llama.cpp's format on the way in):\n"
        f"# {add}\n", encoding="utf-8")
    script.chmod(0o755)
    return Handoff(data_dir=data_dir, script=script, examples=len(kept), argv=tuple(argv), add_command=add)
