"""The openai provider against llama-cpp-python's own OpenAI-compatible server (real tokens, SSE),
and against a small local server for the failure modes a real server rarely shows on demand."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from aiohttp import web

from bot.domain import LENGTH_LIMIT, GenerationParams, Model
from bot.errors import ModelNotFoundError, ModelUnavailableError, ProviderAuthError, ProviderRateLimitError
from bot.providers.embedded import resolve_model_path
from bot.providers.openai_compat import OpenAICompatibleProvider
from tests.support.loop import watch_loop

PARAMS = GenerationParams(max_tokens=12, temperature=0.0)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``python -m llama_cpp.server`` serving the embedded SmolLM2 model."""
    pytest.importorskip("llama_cpp.server.app", reason="llama-cpp-python[server] is not installed")
    port = free_port()
    log = tmp_path_factory.mktemp("llama") / "server.log"
    gguf = resolve_model_path("embedded:smollm2-135m-instruct")
    cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--model_alias", "smollm2",
           "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "1024"]
    with log.open("w") as out:
        process = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base_url}/models", timeout=1, trust_env=False).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            pytest.fail(f"llama_cpp.server did not start: {log.read_text()[-2000:]}")
        yield base_url
    finally:
        process.terminate()
        process.wait(10)


def model(base_url: str, template: str, name: str = "smollm2", **options: str | int | float) -> Model:
    return Model(name="m", provider="openai", model=name, template=template, timeout_s=30,
                 options={"base_url": base_url, "backoff_s": 0.01, **options})


@pytest.mark.slow
@pytest.mark.parametrize(("template", "prompt"), [
    ("chat", "What do you think of Mars?"), ("completion", "Mars is the fourth planet from the Sun. It is")])
async def test_real_server_streams_real_tokens(llama_server: str, template: str, prompt: str) -> None:
    provider = OpenAICompatibleProvider(model(llama_server, template))
    try:
        streamed = [p async for p in provider.stream(prompt, PARAMS)]
        reply = await provider.generate(prompt, PARAMS)
    finally:
        await provider.aclose()
    pieces = [p for p in streamed if isinstance(p, str)]
    assert len(pieces) >= 3 and "".join(pieces).strip()
    assert reply.text == "".join(pieces) and reply.tokens == len(pieces) <= 12  # greedy: same text twice
    # The server's finish_reason "length" marks the cut reply, after its last piece.
    assert reply.cut == (streamed[-1] is LENGTH_LIMIT) == (len(streamed) > len(pieces))


class Flaky:
    """An OpenAI-style server whose answers follow ``script``: "ok", an HTTP status, "garbage",
    "reset" (drop the connection mid-stream) or "stall"."""

    def __init__(self, script: list[str | int]) -> None:
        self.script = script
        self.requests: list[dict[str, object]] = []
        self.auth: list[str | None] = []
        self.released = asyncio.Event()  # ends a stall (at teardown), so the server can stop at once

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(await request.json())
        self.auth.append(request.headers.get("Authorization"))
        step = self.script.pop(0) if self.script else "ok"
        if isinstance(step, int):
            return web.json_response({"error": {"message": f"status {step}"}}, status=step)
        if step == "stall":
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.released.wait(), 30)
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        for word in ("Mars", " is", " red"):
            event = {"choices": [{"index": 0, "delta": {"content": word}}]}
            await response.write(f"data: {json.dumps(event)}\n\n".encode())
            if step == "reset":
                request.transport.close()  # type: ignore[union-attr]
                return response
        if step == "garbage":
            await response.write(b"data: {not json\n\n")
        await response.write(b"data: [DONE]\n\n")
        return response


