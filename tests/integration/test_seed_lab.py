"""``examples/seed-lab.toml``, the seed lab's three contenders: base Llama 2 and its chat fine-tune through the real
lamini client against the local Lamini peer, ChatGPT through the OpenAI-compatible provider against a local
OpenAI-protocol server; pairs drawn among them, and each side's role (base, fine-tuned, reference) in the reveal."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from adapters.bootstrap import build_service, open_repository
from bot import display
from bot.config import load_settings
from bot.domain import Choice, Place, Side
from tests.integration.test_openai_compat import Flaky
from tests.peers.fake_lamini import FakeLamini

pytest.importorskip("lamini", reason="the lamini extra is not installed (pip install .[lamini])")
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
PROMPT = "Tell me how to train my dog to sit"


@pytest.fixture
async def openai_peer() -> AsyncIterator[tuple[Flaky, str]]:
    server = Flaky([])
    app = web.Application()
    app.router.add_post("/v1/chat/completions", server.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    yield server, f"http://127.0.0.1:{runner.addresses[0][1]}/v1"
    await runner.cleanup()


async def test_three_contenders_sampled_pairs_and_roles_in_the_reveal(
        openai_peer: tuple[Flaky, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    chatgpt, openai_url = openai_peer
    monkeypatch.setenv("LAMINI_API_KEY", "lamini-test-key")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-seed-lab")
    async with FakeLamini() as lamini:
        settings = load_settings(EXAMPLES / "seed-lab.toml", {
            "FTARENA_MODELS__LLAMA_2_7B__API_URL": lamini.url, "FTARENA_MODELS__LLAMA_2_7B_CHAT__API_URL": lamini.url,
            "FTARENA_MODELS__CHATGPT__BASE_URL": openai_url, "FTARENA_DATABASE__URL": f"sqlite:///{tmp_path / 'a.db'}"})
        repository = await open_repository(settings.database_url)
        service = build_service(settings, repository, rng=random.Random(7))
        drawn = {service.prepare(PROMPT, "u", Place("test")).matchup for _ in range(60)}
        assert drawn == {"seed", "chat-vs-chatgpt", "base-vs-chatgpt"}

        reveals, ids = {}, {}
        for name in sorted(drawn):
            comparison = await service.compare(PROMPT, "u", Place("test"), name)
            assert comparison.reply_a.ok and comparison.reply_b.ok, comparison
            ids[name] = comparison.id
            reveals[name] = display.reveal_text(await service.vote(comparison.id, "alice", Choice.A))
        await service.aclose()
        # Another process: roles come from the configuration, not from what was stored.
        later = build_service(settings, repository)
        reloaded = await later.vote(ids["chat-vs-chatgpt"], "bob", Choice.B)
        await later.aclose()

    assert "llama-2-7b (base)" in reveals["seed"] and "llama-2-7b-chat (fine-tuned)" in reveals["seed"]
    assert "chatgpt (reference)" in reveals["chat-vs-chatgpt"] and "(base)" not in reveals["chat-vs-chatgpt"]
    assert "llama-2-7b-chat (fine-tuned)" in reveals["chat-vs-chatgpt"]
    assert "chatgpt (reference)" in reveals["base-vs-chatgpt"] and "llama-2-7b (base)" in reveals["base-vs-chatgpt"]
    assert "chatgpt (reference)" in display.reveal_text(reloaded)
    side = Side.A if reloaded.model_a == "chatgpt" else Side.B
    assert display.role(reloaded.comparison, side) == "reference"

    sent = {(c.body["model_name"], c.body["prompt"]) for c in lamini.calls}
    assert ("meta-llama/Llama-2-7b-hf", PROMPT) in sent and all(c.authorized for c in lamini.calls)
    assert ("meta-llama/Llama-2-7b-chat-hf", f"[INST] {PROMPT} [/INST]") in sent
    assert len(chatgpt.requests) == 2 and set(chatgpt.auth) == {"Bearer sk-test-seed-lab"}
    assert all(r["model"] == "gpt-3.5-turbo" and r["messages"] == [{"role": "user", "content": PROMPT}]
               for r in chatgpt.requests)
