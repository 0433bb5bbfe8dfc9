"""Arena ratings: the Bradley-Terry leaderboard of LMSYS Chatbot Arena (FastChat), computed from grouped battle counts.

Same model and scale as FastChat's ``compute_bt`` (``fastchat/serve/monitor/rating_systems.py``): a model rated
``scale * log_base(p / (1 - p))`` above another is expected to win a fraction ``p`` of their battles, and both kinds
of tie count as half a win for each side. Anchoring: FastChat starts L-BFGS at zero and every gradient sums to zero
over each connected group of models, so its ratings come out with mean ``init_rating`` in every group (it then moves
everything so that mixtral-8x7b-instruct-v0.1 sits at 1114 when that model is present). We make the mean anchoring
explicit, per connected group, because the relative level of two groups that never met is not identified by the
votes; ``anchor=(model, rating)`` reproduces FastChat's baseline shift for whoever wants fixed numbers over time.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.optimize import minimize
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.special import expit

from bot.outcomes import SCORES
from bot.statistics.battles import BattleCount

# L2 strength on the per-battle mean log-loss, in log-base units. lmarena's arena-rank (FastChat's successor)
# regularises with 1e-5 per battle; here it is in the objective so a model that never loses (or never wins) gets a
# finite rating, about 2000 points from the rest after 10 straight wins, while real data moves by ~0.01 point.
L2 = 1e-5
# Tight enough that the flat likelihood of an unbeaten model still converges to within ~0.01 point.
GTOL = 1e-10
FTOL = 1e-15
MAX_ITER = 1000
CI_PERCENTILES = (2.5, 97.5)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]


@dataclass(frozen=True)
class Standing:
    """One model's line on the leaderboard; ``votes`` counts every battle it took part in, ties included."""

    model: str
    rating: float
    ci_low: float
    ci_high: float
    rank: int
    votes: int


@dataclass(frozen=True)
class Leaderboard:
    """Standings sorted by rating, best first, and the number of battles they rest on."""

    standings: tuple[Standing, ...]
    battles: int


@dataclass(frozen=True)
class _Cells:
    """Battles grouped by (model_a index, model_b index, score of model_a), FastChat's ``preprocess_for_bt``."""

    models: tuple[str, ...]
    a: IntArray
    b: IntArray
    scores: FloatArray
    weights: FloatArray


def _score(battle: BattleCount) -> float:
    if battle.outcome not in SCORES:
        raise ValueError(f"unknown outcome {battle.outcome!r}; expected one of {sorted(SCORES)}")
    if battle.count < 0:
        raise ValueError(f"negative count {battle.count} for {battle.model_a} vs {battle.model_b}")
    if battle.model_a == battle.model_b:
        raise ValueError(f"a model cannot battle itself: {battle.model_a!r}")
    return SCORES[battle.outcome]


def _cells(counts: Iterable[BattleCount]) -> _Cells:
    grouped: dict[tuple[str, str, float], int] = {}
    for battle in counts:
        key = (battle.model_a, battle.model_b, _score(battle))
        if battle.count:
            grouped[key] = grouped.get(key, 0) + battle.count
    models = tuple(sorted({name for a, b, _ in grouped for name in (a, b)}))
    index = {name: i for i, name in enumerate(models)}
    keys = sorted(grouped)
    return _Cells(
        models=models,
        a=np.array([index[a] for a, _, _ in keys], dtype=np.intp),
        b=np.array([index[b] for _, b, _ in keys], dtype=np.intp),
        scores=np.array([score for _, _, score in keys], dtype=np.float64),
        weights=np.array([grouped[key] for key in keys], dtype=np.float64),
    )


