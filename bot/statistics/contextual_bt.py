"""The contextual Bradley-Terry model behind style control, fitted by Newton's method on per-battle rows, with the
sandwich covariance of LMArena's ``arena-rank``.

Model: battle ``i`` between models ``a`` and ``b`` with standardised features ``z_i`` has
``P(a wins) = sigmoid(ln(10) * (theta_a - theta_b) + gamma . z_i)``; a tie is half a win. Objective, per battle:
``mean(w * log-loss) + l2/2 * |theta|^2 + reg/(2 N) * |gamma|^2`` over ``N`` battles. ``l2`` only keeps an
unbeaten model finite; ``reg`` is FastChat's ``compute_style_control`` strength on the summed log-loss (0.5), which
``arena-rank`` writes per battle as its ``reg = reg / N``.

Why Newton: ``theta`` and ``gamma`` hold a few dozen numbers, so the exact Hessian costs no more than a gradient and
converges in about five passes over the battles where L-BFGS needs dozens. A pass is a gather of per-pair rating
differences, one matvec for the features and a few ``bincount``s over the ordered model pairs: on 1,000,000
battles a fit takes 5 passes and 0.3 s of CPU on our 2-core machine (benchmarks/style_control.py). The line search
reads only the slope along the step (the objective is convex), so no log-loss is ever computed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import scipy.linalg
from scipy.special import expit

LN10 = math.log(10)
# arena-rank's ridge on the diagonal of the mean Hessian (natural-logit units), which the model's sum-to-zero
# direction needs to be invertible; it moves an interval by about 1e-4 of its width.
HESSIAN_REG = 1e-5
MAX_ITER = 200
# Converged once the Newton step would move no rating by more than 1e-3 point (400 * theta) and no coefficient by
# 1e-5: Newton's error shrinks quadratically, so what remains after taking it is far below 1e-6 point.
THETA_TOL = 1e-3 / 400
GAMMA_TOL = 1e-5
MAX_MODELS_FOR_TABLE = 2000
# Steps taken with a warm start's Hessian before the fit computes its own (which it then does at every step, so a
# start far from the optimum still converges quadratically).
FIXED_HESSIAN_STEPS = 4
LINE_SEARCH_PROBES = 30
SLOPE_SHRINK = 0.1

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]


@dataclass(frozen=True)
class Design:
    """Battles as rows: ordered model pair ``pair`` (an index into ``pair_a``/``pair_b``), score of model a,
    standardised features ``z`` stored feature-major (k x n, each feature contiguous), ``counts`` (battles per
    row) and importance ``weights``."""

    n_models: int
    pair_a: IntArray
    pair_b: IntArray
    pair: IntArray
    scores: FloatArray
    z: FloatArray
    counts: FloatArray
    weights: FloatArray
    battles: float


@dataclass(frozen=True)
class Solution:
    """``theta`` in log10-odds units (rating = 400 * theta + 1000), ``gamma`` in logits per standard deviation, and
    the objective's Hessian at the last step."""

    theta: FloatArray
    gamma: FloatArray
    iterations: int
    hessian: FloatArray


