"""The judge's side of a leaderboard: its agreement with the members and, on request, the ratings from its verdicts
(alone or with the votes), for the CLI, the report and chat."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.errors import ArenaError
from bot.ports import Repository
from bot.statistics.agreement import Agreement, agreement
from bot.statistics.battles import BattleCount
from bot.statistics.bradley_terry import Leaderboard
from bot.statistics.rating_sources import SOURCES, judge_battles, source_leaderboard
from bot.statistics.report import ArenaReport
from bot.statistics.slices import BattleQuery

NO_JUDGE = "No judge is configured: name one of the models in [judge] model = \"...\"."


@dataclass(frozen=True)
class JudgeReport:
    judge: str
    source: str  # where ``leaderboard`` comes from: human, judge or both
    agreement: Agreement
    leaderboard: Leaderboard | None  # None for ``human``: the arena report's own ratings stand


async def judge_report(repository: Repository, judge: str | None, query: BattleQuery,
                       human: Sequence[BattleCount], source: str = "human", rounds: int = 100) -> JudgeReport:
    """Agreement of ``judge`` with the votes on the comparisons of ``query``'s matchup and place (its voter, times
    and filters are about votes: they shape ``human``, the slice's battles from the votes, only) and the ratings
    from ``source``. The fitting runs in a worker thread."""
    if judge is None:
        raise ArenaError(NO_JUDGE)
    if source not in SOURCES:
        raise ArenaError(f"Unknown rating source {source!r}: use {', '.join(SOURCES)}.")
    judged = await repository.judged(query.matchup, judge, platform=query.platform, server=query.server,
                                     channel=query.channel)
    found = await asyncio.to_thread(agreement, judged)
    board = None
    if source != "human":
        board = await asyncio.to_thread(source_leaderboard, human, judge_battles(judged), source, rounds)
    return JudgeReport(judge=judge, source=source, agreement=found, leaderboard=board)


async def with_judge(report: ArenaReport, repository: Repository, judge: str | None) -> ArenaReport:
    """``report`` with the judge's agreement on its matchup (all matchups when it has none), for chat's leaderboard;
    unchanged when no judge is configured."""
    if judge is None:
        return report
    found = await judge_report(repository, judge, report.query, report.battles.counts)
    return dataclasses.replace(report, judge=found)


def judge_json(report: JudgeReport) -> dict[str, Any]:
    """The ``judge`` block of ``ftarena leaderboard --judge --json``."""
    return {"judge": report.judge, "source": report.source, "agreement": dataclasses.asdict(report.agreement)}


def agreement_lines(report: JudgeReport) -> list[str]:
    """The agreement in plain sentences, for any surface (each formats them its own way)."""
    a = report.agreement
    if not a.judged:
        return [f"Judge {report.judge}: nothing judged yet (ftarena judge --backfill judges stored comparisons)."]
    lines = [f"Judge {report.judge}: {a.judged} comparison(s) judged; "
             + ", ".join(f"{n} {status}" for status, n in a.statuses.items() if n) + "."]
    if a.consistency is not None:
        lines.append(f"Position consistency: {_pct(a.consistency)} kept the same winner with the answers swapped.")
    if a.agreement is None:
        lines.append("No comparison has both members' votes and a pick from the judge yet: no agreement to show.")
        return lines
    without = (f"{_pct(a.agreement_without_ties)} without ties ({a.compared_without_ties})"
               if a.agreement_without_ties is not None else "none without ties")
    lines.append(f"Agrees with the members' majority on {_pct(a.agreement)} of {a.compared} comparison(s); {without}.")
    if a.kappa is not None:
        interval = f" (95% {a.kappa_low:.2f} to {a.kappa_high:.2f})" if a.kappa_low is not None else ""
        lines.append(f"Cohen's kappa {a.kappa:.2f}{interval}: 0 is chance agreement, 1 is perfect.")
    return lines


def _pct(share: float | None) -> str:
    return "n/a" if share is None else f"{share:.0%}"
