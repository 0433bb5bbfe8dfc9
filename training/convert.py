"""A PEFT LoRA adapter (``adapter_model.safetensors`` + ``adapter_config.json``) in llama.cpp's GGUF LoRA format.

The format (what llama.cpp's ``llama_adapter_lora_init`` reads): metadata ``general.type = adapter``,
``adapter.type = lora``, ``adapter.lora.alpha`` and the parent's ``general.architecture``; for each adapted parent
tensor ``NAME`` two F32 tensors ``NAME.lora_a`` (numpy ``(rank, n_in)``) and ``NAME.lora_b`` (numpy
``(n_out, rank)``). llama.cpp adds ``scale * alpha / rank * B @ A`` to the weight.

Names come from ``gguf``'s own tensor-name map. Transformers keeps each attention head's rotary dimensions as two
halves; llama's GGUF stores the q and k weights with those halves interleaved (``rope_permute``), so the output
rows of q and k -- the rows of LoRA B -- are permuted the same way. A is left alone: it acts on the input side."""

from __future__ import annotations

import json
import math
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gguf
import numpy as np
import numpy.typing as npt

from training.errors import ConversionError

ADAPTER_CONFIG = "adapter_config.json"
ADAPTER_WEIGHTS = "adapter_model.safetensors"
# Parent architectures we convert for; for each, whether its GGUF permutes q/k rows for RoPE. Only llama is
# checked against llama.cpp by the tests (tests/training/test_convert.py).
ARCHITECTURES: dict[gguf.MODEL_ARCH, bool] = {gguf.MODEL_ARCH.LLAMA: True}
PEFT_PREFIX = "base_model.model."
HALVES = 2

Array = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Parent:
    """What the converter needs to know of the parent GGUF."""

    arch: gguf.MODEL_ARCH
    n_blocks: int
    n_head: int
    n_head_kv: int
    shapes: dict[str, tuple[int, ...]]  # tensor name -> ggml shape (fastest dimension first)


def read_parent(path: Path) -> Parent:
    try:
        reader = gguf.GGUFReader(path)
    except (OSError, ValueError) as exc:
        raise ConversionError(f"Cannot read the parent model {path.name} as GGUF.") from exc

    def field(key: str) -> Any:
        found = reader.fields.get(key)
        if found is None:
            raise ConversionError(f"The parent model {path.name} has no {key}.")
        return found.contents()

    name = str(field(gguf.Keys.General.ARCHITECTURE))
    arch = next((a for a, n in gguf.MODEL_ARCH_NAMES.items() if n == name), None)
    if arch not in ARCHITECTURES:
        raise ConversionError(f"Converting adapters for {name!r} models is not supported (only "
                              f"{', '.join(gguf.MODEL_ARCH_NAMES[a] for a in ARCHITECTURES)}).")
    n_head = int(field(gguf.Keys.Attention.HEAD_COUNT.format(arch=name)))
    kv = reader.fields.get(gguf.Keys.Attention.HEAD_COUNT_KV.format(arch=name))
    return Parent(arch=arch, n_blocks=int(field(gguf.Keys.LLM.BLOCK_COUNT.format(arch=name))), n_head=n_head,
                  n_head_kv=int(kv.contents()) if kv is not None else n_head,
                  shapes={t.name: tuple(int(n) for n in t.shape) for t in reader.tensors})


def rope_permute(rows: Array, n_head: int) -> Array:
    """Rows of a q or k projection from transformers' layout to llama's GGUF layout.

    Within each head, transformers rotates dimension ``i`` with ``i + d/2`` (two halves); llama.cpp's llama
    rotates neighbours ``2i`` and ``2i + 1``. So GGUF row ``2i + j`` of a head is transformers row ``j * d/2 + i``."""
    n_out = rows.shape[0]
    if n_out % (n_head * HALVES):
        raise ConversionError(f"{n_out} rows do not split into {n_head} heads of two rotary halves.")
    per_half = n_out // n_head // HALVES
    return rows.reshape(n_head, HALVES, per_half, *rows.shape[1:]).swapaxes(1, 2).reshape(rows.shape)


