"""Benchmarks for Finetune Arena, run by ``make bench`` (``python -m benchmarks [--quick] [NAME ...]``).

Each benchmark is one module with a ``main(argv)``; it prints the machine it ran on, medians over repeated runs,
ratios measured side by side in the same run, and each figure's target with PASS or MISS. Nothing is asserted:
these are measurements, not tests, and they are not part of ``make test``.
"""

from __future__ import annotations

BENCHMARKS: dict[str, str] = {
    "paired": "two fake models through ArenaService.compare vs one after the other",
    "overhead": "service + SQLite cost per compare, and 1,000 concurrent compares",
    "votes": "votes per second with 50 concurrent voters on SQLite and PostgreSQL",
    "generation": "tokens/s through LlamaCppProvider vs llama-cpp-python directly, and event-loop lag",
    "leaderboard": "ArenaService.report() and the CSV export on 1,000,000 votes",
    "style_control": "style-controlled leaderboard on 1,000,000 battles: time, peak memory, a bootstrap round",
    "style_board": "style-controlled leaderboard end to end from 1,000,000 stored votes (SQLite): time, memory",
    "sequential": "anytime-valid decisions simulated: false alarms at p = 1/2, votes to decide at p = 0.6",
    "judge": "judge backfill with the embedded SmolLM2 as judge: comparisons per minute, how answers ended",
    "web": "leaderboard page and /api/leaderboard with 50 concurrent clients: p50, p99, event-loop lag",
    "channels": "channel control on the hot paths: allow-list checks per vote, settings reads, shared rate limit",
    "training": "DPO on 200 pairs (needs the [train] extra): wall time, peak memory, generation with the adapter",
}
