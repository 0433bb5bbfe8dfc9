"""The arena report: everything a leaderboard page shows for one slice of the votes, in one value."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot.statistics.bias import BiasReport
from bot.statistics.bradley_terry import Leaderboard
from bot.statistics.slices import BattleQuery, BattleSet
from bot.statistics.verdicts import Verdicts, verdicts_json

if TYPE_CHECKING:  # bot.judge_report builds on the statistics: at run time this import would be circular
    from bot.judge_report import JudgeReport


@dataclass(frozen=True)
class ArenaReport:
    """Everything a leaderboard page shows for one slice of the votes."""

    query: BattleQuery
    leaderboard: Leaderboard
    battles: BattleSet
    win_rates: dict[str, dict[str, float]]
    bias: BiasReport
    judge: JudgeReport | None = None  # the LLM judge's agreement with the votes, when a judge is configured
    # Style control, LC win rates, decisions and outliers (issue #16), when asked for.
    verdicts: Verdicts | None = None


def report_json(report: ArenaReport) -> dict[str, Any]:
    """The report as plain JSON data: what ``ftarena leaderboard --json`` prints and the web API answers."""
    standings = [dataclasses.asdict(s) for s in report.leaderboard.standings]
    found = {
        "standings": standings,
        "battles": report.leaderboard.battles,
        "filters": {"sliced": report.battles.sliced, "kept": report.battles.kept,
                    "removed": {step.name: step.removed for step in report.battles.steps}},
        "bias": dataclasses.asdict(report.bias),
        "win_rates": report.win_rates,
        # Without the voters the outlier filter left out: voter ids are never shown.
        "query": {k: (v.isoformat() if hasattr(v, "isoformat") else v)
                  for k, v in dataclasses.asdict(report.query).items() if k != "without_voters"},
    }
    if report.verdicts is not None:
        found.update(verdicts_json(report.verdicts, standings))
    return found
