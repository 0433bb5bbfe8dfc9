"""Real training runs in a worker process: TRL's DPO on six pairs moves the loss and leaves a PEFT adapter that
converts for llama.cpp; a run that fails or is killed says why and leaves its output location untouched."""

from __future__ import annotations

import math
import os
import signal
from dataclasses import replace
from pathlib import Path

import pytest

from tests.training.conftest import PAIRS, needs_train_extra
from training.convert import convert_adapter
from training.errors import HyperParameterError, NotEnoughPairsError, TrainingError, TrainingFailedError
from training.params import TrainParams
from training.runner import Progress, train_adapter

# Small and short: a few steps of one pair on one thread (the other core stays free for the rest of the suite).
QUICK = TrainParams(method="dpo", lora_r=4, lora_alpha=8, max_length=64, batch_size=1, max_steps=3,
                    learning_rate=1e-3)


def _untouched(tmp_path: Path) -> None:
    assert sorted(p.name for p in tmp_path.iterdir()) == [], "a failed run left files behind"


async def test_too_few_pairs_or_bad_hyper_parameters_fail_before_any_process(tmp_path: Path,
                                                                              parent_gguf: Path) -> None:
    with pytest.raises(NotEnoughPairsError, match=r"Only 6 usable preference pairs.*at least 20"):
        await train_adapter(parent_gguf, PAIRS, tmp_path / "new", QUICK)
    with pytest.raises(HyperParameterError, match="learning_rate"):
        await train_adapter(parent_gguf, PAIRS, tmp_path / "new", TrainParams(learning_rate=math.inf), min_pairs=1)
    _untouched(tmp_path)


async def test_an_existing_output_is_never_overwritten(tmp_path: Path, parent_gguf: Path) -> None:
    (tmp_path / "new").mkdir()
    with pytest.raises(TrainingError, match="already exists"):
        await train_adapter(parent_gguf, PAIRS, tmp_path / "new", QUICK, min_pairs=1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new"]


@pytest.mark.slow
async def test_a_parent_transformers_cannot_load_is_a_clear_error(tmp_path: Path) -> None:
    needs_train_extra()
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"GGUF" + b"\0" * 64)
    out_dir = tmp_path / "runs"
    with pytest.raises(TrainingFailedError, match=r"transformers cannot load broken\.gguf"):
        await train_adapter(broken, PAIRS, out_dir / "new", QUICK, min_pairs=1, threads=1)
    assert list(out_dir.iterdir()) == []


@pytest.mark.slow
async def test_dpo_on_six_pairs_moves_the_loss_and_the_adapter_converts(tmp_path: Path, parent_gguf: Path) -> None:
    needs_train_extra()
    seen: list[Progress] = []
    result = await train_adapter(parent_gguf, PAIRS, tmp_path / "dpo-1", QUICK, min_pairs=6, threads=1,
                                 on_progress=seen.append)
    assert [p.step for p in seen] == [1, 2, 3] and all(p.steps == 3 for p in seen)
    assert seen[-1].eta_s == 0 and all(p.loss is not None and p.reward_margin is not None for p in seen)
    losses = [p.loss for p in seen]
    assert list(result.losses) == losses
    assert losses[0] == pytest.approx(math.log(2), abs=1e-4)  # policy == reference at the first step
    assert min(losses[1:]) < losses[0] - 0.005, f"the loss did not move: {losses}"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dpo-1"]
    files = {p.name for p in result.adapter_dir.iterdir()}
    assert {"adapter_model.safetensors", "adapter_config.json", "training.json"} <= files
    assert result.record["params"]["lora_r"] == 4 and result.examples == 6

    gguf = convert_adapter(result.adapter_dir, parent_gguf, tmp_path / "dpo-1.gguf")
    with gguf.open("rb") as f:
        assert f.read(4) == b"GGUF"


@pytest.mark.slow
async def test_a_killed_worker_is_a_clear_error_and_leaves_nothing(tmp_path: Path, parent_gguf: Path) -> None:
    # KTO here, so that its trainer takes a real step too before the kill.
    needs_train_extra()
    import psutil

    liked = [{"prompt": p["prompt"], "completion": p["chosen"], "label": True} for p in PAIRS]
    disliked = [{"prompt": p["prompt"], "completion": p["rejected"], "label": False} for p in PAIRS]
    kto = replace(QUICK, method="kto", batch_size=2)
    steps: list[Progress] = []

    def kill_worker(progress: Progress) -> None:
        steps.append(progress)
        for child in psutil.Process().children(recursive=True):
            if "training.run" in " ".join(child.cmdline()):
                os.kill(child.pid, signal.SIGKILL)

    out_dir = tmp_path / "runs"
    with pytest.raises(TrainingFailedError, match=r"killed \(SIGKILL\); nothing was saved") as caught:
        await train_adapter(parent_gguf, liked + disliked, out_dir / "kto-1", kto, min_pairs=1, threads=1,
                            on_progress=kill_worker)
    assert steps and steps[0].step == 1 and steps[0].loss is not None
    assert caught.value.detail  # the worker's last stderr lines, for the log
    assert list(out_dir.iterdir()) == []
