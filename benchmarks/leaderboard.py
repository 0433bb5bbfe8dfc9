"""Leaderboard at scale: ``ArenaService.report()`` and the CSV export on 1,000,000 votes in SQLite.

The votes come from a cached synthetic database (benchmarks/synthetic.py; built once, about half a minute). Each
measurement runs in a fresh child process so that one's peak RSS does not hide the next one's:

- report: SQL aggregation + Bradley-Terry + 100 bootstrap rounds, end to end. Targets < 1 s and < 200 MB peak,
  the peak measured both with tracemalloc (Python and numpy allocations) and as maxrss growth (everything,
  SQLite's page cache included);
- export: ``service.export("csv", file)`` of every vote. Targets < 5 s, and flat memory (RSS growth <= 50 MB);
- FastChat-style, for comparison: every battle row loaded into a pandas DataFrame, grouped in memory, same fit.

``--quick`` uses 100,000 votes instead."""

from __future__ import annotations

import argparse
import json
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

from adapters import loop as event_loop
from benchmarks import figures, machine, synthetic
from benchmarks.arena import bench_settings, wired_service
from benchmarks.memory import MB, Footprint, RssSampler, footprint, max_rss
from bot.ports import Repository
from bot.service import ArenaService
from bot.statistics import bradley_terry
from bot.statistics.battles import BattleCount
from bot.statistics.report import ArenaReport
from bot.statistics.slices import BattleQuery, BattleSet
from storage import csv_export, csv_helpers

VOTES, QUICK_VOTES = 1_000_000, 100_000
# Timed report() runs: at 1M votes each takes about 10 s on 2 cores (ten times its target), so three keep the
# default run near two minutes; the quick run on 100,000 votes affords five.
RUNS, QUICK_RUNS = 3, 5
FASTCHAT_RUNS = 3
ROUNDS = 100
TARGET_REPORT_S = 1.0
TARGET_REPORT_MB = 200.0
TARGET_EXPORT_S = 5.0
TARGET_EXPORT_GROWTH_MB = 50.0
TINY_VOTES = 2_000  # enough to cross an export batch (1,000 rows) during the warm-up
PHASES = ("report", "export", "fastchat")
WINNER = {"a": "model_a", "b": "model_b", "tie": "tie", "both_bad": "tie (bothbad)"}


def _url(path: Path) -> str:
    return f"sqlite:///{path}"


def _service(path: Path) -> AbstractAsyncContextManager[ArenaService]:
    """The service as wired for the app, reporting only (no model is called)."""
    return wired_service(_url(path), {}, bench_settings(_url(path)))


async def _warm_up() -> None:
    """Import and first-call costs paid on a tiny database, before any memory baseline is taken."""
    with tempfile.TemporaryDirectory(prefix="ftarena-bench-") as directory:
        tiny = Path(directory) / "tiny.db"
        synthetic.build(tiny, TINY_VOTES)
        async with _service(tiny) as service:
            await service.report(rounds=ROUNDS)
            with open(Path(directory) / "tiny.csv", "w", newline="") as out:
                await service.export("csv", out)


def _show_footprint(label: str, found: Footprint, *, targets: bool) -> dict[str, float]:
    median = figures.median(found.times)
    traced, grown = found.traced_peak / MB, found.maxrss_growth / MB
    if targets:
        figures.check(f"{label}, median", median, " s", at_most=TARGET_REPORT_S)
        figures.check("  peak memory, tracemalloc", traced, " MB", at_most=TARGET_REPORT_MB, fmt="{:,.1f}")
        figures.check("  peak memory, maxrss growth (first run)", grown, " MB", at_most=TARGET_REPORT_MB,
                      fmt="{:,.1f}")
    else:
        figures.figure(f"{label}, median", f"{median:.3f} s")
        figures.figure("  peak memory, tracemalloc", f"{traced:,.1f} MB")
        figures.figure("  peak memory, maxrss growth (first run)", f"{grown:,.1f} MB")
    figures.figure("  runs", ", ".join(f"{t:.3f}" for t in found.times), f"first run {found.first_s:.3f} s")
    return {"seconds": median, "traced_mb": traced, "maxrss_mb": grown}


class _TimedRepository:
    """Passes every call through to the real repository, noting how long the two the report makes took."""

    def __init__(self, inner: Repository) -> None:
        self.inner = inner
        self.last: dict[str, float] = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def battle_set(self, query: BattleQuery) -> BattleSet:
        started = time.perf_counter()
        try:
            return await self.inner.battle_set(query)
        finally:
            self.last["battle_set"] = time.perf_counter() - started

    async def votes_per_voter(self, query: BattleQuery) -> list[int]:
        started = time.perf_counter()
        try:
            return await self.inner.votes_per_voter(query)
        finally:
            self.last["votes_per_voter"] = time.perf_counter() - started


