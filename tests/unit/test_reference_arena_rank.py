"""Our ratings against LMArena's published implementation, the ``arena-rank`` package (a test-only dependency that
brings JAX): plain Bradley-Terry and its sandwich intervals, our bootstrap intervals, and the style-controlled
(contextual) model with its sandwich intervals, on the same battles.

Tolerances, from what the two implementations fit (measured gaps in brackets): plain ratings and interval ends
within ``PLAIN_POINTS`` = 0.01 rating point (0.0035): our plain leaderboard keeps an L2 of 1e-5 per battle on the
ratings so that an unbeaten model stays finite, arena-rank has none. Style-controlled ratings and interval ends
within ``STYLE_POINTS`` = 0.005 point (0.0008, our L2 of 1e-7 on ratings; 0.00006 with arena-rank's
inverse-propensity weights), coefficients within 1e-4 (4e-6): we hand arena-rank FastChat's coefficient penalty,
0.5 on the summed log-loss, which is its per-battle ``reg = 0.5 / N``. Bootstrap intervals are random: their widths
are compared with arena-rank's sandwich widths within ``WIDTH`` = 30% (100 rounds; measured 0.86-1.08). Each
comparison has a twin with a perturbed input that must land far outside the tolerance, so a test that compares
nothing cannot pass.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import pytest
from arena_rank.models.bradley_terry import BradleyTerry
from arena_rank.models.contextual_bradley_terry import ContextualBradleyTerry
from arena_rank.utils.data_utils import ContextualPairDataset, PairDataset

from bot.statistics import style_control
from bot.statistics.battles import BattleCount
from bot.statistics.bradley_terry import bradley_terry
from bot.statistics.style_control import FEATURES, REG, battles_from_arrays, fit_style, without_style
from tests.support.style_battles import Synthetic, draw

PLAIN_POINTS = 0.01
STYLE_POINTS = 0.005
WIDTH = 0.3
BATTLES = 3000


@pytest.fixture(scope="module")
def battles() -> Synthetic:
    return draw(BATTLES, models=5, seed=11, tie_share=0.15, uneven=True)


@pytest.fixture(scope="module")
def frame(battles: Synthetic) -> pd.DataFrame:
    """The battles as arena-rank reads them: lmsys columns plus our relative style differences."""
    names = np.array(battles.models)
    df = pd.DataFrame({"model_a": names[battles.a], "model_b": names[battles.b], "winner": battles.winners})
    differences = style_control.relative_differences(battles.style_a, battles.style_b).astype(np.float64)
    for j, feature in enumerate(FEATURES):
        df[feature] = differences[:, j]
    return df


@pytest.fixture(scope="module")
def plain_reference(frame: pd.DataFrame) -> dict[str, tuple[float, float, float]]:
    dataset = PairDataset.from_pandas(frame)
    result = BradleyTerry(n_competitors=len(dataset.competitors)).compute_ratings_and_cis(dataset)
    return _by_model(result)


@pytest.fixture(scope="module")
def contextual(frame: pd.DataFrame) -> ContextualBradleyTerry:
    """One model object for both fits below: arena-rank's compiled functions are cached per object."""
    return ContextualBradleyTerry(n_competitors=len(set(frame.model_a) | set(frame.model_b)),
                                  n_features=len(FEATURES), reg=REG / BATTLES)


@pytest.fixture(scope="module")
def style_reference(frame: pd.DataFrame, contextual: ContextualBradleyTerry
                    ) -> tuple[dict[str, tuple[float, float, float]], list[float]]:
    dataset = ContextualPairDataset.from_pandas(frame, feature_cols=list(FEATURES), reweighted=False)
    result = _refit(contextual, dataset)
    return _by_model(result), [float(c) for c in result["coeffs"]]


def _refit(model: ContextualBradleyTerry, dataset: ContextualPairDataset) -> Mapping[str, Any]:
    model.params = {name: value * 0 for name, value in model.params.items()}
    model.fitted = False
    result: Mapping[str, Any] = model.compute_ratings_and_cis(dataset)
    return result


def _by_model(result: Mapping[str, Any]) -> dict[str, tuple[float, float, float]]:
    return {
        name: (float(result["ratings"][i]), float(result["rating_lower"][i]), float(result["rating_upper"][i]))
        for i, name in enumerate(result["competitors"])
    }


def _counts(battles: Synthetic, winners: np.ndarray | None = None) -> list[BattleCount]:
    names = np.array(battles.models)
    rows = zip(names[battles.a], names[battles.b], battles.winners if winners is None else winners, strict=True)
    grouped: dict[tuple[str, str, str], int] = {}
    for row in rows:
        grouped[row] = grouped.get(row, 0) + 1
    return [BattleCount(a, b, winner, count) for (a, b, winner), count in grouped.items()]


