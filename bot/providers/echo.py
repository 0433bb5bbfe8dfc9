"""A deterministic in-process provider: no model, predictable words. For demos, tests and benchmarks.

Options (all optional): ``reply`` (text; ``{prompt}`` is replaced by the last prompt, ``{turn}`` by how many
prompts the model was sent: a conversation's turns that fit), ``delay_s`` (pause per word),
``fail`` (fail with this log detail), ``stall`` (never answer, for timeout handling)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from bot.domain import LENGTH_LIMIT, GenerationParams, LengthLimit, Model, ModelInput, Reply
from bot.errors import ModelUnavailableError
from bot.providers.common import collect_reply


class EchoProvider:
    def __init__(self, model: Model) -> None:
        self.model = model
        self.calls = 0

    async def stream(self, prompt: ModelInput, params: GenerationParams) -> AsyncIterator[str | LengthLimit]:
        self.calls += 1
        options = self.model.options
        if options.get("fail"):
            raise ModelUnavailableError("The model is unavailable right now.")
        if options.get("stall"):
            await asyncio.Event().wait()
        text = str(options.get("reply", "{model} says: {prompt}"))
        asked = [m.content for m in prompt if m.role == "user"] if isinstance(prompt, tuple) else [prompt]
        text = text.replace("{prompt}", asked[-1]).replace("{model}", self.model.name)
        text = text.replace("{turn}", str(len(asked)))
        delay = float(options.get("delay_s", 0.0))
        words = text.split(" ")
        for i, word in enumerate(words[: params.max_tokens]):
            if delay:
                await asyncio.sleep(delay)
            yield word if i == 0 else " " + word
        if len(words) > params.max_tokens:
            yield LENGTH_LIMIT

    async def generate(self, prompt: ModelInput, params: GenerationParams) -> Reply:
        return await collect_reply(self.stream(prompt, params))

    async def aclose(self) -> None:
        return None
