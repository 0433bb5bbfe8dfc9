"""Length-controlled win rate per matchup, as AlpacaEval 2 computes it: how often the fine-tune would be preferred
if its replies were as long as the base model's.

A logistic model of the fine-tune's score (1 a win, 0 a loss, 1/2 a tie of either kind) with the length difference
as covariate: ``P(fine-tune preferred) = sigmoid(b0 + b1 * tanh(diff / sd))``, where ``diff`` is the fine-tune's
reply length minus the base model's (tokens) and ``sd`` its standard deviation over the matchup's battles. The
difference is scaled but not centred, so 0 still means "equally long", and tanh caps the pull of very long replies.
The length-controlled win rate is the model's prediction at equal length, ``sigmoid(b0)``; with no length
difference anywhere it is the raw win rate. Fitted by Newton's method with the plain leaderboard's tiny L2
(bradley_terry.py), so a fine-tune that never loses gets a rate just below 1 rather than an infinite logit.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.special import expit

from bot.outcomes import FINETUNED_SCORES
from bot.statistics.bradley_terry import L2

MAX_ITER = 100
TOL = 1e-12

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class MatchupBattle:
    """One vote in a matchup: its ``outcome`` seen from the fine-tune (bot.outcomes) and both replies' tokens."""

    matchup: str
    outcome: str
    finetuned_tokens: int
    base_tokens: int


@dataclass(frozen=True)
class LengthControlledWinRate:
    """``win_rate`` as voted (ties half), ``lc_win_rate`` at equal length; ``length_coefficient`` is the change in
    log-odds from equal length to a fine-tune reply longer by far more than ``length_sd`` tokens (tanh -> 1)."""

    votes: int
    win_rate: float
    lc_win_rate: float
    length_coefficient: float
    length_sd: float


def length_controlled_win_rate(
    scores: npt.ArrayLike, finetuned_tokens: npt.ArrayLike, base_tokens: npt.ArrayLike
) -> LengthControlledWinRate:
    """Raw and length-controlled win rate of the fine-tune from per-battle scores (1, 0.5, 0) and reply lengths."""
    s = np.asarray(scores, dtype=np.float64)
    finetuned, base = np.asarray(finetuned_tokens, dtype=np.float64), np.asarray(base_tokens, dtype=np.float64)
    if s.ndim != 1 or not s.shape == finetuned.shape == base.shape:
        raise ValueError("scores and both token counts need one value per battle")
    diff = finetuned - base
    if not s.size:
        raise ValueError("no battles: a win rate needs at least one vote")
    if np.any((s != 0) & (s != 0.5) & (s != 1)):
        raise ValueError("scores must be 1 (fine-tune preferred), 0.5 (tie) or 0 (base preferred)")
    sd = float(diff.std())
    x = np.tanh(diff / sd) if sd > 0 else np.zeros_like(diff)
    b0, b1 = _fit(s, x)
    return LengthControlledWinRate(
        votes=int(s.size), win_rate=float(s.mean()), lc_win_rate=float(expit(b0)), length_coefficient=b1,
        length_sd=sd,
    )


def _fit(s: FloatArray, x: FloatArray) -> tuple[float, float]:
    """Penalised logistic regression of ``s`` on ``(1, x)``, mean log-loss + L2/2 * |b|^2, by damped Newton."""
    design = np.stack([np.ones_like(x), x])
    beta = np.zeros(2)
    loss = _loss(design, s, beta)
    for _ in range(MAX_ITER):
        p = expit(beta @ design)
        grad = design @ (p - s) / s.size + L2 * beta
        hessian = (design * (p * (1 - p))) @ design.T / s.size + L2 * np.eye(2)
        step = np.linalg.solve(hessian, -grad)
        size = 1.0
        # The problem is tiny, so a plain backtracking line search on the loss keeps the unbeaten case safe.
        while (new_loss := _loss(design, s, beta + size * step)) > loss + 1e-4 * size * float(grad @ step):
            size /= 2
            if size < 1e-12:
                break
        beta, loss = beta + size * step, new_loss
        if float(np.max(np.abs(size * step))) < TOL:
            break
    return float(beta[0]), float(beta[1])


def _loss(design: FloatArray, s: FloatArray, beta: FloatArray) -> float:
    logits = beta @ design
    return float(np.mean(np.logaddexp(0.0, logits) - s * logits)) + 0.5 * L2 * float(beta @ beta)


def by_matchup(battles: Iterable[MatchupBattle]) -> dict[str, LengthControlledWinRate]:
    """The raw and length-controlled win rate of every matchup with votes, by matchup name."""
    columns: dict[str, tuple[list[float], list[int], list[int]]] = {}
    for battle in battles:
        if battle.outcome not in FINETUNED_SCORES:
            raise ValueError(f"unknown outcome {battle.outcome!r}; expected one of {sorted(FINETUNED_SCORES)}")
        scores, finetuned, base = columns.setdefault(battle.matchup, ([], [], []))
        scores.append(FINETUNED_SCORES[battle.outcome])
        finetuned.append(battle.finetuned_tokens)
        base.append(battle.base_tokens)
    return {name: length_controlled_win_rate(*column) for name, column in sorted(columns.items())}
