"""An F32 copy of a quantized GGUF model: every tensor dequantized with ``gguf``, every metadata key written back.

llama.cpp computes a quantized model differently from transformers' dequantized copy of it, so the two disagree
after a few greedy tokens. On an F32 copy both run the same weights, and adapter conversions compare like with
like."""

from __future__ import annotations

from pathlib import Path

import gguf
import numpy as np

# Written by GGUFWriter itself, or describing the file rather than the model.
_OWN_KEYS = (gguf.Keys.General.ARCHITECTURE, gguf.Keys.General.ALIGNMENT, gguf.Keys.General.FILE_TYPE)


def write_f32_copy(source: Path, out: Path) -> Path:
    reader = gguf.GGUFReader(source)
    arch = str(reader.fields[gguf.Keys.General.ARCHITECTURE].contents())
    writer = gguf.GGUFWriter(out, arch)
    for key, field in reader.fields.items():
        if key.startswith("GGUF.") or key in _OWN_KEYS:
            continue
        sub_type = field.types[-1] if field.types[0] == gguf.GGUFValueType.ARRAY else None
        writer.add_key_value(key, field.contents(), field.types[0], sub_type=sub_type)
    writer.add_file_type(gguf.LlamaFileType.ALL_F32)
    for tensor in reader.tensors:
        weights = gguf.quants.dequantize(tensor.data, tensor.tensor_type)
        # numpy lists dimensions slowest first, ggml fastest first.
        writer.add_tensor(tensor.name, np.ascontiguousarray(weights, dtype=np.float32).reshape(tensor.shape[::-1]))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return out