def _scaling(config: dict[str, Any]) -> float:
    """PEFT's factor on ``B @ A``: alpha / r, or alpha / sqrt(r) with rsLoRA."""
    if config.get("peft_type", "LORA") != "LORA":
        raise ConversionError(f"Only LoRA adapters convert, not {config.get('peft_type')}.")
    for unsupported in ("use_dora", "modules_to_save", "rank_pattern", "alpha_pattern"):
        if config.get(unsupported):
            raise ConversionError(f"Adapters with {unsupported} set do not convert to llama.cpp's format.")
    if config.get("bias", "none") != "none":
        raise ConversionError("Adapters that train biases do not convert to llama.cpp's format.")
    r, alpha = int(config["r"]), float(config["lora_alpha"])
    return alpha / math.sqrt(r) if config.get("use_rslora") else alpha / r


def _load_pairs(adapter_dir: Path) -> tuple[dict[str, Any], dict[str, tuple[Array, Array]]]:
    """The adapter's config and, per adapted module (``model.layers.0.self_attn.q_proj``), its (A, B)."""
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    try:
        config = json.loads((adapter_dir / ADAPTER_CONFIG).read_text())
        tensors = load_file(adapter_dir / ADAPTER_WEIGHTS)
    except (OSError, ValueError, SafetensorError) as exc:
        raise ConversionError(f"Cannot read a PEFT adapter in {adapter_dir.name}.") from exc
    halves: dict[str, dict[str, Array]] = {}
    for key, value in tensors.items():
        module, dot, kind = key.removeprefix(PEFT_PREFIX).rpartition(".lora_")
        side = kind.split(".")[0]
        if not dot or side not in ("A", "B"):
            raise ConversionError(f"Unexpected tensor {key} in the adapter: only LoRA A and B convert.")
        halves.setdefault(module, {})[side] = np.asarray(value, dtype=np.float32)
    pairs = {}
    for module, sides in halves.items():
        if set(sides) != {"A", "B"}:
            raise ConversionError(f"The adapter has only half of the LoRA pair for {module}.")
        pairs[module] = (sides["A"], sides["B"])
    if not pairs:
        raise ConversionError("The adapter holds no LoRA tensors.")
    return config, pairs


def convert_adapter(adapter_dir: Path, parent_gguf: Path, out: Path) -> Path:
    """Write the PEFT adapter in ``adapter_dir``, trained on ``parent_gguf``, to ``out`` as a GGUF LoRA adapter.

    The file appears whole or not at all. Raises ``ConversionError`` when the adapter does not fit the parent
    or uses a PEFT feature llama.cpp cannot express."""
    config, pairs = _load_pairs(adapter_dir)
    scaling = _scaling(config)
    parent = read_parent(parent_gguf)
    names = gguf.get_tensor_name_map(parent.arch, parent.n_blocks)
    heads = {gguf.MODEL_TENSOR.ATTN_Q: parent.n_head, gguf.MODEL_TENSOR.ATTN_K: parent.n_head_kv}

    tensors: list[tuple[str, Array, Array]] = []
    for module, (lora_a, lora_b) in sorted(pairs.items()):
        found = names.get_type_and_name(module + ".weight", try_suffixes=(".weight",))
        if found is None:
            raise ConversionError(f"No llama.cpp tensor corresponds to {module}.")
        kind, name = found
        shape = parent.shapes.get(name)
        rank = lora_a.shape[0]
        if shape is None or len(shape) != 2 or lora_a.shape != (rank, shape[0]) or lora_b.shape != (shape[1], rank):
            raise ConversionError(f"The adapter's {module} does not fit the parent's {name}: was it trained on "
                                  f"another model?")
        if ARCHITECTURES[parent.arch] and kind in heads:
            lora_b = rope_permute(lora_b, heads[kind])
        tensors.append((name, lora_a, lora_b))

    rank = tensors[0][1].shape[0]
    if any(a.shape[0] != rank for _, a, _ in tensors):
        raise ConversionError("The adapter's tensors have different ranks.")
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, partial = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".partial")
    os.close(fd)
    try:
        writer = gguf.GGUFWriter(partial, gguf.MODEL_ARCH_NAMES[parent.arch])
        writer.add_type(gguf.GGUFType.ADAPTER)
        writer.add_string(gguf.Keys.Adapter.TYPE, "lora")
        # llama.cpp scales by alpha / rank: the alpha that gives PEFT's factor.
        writer.add_float32(gguf.Keys.Adapter.LORA_ALPHA, scaling * rank)
        for name, lora_a, lora_b in tensors:
            writer.add_tensor(f"{name}.lora_a", np.ascontiguousarray(lora_a))
            writer.add_tensor(f"{name}.lora_b", np.ascontiguousarray(lora_b))
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
        writer.close()
        os.replace(partial, out)
    finally:
        Path(partial).unlink(missing_ok=True)
    return out
