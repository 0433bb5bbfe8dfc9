from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.analysis import bias_report, count_battles, identity_leak
from bot.domain import Comparison, Place, Reply, Side, Status
from bot.statistics.bradley_terry import BattleCount

NAMES = ("google/gemma-3-270m", "my-tune")


@pytest.mark.parametrize("prompt", [
    "Who are you?", "WHO MADE YOU", "what's your name", "What is your name, friend?", "Which LLM are you?",
    "what model are you", "Are you ChatGPT?", "are you gpt-4o or something else?"])
def test_a_prompt_asking_for_the_models_identity_leaks(prompt: str) -> None:
    assert identity_leak(prompt, ["Paris.", "Paris, France."], []) is True


@pytest.mark.parametrize("prompt", [
    "Who are your favourite poets?",  # "who are you" only as a whole phrase
    "What is your favourite name for a cat?",
    "Are you sure the capital of France is Paris?"])
def test_a_prompt_that_only_resembles_an_identity_question_does_not_leak(prompt: str) -> None:
    assert identity_leak(prompt, ["Paris.", "Lyon."], NAMES) is False


@pytest.mark.parametrize(("prompt", "replies", "expected"), [
    ("Hello", ["Hi! I am gemma-3-270m.", "Hello there."], True),
    ("Hello", ["Hello there.", "I AM GEMMA-3-270M, nice to meet you"], True),  # any reply, any case
    ("Hello", ["I'm gemma-3-270m-it, instruction tuned."], True),  # a longer id still shows the name
    ("Is gemma-3-270m any good?", ["Yes.", "No."], True),  # the prompt counts too
    ("Hello", ["Built with my-tune.", "Hi."], True),  # the plain config name, no org prefix
    ("Hello", ["I am Gemma, made by Google.", "Hi."], False),  # a family name is not the model's name
    ("Hello", ["The capital of France is Paris.", "Paris."], False),
    ("Hello", [], False),
])
def test_a_model_name_in_the_prompt_or_a_reply_leaks(prompt: str, replies: list[str], expected: bool) -> None:
    assert identity_leak(prompt, replies, NAMES) is expected


def test_only_the_part_after_the_last_slash_of_a_name_is_looked_for() -> None:
    # The org prefix never shows in a reply; the bare id does.
    assert identity_leak("Hi", ["I am llama-2-7b-hf."], ["meta-llama/Llama-2-7b-hf"]) is True
    assert identity_leak("Hi", ["Ask meta-llama about it."], ["meta-llama/Llama-2-7b-hf"]) is False


def test_names_shorter_than_five_characters_are_ignored() -> None:
    # 4 characters: "base" and "lama" would match ordinary words, so they never count ...
    assert identity_leak("a base case", ["a lama", "GPT"], ["base", "lama", "gpt", "org/gpt"]) is False
    # ... while 5 characters is distinctive enough.
    assert identity_leak("Hi", ["I am a llama"], ["llama"]) is True


def test_bias_report_counts_positions_not_models() -> None:
    counts = [
        BattleCount("base", "tuned", "model_a", 2),
        BattleCount("tuned", "base", "model_a", 1),  # the other model on side A: still a side-A win
        BattleCount("base", "tuned", "model_b", 1),
        BattleCount("base", "tuned", "tie", 1),
        BattleCount("tuned", "base", "tie", 1),
        BattleCount("base", "tuned", "tie (bothbad)", 1),
        BattleCount("tuned", "base", "model_b", 0),  # an empty group changes nothing
    ]
    # Three voters cast those 7 votes: 4, 2 and 1 of them.
    report = bias_report(counts, [1, 4, 2])
    # Decided: 3 side-A wins + 1 side-B win = 4, so A wins 3/4 = 0.75.
    assert report.decided == 4
    assert report.a_side_win_rate == 0.75
    # All 7 votes are the denominator of the shares: 2 ties -> 2/7, 1 both-bad -> 1/7.
    assert report.tie_share == 2 / 7
    assert report.both_bad_share == 1 / 7
    # Votes per voter sorted 1, 2, 4: median 2, max 4.
    assert (report.voters, report.median_votes_per_voter, report.max_votes_per_voter) == (3, 2.0, 4)


