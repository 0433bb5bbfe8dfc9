"""The anytime-valid decision (bot.statistics.sequential) found with a few dozen candidate means instead of all 999:
what the leaderboard and the decided-matchup check compute at every look.

Each candidate's wealth process depends on that candidate alone, and the hedged capital sequence is an interval
at every vote (Waudby-Smith & Ramdas 2024, section 4), so the candidates never ruled out form an interval too (an
intersection of intervals). Its ends are found by bisection from a candidate inside it, about 2 log2(999) = 20
passes over the votes (a few dozen more when the current share itself was ruled out earlier) instead of 999;
``sequential.decide`` stays the reference, and the tests check both agree field for field."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator

import numpy as np
import numpy.typing as npt

from bot.outcomes import BASE, FINETUNED
from bot.statistics.sequential import ALPHA, GRID, UNDECIDED, Decision, bets, decide, log_wealth, more_votes

HALF = GRID.size // 2  # GRID[HALF] == 1/2
NEAR = 32
COARSE_STEP = 16


def quick_decision(scores: npt.ArrayLike, alpha: float = ALPHA) -> Decision:
    """``sequential.decide(scores, alpha)``, by bisection over the candidate means."""
    x = np.asarray(scores, dtype=np.float64)
    if x.ndim != 1 or not x.size:
        return decide(x, alpha)
    lam = bets(x, alpha)
    threshold = math.log(1 / alpha)

    def out(i: int) -> bool:
        return bool(np.max(log_wealth(x, float(GRID[i]), lam)[0]) >= threshold)

    share = float(x.mean())
    near = int(np.clip(np.searchsorted(GRID, share), 0, GRID.size - 1))
    # A candidate inside: the share, or (when an earlier stretch of votes ruled the share out) the nearest kept one;
    # none found (a kept interval narrower than the coarse step, far from the share) falls back to the full grid.
    inside = next((i for i in _outward(near) if not out(i)), None)
    if inside is None:
        return decide(x, alpha)
    first = 0 if not out(0) else _edge(out, 0, inside)
    last = GRID.size - 1 if not out(GRID.size - 1) else _edge(out, GRID.size - 1, inside)
    step = float(GRID[0])
    low, high = max(float(GRID[first]) - step, 0.0), min(float(GRID[last]) + step, 1.0)
    state = UNDECIDED
    if not first <= HALF <= last:
        state = FINETUNED if share > 0.5 else BASE
    return Decision(state, int(x.size), share, low, high, alpha,
                    more_votes(int(x.size), share, low, high) if state == UNDECIDED else 0)


def _outward(start: int) -> Iterator[int]:
    """``start``, then every candidate within ``NEAR`` of it, then candidates ``COARSE_STEP`` apart, going outward
    on both sides: a kept interval that excludes the share lies next to it (the share was ruled out only by a
    stretch of votes the later ones outweigh)."""
    distances = [*range(NEAR + 1), *range(NEAR + COARSE_STEP, GRID.size, COARSE_STEP)]
    for distance in distances:
        yield from (i for i in {start - distance, start + distance} if 0 <= i < GRID.size)


def _edge(out: Callable[[int], bool], ruled: int, kept: int) -> int:
    """The kept candidate next to the ruled-out ones, between a ruled-out index and a kept one."""
    while abs(kept - ruled) > 1:
        middle = (ruled + kept) // 2
        if out(middle):
            ruled = middle
        else:
            kept = middle
    return kept
