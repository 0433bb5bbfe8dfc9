"""Votes one by one as columns, in the order first cast, with both replies' style: what style control, the
length-controlled win rate, the anytime-valid decision and the outlier test read (``Repository.vote_table``).

A million votes fill about 75 MB here (eight 4-byte style counts, four indices, a score and a side per vote)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from bot.outcomes import SCORES
from bot.statistics.decisions import quick_decision
from bot.statistics.length_control import LengthControlledWinRate, length_controlled_win_rate
from bot.statistics.outliers import OutlierReport, outliers_from_columns
from bot.statistics.sequential import Decision
from bot.statistics.style import StyleFeatures
from bot.statistics.style_control import StyleBattles, battles_from_arrays

IntArray = npt.NDArray[np.intp]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
CountArray = npt.NDArray[np.int32]


@dataclass(frozen=True)
class VoteRecord:
    """One vote, for the readable path (tests, the in-memory repository)."""

    matchup: str
    voter: str
    model_a: str
    model_b: str
    winner: str  # lmsys winner value
    finetuned_side: str  # "a" or "b"
    style_a: StyleFeatures
    style_b: StyleFeatures


@dataclass(frozen=True)
class VoteTable:
    """Columns of votes: indices into ``models``, ``matchups`` and ``voters``; ``scores`` of model a (1, 1/2, 0);
    ``finetuned_a`` where the fine-tune was shown as A; ``style_a``/``style_b`` n x 4 totals in the order of
    ``StyleFeatures.totals()`` (tokens, headers, list items, bold spans)."""

    models: tuple[str, ...]
    matchups: tuple[str, ...]
    voters: tuple[str, ...]
    a: IntArray
    b: IntArray
    matchup: IntArray
    voter: IntArray
    scores: FloatArray
    finetuned_a: BoolArray
    style_a: CountArray
    style_b: CountArray

    def __len__(self) -> int:
        return int(self.scores.size)

    def without_voters(self, voters: Iterable[str]) -> VoteTable:
        """The votes of everyone but ``voters`` (the outlier filter)."""
        dropped = [i for i, name in enumerate(self.voters) if name in set(voters)]
        keep = ~np.isin(self.voter, dropped)
        return VoteTable(self.models, self.matchups, self.voters, self.a[keep], self.b[keep], self.matchup[keep],
                         self.voter[keep], self.scores[keep], self.finetuned_a[keep], self.style_a[keep],
                         self.style_b[keep])

    def style_battles(self) -> StyleBattles:
        """The votes as style-control battles (one row each)."""
        return battles_from_arrays(self.models, self.a, self.b, self.scores, self.style_a, self.style_b)

    def outliers(self) -> OutlierReport:
        """The voters the outlier test flags among these votes."""
        return outliers_from_columns(self.voters, self.voter, self.a, self.b, self.scores)

    def finetuned_scores(self, name: str) -> FloatArray:
        """One matchup's votes in order as the fine-tune's scores (1 preferred, 1/2 a tie, 0 the base)."""
        return self._finetuned(name)[0]

    def _finetuned(self, name: str) -> tuple[FloatArray, CountArray, CountArray]:
        """One matchup's votes in order: the fine-tune's scores and both sides' tokens (fine-tune, base)."""
        rows = self.matchup == self.matchups.index(name)
        fa = self.finetuned_a[rows]
        scores = np.where(fa, self.scores[rows], 1.0 - self.scores[rows])
        tokens_a, tokens_b = self.style_a[rows, 0], self.style_b[rows, 0]
        return scores, np.where(fa, tokens_a, tokens_b), np.where(fa, tokens_b, tokens_a)

    def length_controlled(self) -> dict[str, LengthControlledWinRate]:
        """Raw and length-controlled win rate of the fine-tune per matchup with votes."""
        return {name: length_controlled_win_rate(*self._finetuned(name)) for name in self._voted()}

    def decisions(self) -> dict[str, Decision]:
        """The anytime-valid decision per matchup with votes, from its votes in the order cast."""
        return {name: quick_decision(self._finetuned(name)[0]) for name in self._voted()}

    def _voted(self) -> list[str]:
        present = set(np.unique(self.matchup).tolist())
        return [name for i, name in enumerate(self.matchups) if i in present]


def _index(names: Sequence[str]) -> tuple[tuple[str, ...], IntArray]:
    """Distinct names (sorted) and each row's index into them, keeping Python's dict speed for short lists."""
    distinct = tuple(sorted(set(names)))
    position = {name: i for i, name in enumerate(distinct)}
    return distinct, np.array(list(map(position.__getitem__, names)), dtype=np.intp)


def table_from_columns(
    matchups: Sequence[str], voters: Sequence[str], models_a: Sequence[str], models_b: Sequence[str],
    scores: npt.ArrayLike, finetuned_a: npt.ArrayLike, style_a: npt.ArrayLike, style_b: npt.ArrayLike,
) -> VoteTable:
    """A table from plain columns (what a database cursor gives)."""
    models, both = _index([*models_a, *models_b])
    n = len(models_a)
    matchup_names, matchup = _index(matchups)
    voter_names, voter = _index(voters)
    return VoteTable(
        models=models, matchups=matchup_names, voters=voter_names, a=both[:n], b=both[n:], matchup=matchup,
        voter=voter, scores=np.asarray(scores, dtype=np.float64).reshape(n),
        finetuned_a=np.asarray(finetuned_a, dtype=bool).reshape(n),
        style_a=np.asarray(style_a, dtype=np.int32).reshape(n, 4),
        style_b=np.asarray(style_b, dtype=np.int32).reshape(n, 4),
    )


def table_from_records(records: Iterable[VoteRecord]) -> VoteTable:
    """A table from votes one by one."""
    rows = list(records)
    return table_from_columns(
        [r.matchup for r in rows], [r.voter for r in rows], [r.model_a for r in rows], [r.model_b for r in rows],
        [SCORES[r.winner] for r in rows], [r.finetuned_side == "a" for r in rows],
        [r.style_a.totals() for r in rows], [r.style_b.totals() for r in rows],
    )