def test_bias_report_median_of_an_even_number_of_voters_is_the_mean_of_the_middle_two() -> None:
    report = bias_report([BattleCount("x", "y", "model_b", 12)], [2, 6, 1, 3])
    # Sorted 1, 2, 3, 6: median (2 + 3) / 2 = 2.5; every decided vote went to B.
    assert (report.voters, report.median_votes_per_voter, report.max_votes_per_voter) == (4, 2.5, 6)
    assert (report.decided, report.a_side_win_rate, report.tie_share, report.both_bad_share) == (12, 0.0, 0.0, 0.0)


def test_bias_report_with_only_ties_has_no_side_win_rate() -> None:
    report = bias_report([BattleCount("x", "y", "tie", 3), BattleCount("x", "y", "tie (bothbad)", 1)], [4])
    # No decided vote: no rate, rather than 0 or a division by zero; ties 3/4, both-bad 1/4.
    assert (report.decided, report.a_side_win_rate) == (0, None)
    assert (report.tie_share, report.both_bad_share) == (0.75, 0.25)


def test_bias_report_of_no_votes() -> None:
    report = bias_report([], [])
    assert (report.a_side_win_rate, report.decided, report.tie_share, report.both_bad_share) == (None, 0, None, None)
    assert (report.voters, report.median_votes_per_voter, report.max_votes_per_voter) == (0, None, 0)


def test_count_battles_groups_rows_and_skips_what_it_cannot_read() -> None:
    rows = [
        {"model_a": "x", "model_b": "y", "winner": "model_a"},
        {"model_a": "x", "model_b": "y", "winner": "model_a"},
        {"model_a": "y", "model_b": "x", "winner": "model_a"},
        {"model_a": "x", "model_b": "y", "winner": "tie (bothbad)"},
        {"model_a": "x", "model_b": "y", "winner": "both_bad"},  # our Choice value, not an lmsys winner
        {"model_a": "", "model_b": "y", "winner": "tie"},
        {"model_b": "y", "winner": "tie"},
    ]
    counts, skipped = count_battles(rows)
    assert skipped == 3
    assert sorted(counts, key=repr) == sorted([
        BattleCount("x", "y", "model_a", 2), BattleCount("y", "x", "model_a", 1),
        BattleCount("x", "y", "tie (bothbad)", 1)], key=repr)


def comparison(reply_a: Reply, reply_b: Reply) -> Comparison:
    return Comparison(
        id="c1", prompt="p", matchup="m", model_a="base", model_b="tuned", base_side=Side.A, blind=True,
        requester="bob", place=Place("console"), created_at=datetime(2026, 1, 1, tzinfo=UTC), status=Status.DONE,
        reply_a=reply_a, reply_b=reply_b)


@pytest.mark.parametrize(("reply_a", "reply_b", "problem"), [
    (Reply("Paris.", 2, 10), Reply("Lyon.", 2, 10), False),
    (Reply("", 0, 10), Reply("Lyon.", 2, 10), True),  # empty without an error
    (Reply("Paris.", 2, 10), Reply(" \n\t", 1, 10), True),  # whitespace only
    (Reply("Paris.", 2, 10), Reply("", 0, 10, "timed out"), True),  # failed
    (Reply("half an answer", 3, 10, "cut off"), Reply("Lyon.", 2, 10), True),  # failed, whatever it said
])
def test_a_failed_or_empty_reply_is_a_reply_problem(reply_a: Reply, reply_b: Reply, problem: bool) -> None:
    # The "failed or empty reply" filter drops votes on comparisons flagged by this property.
    assert comparison(reply_a, reply_b).reply_problem is problem


@pytest.mark.parametrize(("prompt", "replies", "names", "expected"), [
    ("what\u2019s your name?", [], [], True),  # a phone's curly apostrophe
    ("are you gpt4?", [], [], True),
    ("Hi", ["I am smollm2-135m-instruct."], ["embedded:smollm2-135m-instruct"], True),  # a provider's prefix
    ("Hi", ["I run as llama3.2:1b here."], ["llama3.2:1b"], True),  # an Ollama tag, as configured
    ("Hi", ["Llamas are fluffy."], ["llama"], False),  # a whole word only
    ("Hi", ["see my_gemma-3-270m_notes"], ["gemma-3-270m"], True),  # underscores separate words
])
def test_identity_leaks_as_people_and_providers_spell_them(prompt: str, replies: list[str], names: list[str],
                                                           expected: bool) -> None:
    assert identity_leak(prompt, replies, names) is expected
