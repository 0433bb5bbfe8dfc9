"""The training worker, always its own process (``training/runner.py`` starts it; never the bot's process):

    python -m training.run --model PARENT.gguf --data ROWS.jsonl --out DIR [hyper-parameters]

It loads the parent GGUF with transformers, puts a PEFT LoRA on its attention projections, trains it with TRL's
``DPOTrainer`` or ``KTOTrainer`` on CPU and saves the adapter (plus ``training.json``: the hyper-parameters and
the loss curve) into ``DIR``. Its stdout carries only JSON lines, one event each:

    {"event": "loading"}
    {"event": "start", "steps": 30, "examples": 200}
    {"event": "step", "step": 1, "steps": 30, "loss": 0.69, "reward_margin": 0.0, "elapsed_s": 4.1, "eta_s": 119.0}
    {"event": "done", "steps": 30, "wall_s": 131.2}
    {"event": "error", "message": "..."}   then exit status 2

Everything else the libraries print goes to stderr."""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import IO, Any

from training.dataset import MIN_PAIRS, read_rows, to_dataset
from training.errors import TrainingError, TrainingFailedError, TrainingUnavailableError
from training.params import TARGET_MODULES, TrainParams

FAILED = 2
RECORD = "training.json"
# Never reach for the network: the parent is a local file, and the tests and the arena run offline.
OFFLINE = {"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
           "HF_HUB_DISABLE_TELEMETRY": "1", "TOKENIZERS_PARALLELISM": "false"}


class Events:
    """JSON lines on the stdout the worker was started with."""

    def __init__(self, out: IO[str]) -> None:
        self._out = out

    def emit(self, event: str, **fields: Any) -> None:
        self._out.write(json.dumps({"event": event, **fields}) + "\n")
        self._out.flush()


def _claim_stdout() -> Events:
    """Keep the real stdout for events and point file descriptor 1 (and ``sys.stdout``) at stderr, so that no
    library's print -- Python or C -- can break a JSON line."""
    events = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return Events(events)


