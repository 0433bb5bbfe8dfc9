"""Conversations: each side's history, chat messages and plain transcripts, dropping the oldest turns to fit a
model's context, and the follow-up and regenerate turns the service prepares."""

from __future__ import annotations

import io
import json
import random
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot import conversation
from bot.domain import Comparison, Exchange, GenerationParams, Message, Model, Place, Reply, Side, Status
from bot.errors import ArenaError
from bot.ratelimit import RateLimiter
from bot.service import ArenaService
from tests.fakes import InMemoryRepository, ScriptedProvider, matchup

PLACE = Place(platform="test", channel="c1", server="s1")
HISTORY = (Exchange("Hi, who are you?", "I am A.", "I am B."), Exchange("What is 2+2?", "4", "Four."))


def chat_model(**options: str | int | float | bool) -> Model:
    return Model(name="chat-m", provider="openai", model="m", template="chat",
                 params=GenerationParams(max_tokens=50), options=options)


def test_each_side_sees_its_own_earlier_answers() -> None:
    on_a = conversation.messages(HISTORY, Side.A, "And 3+3?")
    on_b = conversation.messages(HISTORY, Side.B, "And 3+3?")
    assert [m.content for m in on_a] == ["Hi, who are you?", "I am A.", "What is 2+2?", "4", "And 3+3?"]
    assert [m.content for m in on_b if m.role == "assistant"] == ["I am B.", "Four."]
    assert [m.role for m in on_a] == ["user", "assistant", "user", "assistant", "user"]


def test_a_completion_model_gets_a_plain_transcript_and_a_first_turn_stays_as_typed() -> None:
    assert conversation.transcript("completion", [Message("user", "Dogs are")]) == "Dogs are"
    text = conversation.transcript("completion", conversation.messages(HISTORY[:1], Side.B, "Why?"))
    assert text == "User: Hi, who are you?\n\nAssistant: I am B.\n\nUser: Why?\n\nAssistant:"


def test_a_prompt_template_wraps_each_user_turn_with_the_answers_between() -> None:
    text = conversation.transcript("[INST] {prompt} [/INST]", conversation.messages(HISTORY[:1], Side.A, "Why?"))
    assert text == "[INST] Hi, who are you? [/INST] I am A. [INST] Why? [/INST]"


def test_a_chat_model_gets_the_message_list() -> None:
    fitted = conversation.fit(chat_model(), HISTORY, Side.A, "And 3+3?")
    assert fitted.prompt == conversation.messages(HISTORY, Side.A, "And 3+3?") and fitted.dropped_turns == 0
    assert conversation.chat_messages(fitted.prompt)[1] == {"role": "assistant", "content": "I am A."}


def test_the_oldest_turns_are_dropped_until_the_rest_fits_the_context() -> None:
    long_history = tuple(Exchange(f"question {i} " + "x" * 300, "a" * 300, "b" * 300) for i in range(5))
    # 50 tokens for the reply; each turn is about 2 * (100 + 8) estimated tokens.
    model = chat_model(max_context_tokens=50 + 2 * 216 + 20)
    fitted = conversation.fit(model, long_history, Side.A, "last?")
    assert fitted.dropped_turns == 3
    assert isinstance(fitted.prompt, tuple)
    assert fitted.prompt[0].content.startswith("question 3") and fitted.prompt[-1] == Message("user", "last?")


def test_the_new_prompt_goes_even_when_nothing_else_fits() -> None:
    fitted = conversation.fit(replace(chat_model(n_ctx=60), template="completion"), HISTORY, Side.B, "y" * 300)
    assert fitted == conversation.Fitted("y" * 300, 2)


def test_context_size_comes_from_max_context_tokens_then_n_ctx_then_the_backend() -> None:
    assert conversation.context_tokens(chat_model(max_context_tokens=512, n_ctx=4096)) == 512
    assert conversation.context_tokens(chat_model(n_ctx=4096)) == 4096
    assert conversation.context_tokens(replace(chat_model(), provider="llamacpp")) == conversation.LLAMACPP_CONTEXT
    assert conversation.context_tokens(chat_model()) is None  # unknown: nothing is dropped
    assert conversation.fit(chat_model(), HISTORY * 50, Side.A, "q").dropped_turns == 0


def test_a_regenerated_comparison_on_swapped_sides_keeps_each_answer_with_its_model() -> None:
    swapped = conversation.reoriented(HISTORY, swapped=True)
    assert [t.answer_a for t in swapped] == ["I am B.", "Four."]
    assert conversation.reoriented(HISTORY, swapped=False) == HISTORY


def make_service(limit: int = 0, seed: int = 3) -> tuple[ArenaService, ScriptedProvider, ScriptedProvider,
                                                         InMemoryRepository]:
    base, tuned = ScriptedProvider(["base", " says"]), ScriptedProvider(["tuned", " says"])
    m = matchup()
    repo = InMemoryRepository()
    service = ArenaService({m.name: m}, {"base-m": base, "tuned-m": tuned}, repo, rng=random.Random(seed),
                           rate_limiter=RateLimiter(limit, 60) if limit else None)
    return service, base, tuned, repo


