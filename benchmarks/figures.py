"""Figures: medians and percentiles, and the one printed line per measurement with its target verdict.

Targets are printed as PASS or MISS next to the measured value, never asserted."""

from __future__ import annotations

import argparse
import math
import os
import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

QUICK_ENV = "FTARENA_BENCH_QUICK"
LABEL_WIDTH = 52


def parser(description: str) -> argparse.ArgumentParser:
    """The options every benchmark takes: ``--quick`` (or ``FTARENA_BENCH_QUICK=1``) for a smaller run."""
    parsed = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parsed.add_argument("--quick", action="store_true", default=os.environ.get(QUICK_ENV, "") not in ("", "0"),
                        help=f"fewer runs and smaller data (also ${QUICK_ENV}=1)")
    return parsed


def parse_args(description: str, argv: Sequence[str] | None = None) -> argparse.Namespace:
    return parser(description).parse_args(argv)


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile: the smallest value with at least ``pct`` percent of the values at or below it."""
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def header(title: str, machine: str, runs: str) -> None:
    print(f"\n== {title} ==")
    print(f"machine: {machine}")
    print(f"runs:    {runs}")


def section(title: str) -> None:
    print(f"-- {title}")


def figure(label: str, value: str, note: str = "") -> None:
    """A measured value with no target."""
    print(f"  {label:<{LABEL_WIDTH}} {value:>14}  {note}".rstrip())


def check(label: str, value: float, unit: str, *, at_most: float | None = None, at_least: float | None = None,
          fmt: str = "{:,.3f}") -> bool:
    """A measured value next to its target, with PASS or MISS; returns whether it passed."""
    if (at_most is None) == (at_least is None):
        raise ValueError("give exactly one of at_most and at_least")
    if at_most is not None:
        passed, target = value <= at_most, f"target <= {fmt.format(at_most)}{unit}"
    else:
        assert at_least is not None
        passed, target = value >= at_least, f"target >= {fmt.format(at_least)}{unit}"
    shown = fmt.format(value) + unit
    print(f"  {label:<{LABEL_WIDTH}} {shown:>14}  {target:<24} {'PASS' if passed else 'MISS'}")
    return passed


def skipped(label: str, reason: str) -> None:
    print(f"  {label:<{LABEL_WIDTH}} {'skipped':>14}  {reason}")


@contextmanager
def stopwatch() -> Iterator[Callable[[], float]]:
    """``with stopwatch() as elapsed:`` — ``elapsed()`` gives seconds so far, and the final time after the block."""
    started = time.perf_counter()
    ended: float | None = None

    def elapsed() -> float:
        return (ended if ended is not None else time.perf_counter()) - started

    try:
        yield elapsed
    finally:
        ended = time.perf_counter()
