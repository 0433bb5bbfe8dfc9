"""Lamini, the seed lab's client: ``lamini.Lamini(model).generate(prompt, max_new_tokens=...)``.

The key comes from ``$LAMINI_API_KEY`` (or the variable named by ``api_key_env``), the URL from the
``api_url`` option or ``$LAMINI_API_URL``. The lamini client blocks, has no timeout and no retry, so
each call runs in its own daemon thread (a stalled server ties up that thread, never the event loop
or a shared pool), our per-model timeout bounds the wait, and 429/5xx are retried with backoff here.
Lamini returns the whole text at once; it is passed on word by word so token counts stay comparable."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import threading
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

from bot.conversation import as_text
from bot.domain import GenerationParams, Model, ModelInput, Reply
from bot.errors import (
    AUTH_FAILED,
    NOT_FOUND,
    RATE_LIMITED,
    UNAVAILABLE,
    MissingKeyError,
    ModelNotFoundError,
    ModelUnavailableError,
    ProviderAuthError,
    ProviderError,
    ProviderRateLimitError,
)
from bot.providers.common import collect_reply, with_retries

log = logging.getLogger(__name__)

MAX_CONCURRENCY = 4
T = TypeVar("T")


def _translate(exc: Exception) -> ProviderError:
    """lamini's and requests' errors -> ours; the detail goes to the log, never to members."""
    name = type(exc).__name__
    if name == "AuthenticationError":
        return ProviderAuthError(AUTH_FAILED)
    if name == "RateLimitError":
        return ProviderRateLimitError(RATE_LIMITED)
    if name in ("ModelNotFoundError", "DownloadingModelError"):
        return ModelNotFoundError(NOT_FOUND)
    return ModelUnavailableError(UNAVAILABLE)


def run_in_daemon_thread(work: Callable[[], T]) -> asyncio.Future[T]:
    """Run blocking ``work`` in a fresh daemon thread; the returned future can be abandoned safely."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def settle(outcome: Callable[[], None]) -> None:
        if not future.done():
            outcome()

    def target() -> None:
        try:
            result = work()
        except Exception as exc:
            error = exc
            loop.call_soon_threadsafe(settle, lambda: future.set_exception(error))
        else:
            loop.call_soon_threadsafe(settle, lambda: future.set_result(result))

    threading.Thread(target=target, name="lamini-call", daemon=True).start()
    return future


class LaminiProvider:
    """Options: ``api_url``, ``api_key_env`` (default LAMINI_API_KEY), ``max_concurrency``,
    ``retries``, ``backoff_s``."""

    def __init__(self, model: Model, env: dict[str, str] | None = None) -> None:
        self.model = model
        self._env = env if env is not None else dict(os.environ)
        opts = model.options
        self._slots = asyncio.Semaphore(int(opts.get("max_concurrency", MAX_CONCURRENCY)))
        self._retries = int(opts.get("retries", 3))
        self._backoff = float(opts.get("backoff_s", 0.5))
        self._client: Any = None

    def _connect(self) -> Any:
        if self._client is None:
            import lamini  # heavy (pandas, scikit-learn): only when a Lamini model is used

            key_env = str(self.model.options.get("api_key_env", "LAMINI_API_KEY"))
            key = self._env.get(key_env)
            if not key:
                log.error("model %s: the environment variable %s is not set", self.model.name, key_env)
                raise MissingKeyError(key_env)
            url = str(self.model.options.get("api_url") or self._env.get("LAMINI_API_URL") or "") or None
            self._client = lamini.Lamini(model_name=self.model.model, api_key=key, api_url=url)
        return self._client

    def _generate_blocking(self, prompt: str, params: GenerationParams) -> str:
        client = self._connect()
        try:
            output = client.generate(prompt, max_new_tokens=params.max_tokens)
        except Exception as exc:
            translated = _translate(exc)
            log.warning("model %s: lamini %s: %.200s", self.model.name, type(exc).__name__, exc)
            raise translated from exc
        if not isinstance(output, str):
            log.error("model %s: lamini returned %s, not text", self.model.name, type(output).__name__)
            raise ModelUnavailableError(UNAVAILABLE)
        return output

    async def _attempt(self, prompt: str, params: GenerationParams) -> str:
        """One request; its slot is freed when the thread ends, not when we stop waiting, so a stalled
        server never has more than ``max_concurrency`` requests (or threads) from us."""
        await self._slots.acquire()
        loop = asyncio.get_running_loop()

        def work() -> str:
            try:
                return self._generate_blocking(prompt, params)
            finally:
                with contextlib.suppress(RuntimeError):  # the loop is gone: nobody needs the slot
                    loop.call_soon_threadsafe(self._slots.release)

        return await run_in_daemon_thread(work)

    async def stream(self, prompt: ModelInput, params: GenerationParams) -> AsyncIterator[str]:
        # Lamini's generate takes text: a conversation goes as a plain transcript.
        text = await with_retries(lambda: self._attempt(as_text(prompt), params), name=self.model.name,
                                  retries=self._retries, backoff_s=self._backoff,
                                  never=(ModelNotFoundError, ProviderAuthError))
        for piece in re.findall(r"\s*\S+\s*", text) or ([text] if text else []):
            yield piece

    async def generate(self, prompt: ModelInput, params: GenerationParams) -> Reply:
        return await collect_reply(self.stream(prompt, params))

    async def aclose(self) -> None:
        self._client = None
