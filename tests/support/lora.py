"""Write tiny random LoRA adapters in llama.cpp's GGUF adapter format, for tests.

The format is the one ``convert_lora_to_gguf.py`` writes and ``llama_adapter_lora_init`` reads:

* metadata ``general.architecture`` equal to the base model's, ``general.type = "adapter"``,
  ``adapter.type = "lora"`` and ``adapter.lora.alpha`` (float32);
* for each adapted base tensor ``NAME`` (say ``blk.3.attn_q.weight``, ggml shape ``[n_in, n_out]``)
  two tensors ``NAME.lora_a`` with ggml shape ``[n_in, rank]`` and ``NAME.lora_b`` with ggml shape
  ``[rank, n_out]``. ggml lists dimensions fastest first, numpy slowest first, so the numpy arrays
  handed to ``GGUFWriter`` are ``(rank, n_in)`` and ``(n_out, rank)``.

llama.cpp adds ``scale * (alpha / rank) * B @ A`` to each adapted weight. Alpha is written equal to
the rank here, so the effective factor is just the ``lora_scale`` the adapter is loaded with."""

from __future__ import annotations

import math
from pathlib import Path

import gguf
import numpy as np

DEFAULT_TARGETS: tuple[str, ...] = (
    "attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down",
)


def _architecture(reader: gguf.GGUFReader) -> str:
    field = reader.fields.get(gguf.Keys.General.ARCHITECTURE)
    if field is None:
        raise ValueError("the base GGUF has no general.architecture")
    return str(field.contents())


def write_lora_adapter(base_gguf: Path, out: Path, *, rank: int = 4, magnitude: float = 0.02, seed: int = 0,
                       targets: tuple[str, ...] = DEFAULT_TARGETS, blocks: int | None = None) -> Path:
    """Write a random LoRA adapter for ``base_gguf`` to ``out`` and return ``out``.

    Every 2-D ``blk.N.<target>.weight`` of the base (for the first ``blocks`` blocks, all when
    ``None``) gets a rank-``rank`` update whose entries have standard deviation ``magnitude`` at
    scale 1. The same ``seed`` always gives the same file. Tensors are F32."""
    if rank < 1:
        raise ValueError("rank must be at least 1")
    reader = gguf.GGUFReader(base_gguf)
    rng = np.random.default_rng(seed)
    # Entries of A and B ~ N(0, s), so entries of B @ A have std s**2 * sqrt(rank) = magnitude.
    s = math.sqrt(magnitude / math.sqrt(rank))
    suffixes = tuple(f".{target}.weight" for target in targets)

    pairs: list[tuple[str, np.ndarray, np.ndarray]] = []
    for tensor in reader.tensors:
        name = tensor.name
        if not (name.startswith("blk.") and name.endswith(suffixes)) or len(tensor.shape) != 2:
            continue
        if blocks is not None and int(name.split(".")[1]) >= blocks:
            continue
        n_in, n_out = (int(n) for n in tensor.shape)  # ggml order: fastest dimension first
        lora_a = rng.normal(0.0, s, size=(rank, n_in)).astype(np.float32)  # ggml [n_in, rank]
        lora_b = rng.normal(0.0, s, size=(n_out, rank)).astype(np.float32)  # ggml [rank, n_out]
        pairs.append((name, lora_a, lora_b))
    if not pairs:
        raise ValueError(f"no tensor of {base_gguf.name} matches targets {targets}")

    writer = gguf.GGUFWriter(out, _architecture(reader))
    writer.add_type(gguf.GGUFType.ADAPTER)
    writer.add_string(gguf.Keys.Adapter.TYPE, "lora")
    writer.add_float32(gguf.Keys.Adapter.LORA_ALPHA, float(rank))
    for name, lora_a, lora_b in pairs:
        writer.add_tensor(f"{name}.lora_a", lora_a)
        writer.add_tensor(f"{name}.lora_b", lora_b)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return out