def load_parent(gguf_path: Path) -> tuple[Any, Any]:
    """Tokenizer and float32 model from a GGUF file. Transformers marks a GGUF-loaded model quantized, and its
    Trainer then refuses to train it; the weights are plain dequantized tensors, so the mark is cleared."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(gguf_path.parent, gguf_file=gguf_path.name)
        model = AutoModelForCausalLM.from_pretrained(gguf_path.parent, gguf_file=gguf_path.name, dtype="float32")
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        raise TrainingUnavailableError(
            f"transformers cannot load {gguf_path.name} for training ({type(exc).__name__}); train it elsewhere "
            f"(ftarena train --emit) and add the adapter.") from exc
    quantizer = getattr(model, "hf_quantizer", None)
    if quantizer is not None:
        quantizer.remove_quantization_config(model)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer, model


def _trainer(params: TrainParams, model: Any, tokenizer: Any, dataset: Any, scratch: Path, callback: Any) -> Any:
    from peft import LoraConfig

    # KTOTrainer annotates peft_config as a dict; both trainers take a LoraConfig.
    lora: Any = LoraConfig(r=params.lora_r, lora_alpha=params.lora_alpha, target_modules=list(TARGET_MODULES),
                      lora_dropout=0.0, bias="none", task_type="CAUSAL_LM")
    common: dict[str, Any] = {
        "output_dir": str(scratch), "num_train_epochs": params.epochs, "max_steps": params.max_steps or -1,
        "learning_rate": params.learning_rate, "per_device_train_batch_size": params.batch_size,
        "max_length": params.max_length, "beta": params.beta, "seed": params.seed, "logging_steps": 1,
        "save_strategy": "no", "report_to": [], "use_cpu": True, "disable_tqdm": True,
        "dataloader_num_workers": 0,
        # Checkpointing activations halves memory at the cost of a second forward pass; a small model on a
        # laptop has the memory and not the time.
        "gradient_checkpointing": False,
        # Autocast to bfloat16 on CPU: a step took a median 8.4 s against 15.4 s in float32 here (2 cores with
        # AVX512-BF16, benchmarks/RESULTS.md). TRL defaults to it today; pinned so a changed default cannot halve
        # the speed unnoticed.
        "bf16": True,
    }
    if params.method == "dpo":
        from trl.trainer.dpo_config import DPOConfig
        from trl.trainer.dpo_trainer import DPOTrainer

        return DPOTrainer(model=model, args=DPOConfig(**common), train_dataset=dataset, processing_class=tokenizer,
                          peft_config=lora, callbacks=[callback])
    from trl.experimental.kto import KTOConfig, KTOTrainer

    return KTOTrainer(model=model, args=KTOConfig(**common), train_dataset=dataset, processing_class=tokenizer,
                      peft_config=lora, callbacks=[callback])


def _progress_callback(events: Events, curve: list[dict[str, float]], examples: int) -> Any:
    from transformers import TrainerCallback

    class Progress(TrainerCallback):
        started = 0.0
        diverged = False

        def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            self.started = time.monotonic()
            events.emit("start", steps=state.max_steps, examples=examples)

        def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, float] | None = None,
                   **kwargs: Any) -> None:
            if not logs or "loss" not in logs:
                return  # the closing summary (train_runtime, ...)
            elapsed = time.monotonic() - self.started
            step, steps = state.global_step, state.max_steps
            point = {"step": step, "loss": float(logs["loss"]),
                     "reward_margin": float(logs.get("rewards/margins", math.nan))}
            curve.append(point)
            events.emit("step", steps=steps, elapsed_s=round(elapsed, 2),
                        eta_s=round(elapsed / step * (steps - step), 1) if step else None,
                        **{k: v if math.isfinite(v) else None for k, v in point.items()})
            if not math.isfinite(point["loss"]):
                self.diverged = True
                control.should_training_stop = True

    return Progress()


def train(model_path: Path, data: Path, out: Path, params: TrainParams, events: Events,
          min_pairs: int = MIN_PAIRS) -> None:
    import torch

    params.check()
    started = time.monotonic()
    events.emit("loading")
    dataset = to_dataset(read_rows(data), params.method, chat=params.chat, min_pairs=min_pairs)
    torch.manual_seed(params.seed)
    tokenizer, model = load_parent(model_path)
    curve: list[dict[str, float]] = []
    callback = _progress_callback(events, curve, len(dataset))
    scratch = out / ".trainer"  # the Trainer wants an output_dir; nothing of it is kept
    trainer = _trainer(params, model, tokenizer, dataset, scratch, callback)
    trainer.train()
    if callback.diverged:
        raise TrainingFailedError("The loss became NaN or infinite: lower the learning rate.")
    trainer.model.save_pretrained(out)
    shutil.rmtree(scratch, ignore_errors=True)
    wall = time.monotonic() - started
    record = {"parent": str(model_path), "examples": len(dataset), "params": asdict(params), "curve": curve,
              "wall_s": round(wall, 2), "versions": _versions()}
    (out / RECORD).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    events.emit("done", steps=len(curve), wall_s=round(wall, 2))


def _versions() -> dict[str, str]:
    from importlib.metadata import version

    return {name: version(name) for name in ("torch", "transformers", "trl", "peft")}


def main(argv: Sequence[str] | None = None) -> int:
    for key, value in OFFLINE.items():
        os.environ.setdefault(key, value)
    events = _claim_stdout()
    parser = argparse.ArgumentParser(prog="python -m training.run", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, required=True, help="the parent GGUF file")
    parser.add_argument("--data", type=Path, required=True, help="DPO or KTO rows, JSON lines")
    parser.add_argument("--out", type=Path, required=True, help="an empty directory for the adapter")
    parser.add_argument("--min-pairs", type=int, default=MIN_PAIRS)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (default: all cores)")
    TrainParams.add_arguments(parser)
    args = parser.parse_args(argv)
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    try:
        train(args.model, args.data, args.out, TrainParams.from_namespace(args), events, args.min_pairs)
    except TrainingError as exc:
        events.emit("error", message=exc.user_message)
        return FAILED
    return 0


if __name__ == "__main__":
    sys.exit(main())
