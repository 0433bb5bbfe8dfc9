"""A conversation's later turn reaching real backends: an OpenAI-compatible chat endpoint gets each side's whole
message list, and the embedded chat model answers a message list through its own chat template (one real-model
smoke test). Transcripts for completion models are unit-tested (tests/unit/test_conversation.py)."""

from __future__ import annotations

import pytest

from bot import conversation
from bot.config import parse_settings
from bot.domain import Exchange, GenerationParams, Side
from bot.providers.llamacpp import LlamaCppProvider
from bot.providers.openai_compat import OpenAICompatibleProvider
from tests.integration.test_openai_compat import PARAMS, Flaky, flaky, model  # noqa: F401 (fixture)

HISTORY = (Exchange("Name a planet", "Mars.", "Venus, I think."),)


async def test_a_chat_endpoint_gets_each_sides_message_list(flaky: tuple[Flaky, str]) -> None:  # noqa: F811
    server, url = flaky
    chat = model(url, "chat")
    provider = OpenAICompatibleProvider(chat)
    try:
        for side in Side:
            await provider.generate(conversation.fit(chat, HISTORY, side, "Why that one?").prompt, PARAMS)
    finally:
        await provider.aclose()
    assert [r["messages"] for r in server.requests] == [
        [{"role": "user", "content": "Name a planet"}, {"role": "assistant", "content": answer},
         {"role": "user", "content": "Why that one?"}] for answer in ("Mars.", "Venus, I think.")]


@pytest.mark.slow
async def test_the_embedded_chat_model_answers_a_message_list() -> None:
    chat = parse_settings({}, {}).models["smollm2-135m-instruct"]
    provider = LlamaCppProvider(chat)
    try:
        sent = conversation.fit(chat, HISTORY, Side.A, "Why that one?").prompt
        assert isinstance(sent, tuple) and len(sent) == 3
        reply = await provider.generate(sent, GenerationParams(max_tokens=8, temperature=0.0))
    finally:
        await provider.aclose()
    assert reply.error is None and reply.text.strip() and 1 <= reply.tokens <= 8
