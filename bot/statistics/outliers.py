"""Voters who are not voting: members whose votes disagree with everyone else's far beyond chance (random clicking,
or always picking the worse answer), found with e-values, in the spirit of the anomalous-user test of FastChat's
monitor (our own construction, below).

Null hypothesis for one voter: each of their votes on a pair of models is drawn like the other voters' votes on
that pair (the consensus: A, B or a tie, add-one smoothed, the voter's own votes left out). Against it we bet on a
voter who half the time flips the consensus (picks what others pick for the other side) and half the time clicks
at random. Each vote multiplies the voter's e-value by ``alternative(vote) / consensus(vote)``, whose mean under
the null is exactly 1, so the product is an e-value: under the null it exceeds ``x`` with probability at most
``1/x`` (Markov), however many votes it spans. A vote with the consensus shrinks it, an unlikely one grows it.
Across voters, the e-Benjamini-Hochberg procedure (Wang & Ramdas 2022) flags a set whose expected share of honest
voters is at most ``alpha``, under any dependence between voters.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from bot.outcomes import SCORES

ALPHA = 0.01
# The three things a vote can say about a pair: A better, B better, neither (a tie of either kind).
A_WINS, B_WINS, NEITHER = 0, 1, 2
_KIND = {score: kind for score, kind in ((1.0, A_WINS), (0.0, B_WINS), (0.5, NEITHER))}
_FLIP = np.array([B_WINS, A_WINS, NEITHER])


@dataclass(frozen=True)
class VoterVote:
    """One vote: who cast it, the two models as shown (a, b), and its lmsys ``winner`` value."""

    voter: str
    model_a: str
    model_b: str
    winner: str


@dataclass(frozen=True)
class Outlier:
    """A flagged voter: ``votes`` cast, ``against`` (votes for the side fewer others chose), the number of those
    expected from a voter like the others, and the e-value (how many times the odds moved against the null)."""

    voter: str
    votes: int
    against: int
    expected_against: float
    e_value: float


@dataclass(frozen=True)
class OutlierReport:
    """The flagged voters (highest e-value first), how many voters were tested, and the votes a filter removes."""

    outliers: tuple[Outlier, ...]
    voters: int
    removed_votes: int

    @property
    def voter_ids(self) -> frozenset[str]:
        return frozenset(outlier.voter for outlier in self.outliers)


def find_outliers(votes: Iterable[VoterVote], alpha: float = ALPHA) -> OutlierReport:
    """Voters whose votes disagree with the consensus far beyond chance, by e-values and e-BH at level ``alpha``."""
    rows = list(votes)
    if not rows:
        return OutlierReport((), 0, 0)
    voter_names, voter = np.unique([row.voter for row in rows], return_inverse=True)
    # A pair is unordered; a vote on (b, a) is the mirror of one on (a, b).
    swapped = np.array([row.model_a > row.model_b for row in rows])
    _, pair = np.unique(
        [f"{min(row.model_a, row.model_b)}\0{max(row.model_a, row.model_b)}" for row in rows], return_inverse=True
    )
    kind = np.array([_kind(row.winner) for row in rows], dtype=np.intp)
    kind = np.where(swapped, _FLIP[kind], kind)
    return outliers_of(tuple(str(name) for name in voter_names), voter.ravel(), pair.ravel(), kind, alpha)


def outliers_from_columns(voters: Sequence[str], voter: npt.ArrayLike, a: npt.ArrayLike, b: npt.ArrayLike,
                          scores: npt.ArrayLike, alpha: float = ALPHA) -> OutlierReport:
    """``find_outliers`` on columns (a database read): voter indices into ``voters``, model indices ``a`` and ``b``
    (into one list of models, so that a < b names the same pair both ways), and the score of model a."""
    ia, ib = np.asarray(a, dtype=np.intp), np.asarray(b, dtype=np.intp)
    s = np.asarray(scores, dtype=np.float64)
    if not s.size:
        return OutlierReport((), 0, 0)
    kind = np.where(s == 1, A_WINS, np.where(s == 0, B_WINS, NEITHER))
    kind = np.where(ia > ib, _FLIP[kind], kind)
    _, pair = np.unique(np.minimum(ia, ib) * (max(ia.max(), ib.max()) + 1) + np.maximum(ia, ib),
                        return_inverse=True)
    # Only voters with votes here count as tested, as with the rows.
    present, voter_index = np.unique(np.asarray(voter, dtype=np.intp), return_inverse=True)
    return outliers_of(tuple(voters[i] for i in present), voter_index.ravel(), pair.ravel(), kind, alpha)


def outliers_of(voter_names: Sequence[str], voter: npt.NDArray[np.intp], pair: npt.NDArray[np.intp],
                kind: npt.NDArray[np.intp], alpha: float) -> OutlierReport:
    """The test on coded votes: voter and (unordered) pair indices, and what each vote said about the pair with
    its models in canonical order (A_WINS, B_WINS or NEITHER)."""
    n_pairs, n_voters = int(pair.max()) + 1, len(voter_names)
    per_pair = np.zeros((n_pairs, 3))
    np.add.at(per_pair, (pair, kind), 1)
    # The voter's own votes on the pair, left out of the consensus they are judged against.
    cell = voter * n_pairs + pair
    cells, cell_index = np.unique(cell, return_inverse=True)
    own = np.zeros((cells.size, 3))
    np.add.at(own, (cell_index.ravel(), kind), 1)
    others = per_pair[pair] - own[cell_index.ravel()]
    consensus = (others + 1) / (others.sum(axis=1, keepdims=True) + 3)

    rows_at = np.arange(kind.size)
    alternative = 0.5 * consensus[rows_at[:, None], _FLIP[None, :]] + 0.5 / 3
    log_e = np.log(alternative[rows_at, kind]) - np.log(consensus[rows_at, kind])
    voter_log_e = np.bincount(voter, weights=log_e, minlength=n_voters).astype(np.float64)

    # "Against": the vote went to the side the others chose less often (ties not counted either way).
    decided = kind != NEITHER
    minority = decided & (consensus[rows_at, kind] < consensus[rows_at, _FLIP[kind]])
    against = np.bincount(voter, weights=minority, minlength=n_voters)
    sides = consensus[:, [A_WINS, B_WINS]]
    lower_side = np.where(sides[:, 0] != sides[:, 1], sides.min(axis=1), 0.0)
    expected = np.bincount(voter, weights=np.where(decided, lower_side / (1 - consensus[:, NEITHER]), 0.0),
                           minlength=n_voters)
    cast = np.bincount(voter, minlength=n_voters)

    flagged = _e_bh(voter_log_e, alpha)
    outliers = tuple(
        Outlier(str(voter_names[i]), int(cast[i]), int(against[i]), float(expected[i]), float(np.exp(voter_log_e[i])))
        for i in sorted(flagged, key=lambda i: -voter_log_e[i])
    )
    return OutlierReport(outliers, n_voters, sum(outlier.votes for outlier in outliers))


def _kind(winner: str) -> int:
    if winner not in SCORES:
        raise ValueError(f"unknown winner {winner!r}; expected one of {sorted(SCORES)}")
    return _KIND[SCORES[winner]]


def _e_bh(log_e: npt.NDArray[np.float64], alpha: float) -> list[int]:
    """e-BH: with the e-values sorted high to low, flag the top ``k`` for the largest ``k`` whose ``k``-th e-value
    is at least ``K / (alpha k)`` among ``K`` voters."""
    order = np.argsort(-log_e)
    k = np.arange(1, log_e.size + 1)
    passes = log_e[order] >= np.log(log_e.size / (alpha * k))
    if not passes.any():
        return []
    last = int(np.flatnonzero(passes).max())
    return [int(i) for i in order[: last + 1]]
