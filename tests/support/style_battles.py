"""Synthetic battles drawn from the style-controlled Bradley-Terry model itself, with known ratings and style
coefficients, for tests of bot/statistics/style_control.py and its comparison with arena-rank."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from bot.statistics.style_control import relative_differences

WINNERS = np.array(["model_b", "tie", "model_a"])


@dataclass(frozen=True)
class Synthetic:
    """Columns ready for ``battles_from_arrays``, plus the truth they were drawn from."""

    models: tuple[str, ...]
    a: npt.NDArray[np.intp]
    b: npt.NDArray[np.intp]
    scores: npt.NDArray[np.float64]
    style_a: npt.NDArray[np.int64]
    style_b: npt.NDArray[np.int64]
    theta: npt.NDArray[np.float64]
    gamma: npt.NDArray[np.float64]

    @property
    def winners(self) -> npt.NDArray[np.str_]:
        """lmsys ``winner`` values (a tie of either kind scores 1/2, so "tie" stands for both)."""
        return WINNERS[(2 * self.scores).astype(int)]


def draw(n: int, *, models: int = 5, seed: int = 0, gamma: tuple[float, float, float, float] = (0.5, 0.1, 0.2, 0.1),
         tie_share: float = 0.15, length_follows_strength: float = 0.5, uneven: bool = False) -> Synthetic:
    """``n`` battles between random pairs. Stronger models write longer replies when ``length_follows_strength``
    is above 0 (as in real arenas, which is what makes style control matter); markdown counts are Poisson.
    ``uneven``: model i is drawn as model a in proportion to (i + 1)^2, so some pairs meet far more often."""
    rng = np.random.default_rng(seed)
    theta = rng.normal(0.0, 0.25, models)
    popularity = np.arange(1, models + 1) ** 2.0 if uneven else np.ones(models)
    a = rng.choice(models, size=n, p=popularity / popularity.sum())
    b = (a + rng.integers(1, models, n)) % models

    def style(side: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        length = rng.poisson(300 * np.exp(length_follows_strength * theta[side]))
        return np.stack([length, rng.poisson(2, n), rng.poisson(4, n), rng.poisson(3, n)], axis=1)

    style_a, style_b = style(a), style(b)
    differences = relative_differences(style_a, style_b).astype(np.float64)
    z = (differences - differences.mean(axis=0)) / differences.std(axis=0)
    logits = math.log(10) * (theta[a] - theta[b]) + z @ np.array(gamma)
    scores = (rng.random(n) < 1 / (1 + np.exp(-logits))).astype(np.float64)
    scores[rng.random(n) < tie_share] = 0.5
    return Synthetic(
        tuple(f"model-{i}" for i in range(models)), a.astype(np.intp), b.astype(np.intp), scores, style_a, style_b,
        theta, np.array(gamma),
    )
