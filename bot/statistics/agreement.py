"""How far an LLM judge agrees with the members: agreement with each comparison's human majority (with and without
ties), Cohen's kappa with a bootstrap interval, the judge's position consistency, and the confusion matrix.

Everything is seen from the fine-tuned model's side (``finetuned``, ``base``, ``tie``), so a table reads the same
whichever side each model was shown on. Conventions, as MT-Bench's agreement study uses them: a judge whose pick
flipped when the answers were swapped (inconsistent) counts as a tie, both kinds of human tie are one tie, and a
comparison whose votes split evenly at the top has a tie for majority."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from bot.domain import Choice, Counts, Side
from bot.judgement import JudgedComparison, Judgement, JudgeStatus
from bot.outcomes import BASE, FINETUNED, TIE, outcome

LABELS = (FINETUNED, BASE, TIE)
KAPPA_ROUNDS = 1000
CI_PERCENTILES = (2.5, 97.5)
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Agreement:
    """The judge beside the humans on one set of judged comparisons. Rates are None when nothing backs them."""

    judged: int  # judgements of every status
    statuses: dict[str, int]  # judgements per JudgeStatus value
    consistency: float | None  # of the judgements that parsed, the share that kept their winner when swapped
    compared: int  # comparisons with both a human majority and a judge's pick
    agreement: float | None  # share of ``compared`` where the judge picked what the majority did, ties included
    compared_without_ties: int  # of ``compared``, those where neither the majority nor the judge says tie
    agreement_without_ties: float | None
    kappa: float | None  # Cohen's kappa over ``compared``: agreement beyond what chance alone would give
    kappa_low: float | None
    kappa_high: float | None
    confusion: dict[str, dict[str, int]]  # human majority -> judge's pick -> comparisons


def human_majority(votes: Counts, base_side: Side) -> str | None:
    """The members' majority on one comparison, from the fine-tune's side; None without votes."""
    if votes.total == 0:
        return None
    tally = {outcome(Choice.A, base_side): votes.a, outcome(Choice.B, base_side): votes.b,
             TIE: votes.tie + votes.both_bad}
    top = max(tally.values())
    leaders = [label for label, n in tally.items() if n == top]
    return leaders[0] if len(leaders) == 1 else TIE


def judge_pick(judgement: Judgement, base_side: Side) -> str | None:
    """The judge's pick from the fine-tune's side; None when it failed or did not parse."""
    if judgement.status is JudgeStatus.INCONSISTENT:
        return TIE
    if judgement.status is JudgeStatus.VERDICT and judgement.verdict is not None:
        return outcome(judgement.verdict, base_side)
    return None


def cohen_kappa(pairs: Sequence[tuple[str, str]]) -> float | None:
    """Cohen's kappa of (human, judge) label pairs; None when undefined (no pairs, or chance agreement is 1)."""
    matrix = _matrix(pairs)
    return _kappas(matrix[None, :])[0] if pairs else None


def agreement(judged: Iterable[JudgedComparison], rounds: int = KAPPA_ROUNDS, seed: int = 0) -> Agreement:
    """Agreement figures over ``judged``; the kappa interval resamples the compared comparisons ``rounds`` times."""
    items = list(judged)
    statuses = Counter(item.judgement.status.value for item in items)
    parsed = statuses[JudgeStatus.VERDICT.value] + statuses[JudgeStatus.INCONSISTENT.value]
    pairs: list[tuple[str, str]] = []
    for item in items:
        human, judge = human_majority(item.votes, item.base_side), judge_pick(item.judgement, item.base_side)
        if human is not None and judge is not None:
            pairs.append((human, judge))
    decided = [(h, j) for h, j in pairs if TIE not in (h, j)]
    matrix = _matrix(pairs)
    kappa = _kappas(matrix[None, :])[0] if pairs else None
    low = high = None
    if pairs and kappa is not None:
        cells = matrix.ravel() / len(pairs)
        drawn = np.random.default_rng(seed).multinomial(len(pairs), cells, size=rounds)
        draws: FloatArray = drawn.reshape(rounds, 3, 3).astype(np.float64)
        spread = np.array([np.nan if k is None else k for k in _kappas(draws)], dtype=np.float64)
        low, high = (float(v) for v in np.nanpercentile(spread, CI_PERCENTILES))
    return Agreement(
        judged=len(items), statuses={status.value: statuses[status.value] for status in JudgeStatus},
        consistency=statuses[JudgeStatus.VERDICT.value] / parsed if parsed else None,
        compared=len(pairs), agreement=_share(pairs), compared_without_ties=len(decided),
        agreement_without_ties=_share(decided), kappa=kappa, kappa_low=low, kappa_high=high,
        confusion={h: {j: int(matrix[r, c]) for c, j in enumerate(LABELS)} for r, h in enumerate(LABELS)})


def _share(pairs: Sequence[tuple[str, str]]) -> float | None:
    return sum(h == j for h, j in pairs) / len(pairs) if pairs else None


def _matrix(pairs: Sequence[tuple[str, str]]) -> FloatArray:
    index = {label: i for i, label in enumerate(LABELS)}
    matrix = np.zeros((3, 3), dtype=np.float64)
    for human, judge in pairs:
        matrix[index[human], index[judge]] += 1
    return matrix


def _kappas(matrices: FloatArray) -> list[float | None]:
    """Kappa of each 3x3 count matrix in a stack: (observed - chance) / (1 - chance)."""
    totals = matrices.sum(axis=(1, 2))
    observed = np.trace(matrices, axis1=1, axis2=2) / totals
    chance = (matrices.sum(axis=2) * matrices.sum(axis=1)).sum(axis=1) / totals**2
    return [None if np.isclose(e, 1.0) else float((o - e) / (1 - e)) for o, e in zip(observed, chance, strict=True)]
