"""Style control (LMArena): Bradley-Terry ratings with the two replies' length and markdown as covariates, so a
model's rating is the one it would get if both sides of every battle had answered in the same style.

Per battle and feature (tokens, headers, list items, bold spans) the covariate is ``(a - b) / (a + b + 1)``,
standardised over the battles; ``P(A wins) = sigmoid(ln 10 * (theta_a - theta_b) + gamma . z)``, a tie half a win,
ratings ``400 * theta + 1000`` with mean 1000 in every connected group of models, like the plain leaderboard
(bradley_terry.py). Intervals: sandwich (robust), as LMArena's ``arena-rank`` computes them, or a bootstrap
over battles. The fit itself is contextual_bt.py.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.stats import norm

from bot.outcomes import SCORES
from bot.statistics import contextual_bt
from bot.statistics.battles import BattleCount
from bot.statistics.bradley_terry import CI_PERCENTILES, L2, Standing, ranks
from bot.statistics.style import StyleFeatures

FEATURES = ("length", "header", "list", "bold")
FEATURE_WORDS: Mapping[str, str] = {
    "length": "longer answers", "header": "more headers", "list": "more list items", "bold": "more bold text",
}
# FastChat's compute_style_control: L2 0.5 on the summed log-loss, i.e. 0.5 / N per battle. arena-rank's default,
# 1.0 per battle, is a strong prior: on 3,000 test battles it shrank the length coefficient from 0.47 to 0.03
# (drawn with 0.5) and moved ratings by up to 49 points, so we keep FastChat's.
REG = 0.5
# L2 on the ratings (per battle, log10 units) with style features: only there to keep an unbeaten model finite.
# Style often tracks model strength, which flattens the likelihood along "rating versus style"; the plain
# leaderboard's 1e-5 moved ratings by 0.43 point on 5,000 such battles, 1e-7 moves them by 0.004.
STYLE_L2 = 1e-7
SIGNIFICANCE = 0.05

FloatArray = npt.NDArray[np.float64]
Float32Array = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.intp]


@dataclass(frozen=True)
class StyleBattle:
    """``count`` battles between ``model_a`` and ``model_b`` that ended with ``outcome`` (an lmsys winner value)."""

    model_a: str
    model_b: str
    outcome: str
    style_a: StyleFeatures
    style_b: StyleFeatures
    count: int = 1


@dataclass(frozen=True)
class StyleBattles:
    """Battles as columns: model indices ``a`` and ``b`` into ``models``, ``scores`` of model a (1, 0.5, 0),
    ``differences`` (n x 4, the relative style differences before standardising), ``counts`` (how many identical
    battles a row stands for) and ``weights`` (importance weights per battle, 1 unless reweighted)."""

    models: tuple[str, ...]
    a: IntArray
    b: IntArray
    scores: FloatArray
    differences: Float32Array
    counts: FloatArray
    weights: FloatArray


@dataclass(frozen=True)
class StyleFit:
    """Style-controlled ratings with their sandwich intervals, and the style coefficients in logits per SD."""

    ratings: dict[str, float]
    intervals: dict[str, tuple[float, float]]
    coefficients: dict[str, float]
    battles: int


@dataclass(frozen=True)
class StyleLeaderboard:
    """Standings by style-controlled rating, best first; ``method`` says where the intervals come from."""

    standings: tuple[Standing, ...]
    coefficients: dict[str, float]
    battles: int
    method: str


def relative_differences(style_a: npt.ArrayLike, style_b: npt.ArrayLike) -> Float32Array:
    """``(a - b) / (a + b + 1)`` feature by feature: in [-1, 1], 0 for equal style, sign = which side has more.
    Single precision (error below 1e-7, counts below 2**24 exact): a million battles then take 16 MB, not 32."""
    a = np.asarray(style_a, dtype=np.float32)
    b = np.asarray(style_b, dtype=np.float32)
    differences: Float32Array = a - b
    total = a + b
    total += 1.0
    differences /= total
    return differences


def battles_from_arrays(
    models: Sequence[str], a: npt.ArrayLike, b: npt.ArrayLike, scores: npt.ArrayLike, style_a: npt.ArrayLike,
    style_b: npt.ArrayLike, counts: npt.ArrayLike | None = None, weights: npt.ArrayLike | None = None,
) -> StyleBattles:
    """The columnar fast path (what a database query returns): ``style_a``/``style_b`` are n x 4 totals in the
    order of ``StyleFeatures.totals()``, ``scores`` the score of model a per battle."""
    ia, ib = np.asarray(a, dtype=np.intp), np.asarray(b, dtype=np.intp)
    s = np.asarray(scores, dtype=np.float64)
    differences = relative_differences(style_a, style_b)
    n = s.shape[0]
    c = np.ones(n) if counts is None else np.asarray(counts, dtype=np.float64)
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64)
    if not (ia.shape == ib.shape == c.shape == w.shape == (n,)) or differences.shape != (n, len(FEATURES)):
        raise ValueError(f"expected {n} battles in every column and {len(FEATURES)} style features per side")
    if n and (min(ia.min(), ib.min()) < 0 or max(ia.max(), ib.max()) >= len(models) or np.any(ia == ib)):
        raise ValueError("model indices must point into models, and a model cannot battle itself")
    if np.any((s != 0) & (s != 0.5) & (s != 1)) or np.any(c < 0) or np.any(w <= 0):
        raise ValueError("scores must be 1, 0.5 or 0, counts non-negative and weights positive")
    return StyleBattles(tuple(models), ia, ib, s, differences, c, w)


def style_battles(rows: Iterable[StyleBattle]) -> StyleBattles:
    """Battles from rows (the readable path, for thousands of battles rather than millions)."""
    rows = [row for row in rows if row.count]
    for row in rows:
        if row.outcome not in SCORES:
            raise ValueError(f"unknown outcome {row.outcome!r}; expected one of {sorted(SCORES)}")
    models = tuple(sorted({name for row in rows for name in (row.model_a, row.model_b)}))
    index = {name: i for i, name in enumerate(models)}
    return battles_from_arrays(
        models, [index[row.model_a] for row in rows], [index[row.model_b] for row in rows],
        [SCORES[row.outcome] for row in rows], np.array([row.style_a.totals() for row in rows]).reshape(-1, 4),
        np.array([row.style_b.totals() for row in rows]).reshape(-1, 4), [row.count for row in rows],
    )


def without_style(counts: Iterable[BattleCount]) -> StyleBattles:
    """Grouped plain battles with no style features: the contextual model is then plain Bradley-Terry."""
    rows = [StyleBattle(c.model_a, c.model_b, c.outcome, StyleFeatures(), StyleFeatures(), c.count) for c in counts]
    return style_battles(rows)


def standardise(differences: Float32Array, counts: FloatArray) -> FloatArray:
    """Each feature to mean 0 and (population) standard deviation 1 over the battles, a constant one to 0;
    feature-major (k x n), as the fit reads it."""
    total = counts.sum()
    z = np.array(differences.T, dtype=np.float64, order="C")
    for row in z:
        row -= row @ counts / total
        std = math.sqrt(float((row * row) @ counts / total))
        if std > 0:
            row /= std
    return z


def _design(battles: StyleBattles, with_style: bool) -> contextual_bt.Design:
    if not battles.models or battles.counts.sum() <= 0:
        raise ValueError("no battles to rate")
    z = standardise(battles.differences, battles.counts) if with_style else np.zeros((0, battles.scores.size))
    return contextual_bt.design(
        len(battles.models), battles.a, battles.b, battles.scores, z, battles.counts, battles.weights,
    )


def _scaled(theta: FloatArray, models: tuple[str, ...], scale: float, init_rating: float,
            anchor: tuple[str, float] | None) -> FloatArray:
    ratings: FloatArray = scale * theta + init_rating
    if anchor is not None and anchor[0] in models:
        ratings = ratings + (anchor[1] - ratings[..., [models.index(anchor[0])]])
    return ratings


def fit_style(
    battles: StyleBattles, *, reg: float = REG, with_style: bool = True, significance: float = SIGNIFICANCE,
    scale: float = 400, init_rating: float = 1000, anchor: tuple[str, float] | None = None,
) -> StyleFit:
    """Style-controlled ratings, sandwich intervals at ``1 - significance`` and style coefficients.

    With ``anchor=(model, rating)`` every rating shifts so that ``model`` gets ``rating`` and each interval is that
    of the difference from the anchor model, as the bootstrap's are. ``with_style=False`` fits plain Bradley-Terry.
    """
    d = _design(battles, with_style)
    solution = contextual_bt.fit(d, STYLE_L2 if with_style else L2, reg)
    covariance = contextual_bt.sandwich_covariance(d, solution)
    n = len(battles.models)
    ratings = _scaled(solution.theta, battles.models, scale, init_rating, anchor)
    ratings_cov = covariance[:n, :n] * (scale / math.log(10)) ** 2
    variances = np.diag(ratings_cov)
    if anchor is not None and anchor[0] in battles.models:
        j = battles.models.index(anchor[0])
        variances = variances + ratings_cov[j, j] - 2 * ratings_cov[:, j]
    half = float(norm.ppf(1 - significance / 2)) * np.sqrt(np.maximum(variances, 0.0))
    coefficients = dict(zip(FEATURES, solution.gamma.tolist(), strict=False)) if with_style else {}
    return StyleFit(
        ratings=dict(zip(battles.models, ratings.tolist(), strict=True)),
        intervals={m: (float(ratings[i] - half[i]), float(ratings[i] + half[i])) for i, m in enumerate(battles.models)},
        coefficients=coefficients,
        battles=round(d.battles),
    )


def bootstrap_intervals(
    battles: StyleBattles, *, rounds: int = 100, seed: int = 0, reg: float = REG, with_style: bool = True,
    scale: float = 400, init_rating: float = 1000, anchor: tuple[str, float] | None = None,
) -> dict[str, tuple[float, float]]:
    """95% percentile intervals: resample the battles (multinomial over rows, as LMArena resamples battles; the
    standardised features are kept, as theirs are) and refit each round from the full fit."""
    if rounds < 1:
        raise ValueError(f"rounds must be at least 1, got {rounds}")
    d = _design(battles, with_style)
    l2 = STYLE_L2 if with_style else L2
    start = contextual_bt.fit(d, l2, reg)
    rng = np.random.default_rng(seed)
    theta = np.array([contextual_bt.fit(d, l2, reg, start, _resample(rng, battles.counts)).theta
                      for _ in range(rounds)])
    low, high = np.percentile(_scaled(theta, battles.models, scale, init_rating, anchor), CI_PERCENTILES, axis=0)
    return {model: (float(low[i]), float(high[i])) for i, model in enumerate(battles.models)}


def _resample(rng: np.random.Generator, counts: FloatArray) -> FloatArray:
    """How often each row is drawn when the battles are drawn again with replacement (multinomial). One battle
    per row, the usual case for style control, draws battle indices: 6 times faster than ``rng.multinomial``
    over a million categories, same distribution."""
    total = round(float(counts.sum()))
    if np.all(counts == 1):
        return np.bincount(rng.integers(0, counts.size, counts.size), minlength=counts.size).astype(np.float64)
    return rng.multinomial(total, counts / counts.sum()).astype(np.float64)


def style_leaderboard(
    battles: StyleBattles, *, rounds: int | None = None, seed: int = 0, reg: float = REG,
    anchor: tuple[str, float] | None = None,
) -> StyleLeaderboard:
    """Standings by style-controlled rating: sandwich intervals, or bootstrap ones when ``rounds`` is given."""
    fitted = fit_style(battles, reg=reg, anchor=anchor)
    intervals = fitted.intervals
    if rounds is not None:
        intervals = bootstrap_intervals(battles, rounds=rounds, seed=seed, reg=reg, anchor=anchor)
    rank_of = ranks(fitted.ratings, intervals)
    votes = np.bincount(battles.a, battles.counts, len(battles.models)) + np.bincount(
        battles.b, battles.counts, len(battles.models))
    standings = tuple(
        Standing(model, rating, intervals[model][0], intervals[model][1], rank_of[model],
                 int(votes[battles.models.index(model)]))
        for model, rating in sorted(fitted.ratings.items(), key=lambda item: (-item[1], item[0]))
    )
    return StyleLeaderboard(standings, fitted.coefficients, fitted.battles, "bootstrap" if rounds else "sandwich")


def describe_coefficients(coefficients: Mapping[str, float]) -> tuple[str, ...]:
    """Each coefficient in words, e.g. ``longer answers: +0.25 logit per SD`` (the log-odds of winning move by that
    much when a reply's style lead grows by one standard deviation of the battles' leads)."""
    return tuple(f"{FEATURE_WORDS[name]}: {value:+.2f} logit per SD" for name, value in coefficients.items())
