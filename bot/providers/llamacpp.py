"""Local GGUF models through llama-cpp-python.

Each model gets one worker thread: the model loads there lazily, once, and serves one generation
at a time (later requests queue on the executor), so the event loop never waits on llama.cpp."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from bot.conversation import as_text, chat_messages
from bot.domain import LENGTH_LIMIT, GenerationParams, LengthLimit, Model, ModelInput, Reply
from bot.errors import ModelUnavailableError
from bot.providers.common import collect_reply
from bot.providers.embedded import resolve_model_path

log = logging.getLogger(__name__)

N_CTX = 2048
_END = object()
_native_log = logging.getLogger("llama_cpp.native")
_log_hook: Any = None


def _route_native_logs() -> None:
    """Send llama.cpp's own messages to logging at debug level instead of straight to stderr."""
    global _log_hook
    if _log_hook is not None:
        return
    import ctypes

    import llama_cpp

    @llama_cpp.llama_log_callback  # type: ignore[untyped-decorator]
    def hook(level: int, text: bytes, user_data: ctypes.c_void_p) -> None:
        _native_log.debug("%s", text.decode("utf-8", "replace").rstrip())

    _log_hook = hook  # keep a reference: ctypes must not free the callback
    llama_cpp.llama_log_set(hook, ctypes.c_void_p(0))


def _special_token_ban(llm: Any) -> Any:
    """A logits processor that never lets the model pick a control or user-defined token (Gemma's
    ``<start_of_image>``, ``<unused0>``, …) other than those that end generation: such tokens would reach the
    reply as text, and through the exports the training data. Vectorised: one array assignment a token."""
    import llama_cpp
    import numpy as np

    vocab = llama_cpp.llama_model_get_vocab(llm.model)
    special = llama_cpp.LLAMA_TOKEN_ATTR_CONTROL | llama_cpp.LLAMA_TOKEN_ATTR_USER_DEFINED
    banned = np.array([t for t in range(llama_cpp.llama_vocab_n_tokens(vocab))
                       if llama_cpp.llama_vocab_get_attr(vocab, t) & special
                       and not llama_cpp.llama_vocab_is_eog(vocab, t)], dtype=np.intp)

    def ban(input_ids: Any, scores: Any) -> Any:
        scores[banned] = -np.inf
        return scores

    ban.banned = banned  # type: ignore[attr-defined]
    return ban


class _Failure:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


class LlamaCppProvider:
    """Options: ``n_ctx``, ``n_threads``, ``lora_path`` and ``lora_scale``."""

    def __init__(self, model: Model) -> None:
        self.model = model
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"llamacpp-{model.name}")
        self._llm: Any = None
        self.processors: list[Any] = []  # logits processors, in order; the last bans special tokens

    def _load(self) -> Any:
        if self._llm is None:
            from llama_cpp import Llama

            _route_native_logs()
            opts = self.model.options
            path = resolve_model_path(self.model.model)
            kwargs: dict[str, Any] = {"model_path": str(path), "n_ctx": int(opts.get("n_ctx", N_CTX)),
                                      "verbose": False}
            if "n_threads" in opts:
                kwargs["n_threads"] = int(opts["n_threads"])
            if "lora_path" in opts:
                kwargs["lora_path"] = str(resolve_model_path(str(opts["lora_path"]), "LoRA adapter file"))
                kwargs["lora_scale"] = float(opts.get("lora_scale", 1.0))
            log.info("loading %s from %s", self.model.name, path)
            llm = Llama(**kwargs)
            # llama-cpp-python checks a failed adapter load with "is None", but ctypes hands back a
            # NULL pointer that is never None; generating with it crashes the process, so check here.
            if "lora_path" in kwargs and not getattr(llm, "_lora_adapter", True):
                llm.close()
                log.error("model %s: LoRA adapter %s could not be loaded", self.model.name, kwargs["lora_path"])
                raise ModelUnavailableError(f"The LoRA adapter of {self.model.name} could not be loaded.")
            self.processors.append(_special_token_ban(llm))
            self._llm = llm
        return self._llm

    def _pieces(self, prompt: ModelInput, params: GenerationParams) -> Iterator[str | LengthLimit]:
        llm = self._load()
        common: dict[str, Any] = {
            "max_tokens": params.max_tokens, "temperature": params.temperature, "top_p": params.top_p,
            "repeat_penalty": params.repeat_penalty, "stop": list(params.stop) or None, "stream": True,
            "logits_processor": self.processors,
        }
        if params.seed is not None:
            common["seed"] = params.seed
        if self.model.template == "chat":
            for chunk in llm.create_chat_completion(messages=chat_messages(prompt), **common):
                piece = chunk["choices"][0]["delta"].get("content")
                if piece:
                    yield piece
                if chunk["choices"][0].get("finish_reason") == "length":
                    yield LENGTH_LIMIT
        else:
            for chunk in llm.create_completion(as_text(prompt), **common):
                piece = chunk["choices"][0]["text"]
                if piece:
                    yield piece
                if chunk["choices"][0].get("finish_reason") == "length":
                    yield LENGTH_LIMIT

    async def stream(self, prompt: ModelInput, params: GenerationParams) -> AsyncIterator[str | LengthLimit]:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[object] = asyncio.Queue()
        stop = threading.Event()

        def put(item: object) -> None:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, item)
            except RuntimeError:
                stop.set()  # the loop is gone: nobody is listening any more

        def work() -> None:
            try:
                if stop.is_set():
                    return  # timed out while queued behind another generation: skip the work
                for piece in self._pieces(prompt, params):
                    if stop.is_set():
                        break
                    put(piece)
            except Exception as exc:
                put(_Failure(exc))
            finally:
                put(_END)

        loop.run_in_executor(self._executor, work)
        try:
            while (item := await queue.get()) is not _END:
                if isinstance(item, _Failure):
                    if isinstance(item.exc, ModelUnavailableError):
                        raise item.exc
                    log.error("llama.cpp failed for %s: %r", self.model.name, item.exc)
                    raise ModelUnavailableError("The local model could not generate a reply.") from item.exc
                yield item if isinstance(item, LengthLimit) else str(item)
        finally:
            # Cancelled or finished: tell the worker to stop after its current token.
            stop.set()

    async def generate(self, prompt: ModelInput, params: GenerationParams) -> Reply:
        return await collect_reply(self.stream(prompt, params))

    async def aclose(self) -> None:
        # Wait for a generation in progress (its consumer is gone, so it stops after one token)
        # before freeing the model under it.
        await asyncio.to_thread(self._executor.shutdown, wait=True, cancel_futures=True)
        if self._llm is not None and hasattr(self._llm, "close"):
            llm, self._llm = self._llm, None
            await asyncio.to_thread(llm.close)
