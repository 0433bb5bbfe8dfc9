"""Style-controlled leaderboard (bot/statistics/style_control.py) on 1,000,000 battles: time and peak memory.

The battles are synthetic columns, as a query over the votes and the replies' stored style features returns them
(model indices, score of model a, four style totals per side), 20 models. Measured in this fresh process:

- the leaderboard with sandwich intervals, from the columns (features, fit, intervals, standings). Target: at most
  2 s and under 300 MB, the issue's budget for the whole path from the database, whose query is not here yet;
- a bootstrap round (resample, refit from the full fit), which ``--rounds N`` pays N times.

Peak memory is shown as tracemalloc's peak (numpy arrays included) and as growth of the process's maxrss during
the first run. ``--quick`` uses 100,000 battles."""

from __future__ import annotations

import math
import resource
import time
import tracemalloc
from collections.abc import Sequence

import numpy as np

from benchmarks import figures, machine
from benchmarks.memory import MB
from bot.statistics import style_control
from bot.statistics.style_control import StyleBattles, battles_from_arrays, style_leaderboard

BATTLES, QUICK_BATTLES = 1_000_000, 100_000
MODELS = 20
RUNS = 5
BOOTSTRAP_ROUNDS = 10
TARGET_S = 2.0
TARGET_MB = 300.0


def _columns(n: int, seed: int = 0) -> tuple[tuple[str, ...], np.ndarray, np.ndarray, np.ndarray, np.ndarray,
                                             np.ndarray]:
    """Battles drawn from the style-controlled model with stronger models writing longer replies."""
    rng = np.random.default_rng(seed)
    theta = rng.normal(0.0, 0.3, MODELS)
    a = rng.integers(0, MODELS, n, dtype=np.int32)
    b = ((a + rng.integers(1, MODELS, n)) % MODELS).astype(np.int32)

    def style(side: np.ndarray) -> np.ndarray:
        return np.stack([rng.poisson(300 * np.exp(0.5 * theta[side])), rng.poisson(2, n), rng.poisson(4, n),
                         rng.poisson(3, n)], axis=1).astype(np.int32)

    style_a, style_b = style(a), style(b)
    lead = 3 * style_control.relative_differences(style_a, style_b)[:, 0]
    logits = math.log(10) * (theta[a] - theta[b]) + lead
    scores = (rng.random(n) < 1 / (1 + np.exp(-logits))).astype(np.float64)
    scores[rng.random(n) < 0.15] = 0.5
    return tuple(f"model-{i:02d}" for i in range(MODELS)), a, b, scores, style_a, style_b


def _leaderboard(columns: tuple[tuple[str, ...], np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]
                 ) -> style_control.StyleLeaderboard:
    return style_leaderboard(battles_from_arrays(*columns))


def main(argv: Sequence[str] | None = None) -> int:
    args = figures.parse_args(__doc__ or "", argv)
    n = QUICK_BATTLES if args.quick else BATTLES
    figures.header(f"style_control: style-controlled leaderboard on {n:,} battles", machine.facts(),
                   f"{RUNS} timed runs after one for maxrss, one under tracemalloc; "
                   f"{BOOTSTRAP_ROUNDS} bootstrap rounds")
    columns = _columns(n)
    _leaderboard(_columns(2_000, seed=1))  # imports and first calls, before any baseline

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    board = _leaderboard(columns)
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - before
    walls, cpus = [], []
    for _ in range(RUNS):
        wall, cpu = time.perf_counter(), time.process_time()
        _leaderboard(columns)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    tracemalloc.start()
    try:
        _leaderboard(columns)
        traced = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    figures.section("leaderboard with sandwich intervals, from the columns")
    figures.check("median wall time", figures.median(walls), " s", at_most=TARGET_S)
    figures.figure("median CPU time (the machine's load shows in wall - CPU)", f"{figures.median(cpus):.3f} s")
    figures.check("peak memory, tracemalloc", traced / MB, " MB", at_most=TARGET_MB, fmt="{:,.1f}")
    figures.figure("maxrss growth, first run", f"{grown / MB:,.1f} MB")
    figures.figure("style coefficients", ", ".join(style_control.describe_coefficients(board.coefficients)))

    figures.section("bootstrap rounds (refit from the full fit)")
    battles: StyleBattles = battles_from_arrays(*columns)
    wall, cpu = time.perf_counter(), time.process_time()
    style_control.bootstrap_intervals(battles, rounds=BOOTSTRAP_ROUNDS)
    per_round = (time.perf_counter() - wall) / BOOTSTRAP_ROUNDS
    per_round_cpu = (time.process_time() - cpu) / BOOTSTRAP_ROUNDS
    figures.figure("wall time per round (one full fit shared by all)", f"{per_round:.3f} s",
                   f"100 rounds: about {100 * per_round:,.0f} s")
    figures.figure("CPU time per round", f"{per_round_cpu:.3f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