def _largest_gap(ours: Mapping[str, float], reference: Mapping[str, tuple[float, float, float]], at: int) -> float:
    return max(abs(ours[name] - values[at]) for name, values in reference.items())


def test_plain_ratings_equal_arena_rank(battles: Synthetic, plain_reference: dict[str, Any]) -> None:
    ours = bradley_terry(_counts(battles))
    assert _largest_gap(ours, plain_reference, 0) < PLAIN_POINTS
    # Ties counted as wins for model a instead of half a win: far outside the tolerance.
    skewed = bradley_terry(_counts(battles, np.where(battles.winners == "tie", "model_a", battles.winners)))
    assert _largest_gap(skewed, plain_reference, 0) > 100 * PLAIN_POINTS


def test_plain_sandwich_intervals_equal_arena_rank(battles: Synthetic, plain_reference: dict[str, Any]) -> None:
    fitted = fit_style(without_style(_counts(battles)), with_style=False)
    for end, at in ((0, 1), (1, 2)):
        assert _largest_gap({m: iv[end] for m, iv in fitted.intervals.items()}, plain_reference, at) < PLAIN_POINTS
    narrower = fit_style(without_style(_counts(battles)), with_style=False, significance=0.10)
    assert _largest_gap({m: iv[0] for m, iv in narrower.intervals.items()}, plain_reference, 1) > 100 * PLAIN_POINTS


def test_bootstrap_widths_match_arena_rank_sandwich(battles: Synthetic, plain_reference: dict[str, Any],
                                                    style_reference: tuple[dict[str, Any], list[float]]) -> None:
    plain = style_control.bootstrap_intervals(without_style(_counts(battles)), rounds=100, with_style=False)
    styled = style_control.bootstrap_intervals(_ours(battles), rounds=100)
    for intervals, (reference, _) in ((plain, (plain_reference, None)), (styled, style_reference)):
        for name, (_, low, high) in reference.items():
            assert intervals[name][1] - intervals[name][0] == pytest.approx(high - low, rel=WIDTH)


def _ours(battles: Synthetic, style_a: np.ndarray | None = None) -> style_control.StyleBattles:
    return battles_from_arrays(battles.models, battles.a, battles.b, battles.scores,
                               battles.style_a if style_a is None else style_a, battles.style_b)


def test_style_controlled_ratings_equal_arena_rank(battles: Synthetic,
                                                  style_reference: tuple[dict[str, Any], list[float]]) -> None:
    reference, coefficients = style_reference
    fitted = fit_style(_ours(battles))
    assert _largest_gap(fitted.ratings, reference, 0) < STYLE_POINTS
    assert [fitted.coefficients[name] for name in FEATURES] == pytest.approx(coefficients, abs=1e-4)
    # Model a's lengths shuffled across battles: the length covariate no longer explains anything.
    shuffled = battles.style_a.copy()
    shuffled[:, 0] = np.random.default_rng(0).permutation(shuffled[:, 0])
    assert _largest_gap(fit_style(_ours(battles, shuffled)).ratings, reference, 0) > 100 * STYLE_POINTS


def test_style_controlled_sandwich_intervals_equal_arena_rank(
    battles: Synthetic, style_reference: tuple[dict[str, Any], list[float]]
) -> None:
    reference, _ = style_reference
    fitted = fit_style(_ours(battles))
    for end, at in ((0, 1), (1, 2)):
        assert _largest_gap({m: iv[end] for m, iv in fitted.intervals.items()}, reference, at) < STYLE_POINTS
    unstyled = fit_style(_ours(battles), with_style=False)
    assert _largest_gap({m: iv[0] for m, iv in unstyled.intervals.items()}, reference, 1) > 100 * STYLE_POINTS


def test_reweighted_style_control_equals_arena_rank(battles: Synthetic, frame: pd.DataFrame,
                                                    contextual: ContextualBradleyTerry) -> None:
    """LMArena weighs each battle by 1 / max(battles of its pair, 50) (rescaled to mean 1); we take the weights
    arena-rank computes and must land on its ratings and intervals."""
    dataset = ContextualPairDataset.from_pandas(frame, feature_cols=list(FEATURES), reweighted=True)
    reference = _by_model(_refit(contextual, dataset))
    weights = np.asarray(dataset.weights)
    assert weights.max() > 2 * weights.min()
    weighted = battles_from_arrays(battles.models, battles.a, battles.b, battles.scores, battles.style_a,
                                   battles.style_b, weights=weights)
    fitted = fit_style(weighted)
    assert _largest_gap(fitted.ratings, reference, 0) < STYLE_POINTS
    assert _largest_gap({m: iv[0] for m, iv in fitted.intervals.items()}, reference, 1) < STYLE_POINTS
    assert _largest_gap(fit_style(_ours(battles)).ratings, reference, 0) > 10 * STYLE_POINTS
