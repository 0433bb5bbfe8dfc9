"""``rope_permute`` is the layout change between the two RoPE conventions: transformers rotates dimension ``i`` of
a head with ``i + d/2``, llama.cpp's llama rotates ``2i`` with ``2i + 1``. Rotating the permuted rows the llama.cpp
way gives the permuted result of rotating the original rows the transformers way, so attention scores agree."""

from __future__ import annotations

import numpy as np
import pytest

from training.convert import rope_permute
from training.errors import ConversionError

N_HEAD, HEAD_DIM, N_IN, POSITION = 3, 8, 5, 7


def _angles() -> np.ndarray:
    return POSITION * 10000.0 ** (-np.arange(HEAD_DIM // 2) * 2 / HEAD_DIM)


def rope_halves(q: np.ndarray) -> np.ndarray:
    """Transformers' rotate_half RoPE on one vector of heads."""
    cos, sin = np.cos(_angles()), np.sin(_angles())
    out = np.empty_like(q)
    for h in range(N_HEAD):
        x = q[h * HEAD_DIM:(h + 1) * HEAD_DIM]
        first, second = x[: HEAD_DIM // 2], x[HEAD_DIM // 2:]
        out[h * HEAD_DIM:(h + 1) * HEAD_DIM] = np.concatenate([first * cos - second * sin,
                                                               second * cos + first * sin])
    return out


def rope_pairs(q: np.ndarray) -> np.ndarray:
    """llama.cpp's normal RoPE: neighbours (2i, 2i + 1) rotate together."""
    cos, sin = np.cos(_angles()), np.sin(_angles())
    out = np.empty_like(q)
    for h in range(N_HEAD):
        x = q[h * HEAD_DIM:(h + 1) * HEAD_DIM]
        even, odd = x[0::2], x[1::2]
        head = np.empty_like(x)
        head[0::2], head[1::2] = even * cos - odd * sin, odd * cos + even * sin
        out[h * HEAD_DIM:(h + 1) * HEAD_DIM] = head
    return out


def test_permuted_rows_under_llama_cpp_rope_match_transformers_rope() -> None:
    rng = np.random.default_rng(0)
    weights = rng.normal(size=(N_HEAD * HEAD_DIM, N_IN)).astype(np.float32)
    x = rng.normal(size=N_IN).astype(np.float32)
    ours = rope_halves(weights @ x)
    theirs = rope_pairs(rope_permute(weights, N_HEAD) @ x)
    assert np.allclose(theirs, rope_permute(ours[:, None], N_HEAD)[:, 0], atol=1e-5)
    # Without the permutation the rotations differ.
    assert not np.allclose(rope_pairs(weights @ x), rope_permute(ours[:, None], N_HEAD)[:, 0], atol=1e-2)


def test_the_permutation_only_reorders_rows() -> None:
    rows = np.arange(N_HEAD * HEAD_DIM * 2, dtype=np.float32).reshape(N_HEAD * HEAD_DIM, 2)
    permuted = rope_permute(rows, N_HEAD)
    assert sorted(permuted[:, 0].tolist()) == rows[:, 0].tolist()
    assert permuted[:4, 0].tolist() == [0, 8, 2, 10]  # head 0, d=8: rows 0, 4, 1, 5 of the original


def test_rows_that_do_not_split_into_heads_are_refused() -> None:
    with pytest.raises(ConversionError):
        rope_permute(np.zeros((10, 2), dtype=np.float32), 3)