@pytest.fixture
async def flaky() -> AsyncIterator[tuple[Flaky, str]]:
    server = Flaky([])
    app = web.Application()
    app.router.add_post("/v1/chat/completions", server.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    yield server, f"http://127.0.0.1:{runner.addresses[0][1]}/v1"
    server.released.set()
    await runner.cleanup()


@pytest.mark.parametrize(("script", "error", "calls"), [
    ([401], ProviderAuthError, 1), ([404], ModelNotFoundError, 1), ([429] * 5, ProviderRateLimitError, 4),
    ([500] * 5, ModelUnavailableError, 4), (["garbage"], ModelUnavailableError, 1),
    (["reset"], ModelUnavailableError, 1),
])
async def test_failures_map_to_clear_errors(flaky: tuple[Flaky, str], script: list[str | int],
                                            error: type[Exception], calls: int) -> None:
    server, url = flaky
    server.script = list(script)
    provider = OpenAICompatibleProvider(model(url, "chat"))
    try:
        with pytest.raises(error) as caught:
            await provider.generate("hi", PARAMS)
    finally:
        await provider.aclose()
    assert len(server.requests) == calls
    assert "Traceback" not in caught.value.user_message  # type: ignore[attr-defined]


async def test_a_stalled_server_is_cut_off_by_the_timeout_and_the_loop_stays_free(flaky: tuple[Flaky, str]) -> None:
    # The service bounds each side with asyncio.timeout(model.timeout_s), as here: the stalled stream is
    # cancelled, its connection released, and the provider serves the next request.
    server, url = flaky
    server.script = ["stall"]
    provider = OpenAICompatibleProvider(model(url, "chat"))
    try:
        async with watch_loop() as loop:
            with pytest.raises(TimeoutError):
                async with asyncio.timeout(0.5):
                    await provider.generate("hi", PARAMS)
        reply = await provider.generate("hi", PARAMS)
    finally:
        await provider.aclose()
    # The timeout runs on the loop's clock and the watch on perf_counter: allow their edges to differ a little
    # (a clean run measured 0.49995 s).
    assert 0.49 <= loop.elapsed < 2, loop
    assert loop.responsive, loop
    assert reply.text == "Mars is red" and len(server.requests) == 2


async def test_rate_limit_then_success_and_the_key_from_the_environment(flaky: tuple[Flaky, str]) -> None:
    server, url = flaky
    server.script = [429, 503]
    provider = OpenAICompatibleProvider(model(url, "chat", name="gpt-x", api_key_env="ARENA_KEY"),
                                        env={"ARENA_KEY": "sk-secret"})
    try:
        reply = await provider.generate("What do you think of Mars?", PARAMS)
    finally:
        await provider.aclose()
    assert reply.text == "Mars is red" and reply.tokens == 3 and len(server.requests) == 3
    assert server.auth == ["Bearer sk-secret"] * 3
    assert server.requests[0]["messages"] == [{"role": "user", "content": "What do you think of Mars?"}]
    assert server.requests[0]["model"] == "gpt-x" and server.requests[0]["stream"] is True


async def test_unreachable_server(tmp_path: Path) -> None:
    provider = OpenAICompatibleProvider(model(f"http://127.0.0.1:{free_port()}/v1", "chat", retries=0))
    try:
        with pytest.raises(ModelUnavailableError, match="could not be reached"):
            await provider.generate("hi", PARAMS)
    finally:
        await provider.aclose()


async def test_an_unreachable_server_logs_one_warning_per_failed_attempt(caplog: pytest.LogCaptureFixture) -> None:
    provider = OpenAICompatibleProvider(model(f"http://127.0.0.1:{free_port()}/v1", "chat", retries=2,
                                              backoff_s=0.01))
    try:
        with caplog.at_level(logging.DEBUG), pytest.raises(ModelUnavailableError):
            await provider.generate("hi", PARAMS)
    finally:
        await provider.aclose()
    ours = [r for r in caplog.records if r.name.startswith("bot.")]
    warnings = [r.getMessage() for r in ours if r.levelno >= logging.WARNING]
    assert len(warnings) == 2 and all("could not be reached. Retry" in w for w in warnings), warnings
    assert any("cannot reach http://127.0.0.1" in r.getMessage() for r in ours if r.levelno == logging.DEBUG)
