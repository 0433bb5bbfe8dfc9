"""Judge agreement on a small hand-built set (every number worked out by hand below), Cohen's kappa against
scikit-learn's ``cohen_kappa_score``, and ratings by source."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime

import pytest
from sklearn.metrics import cohen_kappa_score

from bot.domain import Choice, Counts, Side
from bot.judgement import JudgedComparison, Judgement, JudgeStatus
from bot.outcomes import BASE, FINETUNED, MODEL_A, MODEL_B, TIE
from bot.statistics import bradley_terry
from bot.statistics.agreement import LABELS, agreement, cohen_kappa, human_majority
from bot.statistics.battles import BattleCount
from bot.statistics.rating_sources import judge_battles, source_leaderboard

NOW = datetime(2026, 12, 3, tzinfo=UTC)


def item(n: int, base_side: Side, votes: Counts, status: JudgeStatus,
         verdict: Choice | None = None) -> JudgedComparison:
    j = Judgement(f"c{n}", "judge", status, verdict, verdict, verdict, "", "", None, 10, NOW)
    a, b = ("base", "tuned") if base_side is Side.A else ("tuned", "base")
    return JudgedComparison(j, "pair", a, b, base_side, votes)


V, FLIP = JudgeStatus.VERDICT, JudgeStatus.INCONSISTENT
# (members' majority, judge's pick), from the fine-tune's side; the sides alternate so both orientations count.
SET = [
    item(1, Side.A, Counts(b=2), V, Choice.B),  # (finetuned, finetuned)
    item(2, Side.B, Counts(a=1), V, Choice.A),  # (finetuned, finetuned)
    item(3, Side.A, Counts(b=3, a=1), V, Choice.A),  # (finetuned, base)
    item(4, Side.B, Counts(b=1), V, Choice.B),  # (base, base)
    item(5, Side.A, Counts(a=2, both_bad=1), FLIP),  # (base, tie): a flip counts as a tie
    item(6, Side.B, Counts(a=1, b=1), V, Choice.TIE),  # (tie, tie): an even split at the top is a tie
    item(7, Side.A, Counts(tie=1, both_bad=1, b=1), V, Choice.B),  # (tie, finetuned)
    item(8, Side.B, Counts(a=4, tie=3), V, Choice.A),  # (finetuned, finetuned)
    item(9, Side.A, Counts(b=5), JudgeStatus.FAILED),  # no pick: left out
    item(10, Side.A, Counts(), V, Choice.A),  # no votes: left out
    item(11, Side.B, Counts(a=1), JudgeStatus.UNPARSABLE),  # no pick: left out
]


def test_agreement_numbers_on_a_hand_built_set() -> None:
    found = agreement(SET, rounds=500)
    assert found.judged == 11
    assert found.statuses == {"verdict": 8, "inconsistent": 1, "unparsable": 1, "failed": 1}
    assert found.consistency == pytest.approx(8 / 9)
    # Pairs 1-8: agree on 1, 2, 4, 6, 8.
    assert found.compared == 8 and found.agreement == pytest.approx(5 / 8)
    # Neither says tie on 1, 2, 3, 4, 8; agree on 1, 2, 4, 8.
    assert found.compared_without_ties == 5 and found.agreement_without_ties == pytest.approx(4 / 5)
    assert found.confusion == {FINETUNED: {FINETUNED: 3, BASE: 1, TIE: 0},
                               BASE: {FINETUNED: 0, BASE: 1, TIE: 1},
                               TIE: {FINETUNED: 1, BASE: 0, TIE: 1}}
    # Marginals 4/2/2 on both sides: chance agreement (16 + 4 + 4) / 64 = 0.375, kappa (0.625 - 0.375) / 0.625.
    assert found.kappa == pytest.approx(0.4)
    assert found.kappa_low is not None and found.kappa_high is not None
    assert -1 <= found.kappa_low < 0.4 < found.kappa_high <= 1
    assert agreement(SET, rounds=500) == found  # seeded: the same interval every time


def test_kappa_equals_scikit_learn() -> None:
    rng = random.Random(7)
    for size in (5, 40, 300):
        pairs = [(rng.choice(LABELS), rng.choice(LABELS)) for _ in range(size)]
        # Judges that mostly agree, too, so kappa spans well above zero.
        pairs += [(h, h) for h, _ in pairs[: size // 2]]
        humans, judges = zip(*pairs, strict=True)
        assert cohen_kappa(pairs) == pytest.approx(cohen_kappa_score(humans, judges, labels=list(LABELS)))


def test_kappa_is_undefined_when_chance_explains_everything() -> None:
    assert cohen_kappa([(TIE, TIE), (TIE, TIE)]) is None and cohen_kappa([]) is None
    empty = agreement([])
    assert empty.compared == 0 and empty.agreement is empty.kappa is empty.consistency is None


@pytest.mark.parametrize(("votes", "expected"), [
    (Counts(), None), (Counts(a=2, b=1), FINETUNED), (Counts(a=1, b=2), BASE), (Counts(a=1, b=1), TIE),
    (Counts(a=1, tie=1, both_bad=1), TIE), (Counts(a=2, tie=1, both_bad=1), TIE),
])
def test_human_majority_from_the_fine_tunes_side(votes: Counts, expected: str | None) -> None:
    assert human_majority(votes, Side.B) == expected  # fine-tune on side A


HUMAN = [BattleCount("base", "tuned", MODEL_B, 6), BattleCount("tuned", "base", MODEL_B, 2)]  # tuned 6, base 2


def test_judge_battles_count_a_flip_as_a_tie_and_leave_failures_out() -> None:
    assert sorted(judge_battles(SET), key=lambda b: (b.model_a, b.outcome)) == [
        BattleCount("base", "tuned", MODEL_A, 2), BattleCount("base", "tuned", MODEL_B, 2),
        BattleCount("base", "tuned", TIE, 1), BattleCount("tuned", "base", MODEL_A, 2),
        BattleCount("tuned", "base", MODEL_B, 1), BattleCount("tuned", "base", TIE, 1)]


def test_ratings_by_source_weigh_a_judge_verdict_half_a_vote() -> None:
    judge = [BattleCount("tuned", "base", MODEL_A, 1), BattleCount("base", "tuned", MODEL_A, 3)]  # tuned 1, base 3

    def gap(source: str) -> float:
        board = source_leaderboard(HUMAN, judge, source, rounds=50)
        rating = {s.model: s for s in board.standings}
        assert all(s.ci_low <= s.rating <= s.ci_high for s in board.standings)
        return rating["tuned"].rating - rating["base"].rating

    assert gap("human") == pytest.approx(400 * math.log10(6 / 2), abs=0.5)
    assert gap("judge") == pytest.approx(400 * math.log10(1 / 3), abs=0.5)
    # Human wins count twice: tuned 2*6 + 1 = 13, base 2*2 + 3 = 7.
    assert gap("both") == pytest.approx(400 * math.log10(13 / 7), abs=0.5)
    both = source_leaderboard(HUMAN, judge, "both", rounds=50)
    assert both.battles == 12 and {s.votes for s in both.standings} == {12}
    assert source_leaderboard(HUMAN, [], "both", rounds=50) == bradley_terry.leaderboard(HUMAN, 50)
    with pytest.raises(ValueError, match="unknown source"):
        source_leaderboard(HUMAN, judge, "robots")
