"""The Repository port's judgement methods, held by the in-memory fake and by SqlAlchemyRepository on real SQLite and
PostgreSQL: judgements stored apart from votes, replaced per judge, read back with vote counts, and the backlog of
comparisons a judge has yet to answer on."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import timedelta

import pytest

from bot.domain import Choice, Counts, Reply, Side, Status
from bot.errors import UnknownComparisonError
from bot.judgement import Judgement, JudgeStatus
from bot.ports import Repository
from bot.statistics.slices import BattleQuery
from tests.contract.test_repository_contract import NOW, new_comparison


async def done(repo: Repository, matchup: str, minutes: int, base_side: Side = Side.A, ok: bool = True) -> str:
    c = new_comparison(matchup, base_side, created_at=NOW + timedelta(minutes=minutes))
    await repo.add_comparison(c)
    c.reply_a = Reply("answer A", 2, 10)
    c.reply_b = Reply("answer B", 2, 10) if ok else Reply("", 0, 10, "The model timed out after 2 s.")
    c.status = Status.DONE
    await repo.save_result(c)
    return c.id


def judgement(comparison_id: str, judge: str, status: JudgeStatus, verdict: Choice | None = None) -> Judgement:
    return Judgement(comparison_id=comparison_id, judge=judge, status=status, verdict=verdict,
                     first=verdict or Choice.A, second=verdict or Choice.B, text_first="I think… [[A]] ✓",
                     text_second="x" * 5000, error=None if status is not JudgeStatus.FAILED else "timed out",
                     latency_ms=1234, created_at=NOW)


async def test_judgements_round_trip_with_vote_counts_and_replace_per_judge(repo: Repository) -> None:
    matchup = f"m-{uuid.uuid4().hex}"
    first, second = await done(repo, matchup, 1, Side.B), await done(repo, matchup, 2)
    await repo.record_vote(first, "alice", Choice.A, NOW)
    await repo.record_vote(first, "bob", Choice.BOTH_BAD, NOW)
    await repo.save_judgement(judgement(second, "judge-1", JudgeStatus.FAILED))
    await repo.save_judgement(judgement(first, "judge-1", JudgeStatus.INCONSISTENT))
    await repo.save_judgement(judgement(first, "judge-2", JudgeStatus.VERDICT, Choice.TIE))
    replaced = judgement(second, "judge-1", JudgeStatus.VERDICT, Choice.B)
    await repo.save_judgement(replaced)

    found = await repo.judged(matchup, "judge-1")
    # Read back without the raw texts (they stay in the table for audit).
    assert [f.judgement for f in found] == [replace(j, text_first="", text_second="") for j in
                                            (judgement(first, "judge-1", JudgeStatus.INCONSISTENT), replaced)]
    assert found[0].votes == Counts(a=1, both_bad=1) and found[0].base_side is Side.B
    assert (found[0].matchup, found[0].model_a, found[0].model_b) == (matchup, "tuned", "base")
    assert found[1].votes == Counts()
    assert len(await repo.judged(matchup)) == 3 and await repo.judged(f"m-{uuid.uuid4().hex}") == []
    # Sliced by the place the comparison was asked in.
    assert len(await repo.judged(matchup, platform="discord", server="guild", channel="chan")) == 3
    assert await repo.judged(matchup, platform="slack") == [] and await repo.judged(matchup, channel="other") == []
    # Judgements are never votes.
    battles = await repo.battle_set(BattleQuery(matchup=matchup, drop_failed=False, drop_identity_leaks=False))
    assert battles.kept == 2


async def test_unjudged_lists_finished_comparisons_without_an_answer_oldest_first(repo: Repository) -> None:
    matchup = f"m-{uuid.uuid4().hex}"
    ids = [await done(repo, matchup, minute) for minute in (3, 1, 2, 4)]
    failed_side = await done(repo, matchup, 0, ok=False)  # one reply failed: nothing to weigh
    running = new_comparison(matchup)
    await repo.add_comparison(running)
    await repo.save_judgement(judgement(ids[0], "judge-1", JudgeStatus.UNPARSABLE))  # an answer, of sorts
    await repo.save_judgement(judgement(ids[1], "judge-1", JudgeStatus.FAILED))  # may pass: try again
    await repo.save_judgement(judgement(ids[2], "judge-2", JudgeStatus.VERDICT, Choice.A))  # another judge's

    pending = await repo.unjudged("judge-1", matchup)
    assert pending == [ids[1], ids[2], ids[3]]
    assert failed_side not in pending and running.id not in pending
    assert await repo.unjudged("judge-1", matchup, limit=2) == [ids[1], ids[2]]


async def test_a_judgement_of_an_unknown_comparison_is_refused(repo: Repository) -> None:
    with pytest.raises(UnknownComparisonError):
        await repo.save_judgement(judgement("missing", "judge-1", JudgeStatus.FAILED))