def _centre(theta: FloatArray, cells: _Cells, weights: FloatArray) -> FloatArray:
    """Shift each connected group of models (over battles with weight) to mean zero."""
    n = len(cells.models)
    played = weights > 0
    graph = coo_matrix((np.ones(int(played.sum())), (cells.a[played], cells.b[played])), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    means = np.bincount(labels, weights=theta) / np.bincount(labels)
    centred: FloatArray = theta - means[labels]
    return centred


def _fit(cells: _Cells, weights: FloatArray, base: float, start: FloatArray | None = None) -> FloatArray:
    """Maximum-likelihood strengths in log-base units (so ``theta_a - theta_b = log_base(p / (1 - p))``)."""
    alpha = math.log(base)
    n = len(cells.models)
    # The mean log-loss keeps the gradient tolerance and L2 meaningful whatever the number of battles.
    w = weights / weights.sum()
    a, b, s = cells.a, cells.b, cells.scores

    def loss_and_grad(theta: FloatArray) -> tuple[float, FloatArray]:
        logits = alpha * (theta[a] - theta[b])
        # -log(sigmoid(x)) == logaddexp(0, -x), which stays finite for the huge logits of an unbeaten model.
        nll = float(w @ (s * np.logaddexp(0.0, -logits) + (1.0 - s) * np.logaddexp(0.0, logits)))
        per_cell = -alpha * w * (s - expit(logits))
        grad = np.bincount(a, weights=per_cell, minlength=n) - np.bincount(b, weights=per_cell, minlength=n)
        return nll + 0.5 * L2 * float(theta @ theta), grad + L2 * theta

    x0 = np.zeros(n) if start is None else start
    result = minimize(
        loss_and_grad, x0, jac=True, method="L-BFGS-B",
        options={"maxiter": MAX_ITER, "gtol": GTOL, "ftol": FTOL},
    )
    # No check of result.success: with tolerances this tight the usual "failure" is a line search stalling at
    # float precision, and result.x is then the best point found, which is what we want.
    return _centre(np.asarray(result.x, dtype=np.float64), cells, weights)


def _to_ratings(
    theta: FloatArray, models: tuple[str, ...], scale: float, init_rating: float, anchor: tuple[str, float] | None
) -> FloatArray:
    ratings: FloatArray = scale * theta + init_rating
    if anchor is not None and anchor[0] in models:
        ratings = ratings + (anchor[1] - ratings[..., [models.index(anchor[0])]])
    return ratings


def bradley_terry(
    counts: Iterable[BattleCount],
    *,
    scale: float = 400,
    base: float = 10,
    init_rating: float = 1000,
    anchor: tuple[str, float] | None = None,
) -> dict[str, float]:
    """Bradley-Terry ratings by maximum likelihood (L-BFGS, analytic gradient), ``scale * theta + init_rating``.

    Each connected group of models has mean ``init_rating``; with ``anchor=(model, rating)`` every rating is then
    shifted by the same amount so that ``model`` gets ``rating`` (FastChat: ``("mixtral-8x7b-instruct-v0.1", 1114)``),
    and left alone when that model has no battles.
    """
    cells = _cells(counts)
    if not cells.models:
        return {}
    ratings = _to_ratings(_fit(cells, cells.weights, base), cells.models, scale, init_rating, anchor)
    return dict(zip(cells.models, ratings.tolist(), strict=True))


def bootstrap_intervals(
    counts: Iterable[BattleCount],
    *,
    rounds: int = 100,
    seed: int = 0,
    scale: float = 400,
    base: float = 10,
    init_rating: float = 1000,
    anchor: tuple[str, float] | None = None,
) -> dict[str, tuple[float, float]]:
    """95% percentile intervals: resample the grouped counts (multinomial, as FastChat does) and refit each round.

    Anchoring is applied to every round as in ``bradley_terry``, so an ``anchor`` model's interval is a single point.
    """
    if rounds < 1:
        raise ValueError(f"rounds must be at least 1, got {rounds}")
    cells = _cells(counts)
    if not cells.models:
        return {}
    total = int(cells.weights.sum())
    draws = np.random.default_rng(seed).multinomial(total, cells.weights / total, size=rounds).astype(np.float64)
    # Warm start from the full fit: the penalised objective is strictly convex, so the optimum is the same as from 0.
    start = _fit(cells, cells.weights, base)
    theta = np.array([_fit(cells, draw, base, start) for draw in draws])
    low, high = np.percentile(_to_ratings(theta, cells.models, scale, init_rating, anchor), CI_PERCENTILES, axis=0)
    return {model: (float(low[i]), float(high[i])) for i, model in enumerate(cells.models)}


def ranks(ratings: Mapping[str, float], intervals: Mapping[str, tuple[float, float]]) -> dict[str, int]:
    """FastChat's rank: 1 + the number of models whose lower bound is above this model's upper bound."""
    return {model: 1 + sum(intervals[other][0] > intervals[model][1] for other in ratings) for model in ratings}


def online_elo(
    battles_in_order: Iterable[BattleCount],
    *,
    k: float = 4,
    scale: float = 400,
    base: float = 10,
    init_rating: float = 1000,
) -> dict[str, float]:
    """FastChat's ``compute_elo``: one Elo update per battle in order; a row with ``count`` n is n updates in a row."""
    ratings: dict[str, float] = {}
    for battle in battles_in_order:
        score = _score(battle)
        for _ in range(battle.count):
            ra = ratings.setdefault(battle.model_a, init_rating)
            rb = ratings.setdefault(battle.model_b, init_rating)
            update = k * (score - 1 / (1 + base ** ((rb - ra) / scale)))
            ratings[battle.model_a], ratings[battle.model_b] = ra + update, rb - update
    return ratings


def win_rate_matrix(counts: Iterable[BattleCount]) -> dict[str, dict[str, float]]:
    """``matrix[row][col]``: share of row's battles against col that row won, a tie of either kind counting half.

    FastChat's ``compute_pairwise_win_fraction`` is shown on battles without ties; we keep ties as half a win so the
    matrix describes the same data the ratings were fitted on, and ``m[a][b] + m[b][a] == 1``. Pairs that never met
    are absent rather than NaN.
    """
    points: dict[tuple[str, str], float] = {}
    played: dict[tuple[str, str], int] = {}
    for battle in counts:
        score = _score(battle)
        if not battle.count:
            continue
        sides = ((battle.model_a, battle.model_b, score), (battle.model_b, battle.model_a, 1 - score))
        for row, col, row_score in sides:
            points[row, col] = points.get((row, col), 0.0) + row_score * battle.count
            played[row, col] = played.get((row, col), 0) + battle.count
    matrix: dict[str, dict[str, float]] = {}
    for (row, col), n in sorted(played.items()):
        matrix.setdefault(row, {})[col] = points[row, col] / n
    return matrix


def leaderboard(
    counts: Iterable[BattleCount], rounds: int = 100, seed: int = 0, *, anchor: tuple[str, float] | None = None
) -> Leaderboard:
    """Ratings, bootstrap intervals, CI-based ranks and votes per model, best rating first."""
    rows = list(counts)
    ratings = bradley_terry(rows, anchor=anchor)
    intervals = bootstrap_intervals(rows, rounds=rounds, seed=seed, anchor=anchor)
    rank_of = ranks(ratings, intervals)
    votes: dict[str, int] = {}
    for battle in rows:
        for model in (battle.model_a, battle.model_b):
            votes[model] = votes.get(model, 0) + battle.count
    standings = tuple(
        Standing(model, rating, intervals[model][0], intervals[model][1], rank_of[model], votes[model])
        for model, rating in sorted(ratings.items(), key=lambda item: (-item[1], item[0]))
    )
    return Leaderboard(standings=standings, battles=sum(battle.count for battle in rows))
