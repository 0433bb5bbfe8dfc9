"""A local server speaking Lamini's completion protocol, for the real ``lamini`` client.

``POST /v1/completions`` with ``Authorization: Bearer KEY`` and ``{model_name, prompt, max_new_tokens, ...}``
answers ``{"output": "..."}``; errors use Lamini's status codes (401, 429, 500, 594 unknown model).
``script`` lists what the next requests get: "ok", an HTTP status, or "stall" (no answer until stop)."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class LaminiCall:
    body: dict[str, Any]
    authorized: bool
    at: float


@dataclass
class FakeLamini:
    api_key: str = "lamini-test-key"
    known_models: tuple[str, ...] = ("meta-llama/Llama-2-7b-hf", "meta-llama/Llama-2-7b-chat-hf")
    script: list[str | int] = field(default_factory=list)
    stall_models: tuple[str, ...] = ()
    calls: list[LaminiCall] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._runner: web.AppRunner | None = None
        self._stalled = asyncio.Event()
        self.url = ""

    async def __aenter__(self) -> FakeLamini:
        app = web.Application()
        app.router.add_post("/v1/completions", self._completions)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
        return self

    async def __aexit__(self, *_: object) -> None:
        self._stalled.set()
        assert self._runner is not None
        await self._runner.cleanup()

    async def _completions(self, request: web.Request) -> web.Response:
        body = await request.json()
        authorized = request.headers.get("Authorization") == f"Bearer {self.api_key}"
        self.calls.append(LaminiCall(body=body, authorized=authorized, at=time.monotonic()))
        step = self.script.pop(0) if self.script else "ok"
        if not authorized:
            step = 401
        if step == "stall" or body.get("model_name") in self.stall_models:
            await self._stalled.wait()
            step = 503
        if step != "ok":
            return web.json_response({"detail": f"fake error {step}"}, status=int(step))
        if body.get("model_name") not in self.known_models:
            return web.json_response({"detail": "Model not found"}, status=594)
        prompt = body["prompt"]
        words = f"{body['model_name']} answers: {prompt}".split()
        return web.Response(text=json.dumps({"output": " ".join(words[: body.get("max_new_tokens") or 9999])}),
                            content_type="application/json")
