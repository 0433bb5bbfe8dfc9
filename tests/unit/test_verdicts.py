"""The verdicts beside the leaderboard, through the service on the in-memory repository: LC win rates, decisions,
style control and the outlier filter, counted like the other filters."""

from __future__ import annotations

import random

import pytest

from bot.domain import Place
from bot.service import ArenaService
from bot.statistics.slices import BattleQuery
from bot.statistics.verdicts import OUTLIER_STEP
from tests.fakes import InMemoryRepository, ScriptedProvider, matchup

HONEST = [f"honest-{i}" for i in range(8)]
CONTRARIAN = "contrarian"


async def arena() -> ArenaService:
    """Eight voters prefer the fine-tune's longer, listed answers on every comparison; one always votes the other
    way on the same comparisons."""
    m = matchup()
    providers = {"base-m": ScriptedProvider(["short"]),
                 "tuned-m": ScriptedProvider(["- a longer", "\n- answer", "\n- with a list"])}
    service = ArenaService({m.name: m}, providers, InMemoryRepository(), rng=random.Random(5))
    for n in range(12):
        c = await service.compare(f"question {n}", "asker", Place("test", "c1"))
        for voter in HONEST:
            await service.vote(c.id, voter, c.finetuned_side.value)
        await service.vote(c.id, CONTRARIAN, c.base_side.value)
    return service


async def test_outlier_voters_are_reported_and_dropped_only_when_asked() -> None:
    service = await arena()
    kept = await service.report(BattleQuery(), rounds=5, verdicts=True)
    assert kept.verdicts is not None and not kept.verdicts.dropped
    assert [o.voter for o in kept.verdicts.outliers.outliers] == [CONTRARIAN]
    assert kept.verdicts.outliers.removed_votes == 12 and kept.battles.kept == 9 * 12
    assert OUTLIER_STEP not in {step.name for step in kept.battles.steps}

    dropped = await service.report(BattleQuery(drop_outliers=True), rounds=5)
    assert dropped.verdicts is not None and dropped.verdicts.dropped
    assert {step.name: step.removed for step in dropped.battles.steps}[OUTLIER_STEP] == 12
    assert dropped.battles.kept == 8 * 12 and dropped.battles.sliced == 9 * 12
    assert dropped.verdicts.matchups["pair"].length.win_rate == 1.0  # only the honest votes are left
    assert kept.verdicts.matchups["pair"].length.win_rate == 8 / 9


async def test_the_outlier_test_on_columns_equals_the_one_on_rows() -> None:
    from bot.outcomes import MODEL_A, MODEL_B, TIE
    from bot.statistics.outliers import VoterVote, find_outliers

    service = await arena()
    table = await service.repository.vote_table(BattleQuery())
    winner = {1.0: MODEL_A, 0.0: MODEL_B, 0.5: TIE}
    rows = [VoterVote(table.voters[v], table.models[a], table.models[b], winner[s])
            for v, a, b, s in zip(table.voter, table.a, table.b, table.scores.tolist(), strict=True)]
    assert table.outliers() == find_outliers(rows) and table.outliers().outliers


async def test_decision_lc_win_rate_and_style_through_the_service() -> None:
    service = await arena()
    report = await service.report(BattleQuery(), rounds=5, style=True)
    assert report.verdicts is not None and report.verdicts.style is not None
    verdict = report.verdicts.matchups["pair"]
    assert verdict.decision.describe() == "fine-tune better (anytime-valid 95%)"
    # Every fine-tune reply is longer by the same two tokens: nothing separates length from preference, and the
    # length-controlled rate is the raw one (up to the fit's tiny L2).
    assert verdict.length.length_sd == 0 and verdict.length.lc_win_rate == pytest.approx(verdict.length.win_rate,
                                                                                         abs=1e-3)
    assert set(report.verdicts.style.coefficients) == {"length", "header", "list", "bold"}
    tallies = await service.leaderboard(verdicts=True)
    assert tallies[0].decision == verdict.decision.describe() and tallies[0].lc_win_rate == verdict.length.lc_win_rate
    assert (await service.leaderboard())[0].decision is None


async def test_the_chat_leaderboard_shows_style_controlled_ratings_beside_the_raw_ones() -> None:
    from adapters.discord import render as discord_render
    from adapters.slack import render as slack_render
    from bot import display

    service = await arena()
    plain = await service.report(BattleQuery(), rounds=5, verdicts=True)
    assert display.standings_lines(plain)[0] == display.RATINGS_HEADING
    assert not any("style" in line for line in display.standings_lines(plain)[1])

    styled = await service.report(BattleQuery(), rounds=5, verdicts=True, style=True)
    assert styled.verdicts is not None and styled.verdicts.style is not None
    heading, lines = display.standings_lines(styled)
    by_model = {s.model: s for s in styled.verdicts.style.standings}
    assert heading == display.STYLE_HEADING and len(lines) == 3 and lines[-1].startswith("Style: ")
    for line, raw in zip(lines, styled.leaderboard.standings, strict=False):
        s = by_model[raw.model]
        assert line.endswith(f"; style-controlled {s.rating:.0f} ({s.ci_low:.0f}–{s.ci_high:.0f}), #{s.rank}")
    tallies = await service.leaderboard(verdicts=True, style=True)
    embed = discord_render.leaderboard_embed(tallies, styled)
    assert embed.description is not None and "style-controlled" in embed.description and "Style: " in embed.description
    assert "style-controlled" in str(slack_render.leaderboard_blocks(tallies, styled)[0].to_dict())