def design(
    n_models: int, a: IntArray, b: IntArray, scores: FloatArray, z: FloatArray, counts: FloatArray,
    weights: FloatArray,
) -> Design:
    """Index the ordered pairs once so that every pass sums over pairs with ``bincount``."""
    codes = a.astype(np.int64) * n_models + b
    if n_models <= MAX_MODELS_FOR_TABLE:
        # A lookup table over all n^2 ordered pairs instead of np.unique's sort: a million battles in 10 ms, not 100.
        pairs = np.flatnonzero(np.bincount(codes, minlength=n_models * n_models))
        table = np.zeros(n_models * n_models, dtype=np.intp)
        table[pairs] = np.arange(pairs.size)
        pair = table[codes]
    else:
        pairs, pair = np.unique(codes, return_inverse=True)
    return Design(
        n_models=n_models, pair_a=(pairs // n_models).astype(np.intp), pair_b=(pairs % n_models).astype(np.intp),
        pair=pair.astype(np.intp).ravel(), scores=scores, z=z, counts=counts, weights=weights,
        battles=float(counts.sum()),
    )


def _logits(d: Design, theta: FloatArray, gamma: FloatArray) -> FloatArray:
    per_pair = LN10 * (theta[d.pair_a] - theta[d.pair_b])
    logits: FloatArray = per_pair[d.pair]
    if gamma.size:
        logits = logits + gamma @ d.z
    return logits


def _pair_to_models(d: Design, per_pair: FloatArray) -> FloatArray:
    """Sum per-pair values into per-model ones, + for model a and - for model b (rows of the design's x)."""
    shape = (d.n_models, *per_pair.shape[1:])
    out = np.zeros(shape)
    np.add.at(out, d.pair_a, per_pair)
    np.subtract.at(out, d.pair_b, per_pair)
    return out


def _laplacian(d: Design, per_pair: FloatArray) -> FloatArray:
    out = np.zeros((d.n_models, d.n_models))
    np.add.at(out, (d.pair_a, d.pair_a), per_pair)
    np.add.at(out, (d.pair_b, d.pair_b), per_pair)
    np.subtract.at(out, (d.pair_a, d.pair_b), per_pair)
    np.subtract.at(out, (d.pair_b, d.pair_a), per_pair)
    return out


def _pair_sums(d: Design, values: FloatArray) -> FloatArray:
    sums: FloatArray = np.bincount(d.pair, weights=values, minlength=d.pair_a.size).astype(np.float64)
    return sums


def _blocks(d: Design, row_values: FloatArray, scale: float) -> tuple[FloatArray, FloatArray, FloatArray]:
    """The three blocks of ``sum_i row_values_i * x_i x_i^T`` where ``x_i = (scale * (e_a - e_b), z_i)``."""
    k = d.z.shape[0]
    rating = scale**2 * _laplacian(d, _pair_sums(d, row_values))
    cross = np.zeros((d.n_models, k))
    features = np.zeros((k, k))
    for j in range(k):
        # One feature at a time: a temporary of n values instead of k x n.
        weighted = d.z[j] * row_values
        cross[:, j] = scale * _pair_to_models(d, _pair_sums(d, weighted))
        features[j] = d.z @ weighted
    return rating, cross, features


def _assemble(rating: FloatArray, cross: FloatArray, features: FloatArray) -> FloatArray:
    return np.block([[rating, cross], [cross.T, features]])


def fit(
    d: Design, l2: float, reg: float, start: Solution | None = None, counts: FloatArray | None = None
) -> Solution:
    """Penalised maximum likelihood by damped Newton; ``counts`` replaces the design's (a bootstrap resample).

    Started from another fit of the same battles (a bootstrap round from the full fit), the start's Hessian
    serves every step: the resample's own differs from it by ~1/sqrt(N), so each step still gains about three
    digits at a million battles, and a step costs half as much without the curvature sums."""
    n, k = d.n_models, d.z.shape[0]
    mass = (d.counts if counts is None else counts) * d.weights / d.battles
    theta = np.zeros(n) if start is None else start.theta.copy()
    gamma = np.zeros(k) if start is None else start.gamma.copy()
    logits = _logits(d, theta, gamma)
    p = expit(logits)
    diagonal = np.concatenate([np.full(n, l2), np.full(k, reg / d.battles)])
    iterations = 0
    while iterations < MAX_ITER:
        iterations += 1
        residual = mass * (p - d.scores)
        params = np.concatenate([theta, gamma])
        grad = np.concatenate([LN10 * _pair_to_models(d, _pair_sums(d, residual)), d.z @ residual])
        grad += diagonal * params
        if start is None or iterations > FIXED_HESSIAN_STEPS:
            hessian = _assemble(*_blocks(d, mass * p * (1.0 - p), LN10)) + np.diag(diagonal)
        else:
            hessian = start.hessian
        step = _solve(hessian, -grad)
        line = _Line(d, mass, diagonal, params, step, logits)
        size, logits, p = line.search(float(grad @ step))
        theta, gamma = theta + size * step[:n], gamma + size * step[n:]
        # The Newton step itself, not the part of it taken: at the optimum float noise in the slope can make the
        # line search stop short of a step that is already below the tolerance.
        if np.max(np.abs(step[:n]), initial=0.0) < THETA_TOL and np.max(np.abs(step[n:]), initial=0.0) < GAMMA_TOL:
            break
    return Solution(theta=theta, gamma=gamma, iterations=iterations, hessian=hessian)


class _Line:
    """The objective along a Newton step, searched through its slope only: the objective is convex, so the slope
    tells which side of the minimum a point lies on, and each probe's probabilities serve the next iteration
    (no log-loss is ever evaluated, which would cost as much again as a whole pass)."""

    def __init__(self, d: Design, mass: FloatArray, diagonal: FloatArray, params: FloatArray, step: FloatArray,
                 logits: FloatArray) -> None:
        self.d, self.mass, self.logits = d, mass, logits
        self.change = _logits(d, step[: d.n_models], step[d.n_models:])
        self.penalty_at_0 = float((diagonal * params) @ step)
        self.penalty_slope = float((diagonal * step) @ step)

    def slope(self, size: float) -> tuple[float, FloatArray, FloatArray]:
        logits = self.logits + size * self.change
        p = expit(logits)
        slope = float(self.mass @ ((p - self.d.scores) * self.change))
        return slope + self.penalty_at_0 + size * self.penalty_slope, logits, p

    def search(self, slope_at_0: float) -> tuple[float, FloatArray, FloatArray]:
        """The full step when the objective still falls at its end; otherwise a point left of the minimum where
        the slope has shrunk tenfold (Illinois false position), which always lowers the objective."""
        slope_hi, logits, p = self.slope(1.0)
        if slope_hi <= 0 or slope_at_0 >= 0:
            return 1.0, logits, p
        lo, hi, slope_lo = 0.0, 1.0, slope_at_0
        best = (0.0, self.logits, expit(self.logits))
        for _ in range(LINE_SEARCH_PROBES):
            size = lo - slope_lo * (hi - lo) / (slope_hi - slope_lo)
            slope, logits, p = self.slope(size)
            if slope <= 0:
                lo, slope_lo, best = size, slope, (size, logits, p)
                slope_hi /= 2
                if slope >= SLOPE_SHRINK * slope_at_0:
                    break
            else:
                hi, slope_hi = size, slope
                slope_lo /= 2
        return best


def _solve(hessian: FloatArray, rhs: FloatArray) -> FloatArray:
    try:
        solution: FloatArray = scipy.linalg.solve(hessian, rhs, assume_a="pos")
    except (np.linalg.LinAlgError, scipy.linalg.LinAlgError):
        # Collinear features with reg = 0: any minimiser will do, the ratings are the same.
        solution = np.linalg.lstsq(hessian, rhs, rcond=None)[0]
    return solution


def sandwich_covariance(d: Design, solution: Solution) -> FloatArray:
    """Robust covariance of (natural-logit ratings, gamma), as arena-rank computes it: ``H^-1 G H^-1 / N`` with
    ``H`` the likelihood's mean Hessian plus ``HESSIAN_REG`` on the diagonal and ``G`` the covariance of the
    per-battle gradients.

    arena-rank centres ``G`` by subtracting ``reg^2 gamma gamma^T / N``; we subtract the outer product of the mean
    per-battle gradient, which at the optimum is the penalty's gradient (``reg/N * gamma`` here). At our default
    ``reg`` both corrections are below 1e-9 of ``G``.
    """
    p = expit(_logits(d, solution.theta, solution.gamma))
    per_battle = d.counts / d.battles
    hessian = _assemble(*_blocks(d, per_battle * d.weights * p * (1.0 - p), 1.0))
    hessian += HESSIAN_REG * np.eye(hessian.shape[0])
    gradient = d.weights * (d.scores - p)
    spread = _assemble(*_blocks(d, per_battle * gradient**2, 1.0))
    mean_gradient = np.concatenate([
        _pair_to_models(d, _pair_sums(d, per_battle * gradient)), d.z @ (per_battle * gradient),
    ])
    spread -= np.outer(mean_gradient, mean_gradient)
    inverse = np.linalg.inv(hessian)
    covariance: FloatArray = inverse @ spread @ inverse / d.battles
    return covariance