async def report_phase(path: Path, runs: int) -> dict[str, float]:
    await _warm_up()
    async with _service(path) as service:
        timed = _TimedRepository(service.repository)
        service.repository = timed
        parts: list[dict[str, float]] = []
        reports: list[ArenaReport] = []

        async def work() -> None:
            # A new seed each run: the service keeps recent reports for a few seconds, keyed by their arguments,
            # and this measures computing one.
            timed.last.clear()
            started = time.perf_counter()
            reports.append(await service.report(rounds=ROUNDS, seed=len(reports)))
            total = time.perf_counter() - started
            parts.append({**timed.last, "rest": total - sum(timed.last.values())})

        found = await footprint(work, runs)
        started = time.perf_counter()
        await service.report(rounds=ROUNDS, seed=len(reports) - 1)
        repeat = time.perf_counter() - started
    result = reports[-1]
    timed_parts = parts[1:1 + runs]  # the runs footprint times: not the maxrss one, not the traced one
    figures.section(f"ArenaService.report(), {ROUNDS} bootstrap rounds")
    figures.figure("votes sliced / kept after filters", f"{result.battles.sliced:,} / {result.battles.kept:,}",
                   ", ".join(f"{s.name}: -{s.removed:,}" for s in result.battles.steps))
    figures.figure("models rated", str(len(result.leaderboard.standings)),
                   ", ".join(f"{s.model} {s.rating:.0f}" for s in result.leaderboard.standings))
    shown = _show_footprint("report() end to end", found, targets=True)
    for key, label, note in (
            ("battle_set", "  of which repository.battle_set", "4 queries: 3 counts for the filter tolls + grouping"),
            ("votes_per_voter", "  of which repository.votes_per_voter", "GROUP BY voter over the join"),
            ("rest", "  of which the rest", "Bradley-Terry + 100 bootstraps in a thread, win rates")):
        figures.figure(label, f"{figures.median([p[key] for p in timed_parts]):.3f} s", note)
    figures.figure("same arguments again at once", f"{repeat:.3f} s", "the service's short-lived report cache")
    return shown


async def _export(service: ArenaService, target: Path) -> tuple[int, float, str | None, RssSampler]:
    """Rows written (or -1), seconds, the error if it failed, and the RSS samples taken meanwhile."""
    with open(target, "w", newline="", encoding="utf-8") as out, RssSampler() as rss:
        started = time.perf_counter()
        try:
            rows, error = await service.export("csv", out), None
        except Exception as exc:  # a failing export is a result to print, not a reason to stop the benchmark
            rows, error = -1, f"{type(exc).__name__}: {str(exc).split('(', 1)[0].strip()}"
        out.flush()
        elapsed = time.perf_counter() - started
    return rows, elapsed, error, rss


async def export_phase(path: Path, runs: int) -> dict[str, float]:
    await _warm_up()
    figures.section(f'service.export("csv", file) of every vote, {runs} runs')
    times: list[float] = []
    async with _service(path) as service:
        with tempfile.TemporaryDirectory(prefix="ftarena-bench-") as directory:
            for run in range(runs):
                target = Path(directory) / f"votes-{run}.csv"
                before = max_rss()
                rows, elapsed, error, rss = await _export(service, target)
                if error is not None:
                    figures.figure("export", "FAILED", f"after {elapsed:.2f} s: {error}")
                    figures.check("export time", float("inf"), " s", at_most=TARGET_EXPORT_S)
                    return {"seconds": float("inf"), "rows": 0.0, "growth_mb": float("nan")}
                if run == 0:  # memory as the first export in this process finds it
                    first_rss, first_growth, size = rss, (max_rss() - before) / MB, target.stat().st_size
                target.unlink()
                times.append(elapsed)
            helper_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024  # KiB on Linux
            # Side by side: the same export stitched by this process's own connection, as before helpers.
            csv_export.PROCESSES = 1
            try:
                target = Path(directory) / "votes-in-process.csv"
                _, in_process, _, _ = await _export(service, target)
                target.unlink()
            finally:
                csv_export.PROCESSES = None
    elapsed = figures.median(times)
    growth = (max(first_rss.samples) - first_rss.samples[0]) / MB
    figures.figure("rows written / file size", f"{rows:,}", f"{size / MB:,.0f} MB")
    figures.check("export time, median", elapsed, " s", at_most=TARGET_EXPORT_S)
    figures.figure("  runs", ", ".join(f"{t:.3f}" for t in times))
    figures.figure("  rows per second", f"{rows / elapsed:,.0f} /s", f"{size / MB / elapsed:.1f} MB/s")
    figures.check("RSS growth during the first export (peak - start)", growth, " MB",
                  at_most=TARGET_EXPORT_GROWTH_MB, fmt="{:,.1f}")
    figures.figure("  RSS at 0 / 25 / 50 / 75 / 100 % of the time",
                   " / ".join(f"{first_rss.at(f) / MB:.0f}" for f in (0, 0.25, 0.5, 0.75, 1)) + " MB")
    figures.figure("  maxrss growth", f"{first_growth:,.1f} MB")
    figures.figure("  helper processes, largest peak RSS", f"{helper_rss / MB:,.0f} MB",
                   f"{csv_helpers.cores()} helpers; mostly the database pages they map")
    figures.figure("same export stitched in-process, 1 run", f"{in_process:.3f} s",
                   f"helpers / in-process = {elapsed / in_process:.2f}")
    return {"seconds": elapsed, "rows": float(rows), "growth_mb": growth}


