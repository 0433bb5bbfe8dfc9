"""Smoke test: both embedded models load from their PyPI packages and generate real tokens."""

from __future__ import annotations

import asyncio

import pytest

from bot.config import parse_settings
from bot.domain import GenerationParams
from bot.providers.embedded import resolve_model_path
from bot.providers.llamacpp import LlamaCppProvider
from tests.support.loop import watch_loop

pytestmark = pytest.mark.slow
PARAMS = GenerationParams(max_tokens=8, temperature=0.0)


def test_embedded_models_are_found_without_download(tmp_path: object) -> None:
    settings = parse_settings({}, {})
    for model in settings.models.values():
        path = resolve_model_path(model.model)
        assert path.suffix == ".gguf" and path.stat().st_size > 50_000_000
        with path.open("rb") as f:
            assert f.read(4) == b"GGUF"


async def test_both_embedded_models_generate_and_the_loop_stays_free() -> None:
    settings = parse_settings({}, {})
    providers = [LlamaCppProvider(m) for m in settings.models.values()]
    try:
        async with watch_loop() as loop:
            replies = await asyncio.gather(*(p.generate("What do you think of Mars?", PARAMS) for p in providers))
    finally:
        for p in providers:
            await p.aclose()
    for reply in replies:
        assert reply.error is None and reply.text.strip() and 1 <= reply.tokens <= 8
    # The event loop kept running while the models loaded and generated (work is in threads).
    assert loop.responsive, loop


async def test_cancelling_a_stream_stops_the_worker() -> None:
    model = parse_settings({}, {}).models["smollm2-135m-instruct"]
    provider = LlamaCppProvider(model)
    try:
        async for _ in provider.stream("Count to one thousand", GenerationParams(max_tokens=500)):
            break
        # The single worker is free again: a second generation completes.
        reply = await asyncio.wait_for(provider.generate("Hi", PARAMS), 60)
        assert reply.tokens >= 1
    finally:
        await provider.aclose()
