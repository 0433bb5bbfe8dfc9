"""The converted adapter does in llama.cpp what the PEFT adapter does in transformers, compared like with like.

On an F32 copy of the parent both run the same weights: next-token log-probabilities of a teacher-forced sequence
agree closely. On the quantized parent llama.cpp computes differently (greedy output diverges after a few tokens),
so there the adapter's *change* of the logits is compared. A conversion that skips the RoPE permutation of the q/k
rows fails both checks, and the adapter at scale 0 is the parent exactly.

The adapter is a random PEFT LoRA (B is zero at init; here it is drawn at random) on q/k/v/o: fast, and large
enough that a wrong conversion cannot hide."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.support.gguf_f32 import write_f32_copy
from tests.training.conftest import needs_train_extra
from training import convert
from training.errors import ConversionError
from training.params import TARGET_MODULES

pytestmark = pytest.mark.slow
needs_train_extra()

TEXT = ("<|im_start|>user\nWhat is the capital of France, and why is it famous?<|im_end|>\n<|im_start|>assistant\n"
        "The capital of France is Paris. It is famous for the Eiffel Tower, its museums and its food.")
B_STD = 0.2  # entries of LoRA B: log-probabilities move by several nats
MAX_LOGPROB_DIFF = 0.1  # the parent alone differs by about 0.02 between the two on the F32 copy
CLEAR_MARGIN = 0.5  # where transformers' best token leads its second by this much, llama.cpp must agree
MIN_CORRELATION = 0.9  # measured: 0.99 converted right, 0.85 without the permutation


def _log_softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


@pytest.fixture(scope="module")
def f32_parent(parent_gguf: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_f32_copy(parent_gguf, tmp_path_factory.mktemp("f32") / "parent-f32.gguf")


@pytest.fixture(scope="module")
def tokens(f32_parent: Path) -> list[int]:
    from llama_cpp import Llama

    llm = Llama(model_path=str(f32_parent), vocab_only=True, verbose=False)
    try:
        return [int(t) for t in llm.tokenize(TEXT.encode(), add_bos=False, special=True)]
    finally:
        llm.close()


class Reference:
    """Transformers' logits for ``tokens``, from the parent and from the parent with a random PEFT LoRA."""

    def __init__(self, f32_parent: Path, tokens: list[int], adapter_dir: Path) -> None:
        import torch
        from peft import LoraConfig, get_peft_model

        from training.run import load_parent

        torch.manual_seed(0)
        _, model = load_parent(f32_parent)
        model.eval()
        ids = torch.tensor([tokens])
        with torch.no_grad():
            self.parent = model(ids).logits[0].double().numpy()
        peft_model = get_peft_model(model, LoraConfig(r=4, lora_alpha=8, target_modules=list(TARGET_MODULES),
                                                      lora_dropout=0.0))
        generator = torch.Generator().manual_seed(1)
        with torch.no_grad():
            for name, weights in peft_model.named_parameters():
                if "lora_B" in name:
                    weights.copy_(torch.randn(weights.shape, generator=generator) * B_STD)
            self.adapted = peft_model(ids).logits[0].double().numpy()
        peft_model.save_pretrained(adapter_dir)
        self.adapter_dir = adapter_dir


@pytest.fixture(scope="module")
def reference(f32_parent: Path, tokens: list[int], tmp_path_factory: pytest.TempPathFactory) -> Reference:
    return Reference(f32_parent, tokens, tmp_path_factory.mktemp("peft") / "adapter")


def _llama_logits(model: Path, tokens: list[int], adapter: Path | None = None, scale: float = 1.0) -> np.ndarray:
    from llama_cpp import Llama

    kwargs: dict[str, Any] = {"model_path": str(model), "n_ctx": 256, "logits_all": True, "verbose": False,
                              "n_threads": 2}
    if adapter is not None:
        kwargs.update(lora_path=str(adapter), lora_scale=scale)
    llm = Llama(**kwargs)
    try:
        llm.eval(tokens)
        return np.array(llm.scores[: len(tokens)], dtype=np.float64)
    finally:
        llm.close()


