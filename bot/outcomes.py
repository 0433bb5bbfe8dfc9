"""The outcome vocabulary, written once: a member's choice, the lmsys ``winner`` it becomes, the score it
gives model A, and what it means for the fine-tuned model. Exports, statistics and storage import these."""

from __future__ import annotations

from collections.abc import Mapping

from bot.domain import Choice, Side
from bot.errors import InvalidChoiceError

# lmsys arena ``winner`` values (chatbot_arena_conversations).
MODEL_A = "model_a"
MODEL_B = "model_b"
TIE = "tie"
TIE_BOTHBAD = "tie (bothbad)"
WINNERS = (MODEL_A, MODEL_B, TIE, TIE_BOTHBAD)
WINNER: Mapping[Choice, str] = {Choice.A: MODEL_A, Choice.B: MODEL_B, Choice.TIE: TIE, Choice.BOTH_BAD: TIE_BOTHBAD}

# Score of model A per ``winner``: a tie of either kind is half a win for each side.
SCORES: Mapping[str, float] = {MODEL_A: 1.0, MODEL_B: 0.0, TIE: 0.5, TIE_BOTHBAD: 0.5}

# A vote seen from the fine-tuned model's side: it won, it lost (the base won), a tie, or both bad.
FINETUNED = "finetuned"
BASE = "base"
BOTH_BAD = "both_bad"
OUTCOMES = (FINETUNED, BASE, TIE, BOTH_BAD)
# Score of the fine-tuned model per outcome, ties of either kind half a win: p = P(fine-tune preferred) averages it.
FINETUNED_SCORES: Mapping[str, float] = {FINETUNED: 1.0, BASE: 0.0, TIE: 0.5, BOTH_BAD: 0.5}

# The word each choice goes by where members type or read it ("a, b, tie or bad").
CHOICE_WORDS: Mapping[Choice, str] = {Choice.A: "a", Choice.B: "b", Choice.TIE: "tie", Choice.BOTH_BAD: "bad"}

# What members may type for each choice (terminal and chat text); buttons carry their own codes (adapters/ids).
CHOICE_ALIASES: Mapping[str, Choice] = {
    "a": Choice.A, "b": Choice.B, "tie": Choice.TIE, "t": Choice.TIE, "=": Choice.TIE,
    "both_bad": Choice.BOTH_BAD, "bad": Choice.BOTH_BAD, "both-bad": Choice.BOTH_BAD,
    "both bad": Choice.BOTH_BAD, "x": Choice.BOTH_BAD,
}


def parse_choice(raw: str) -> Choice:
    """A choice from what a member typed (any alias above, any case); InvalidChoiceError otherwise."""
    choice = CHOICE_ALIASES.get(raw.strip().lower())
    if choice is None:
        raise InvalidChoiceError(raw)
    return choice


def outcome(choice: Choice, base_side: Side) -> str:
    """The vote seen from the fine-tuned model: ``finetuned``, ``base``, ``tie`` or ``both_bad``."""
    if choice is Choice.TIE:
        return TIE
    if choice is Choice.BOTH_BAD:
        return BOTH_BAD
    return BASE if choice.value == base_side.value else FINETUNED
