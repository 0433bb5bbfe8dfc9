"""The style-controlled leaderboard end to end from the database: 1,000,000 stored votes in SQLite (the cached
synthetic arena, benchmarks/synthetic.py, whose replies carry their stored style features) read as columns by
``Repository.vote_table`` and fitted with sandwich intervals. Target: at most 2 s and under 300 MB.

Measured in this fresh process, after a warm-up on a tiny database: the columnar read alone, the read plus the
fit (the target), and for scale the whole ``ArenaService.report(style=True)`` (plain ratings with 100 bootstrap
rounds, LC win rates, decisions and the outlier test too). Peak memory as tracemalloc's peak and maxrss growth.
``--quick`` uses 100,000 votes."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from adapters import loop as event_loop
from adapters.bootstrap import open_repository
from benchmarks import figures, machine, synthetic
from benchmarks.memory import MB, footprint
from bot.ports import Repository
from bot.statistics.slices import BattleQuery
from bot.statistics.style_control import describe_coefficients, style_leaderboard
from bot.statistics.vote_table import VoteTable

VOTES, QUICK_VOTES = 1_000_000, 100_000
RUNS = 3
TARGET_S = 2.0
TARGET_MB = 300.0


async def _board(repository: Repository) -> tuple[VoteTable, object]:
    table = await repository.vote_table(BattleQuery())
    return table, style_leaderboard(table.style_battles())


async def _run(path: Path, votes: int) -> None:
    with tempfile.TemporaryDirectory(prefix="ftarena-bench-") as directory:
        tiny = Path(directory) / "tiny.db"
        synthetic.build(tiny, 2_000)
        await _board(await open_repository(f"sqlite:///{tiny}"))
    repository = await open_repository(f"sqlite:///{path}")
    found = await footprint(lambda: _board(repository), RUNS)
    table, board = await _board(repository)
    figures.section(f"vote_table + style_leaderboard (sandwich) on {len(table):,} stored votes")
    figures.check("median wall time, end to end", figures.median(found.times), " s", at_most=TARGET_S)
    figures.check("peak memory, tracemalloc", found.traced_peak / MB, " MB", at_most=TARGET_MB, fmt="{:,.1f}")
    figures.check("peak memory, maxrss growth (first run)", found.maxrss_growth / MB, " MB", at_most=TARGET_MB,
                  fmt="{:,.1f}")
    figures.figure("runs", ", ".join(f"{t:.3f}" for t in found.times), f"first run {found.first_s:.3f} s")
    reads, cpus, fits = [], [], []
    for _ in range(RUNS):
        started, cpu = time.perf_counter(), time.process_time()
        table = await repository.vote_table(BattleQuery())
        reads.append(time.perf_counter() - started)
        fitted = time.process_time()
        style_leaderboard(table.style_battles())
        fits.append(time.process_time() - fitted)
        cpus.append(time.process_time() - cpu)
    # The read runs in a worker thread: process_time counts it. Wall minus CPU is what other load cost.
    figures.figure("median CPU time, end to end", f"{figures.median(cpus):.3f} s")
    figures.figure("  of which the columnar read (median wall)", f"{figures.median(reads):.3f} s")
    figures.figure("  of which the fit (median CPU)", f"{figures.median(fits):.3f} s")
    figures.figure("style coefficients", "; ".join(describe_coefficients(board.coefficients)))  # type: ignore[attr-defined]


def main(argv: Sequence[str] | None = None) -> int:
    args = figures.parse_args(__doc__ or "", argv)
    votes = QUICK_VOTES if args.quick else VOTES
    figures.header(f"style_board: style-controlled leaderboard from {votes:,} stored votes", machine.facts(),
                   f"{RUNS} timed runs after one for maxrss, one under tracemalloc")
    path = synthetic.cached_path(votes)
    if not synthetic.is_complete(path, votes):
        started = time.perf_counter()
        synthetic.build(path, votes)
        figures.figure("built the synthetic database", f"{time.perf_counter() - started:.0f} s", str(path))
    event_loop.run(_run(path, votes))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
