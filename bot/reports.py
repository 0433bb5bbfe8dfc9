"""The arena's numbers for a slice of the votes: the tallies of each matchup and the report (Bradley-Terry ratings,
win rates, bias checks, filter tolls, and on request the verdicts: LC win rates, decisions, outliers, style
control), cached for a few seconds because chat members ask for them often. Counting happens in the database;
fitting runs in worker threads."""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Callable, Mapping
from dataclasses import replace

from bot.domain import Matchup, Tally
from bot.ports import Repository
from bot.statistics import bradley_terry
from bot.statistics.bias import bias_report
from bot.statistics.report import ArenaReport
from bot.statistics.slices import BattleQuery, BattleSet, FilterStep
from bot.statistics.verdicts import OUTLIER_STEP, Verdicts, outlier_report
from bot.statistics.verdicts import verdicts as verdicts_of
from bot.statistics.win_rates import outcome_counts_of, tallies

# Chat members may ask for the leaderboard often; a few seconds of staleness spares the CPU.
REPORT_CACHE_S = 10.0


class Reports:
    """Tallies and reports on ``repository``'s votes for the matchups ``matchups()`` returns (they change when a
    contender is registered); ``matchup(name)`` is the service's lookup, which refuses an unknown name."""

    def __init__(self, repository: Repository, matchups: Callable[[], Mapping[str, Matchup]],
                 matchup: Callable[[str | None], Matchup]) -> None:
        self._repository = repository
        self._matchups = matchups
        self._matchup = matchup
        self._reports: dict[tuple[object, ...], tuple[float, ArenaReport]] = {}

    async def leaderboard(self, matchup: str | None = None, query: BattleQuery | None = None, *,
                          verdicts: bool = False, style: bool = False) -> list[Tally]:
        """Tallies for every configured matchup (or one), including those with no votes yet; of the votes in
        ``query``'s slice (a member's, a channel's) when given, with no quality filter, as the board counts. With
        ``verdicts`` each with its length-controlled win rate and decision (from the report of the same slice,
        cached; with ``style`` the style-controlled ratings too, for a caller that shows them from that report)."""
        names = [self._matchup(matchup).name] if matchup else sorted(self._matchups())
        if query is None:
            counted = await self._repository.outcome_counts(matchup)
        else:
            counted = [row for name in names for row in outcome_counts_of(self._matchups()[name], (
                await self._repository.battle_set(replace(query, matchup=name, drop_identity_leaks=False,
                                                             drop_failed=False))).counts)]
        # A matchup whose models were swapped in the config keeps its name: count only the current pair.
        found = {t.matchup: t for t in tallies(counted)
                 if t.matchup in self._matchups() and (t.base, t.finetuned) ==
                 (self._matchups()[t.matchup].base.name, self._matchups()[t.matchup].finetuned.name)}
        result = []
        for name in names:
            m = self._matchups()[name]
            result.append(found.get(name) or Tally(
                matchup=name, base=m.base.name, finetuned=m.finetuned.name, wins=0, losses=0, ties=0,
                both_bad=0, win_rate=None, ci_low=None, ci_high=None,
            ))
        if verdicts:
            found_verdicts = (await self.report(query or BattleQuery(matchup=matchup), verdicts=True,
                                                style=style)).verdicts
            judged = found_verdicts.matchups if found_verdicts else {}
            result = [replace(t, lc_win_rate=judged[t.matchup].length.lc_win_rate,
                              decision=judged[t.matchup].decision.describe()) if t.matchup in judged else t
                      for t in result]
        return result

    async def report(self, query: BattleQuery | None = None, *, rounds: int = 100, seed: int = 0,
                     verdicts: bool = False, style: bool = False, style_rounds: int | None = None) -> ArenaReport:
        """Bradley-Terry ratings with bootstrap intervals, win rates, bias checks and filter tolls for a slice;
        with ``verdicts`` (or ``query.drop_outliers``) also the LC win rates, decisions and outlier voters, and
        with ``style`` the style-controlled ratings (sandwich intervals, or bootstrap over ``style_rounds``).
        Counting happens in the database; the fitting runs in a worker thread."""
        query = query or BattleQuery()
        key = (query, rounds, seed, verdicts, style, style_rounds)
        cached = self._reports.get(key)
        if cached and time.monotonic() - cached[0] < REPORT_CACHE_S:
            return cached[1]
        battles = await self._repository.battle_set(query)
        found = None
        if verdicts or style or query.drop_outliers:
            battles, query, found = await self._verdicts(query, battles, style, style_rounds, seed)
        board = await asyncio.to_thread(bradley_terry.leaderboard, battles.counts, rounds, seed)
        matrix = bradley_terry.win_rate_matrix(battles.counts)
        bias = bias_report(battles.counts, await self._repository.votes_per_voter(query))
        report = ArenaReport(query=key[0], leaderboard=board, battles=battles, win_rates=matrix, bias=bias,
                             verdicts=found)
        self._reports = {k: v for k, v in self._reports.items() if time.monotonic() - v[0] < REPORT_CACHE_S}
        self._reports[key] = (time.monotonic(), report)
        return report

    async def _verdicts(self, query: BattleQuery, battles: BattleSet, style: bool, style_rounds: int | None,
                        seed: int) -> tuple[BattleSet, BattleQuery, Verdicts]:
        """The verdicts of a slice; with ``query.drop_outliers`` also the slice without the flagged voters (the
        votes they removed counted as the last filter step) and the query that reads it."""
        table = await self._repository.vote_table(query)
        outliers = await asyncio.to_thread(outlier_report, table)
        if query.drop_outliers:
            narrowed = battles
            if outliers.outliers:
                query = replace(query, without_voters=tuple(sorted(outliers.voter_ids)))
                narrowed = await self._repository.battle_set(query)
                table = table.without_voters(query.without_voters)
            battles = BattleSet(counts=narrowed.counts, sliced=battles.sliced, steps=(
                *narrowed.steps, FilterStep(OUTLIER_STEP, battles.kept - narrowed.kept)))
        found = await asyncio.to_thread(functools.partial(
            verdicts_of, table, outliers, style=style, dropped=query.drop_outliers, rounds=style_rounds, seed=seed))
        return battles, query, found

