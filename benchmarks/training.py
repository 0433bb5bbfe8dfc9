"""Training from the votes on a laptop's CPU: 200 DPO pairs on the embedded SmolLM2-135M-Instruct (LoRA r=8 on
q/k/v/o, max length 128, one epoch) through ``training.runner`` -- wall time and the worker's peak memory -- then
generation speed through ``LlamaCppProvider`` with the converted adapter against the parent alone.

Targets: at most 10 minutes and 4 GB for the run; adapter / parent tokens per second at least 0.9."""

from __future__ import annotations

import resource
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from adapters import loop as event_loop
from benchmarks import figures, machine
from bot.domain import GenerationParams, Model
from bot.prompts import apply_template
from bot.providers.embedded import resolve_model_path
from bot.providers.llamacpp import LlamaCppProvider
from training.convert import convert_adapter
from training.params import TrainParams
from training.runner import Progress, train_adapter

PARENT = "embedded:smollm2-135m-instruct"
PAIRS, QUICK_PAIRS = 200, 20
PARAMS = TrainParams(method="dpo", lora_r=8, lora_alpha=16, max_length=128, batch_size=2, epochs=1.0)
PROMPT = "Here is a step-by-step guide to training a dog to sit:\n\n1."
GENERATION = GenerationParams(max_tokens=64, temperature=0.0)
RUNS, QUICK_RUNS = 6, 2
TARGET_WALL_S = 600.0
TARGET_PEAK_GB = 4.0
TARGET_RATIO = 0.9
GB = 1024**3

TOPICS = ["the moon", "bread", "rivers", "chess", "volcanoes", "bees", "trains", "clouds", "copper", "tea"]
ASKS = ["What is {t}?", "Tell me one fact about {t}.", "Why do people care about {t}?", "Describe {t} briefly.",
        "Give a short tip about {t}.", "What is surprising about {t}?", "How would you explain {t} to a child?",
        "What is the history of {t}, in one sentence?", "Name something related to {t}.", "Is {t} useful?",
        "What colour is usually linked to {t}?", "Write one line about {t}.", "Where would I find {t}?",
        "Who studies {t}?", "What should a beginner know about {t}?", "Compare {t} with something else.",
        "What is a common mistake about {t}?", "Summarise {t} in five words.", "Why is {t} interesting?",
        "What question would you ask about {t}?"]


def pairs(n: int) -> list[dict[str, str]]:
    """``n`` pairs whose chosen reply is short and on topic and whose rejected one rambles: what voters reward."""
    rows = []
    for i in range(n):
        topic, ask = TOPICS[i % len(TOPICS)], ASKS[(i // len(TOPICS)) % len(ASKS)]
        rows.append({"prompt": ask.format(t=topic),
                     "chosen": f"In short: {topic} is worth a closer look, and here is the key point, stated plainly.",
                     "rejected": f"Well, um, that is a hard one. I am not sure what {topic} is, to be honest; "
                                 f"maybe ask someone else, or look it up somewhere, I suppose."})
    return rows


async def _tokens_per_s(provider: LlamaCppProvider, model: Model) -> float:
    pieces = 0
    started = time.perf_counter()
    async for _ in provider.stream(apply_template(model.template, PROMPT), GENERATION):
        pieces += 1
    return pieces / (time.perf_counter() - started)


async def generation_ratio(adapter: Path, runs: int) -> tuple[float, float, list[float]]:
    """Median tokens/s of the parent and of parent + adapter, and the paired ratios, alternating who goes first."""
    parent = Model(name="parent", provider="llamacpp", model=PARENT, template="completion", params=GENERATION)
    adapted = Model(name="adapted", provider="llamacpp", model=PARENT, template="completion", params=GENERATION,
                    options={"lora_path": str(adapter), "lora_scale": 1.0})
    providers = LlamaCppProvider(parent), LlamaCppProvider(adapted)
    rates: tuple[list[float], list[float]] = ([], [])
    try:
        for provider, model in zip(providers, (parent, adapted), strict=True):
            await _tokens_per_s(provider, model)  # load and warm up
        for run in range(runs):
            order = (0, 1) if run % 2 == 0 else (1, 0)
            for i in order:
                rates[i].append(await _tokens_per_s(providers[i], (parent, adapted)[i]))
    finally:
        for provider in providers:
            await provider.aclose()
    ratios = [a / p for p, a in zip(*rates, strict=True)]
    return figures.median(rates[0]), figures.median(rates[1]), ratios


async def measure(n_pairs: int, runs: int) -> None:
    parent_gguf = resolve_model_path(PARENT)
    steps: list[Progress] = []

    def progress(p: Progress) -> None:
        steps.append(p)
        if p.step == 1 or p.step % 10 == 0 or p.step == p.steps:
            print(f"  step {p.step}/{p.steps} loss {p.loss:.4f} margin {p.reward_margin:.3f} eta {p.eta_s:.0f} s",
                  flush=True)

    with tempfile.TemporaryDirectory() as scratch:
        started = time.perf_counter()
        result = await train_adapter(parent_gguf, pairs(n_pairs), Path(scratch) / "adapter", PARAMS, min_pairs=1,
                                     on_progress=progress)
        wall = time.perf_counter() - started
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024  # the worker's, in bytes
        gguf = convert_adapter(result.adapter_dir, parent_gguf, Path(scratch) / "adapter.gguf")
        parent_rate, adapted_rate, ratios = await generation_ratio(gguf, runs)

    figures.section(f"training: {n_pairs} DPO pairs, {result.steps} steps")
    figures.check("wall time, start to adapter in place", wall, " s", at_most=TARGET_WALL_S, fmt="{:.0f}")
    figures.figure("  of which training steps", f"{steps[-1].elapsed_s:.0f} s",
                   f"{steps[-1].elapsed_s / n_pairs:.2f} s a pair")
    figures.check("worker peak memory (max RSS)", peak / GB, " GB", at_most=TARGET_PEAK_GB, fmt="{:.2f}")
    figures.figure("loss, first -> last", f"{result.losses[0]:.4f} -> {result.losses[-1]:.4f}")
    figures.figure("reward margin, last", f"{steps[-1].reward_margin:.3f}")
    figures.section("generation, tokens per second, median")
    figures.figure("parent alone", f"{parent_rate:.1f} tok/s")
    figures.figure("parent + converted adapter", f"{adapted_rate:.1f} tok/s")
    figures.check("adapter / parent (paired by run)", figures.median(ratios), "", at_least=TARGET_RATIO)


def main(argv: Sequence[str] | None = None) -> None:
    args = figures.parse_args(__doc__ or "", argv)
    n_pairs, runs = (QUICK_PAIRS, QUICK_RUNS) if args.quick else (PAIRS, RUNS)
    figures.header(f"training: DPO on {n_pairs} pairs, then generation with the adapter", machine.facts(),
                   f"LoRA r={PARAMS.lora_r} alpha={PARAMS.lora_alpha} on q/k/v/o, max length {PARAMS.max_length}, "
                   f"batch {PARAMS.batch_size}, 1 epoch, default threads; generation: {runs} runs of each")
    event_loop.run(measure(n_pairs, runs))


if __name__ == "__main__":
    main()
