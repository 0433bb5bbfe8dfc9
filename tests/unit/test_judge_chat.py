"""The judge's agreement in chat's /leaderboard: the flow adds it to the report when a judge is configured, and the
Discord embed and Slack blocks show it, escaped; without a judge nothing changes."""

from __future__ import annotations

import random
from datetime import UTC, datetime

from adapters.discord import render as discord_render
from adapters.flow import ChatFlow
from adapters.slack import render as slack_render
from bot.domain import Choice, Counts, Model, Place, Side
from bot.judge import Judge, JudgeSettings
from bot.judge_queue import JudgeQueue
from bot.judge_report import JudgeReport, agreement_lines
from bot.judgement import JudgedComparison, Judgement, JudgeStatus
from bot.providers.echo import EchoProvider
from bot.service import ArenaService
from bot.statistics.agreement import agreement
from tests.fakes import InMemoryRepository, ScriptedProvider, matchup
from tests.unit.test_flow import RecordingSurface

JUDGE = Model(name="judge_*bold*", provider="echo", model="j")


async def flow_with(judged: bool) -> ChatFlow:
    repo = InMemoryRepository()
    m = matchup()
    queue = None
    if judged:
        queue = JudgeQueue(Judge(JudgeSettings(model=JUDGE.name, mode="off"), JUDGE, EchoProvider(JUDGE)), repo)
    service = ArenaService({m.name: m}, {"base-m": ScriptedProvider(["base"]), "tuned-m": ScriptedProvider(["tuned"])},
                           repo, rng=random.Random(3), judge=queue)
    for i, members_pick_tuned in enumerate((True, True, False)):
        c = await service.compare(f"Question {i}", "asker", Place("discord"))
        await service.vote(c.id, "alice", (c.finetuned_side if members_pick_tuned else c.base_side).value)
        if judged:
            await repo.save_judgement(Judgement(c.id, JUDGE.name, JudgeStatus.VERDICT, Choice(c.finetuned_side.value),
                                                None, None, "", "", None, 5, datetime.now(UTC)))
    return ChatFlow(service)


async def test_the_leaderboard_carries_the_judges_agreement_to_discord_and_slack() -> None:
    surface = RecordingSurface()
    await (await flow_with(judged=True)).leaderboard(surface, "pair")
    tallies, report, _ = surface.calls[-1][1]
    assert report.judge is not None and report.judge.agreement.compared == 3
    assert report.judge.agreement.agreement == 2 / 3

    embed = discord_render.leaderboard_embed(tallies, report).to_dict()
    [field] = [f for f in embed["fields"] if f["name"] == "LLM judge"]
    assert "Agrees with the members' majority on 67% of 3 comparison(s)" in field["value"]
    assert "judge\\_\\*bold\\*" in field["value"]  # a model name is never markdown

    blocks = [b.to_dict() for b in slack_render.leaderboard_blocks(tallies, report)]
    [judge_block] = [b for b in blocks if b["text"]["text"].startswith("*LLM judge*")]
    assert "Position consistency: 100%" in judge_block["text"]["text"]


async def test_the_terminal_chat_gets_the_agreement_in_words_after_its_tallies() -> None:
    surface = RecordingSurface(shows_ratings=False)
    await (await flow_with(judged=True)).leaderboard(surface, "pair")
    assert [name for name, _ in surface.calls[-2:]] == ["show_leaderboard", "tell"]
    assert "Agrees with the members' majority on 67% of 3 comparison(s)" in surface.calls[-1][1]


async def test_without_a_judge_the_leaderboard_is_unchanged() -> None:
    surface, plain = RecordingSurface(), RecordingSurface(shows_ratings=False)
    await (await flow_with(judged=False)).leaderboard(surface, "pair")
    tallies, report, _ = surface.calls[-1][1]
    assert report.judge is None
    await (await flow_with(judged=False)).leaderboard(plain, "pair")
    assert plain.calls[-1][0] == "show_leaderboard"
    assert all(f["name"] != "LLM judge" for f in discord_render.leaderboard_embed(tallies, report).to_dict()["fields"])


def test_the_agreement_in_words_says_what_is_missing() -> None:
    def lines(*statuses: JudgeStatus) -> list[str]:
        judged = [JudgedComparison(Judgement(f"c{i}", "j", s, None, None, None, "", "", "down", 5, datetime.now(UTC)),
                                   "pair", "base", "tuned", Side.A, Counts(a=1)) for i, s in enumerate(statuses)]
        return agreement_lines(JudgeReport("j", "human", agreement(judged), None))

    assert lines() == ["Judge j: nothing judged yet (ftarena judge --backfill judges stored comparisons)."]
    assert lines(JudgeStatus.FAILED, JudgeStatus.FAILED, JudgeStatus.UNPARSABLE) == [
        "Judge j: 3 comparison(s) judged; 1 unparsable, 2 failed.",
        "No comparison has both members' votes and a pick from the judge yet: no agreement to show."]
    flipped = lines(JudgeStatus.INCONSISTENT)
    assert "Position consistency: 0% kept the same winner with the answers swapped." in flipped
    assert "Agrees with the members' majority on 0% of 1 comparison(s); none without ties." in flipped
