"""The bisection's decision equals the full grid's (bot.statistics.sequential.decide), field for field."""

from __future__ import annotations

import numpy as np
import pytest

from bot.statistics.decisions import quick_decision
from bot.statistics.sequential import decide


@pytest.mark.parametrize(("p", "ties", "n"), [
    (0.5, 0.2, 400), (0.6, 0.2, 600), (0.75, 0.0, 150), (0.3, 0.1, 300), (0.95, 0.0, 40), (0.05, 0.0, 40),
    (0.5, 0.0, 1), (0.62, 0.3, 1500),
])
def test_quick_decision_equals_the_full_grid(p: float, ties: float, n: int) -> None:
    rng = np.random.default_rng(int(1000 * p) + n)
    for _ in range(5):
        scores = (rng.random(n) < (p - ties / 2) / (1 - ties)).astype(np.float64)
        scores[rng.random(n) < ties] = 0.5
        assert quick_decision(scores) == decide(scores)


def test_every_prefix_of_one_arena_agrees() -> None:
    scores = (np.random.default_rng(7).random(120) < 0.7).astype(np.float64)
    for n in range(1, 121, 7):
        assert quick_decision(scores[:n]) == decide(scores[:n])
