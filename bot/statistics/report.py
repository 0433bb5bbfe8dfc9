"""The arena report: everything a leaderboard page shows for one slice of the votes, in one value."""

from __future__ import annotations

from dataclasses import dataclass

from bot.statistics.bias import BiasReport
from bot.statistics.bradley_terry import Leaderboard
from bot.statistics.slices import BattleQuery, BattleSet


@dataclass(frozen=True)
class ArenaReport:
    """Everything a leaderboard page shows for one slice of the votes."""

    query: BattleQuery
    leaderboard: Leaderboard
    battles: BattleSet
    win_rates: dict[str, dict[str, float]]
    bias: BiasReport
