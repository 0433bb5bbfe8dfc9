"""Generation speed: tokens/s through the bot's LlamaCppProvider vs llama-cpp-python called directly, on the same
embedded model (SmolLM2-135M-Instruct), prompt and settings (completion template, temperature 0, 64 tokens).

Runs alternate which of the two goes first. While the bot generates, a 10 ms ticker on the event loop records how
late each tick wakes; that lag is what every other chat user would feel. Targets: bot / direct >= 0.95, and the
ticker's worst extra delay < 50 ms."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from adapters import loop as event_loop
from benchmarks import figures, machine
from bot.domain import GenerationParams, Model
from bot.prompts import apply_template
from bot.providers.embedded import resolve_model_path
from bot.providers.llamacpp import N_CTX, LlamaCppProvider

# A completion prompt this model carries on for the full 64 tokens (a bare question makes it stop after ~11).
PROMPT = "Here is a step-by-step guide to training a dog to sit:\n\n1."
PARAMS = GenerationParams(max_tokens=64, temperature=0.0)
MODEL = Model(name="smollm2-135m-instruct", provider="llamacpp", model="embedded:smollm2-135m-instruct",
              template="completion", params=PARAMS)
RUNS, QUICK_RUNS = 10, 4
TICK_S = 0.01
IDLE_S = 2.0
TARGET_RATIO = 0.95
TARGET_LAG_MS = 50.0


@dataclass
class Runs:
    bot: list[float] = field(default_factory=list)  # tokens/s
    direct: list[float] = field(default_factory=list)
    tokens: set[int] = field(default_factory=set)
    texts: set[str] = field(default_factory=set)
    lags: list[float] = field(default_factory=list)  # seconds late, every tick while the bot generated
    worst_per_run: list[float] = field(default_factory=list)


class Ticker:
    """Wakes every ``TICK_S`` and records how much later than asked each wake-up came."""

    def __init__(self) -> None:
        self.lags: list[float] = []
        self._task: asyncio.Task[None] | None = None

    async def _beat(self) -> None:
        while True:
            started = time.perf_counter()
            await asyncio.sleep(TICK_S)
            self.lags.append(time.perf_counter() - started - TICK_S)

    def __enter__(self) -> Ticker:
        self._task = asyncio.create_task(self._beat())
        return self

    def __exit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()


def _direct_kwargs() -> dict[str, Any]:
    """The same call the provider makes, spelled out."""
    return {"max_tokens": PARAMS.max_tokens, "temperature": PARAMS.temperature, "top_p": PARAMS.top_p,
            "repeat_penalty": PARAMS.repeat_penalty, "stop": None, "stream": True}


def generate_direct(llm: Any) -> tuple[float, int, str]:
    """Tokens/s, token count and text from ``create_completion(stream=True)`` in the calling thread."""
    pieces: list[str] = []
    started = time.perf_counter()
    for chunk in llm.create_completion(PROMPT, **_direct_kwargs()):
        piece = chunk["choices"][0]["text"]
        if piece:  # the provider drops empty pieces too
            pieces.append(piece)
    elapsed = time.perf_counter() - started
    return len(pieces) / elapsed, len(pieces), "".join(pieces)


async def generate_bot(provider: LlamaCppProvider) -> tuple[float, int, str]:
    pieces: list[str] = []
    started = time.perf_counter()
    async for piece in provider.stream(apply_template(MODEL.template, PROMPT), MODEL.params):
        if isinstance(piece, str):  # not the length-limit marker that ends a cut reply
            pieces.append(piece)
    elapsed = time.perf_counter() - started
    return len(pieces) / elapsed, len(pieces), "".join(pieces)


async def measure(runs: int) -> tuple[Runs, list[float], list[float]]:
    from llama_cpp import Llama

    provider = LlamaCppProvider(MODEL)
    # The provider silences llama.cpp's native log on load; load it first so the direct model is quiet too.
    await generate_bot(provider)
    llm = Llama(model_path=str(resolve_model_path(MODEL.model)), n_ctx=N_CTX, verbose=False)
    generate_direct(llm)
    result = Runs()
    try:
        with Ticker() as idle:
            await asyncio.sleep(IDLE_S)

        async def bot_run() -> None:
            with Ticker() as ticker:
                rate, tokens, text = await generate_bot(provider)
            result.bot.append(rate)
            result.tokens.add(tokens)
            result.texts.add(text)
            result.lags += ticker.lags
            result.worst_per_run.append(max(ticker.lags, default=0.0))

        def direct_run() -> None:
            rate, tokens, text = generate_direct(llm)
            result.direct.append(rate)
            result.tokens.add(tokens)
            result.texts.add(text)

        for run in range(runs):
            if run % 2 == 0:
                await bot_run()
                direct_run()
            else:
                direct_run()
                await bot_run()

        # For contrast: the direct call made on the event loop itself, as a naive bot would.
        with Ticker() as naive:
            await asyncio.sleep(0)
            generate_direct(llm)
            await asyncio.sleep(TICK_S * 2)
    finally:
        await provider.aclose()
        llm.close()
    return result, idle.lags, naive.lags


def report(result: Runs, idle: list[float], naive: list[float]) -> None:
    ms = 1000.0
    ratios = [b / d for b, d in zip(result.bot, result.direct, strict=True)]
    figures.section("tokens per second, median")
    figures.figure("llama-cpp-python directly", f"{figures.median(result.direct):.1f} tok/s")
    figures.figure("through LlamaCppProvider.stream (bot)", f"{figures.median(result.bot):.1f} tok/s")
    figures.check("bot / direct (paired by run)", figures.median(ratios), "", at_least=TARGET_RATIO)
    figures.figure("  per run", ", ".join(f"{r:.3f}" for r in ratios))
    figures.figure("tokens per generation", ", ".join(str(t) for t in sorted(result.tokens)))
    figures.figure("same text from both, every run", "yes" if len(result.texts) == 1 else f"no ({len(result.texts)})")
    figures.section(f"event-loop lag: a {TICK_S * ms:.0f} ms ticker's extra delay")
    figures.figure(f"idle loop, {IDLE_S:g} s: p99 / max", f"{figures.percentile(idle, 99) * ms:.2f} ms",
                   f"max {max(idle) * ms:.2f} ms")
    figures.figure("while the bot generates: p99", f"{figures.percentile(result.lags, 99) * ms:.2f} ms",
                   f"over {len(result.lags)} ticks")
    figures.check("while the bot generates: max", max(result.lags) * ms, " ms", at_most=TARGET_LAG_MS,
                  fmt="{:.2f}")
    figures.figure("  median of each run's max", f"{figures.median(result.worst_per_run) * ms:.2f} ms")
    figures.figure("naive: direct call on the loop, max", f"{max(naive, default=0.0) * ms:.0f} ms",
                   "why the provider uses a worker thread")


def main(argv: Sequence[str] | None = None) -> None:
    args = figures.parse_args(__doc__ or "", argv)
    runs = QUICK_RUNS if args.quick else RUNS
    figures.header("generation: LlamaCppProvider vs llama-cpp-python on embedded:smollm2-135m-instruct",
                   machine.facts(),
                   f"{runs} of each, alternating which goes first, after one warm-up each; "
                   f"prompt {PROMPT!r}, temperature 0, max {PARAMS.max_tokens} tokens, n_ctx {N_CTX}, "
                   "default threads")
    report(*event_loop.run(measure(runs)))


if __name__ == "__main__":
    main()