@pytest.mark.asyncio
async def test_a_follow_up_is_the_next_turn_on_the_same_sides_with_each_sides_history() -> None:
    service, base, tuned, repo = make_service()
    first = await service.compare("Name a dog breed", "u1", PLACE)
    second = await service.run(await service.follow_up(first.id, "Why that one?", "u2", PLACE))
    assert (second.model_a, second.model_b, second.base_side) == (first.model_a, first.model_b, first.base_side)
    assert (second.turn, second.conversation_id, second.conversation) == (2, first.id, first.id)
    assert second.history == (Exchange("Name a dog breed", first.reply_a.text, first.reply_b.text),)
    # The base model (completion) reads a transcript holding its own answer; the fine-tune its own template.
    assert base.prompts[-1] == "User: Name a dog breed\n\nAssistant: base says\n\nUser: Why that one?\n\nAssistant:"
    assert tuned.prompts[-1] == "[INST] Name a dog breed [/INST] tuned says [INST] Why that one? [/INST]"
    third = await service.run(await service.follow_up(second.id, "Thanks", "u1", PLACE))
    assert (third.turn, third.conversation_id, len(third.history)) == (3, first.id, 2)
    assert repo.comparisons[third.id].history == third.history
    await service.vote(first.id, "u1", "a")
    await service.vote(second.id, "u1", "b")  # each turn is votable on its own


@pytest.mark.asyncio
async def test_a_follow_up_needs_both_replies_and_a_clean_prompt() -> None:
    service, base, _, _ = make_service()
    base.fail = True
    failed_side = await service.compare("Name a dog breed", "u1", PLACE)
    with pytest.raises(ArenaError, match="needs both replies"):
        await service.follow_up(failed_side.id, "Why?", "u1", PLACE)
    base.fail = False
    first = await service.compare("Name a dog breed", "u1", PLACE)
    with pytest.raises(ArenaError, match="empty"):
        await service.follow_up(first.id, "   ", "u1", PLACE)
    with pytest.raises(ArenaError, match="No comparison"):
        await service.follow_up("beef", "Why?", "u1", PLACE)


@pytest.mark.asyncio
async def test_regenerate_runs_the_same_turn_again_on_sides_drawn_afresh() -> None:
    service, _, _, _ = make_service(seed=11)
    first = await service.compare("Name a dog breed", "u1", PLACE)
    second = await service.run(await service.follow_up(first.id, "Why?", "u1", PLACE))
    sides = set()
    for _ in range(12):
        again = await service.run(await service.regenerate(second.id, "u2", PLACE))
        assert (again.prompt, again.turn, again.conversation_id, again.regenerated_from) == (
            "Why?", 2, first.id, second.id)
        turn = again.history[0]
        assert turn.answer(again.base_side) == first.reply(first.base_side).text  # answers stay with their model
        assert turn.answer(again.finetuned_side) == first.reply(first.finetuned_side).text
        sides.add(again.base_side)
    assert sides == {Side.A, Side.B}
    assert (await service.vote(second.id, "u1", "a")).comparison.id == second.id  # the original stays votable


@pytest.mark.asyncio
async def test_a_matchup_whose_models_changed_cannot_be_continued() -> None:
    service, _, _, repo = make_service()
    stale = Comparison(id="abc1", prompt="p", matchup="pair", model_a="old-m", model_b="tuned-m",
                       base_side=Side.A, blind=True, requester="u", place=PLACE, created_at=service._clock(),
                       status=Status.DONE, reply_a=Reply("x"), reply_b=Reply("y"))
    await repo.add_comparison(stale)
    for prepare in (service.follow_up(stale.id, "more", "u", PLACE), service.regenerate(stale.id, "u", PLACE)):
        with pytest.raises(ArenaError, match="have changed"):
            await prepare


@pytest.mark.parametrize("value", [0, -5, "lots", 1.5])
def test_a_context_size_must_be_a_positive_whole_number(value: object) -> None:
    from bot.config import parse_settings
    from bot.errors import ConfigError

    spec = {"provider": "echo", "model": "m", "max_context_tokens": value}
    with pytest.raises(ConfigError) as caught:
        parse_settings({"models": {"x": spec}}, {})
    assert caught.value.key == "models.x.max_context_tokens"


def test_the_reply_says_when_the_oldest_turns_were_left_out() -> None:
    from bot import display

    c = Comparison(id="c", prompt="p", matchup="pair", model_a="a", model_b="b", base_side=Side.A, blind=True,
                   requester="u", place=PLACE, created_at=datetime(2026, 12, 3, tzinfo=UTC), status=Status.DONE,
                   reply_a=Reply("x", 1, 10, dropped_turns=2), reply_b=Reply("y", 1, 10), turn=4)
    assert display.reply_status(c, Side.A).endswith("oldest 2 turns left out to fit the model's context")
    assert "left out" not in display.reply_status(c, Side.B)
    assert display.lineage(c) == "Turn 4"


@pytest.mark.asyncio
async def test_a_preference_export_holding_a_later_turn_is_conversational_throughout(tmp_path: Path) -> None:
    datasets = pytest.importorskip("datasets")
    service, _, _, _ = make_service()
    first = await service.compare("Name a dog breed", "u1", PLACE)
    second = await service.run(await service.follow_up(first.id, "Why?", "u1", PLACE))
    await service.vote(first.id, "u1", "a")
    await service.vote(second.id, "u1", "b")
    for fmt in ("dpo", "kto"):
        path = tmp_path / f"{fmt}.jsonl"
        with path.open("w", encoding="utf-8") as out:
            await service.export(fmt, out)
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
        assert rows and all(isinstance(row["prompt"], list) for row in rows)
        assert len(datasets.load_dataset("json", data_files=str(path), split="train")) == len(rows)
    only_first, _, _, _ = make_service()
    alone = await only_first.compare("Name a dog breed", "u1", PLACE)
    await only_first.vote(alone.id, "u1", "a")
    out = io.StringIO()
    await only_first.export("dpo", out)
    assert json.loads(out.getvalue())["prompt"] == "Name a dog breed"  # no conversation: the plain form