def _fastchat_style(path: Path) -> list[BattleCount]:
    """FastChat's monitor loads every battle into a DataFrame and groups it in pandas; the fit is then the same."""
    import pandas as pd

    with sqlite3.connect(path) as connection:
        battles = pd.read_sql_query(
            "SELECT c.model_a, c.model_b, v.choice FROM votes v JOIN comparisons c ON c.id = v.comparison_id "
            "WHERE NOT c.identity_leak AND NOT c.reply_problem", connection)
    battles["winner"] = battles["choice"].map(WINNER)
    grouped = battles.groupby(["model_a", "model_b", "winner"]).size()
    return [BattleCount(a, b, w, int(n)) for (a, b, w), n in grouped.items()]


async def fastchat_phase(path: Path, runs: int) -> dict[str, float]:
    import pandas  # noqa: F401  (imported before the memory baseline, as the service's modules are)

    async def work() -> None:
        bradley_terry.leaderboard(_fastchat_style(path), ROUNDS, 0)

    found = await footprint(work, min(runs, FASTCHAT_RUNS))
    figures.section("FastChat-style: all battle rows into pandas, grouped in memory, same fit "
                    "(no filter tolls or per-voter counts)")
    return _show_footprint("load + group + fit", found, targets=False)


def _phase(name: str, path: Path, runs: int, out: Path) -> None:
    work = {"report": report_phase, "export": export_phase, "fastchat": fastchat_phase}[name]
    out.write_text(json.dumps(event_loop.run(work(path, runs))))


def _run_child(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "benchmarks.leaderboard", *args], check=True)


def main(argv: Sequence[str] | None = None) -> None:
    parser = figures.parser(__doc__ or "")
    parser.add_argument("--phase", choices=(*PHASES, "build"), help=argparse.SUPPRESS)
    parser.add_argument("--db", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    votes, runs = (QUICK_VOTES, QUICK_RUNS) if args.quick else (VOTES, RUNS)
    if args.phase == "build":
        synthetic.build(args.db, votes)
        return
    if args.phase:
        _phase(args.phase, args.db, runs, args.out)
        return

    path = synthetic.cached_path(votes)
    figures.header(f"leaderboard: report() and CSV export on {votes:,} votes in SQLite", machine.facts(),
                   f"report {runs} timed runs after one for maxrss and before one under tracemalloc; "
                   f"export {runs} runs; each part in a fresh process")
    if synthetic.is_complete(path, votes):
        figures.figure("cached database", path.name, f"{path.stat().st_size / MB:,.0f} MB, reused")
    else:
        started = time.perf_counter()
        _run_child("--phase", "build", "--db", str(path), *(["--quick"] if args.quick else []))
        figures.figure("built database", f"{time.perf_counter() - started:.1f} s",
                       f"{path.name}, {path.stat().st_size / MB:,.0f} MB")
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="ftarena-bench-") as directory:
        for phase in PHASES:
            out = Path(directory) / f"{phase}.json"
            _run_child("--phase", phase, "--db", str(path), "--out", str(out),
                       *(["--quick"] if args.quick else []))
            results[phase] = json.loads(out.read_text())
    report, fastchat = results["report"], results["fastchat"]
    figures.section("side by side")
    figures.figure("report() time / FastChat-style time", f"{report['seconds'] / fastchat['seconds']:.2f}")
    figures.figure("report() tracemalloc peak / FastChat-style",
                   f"{report['traced_mb'] / max(fastchat['traced_mb'], 1e-9):.3f}")


if __name__ == "__main__":
    main()
