"""Judge backfill throughput: ``ftarena judge --backfill``'s work (bot.judge_queue.backfill: both orders per
comparison, each judgement stored) with the embedded SmolLM2-135M-Instruct as judge, on comparisons stored in a
fresh SQLite database. Prints comparisons judged per minute, the time per comparison, and how the judge's answers
ended (verdict, inconsistent, unparsable, failed): a small model's share of unparsable answers is part of the
figure, not noise. No target: the figure tells a team how long a backfill of their arena takes on this machine."""

from __future__ import annotations

import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from adapters import loop as event_loop
from adapters.bootstrap import open_repository
from benchmarks import figures, machine
from bot.domain import Comparison, Model, Place, Reply, Side, Status
from bot.judge import Judge, JudgeSettings
from bot.judge_queue import backfill
from bot.judgement import Judgement
from bot.providers.llamacpp import LlamaCppProvider

COMPARISONS, QUICK_COMPARISONS = 12, 4
JUDGE_MAX_TOKENS = 256  # room for a short explanation and the decision; the default (512) doubles the worst case
MODEL = Model(name="smollm2-135m-instruct", provider="llamacpp", model="embedded:smollm2-135m-instruct",
              template="chat")
# Questions with one answer plainly better than the other, about as long as the embedded models' replies.
CASES = [
    ("How do I teach my dog to sit?",
     "Hold a treat above its nose, move it back so its head goes up and its bottom down, say 'sit' as it sits, "
     "then reward it at once. Repeat a few short sessions a day.",
     "Dogs are animals. Some dogs sit. Sitting is a position."),
    ("What is the capital of Australia?",
     "Sydney, the largest city, is the capital.",
     "Canberra is the capital of Australia; Sydney is its largest city."),
    ("Give me a tip for sleeping better.",
     "Keep the same bedtime every day, even at weekends, and keep screens out of the bedroom for the last hour.",
     "Sleep is important. Try sleeping."),
]


async def fill(database: str, count: int) -> list[Comparison]:
    repository = await open_repository(database)
    start = datetime(2026, 12, 1, tzinfo=UTC)
    stored = []
    for i in range(count):
        prompt, good, poor = CASES[i % len(CASES)]
        # Alternate the sides, so a judge that always picks one position is half right, not always right.
        a, b = (good, poor) if i % 2 else (poor, good)
        c = Comparison(id=f"bench{i:04d}", prompt=prompt, matchup="bench", model_a="m1", model_b="m2",
                       base_side=Side.A, blind=True, requester="bench", place=Place("bench"),
                       created_at=start + timedelta(minutes=i), status=Status.DONE,
                       reply_a=Reply(a, len(a.split()), 1), reply_b=Reply(b, len(b.split()), 1))
        await repository.add_comparison(c)
        await repository.save_result(c)
        stored.append(c)
    return stored


async def measure(count: int) -> tuple[float, list[Judgement], float]:
    with tempfile.TemporaryDirectory() as folder:
        database = f"sqlite:///{Path(folder) / 'bench.db'}"
        await fill(database, count)
        repository = await open_repository(database)
        provider = LlamaCppProvider(MODEL)
        judge = Judge(JudgeSettings(model=MODEL.name, max_tokens=JUDGE_MAX_TOKENS), MODEL, provider)
        try:
            started = time.perf_counter()
            await provider.generate("Hi", replace(MODEL.params, max_tokens=1))  # loads the model: not judging
            loaded = time.perf_counter() - started
            pending = await repository.unjudged(judge.name)
            started = time.perf_counter()
            done = await backfill(judge, repository, pending, workers=1)
            elapsed = time.perf_counter() - started
        finally:
            await provider.aclose()
    return elapsed, done, loaded


def main(argv: Sequence[str] | None = None) -> None:
    args = figures.parse_args(__doc__ or "", argv)
    count = QUICK_COMPARISONS if args.quick else COMPARISONS
    figures.header("judge backfill on embedded:smollm2-135m-instruct", machine.facts(),
                   f"{count} stored comparisons, both orders each (2 generations), temperature 0, "
                   f"max {JUDGE_MAX_TOKENS} tokens per answer, one worker, SQLite")
    elapsed, done, loaded = event_loop.run(measure(count))
    statuses = Counter(j.status.value for j in done)
    figures.section("throughput")
    figures.figure("comparisons judged per minute", f"{len(done) / elapsed * 60:.1f}")
    figures.figure("seconds per comparison (mean)", f"{elapsed / max(1, len(done)):.2f} s")
    figures.figure("model load (once, not counted)", f"{loaded:.2f} s")
    figures.section("how the judge's answers ended")
    for status, n in sorted(statuses.items()):
        figures.figure(status, f"{n} of {len(done)}")
    latencies = sorted(j.latency_ms for j in done)
    figures.figure("judgement latency p50 / max", f"{figures.median(latencies) / 1000:.2f} s",
                   f"max {latencies[-1] / 1000:.2f} s")


if __name__ == "__main__":
    main()
