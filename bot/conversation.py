"""Conversations: what each model is sent on a later turn, and the turns that follow or re-run a comparison.

Each side keeps its own history (model A sees A's earlier answers). A chat model gets the message list for its
own chat template; a completion model gets a plain transcript. When the history does not fit the model's context,
the oldest turns are left out and the reply records how many."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.domain import Comparison, Exchange, Message, Model, ModelInput, Place, Side
from bot.prompts import apply_template

# A model's context in tokens: ``max_context_tokens`` wins, then llama.cpp's ``n_ctx``; local llama.cpp models
# without either get llama-cpp-python's default as we load it (bot/providers/llamacpp.py).
CONTEXT_OPTIONS = ("max_context_tokens", "n_ctx")
LLAMACPP_CONTEXT = 2048
# Tokens are counted without the model's tokenizer (remote models have none here): one token per 3 characters
# over-counts English (about 4 characters a token) so the estimate errs on the side of fitting.
CHARS_PER_TOKEN = 3
MESSAGE_OVERHEAD = 8  # the chat template's role markers and separators around each message
USER, ASSISTANT = "user", "assistant"


@dataclass(frozen=True)
class Fitted:
    """What one model is sent for one turn, and how many earlier turns were left out to fit its context."""

    prompt: ModelInput
    dropped_turns: int


def context_tokens(model: Model) -> int | None:
    """The model's context window in tokens, or None when unknown (no truncation then)."""
    for key in CONTEXT_OPTIONS:
        value = model.options.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return LLAMACPP_CONTEXT if model.provider == "llamacpp" else None


def estimate_tokens(text: str) -> int:
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def messages(history: Sequence[Exchange], side: Side, prompt: str) -> tuple[Message, ...]:
    """The conversation as the model on ``side`` saw it: its own earlier answers, then the new prompt."""
    found: list[Message] = []
    for turn in history:
        found += [Message(USER, turn.prompt), Message(ASSISTANT, turn.answer(side))]
    return (*found, Message(USER, prompt))


def transcript(template: str, conversation: Sequence[Message]) -> str:
    """A conversation as one text for a completion endpoint. A single message is the prompt as it is (a base
    model continues it, as on a first turn); longer ones are ``User:``/``Assistant:`` lines ending in an open
    ``Assistant:``, or, for a template holding ``{prompt}``, each user message wrapped in it with the answers
    after them (Llama 2's ``[INST] … [/INST] answer [INST] … [/INST]``)."""
    if len(conversation) == 1:
        return apply_template(template, conversation[0].content)
    if template not in ("completion", "chat"):
        return " ".join(apply_template(template, m.content) if m.role == USER else m.content for m in conversation)
    lines = [f"{'User' if m.role == USER else 'Assistant'}: {m.content}" for m in conversation]
    return "\n\n".join(lines) + "\n\nAssistant:"


def _size(conversation: Sequence[Message]) -> int:
    return sum(estimate_tokens(m.content) + MESSAGE_OVERHEAD for m in conversation)


def fit(model: Model, history: Sequence[Exchange], side: Side, prompt: str) -> Fitted:
    """The input for ``model`` on ``side``: the whole conversation, less its oldest turns while it and the reply
    (``max_tokens``) would overflow the context. The new prompt always goes, even alone."""
    budget = context_tokens(model)
    dropped = 0
    conversation = messages(history, side, prompt)
    if budget is not None:
        room = budget - model.params.max_tokens
        while dropped < len(history) and _size(conversation) > room:
            dropped += 1
            conversation = messages(history[dropped:], side, prompt)
    if model.template == "chat":
        return Fitted(conversation, dropped)
    return Fitted(transcript(model.template, conversation), dropped)


def as_text(prompt: ModelInput) -> str:
    """A prompt for a backend that takes text only: a message list as a plain transcript."""
    return prompt if isinstance(prompt, str) else transcript("completion", prompt)


def chat_messages(prompt: ModelInput) -> list[dict[str, str]]:
    """A prompt as the OpenAI-style message list that chat endpoints and templates take."""
    found = (Message(USER, prompt),) if isinstance(prompt, str) else prompt
    return [{"role": m.role, "content": m.content} for m in found]


def history_after(comparison: Comparison) -> tuple[Exchange, ...]:
    """The history a follow-up to ``comparison`` carries: its own, then its turn (same sides as before)."""
    return (*comparison.history, Exchange(comparison.prompt, comparison.reply_a.text, comparison.reply_b.text))


def reoriented(history: Sequence[Exchange], swapped: bool) -> tuple[Exchange, ...]:
    """A history for a regenerated comparison whose sides were drawn again: each answer goes with its model."""
    if not swapped:
        return tuple(history)
    return tuple(Exchange(turn.prompt, turn.answer_b, turn.answer_a) for turn in history)


def conversation_rows(comparison: Comparison, side: Side) -> list[dict[str, str]]:
    """The whole conversation on ``side`` with this turn's reply, as lmsys ``conversation_a``/``_b`` lists."""
    found = messages(comparison.history, side, comparison.prompt)
    rows = [{"role": m.role, "content": m.content} for m in found]
    rows.append({"role": ASSISTANT, "content": comparison.reply(side).text})
    return rows


def next_turn(previous: Comparison, prompt: str, comparison_id: str, requester: str, place: Place,
              at: datetime) -> Comparison:
    """The follow-up to ``previous``: the same matchup on the same sides, one turn later, carrying its history."""
    return Comparison(
        id=comparison_id, prompt=prompt, matchup=previous.matchup, model_a=previous.model_a,
        model_b=previous.model_b, base_side=previous.base_side, blind=previous.blind, requester=requester,
        place=place, created_at=at, conversation_id=previous.conversation, turn=previous.turn + 1,
        history=history_after(previous))


def rerun(original: Comparison, model_a: str, model_b: str, base_side: Side, comparison_id: str, requester: str,
          place: Place, at: datetime) -> Comparison:
    """``original`` again (its prompt, turn and history) on sides drawn afresh, linked to it."""
    return Comparison(
        id=comparison_id, prompt=original.prompt, matchup=original.matchup, model_a=model_a, model_b=model_b,
        base_side=base_side, blind=original.blind, requester=requester, place=place, created_at=at,
        conversation_id=original.conversation_id, turn=original.turn,
        history=reoriented(original.history, swapped=model_a != original.model_a), regenerated_from=original.id)
