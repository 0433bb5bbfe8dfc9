"""The real ``lamini`` client (the seed lab's) against a local Lamini-protocol server."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

from adapters.bootstrap import build_service, open_repository
from bot.config import load_settings
from bot.domain import GenerationParams, Model, Place
from bot.errors import ModelNotFoundError, ModelUnavailableError, ProviderAuthError
from bot.providers.lamini import LaminiProvider
from bot.seed import SEED_PROMPTS
from tests.peers.fake_lamini import FakeLamini
from tests.support.loop import watch_loop

pytest.importorskip("lamini", reason="the lamini extra is not installed (pip install .[lamini])")
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
PARAMS = GenerationParams(max_tokens=64)


def provider(fake: FakeLamini, model: str = "meta-llama/Llama-2-7b-hf", key: str = "lamini-test-key") -> LaminiProvider:
    spec = Model(name="m", provider="lamini", model=model, options={"backoff_s": 0.01, "api_url": fake.url})
    return LaminiProvider(spec, env={"LAMINI_API_KEY": key})


async def test_generate_sends_the_seed_request() -> None:
    async with FakeLamini() as fake:
        p = provider(fake)
        reply = await p.generate("[INST] Tell me how to train my dog to sit [/INST]", PARAMS)
    assert reply.text == "meta-llama/Llama-2-7b-hf answers: [INST] Tell me how to train my dog to sit [/INST]"
    assert reply.tokens == len(reply.text.split())
    [call] = fake.calls
    assert call.authorized and call.body["model_name"] == "meta-llama/Llama-2-7b-hf"
    assert call.body["max_new_tokens"] == 64


async def test_wrong_key_is_auth_failed_and_not_retried() -> None:
    async with FakeLamini() as fake:
        with pytest.raises(ProviderAuthError, match="refused our credentials"):
            await provider(fake, key="wrong").generate("hi", PARAMS)
    assert len(fake.calls) == 1


async def test_missing_key_is_auth_failed_without_a_request(caplog: pytest.LogCaptureFixture) -> None:
    async with FakeLamini() as fake:
        with pytest.raises(ProviderAuthError, match="LAMINI_API_KEY is not set, so nothing was sent"):
            await provider(fake, key="").generate("hi", PARAMS)
    assert fake.calls == [] and "LAMINI_API_KEY is not set" in caplog.text


async def test_rate_limit_then_success_is_retried() -> None:
    async with FakeLamini(script=[429, 500]) as fake:
        reply = await provider(fake).generate("What do you think of Mars?", PARAMS)
    assert reply.text.endswith("What do you think of Mars?") and len(fake.calls) == 3


async def test_server_errors_give_up_after_the_retries() -> None:
    async with FakeLamini(script=[500] * 10) as fake:
        with pytest.raises(ModelUnavailableError, match="unavailable right now"):
            await provider(fake).generate("hi", PARAMS)
    assert len(fake.calls) == 4  # one try and three retries


async def test_unknown_model_is_not_found() -> None:
    async with FakeLamini() as fake:
        with pytest.raises(ModelNotFoundError, match="not found"):
            await provider(fake, model="meta-llama/Nope").generate("hi", PARAMS)
    assert len(fake.calls) == 1


async def test_stalled_server_times_out_while_the_loop_stays_responsive(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAMINI_API_KEY", "lamini-test-key")
    async with FakeLamini(stall_models=("meta-llama/Llama-2-7b-hf",)) as fake:
        settings = load_settings(EXAMPLES / "lamini-llama2.toml", {
            "FTARENA_MODELS__LLAMA_2_7B__TIMEOUT_S": "0.5", "FTARENA_MODELS__LLAMA_2_7B__API_URL": fake.url,
            "FTARENA_MODELS__LLAMA_2_7B_CHAT__API_URL": fake.url,
            "FTARENA_DATABASE__URL": f"sqlite:///{tmp_path / 'a.db'}"})
        service = build_service(settings, await open_repository(settings.database_url))
        async with watch_loop() as loop:
            comparison = await service.compare("Tell me how to train my dog to sit", "u", Place("test"), "seed")
        await service.aclose()
    base = comparison.reply(comparison.base_side)
    tuned = comparison.reply(comparison.finetuned_side)
    assert base.error == "The model timed out after 0.5 s.", base
    assert loop.elapsed < 5, loop
    assert tuned.error is None and "[INST] Tell me how to train my dog to sit [/INST]" in tuned.text, tuned
    assert loop.responsive, loop  # the event loop kept running while the server stalled


async def test_demo_with_the_lamini_example_reproduces_the_seed_lab(tmp_path: Path) -> None:
    """``ftarena demo --config examples/lamini-llama2.toml``: the four seed prompts, the base model as
    plain completion and the chat model wrapped in [INST] ... [/INST], through the real lamini client."""
    async with FakeLamini() as fake:
        env = {**os.environ, "LAMINI_API_KEY": "lamini-test-key", "LAMINI_API_URL": fake.url, "COLUMNS": "200",
               "FTARENA_DATABASE__URL": f"sqlite:///{tmp_path / 'demo.db'}"}
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "adapters.cli", "--config", str(EXAMPLES / "lamini-llama2.toml"), "demo",
            env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, cwd=tmp_path)
        out, err = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode == 0, err.decode()
    prompts = {(c.body["model_name"], c.body["prompt"]) for c in fake.calls}
    assert len(fake.calls) == 8 and all(c.authorized for c in fake.calls)
    for seed in SEED_PROMPTS:
        assert ("meta-llama/Llama-2-7b-hf", seed) in prompts
        assert ("meta-llama/Llama-2-7b-chat-hf", f"[INST] {seed} [/INST]") in prompts
    shown = out.decode()  # each panel: "A · name" above, "role · tokens · time" below
    assert "Prompt 4" in shown and "· llama-2-7b-chat " in shown and "fine-tuned · " in shown