@pytest.fixture(scope="module")
def converted(reference: Reference, parent_gguf: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return convert.convert_adapter(reference.adapter_dir, parent_gguf,
                                   tmp_path_factory.mktemp("gguf") / "adapter.gguf")


@pytest.fixture(scope="module")
def unpermuted(reference: Reference, converted: Path, parent_gguf: Path) -> Iterator[Path]:
    """The same adapter converted without the RoPE permutation of q/k rows: what a naive converter writes."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(convert, "rope_permute", lambda rows, n_head: rows)
        yield convert.convert_adapter(reference.adapter_dir, parent_gguf, converted.with_name("unpermuted.gguf"))


def _f32_agreement(reference: Reference, llama_logits: np.ndarray) -> tuple[float, int, int]:
    """(max log-probability difference, positions with a clear margin, those where llama.cpp's argmax differs)."""
    ours, theirs = _log_softmax(reference.adapted), _log_softmax(llama_logits)
    top2 = np.sort(ours, axis=-1)[:, -2:]
    clear = (top2[:, 1] - top2[:, 0]) > CLEAR_MARGIN
    disagree = clear & (ours.argmax(-1) != theirs.argmax(-1))
    return float(np.abs(ours - theirs).max()), int(clear.sum()), int(disagree.sum())


def _delta_correlation(reference: Reference, parent_logits: np.ndarray, adapted_logits: np.ndarray) -> float:
    ours = (reference.adapted - reference.parent).ravel()
    theirs = (adapted_logits - parent_logits).ravel()
    return float(np.corrcoef(ours, theirs)[0, 1])


def test_on_the_f32_parent_llama_cpp_gives_the_peft_log_probabilities(
        reference: Reference, f32_parent: Path, tokens: list[int], converted: Path, unpermuted: Path) -> None:
    parent_diff = np.abs(_log_softmax(reference.parent) - _log_softmax(_llama_logits(f32_parent, tokens))).max()
    assert parent_diff < MAX_LOGPROB_DIFF / 2
    assert np.abs(_log_softmax(reference.adapted) - _log_softmax(reference.parent)).max() > 2.0, "adapter too weak"

    worst, clear, disagree = _f32_agreement(reference, _llama_logits(f32_parent, tokens, converted))
    assert worst < MAX_LOGPROB_DIFF
    assert clear >= len(tokens) // 2 and disagree == 0

    wrong_worst, _, _ = _f32_agreement(reference, _llama_logits(f32_parent, tokens, unpermuted))
    assert wrong_worst > 10 * MAX_LOGPROB_DIFF, "skipping the q/k permutation must fail this check"


def test_on_the_quantized_parent_the_adapter_changes_the_logits_alike(
        reference: Reference, parent_gguf: Path, tokens: list[int], converted: Path, unpermuted: Path) -> None:
    parent = _llama_logits(parent_gguf, tokens)
    assert _delta_correlation(reference, parent, _llama_logits(parent_gguf, tokens, converted)) > MIN_CORRELATION
    wrong = _delta_correlation(reference, parent, _llama_logits(parent_gguf, tokens, unpermuted))
    assert wrong < MIN_CORRELATION, "skipping the q/k permutation must fail this check"


def test_the_adapter_at_scale_zero_is_the_parent(parent_gguf: Path, tokens: list[int], converted: Path) -> None:
    parent = _llama_logits(parent_gguf, tokens)
    assert np.array_equal(_llama_logits(parent_gguf, tokens, converted, scale=0.0), parent)
    assert not np.array_equal(_llama_logits(parent_gguf, tokens, converted, scale=1.0), parent)


def test_an_adapter_for_another_model_is_refused(reference: Reference, parent_gguf: Path, tmp_path: Path) -> None:
    from safetensors.numpy import load_file, save_file

    adapter_dir = reference.adapter_dir
    tensors = load_file(adapter_dir / convert.ADAPTER_WEIGHTS)
    shrunk = {name: t[:, :-1] if "lora_A" in name else t for name, t in tensors.items()}
    other = tmp_path / "other"
    other.mkdir()
    save_file(shrunk, other / convert.ADAPTER_WEIGHTS)
    (other / convert.ADAPTER_CONFIG).write_text((adapter_dir / convert.ADAPTER_CONFIG).read_text())
    with pytest.raises(ConversionError, match="another model"):
        convert.convert_adapter(other, parent_gguf, tmp_path / "out.gguf")
    assert not (tmp_path / "out.gguf").exists()
