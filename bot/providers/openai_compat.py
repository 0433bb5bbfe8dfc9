"""Any OpenAI-compatible server (OpenAI, vLLM, Ollama, TGI, llama.cpp's server), streamed over SSE.

A model with template ``chat`` uses ``/chat/completions``; any other uses ``/completions`` with the
templated prompt. Options: ``base_url`` (required, e.g. ``http://127.0.0.1:11434/v1``),
``api_key_env`` (the variable holding the key; none for local servers), ``max_concurrency``,
``retries``, ``backoff_s``. 429 and 5xx are retried before the first token, never after."""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import AsyncIterator
from typing import Any

import httpx

from bot.conversation import as_text, chat_messages
from bot.domain import LENGTH_LIMIT, GenerationParams, LengthLimit, Model, ModelInput, Reply
from bot.errors import (
    AUTH_FAILED,
    NOT_FOUND,
    RATE_LIMITED,
    UNAVAILABLE,
    ConfigError,
    ModelNotFoundError,
    ModelUnavailableError,
    ProviderAuthError,
    ProviderError,
    ProviderRateLimitError,
)
from bot.providers.common import collect_reply, with_retries

log = logging.getLogger(__name__)

MAX_CONCURRENCY = 4
CONNECT_TIMEOUT_S = 10.0
UNREADABLE = "The model server sent a reply we could not read."


def _status_error(status: int) -> ProviderError:
    if status in (401, 403):
        return ProviderAuthError(AUTH_FAILED)
    if status == 404:
        return ModelNotFoundError(NOT_FOUND)
    if status == 429:
        return ProviderRateLimitError(RATE_LIMITED)
    return ModelUnavailableError(UNAVAILABLE)


class OpenAICompatibleProvider:
    def __init__(self, model: Model, env: dict[str, str] | None = None) -> None:
        self.model = model
        opts = model.options
        base_url = str(opts.get("base_url", "")).rstrip("/")
        if not base_url:
            raise ConfigError(f"models.{model.name}.base_url", "is required for the openai provider")
        headers = {"Accept": "text/event-stream"}
        key_env = opts.get("api_key_env")
        if key_env:
            key = (env if env is not None else os.environ).get(str(key_env), "")
            if key:
                headers["Authorization"] = f"Bearer {key}"
            else:
                log.warning("model %s: the environment variable %s is not set", model.name, key_env)
        timeout = httpx.Timeout(model.timeout_s, connect=min(CONNECT_TIMEOUT_S, model.timeout_s))
        # trust_env=False: a proxy variable must not reroute a local model server.
        self._http = httpx.AsyncClient(base_url=base_url, headers=headers, timeout=timeout, trust_env=False)
        self._slots = asyncio.Semaphore(int(opts.get("max_concurrency", MAX_CONCURRENCY)))
        self._retries = int(opts.get("retries", 3))
        self._backoff = float(opts.get("backoff_s", 0.5))

    def _request(self, prompt: ModelInput, params: GenerationParams) -> tuple[str, dict[str, Any]]:
        body: dict[str, Any] = {"model": self.model.model, "max_tokens": params.max_tokens,
                                "temperature": params.temperature, "top_p": params.top_p, "stream": True}
        if params.stop:
            body["stop"] = list(params.stop)
        if params.seed is not None:
            body["seed"] = params.seed
        if self.model.template == "chat":
            return "/chat/completions", {**body, "messages": chat_messages(prompt)}
        return "/completions", {**body, "prompt": as_text(prompt)}

    async def _open(self, path: str, body: dict[str, Any]) -> httpx.Response:
        """Send the request and return the streaming response once its status is 200."""
        try:
            response = await self._http.send(self._http.build_request("POST", path, json=body), stream=True)
        except httpx.TimeoutException as exc:
            log.debug("model %s: %s", self.model.name, type(exc).__name__)
            raise ModelUnavailableError(UNAVAILABLE) from exc
        except httpx.HTTPError as exc:
            where = self._http.base_url.copy_with(username=None, password=None)  # never log credentials
            log.debug("model %s: cannot reach %s: %s", self.model.name, where, type(exc).__name__)
            raise ModelUnavailableError("The model server could not be reached.") from exc
        if response.status_code != 200:
            detail = (await response.aread())[:300]
            await response.aclose()
            log.debug("model %s: HTTP %d: %r", self.model.name, response.status_code, detail)
            raise _status_error(response.status_code)
        return response

    async def stream(self, prompt: ModelInput, params: GenerationParams) -> AsyncIterator[str | LengthLimit]:
        path, body = self._request(prompt, params)
        async with self._slots:
            response = await with_retries(lambda: self._open(path, body), name=self.model.name,
                                          retries=self._retries, backoff_s=self._backoff,
                                          never=(ModelNotFoundError,))
            try:
                async for piece in self._pieces(response):
                    yield piece
            except httpx.HTTPError as exc:
                log.warning("model %s: stream broke: %s", self.model.name, type(exc).__name__)
                raise ModelUnavailableError("The model server broke off its reply.") from exc
            finally:
                await response.aclose()

    async def _pieces(self, response: httpx.Response) -> AsyncIterator[str | LengthLimit]:
        async for line in response.aiter_lines():
            if not line.startswith("data:"):
                continue
            data = line[5:].strip()
            if data == "[DONE]":
                return
            try:
                choice = json.loads(data)["choices"][0]
                piece = (choice.get("delta") or {}).get("content") if "delta" in choice else choice.get("text")
            except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
                log.warning("model %s: unreadable stream event %.200r", self.model.name, data)
                raise ModelUnavailableError(UNREADABLE) from exc
            if piece:
                yield str(piece)
            if choice.get("finish_reason") == "length":
                yield LENGTH_LIMIT

    async def generate(self, prompt: ModelInput, params: GenerationParams) -> Reply:
        return await collect_reply(self.stream(prompt, params))

    async def aclose(self) -> None:
        await self._http.aclose()
