"""May we stop voting? An anytime-valid confidence sequence for p = P(fine-tune preferred), ties counting one half:
at every vote, however often anyone looks, it misses the true p with probability at most ``alpha`` over all time.

Method: the betting confidence sequence of Waudby-Smith & Ramdas ("Estimating means of bounded random variables by
betting", JRSS-B 2024), hedged capital process with the predictable plug-in bets. For each candidate mean ``m`` a
gambler who starts with 1 bets on each vote ``x`` (1, 1/2 or 0) that it lands above ``m`` (wealth times
``1 + lam * (x - m)``) and, with the other half of the money, below it. If p were ``m`` both bets would be fair, so
by Ville's inequality the wealth reaches ``1 / alpha`` with probability at most ``alpha``, ever; the candidates
whose wealth has reached it are ruled out for good, and what remains is the sequence. The bet size
``lam_t = sqrt(2 log(2 / alpha) / (var_{t-1} t log(1 + t)))``, capped at ``1/2 / m`` (and ``1/2 / (1 - m)``),
uses only earlier votes. The fine-tune is declared better once 1/2 is ruled out from above, the base once from
below; the decision then stands.

We write it ourselves rather than use the ``expectation`` package: that package needs Python 3.12, brings pydantic,
pandas and plotly, and is GPL-3.0 with an extra restriction, against our Apache-2.0. The tests check this sequence
by simulation: its error rate under no preference, and how fast it finds a real one.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from bot.outcomes import BASE, FINETUNED, FINETUNED_SCORES

ALPHA = 0.05
UNDECIDED = "undecided"
# The largest bet, as a share of what a loss at the worst outcome would cost: 1/2 keeps every factor >= 1/2.
BET_CAP = 0.5
# Candidate means 0.001, 0.002, ..., 0.999 (1/2 among them, so the decision is exact) and votes taken this many at
# a time, so the wealth of every candidate at every vote never fills more than a few MB.
GRID = np.arange(1, 1000) / 1000
CHUNK = 1024

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Decision:
    """Where a matchup stands: ``state`` is ``finetuned``, ``base`` or ``undecided``; ``low``/``high`` the confidence
    sequence now; ``more_votes`` the projection for an undecided matchup (None when the share is exactly 1/2)."""

    state: str
    votes: int
    share: float
    low: float
    high: float
    alpha: float
    more_votes: int | None

    def describe(self) -> str:
        """The state in words, e.g. ``fine-tune better (anytime-valid 95%)``."""
        level = f"anytime-valid {100 * (1 - self.alpha):g}%"
        if self.state == FINETUNED:
            return f"fine-tune better ({level})"
        if self.state == BASE:
            return f"base better ({level})"
        if self.more_votes is None:
            return "undecided — no end in sight at the current rate"
        return f"undecided — about {self.more_votes:,} more votes at the current rate"


def scores_of(outcomes: Iterable[str]) -> FloatArray:
    """Votes in order as the fine-tune's scores: 1 preferred, 0 the base preferred, 1/2 a tie or both bad."""
    try:
        return np.array([FINETUNED_SCORES[outcome] for outcome in outcomes], dtype=np.float64)
    except KeyError as exc:
        raise ValueError(f"unknown outcome {exc.args[0]!r}; expected one of {sorted(FINETUNED_SCORES)}") from None


def bets(scores: npt.ArrayLike, alpha: float = ALPHA) -> FloatArray:
    """The predictable plug-in bet before each vote (along the last axis), before capping: it shrinks as votes
    come in and grows when they vary little."""
    x = np.asarray(scores, dtype=np.float64)
    t = np.arange(1, x.shape[-1] + 1, dtype=np.float64)
    mean = (0.5 + np.cumsum(x, axis=-1)) / (t + 1)
    variance = (0.25 + np.cumsum((x - mean) ** 2, axis=-1)) / (t + 1)
    before = np.concatenate([np.full((*x.shape[:-1], 1), 0.25), variance[..., :-1]], axis=-1)
    lam: FloatArray = np.sqrt(2 * math.log(2 / alpha) / (before * t * np.log1p(t)))
    return lam


def log_wealth(
    scores: npt.ArrayLike, m: float | FloatArray, lam: FloatArray, carried: tuple[FloatArray, FloatArray] | None = None
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Log of the hedged wealth after each vote of the gambler testing mean ``m`` (half bet above, half below),
    and the log-wealth of each half, to carry into the next votes (``carried``).

    ``scores`` (..., n) and ``m`` broadcast: one mean for many simulated arenas, or a column of means for one."""
    x = np.asarray(scores, dtype=np.float64)
    m = np.asarray(m, dtype=np.float64)
    up = np.cumsum(np.log1p(np.minimum(lam, BET_CAP / m) * (x - m)), axis=-1)
    down = np.cumsum(np.log1p(-np.minimum(lam, BET_CAP / (1 - m)) * (x - m)), axis=-1)
    if carried is not None:
        up, down = up + carried[0], down + carried[1]
    hedged: FloatArray = np.logaddexp(up, down) - math.log(2)
    return hedged, up[..., -1:], down[..., -1:]


def ruled_out(scores: npt.ArrayLike, alpha: float = ALPHA) -> npt.NDArray[np.bool_]:
    """Which candidate means of ``GRID`` have been ruled out at some vote so far (the running intersection)."""
    x = np.asarray(scores, dtype=np.float64)
    lam = bets(x, alpha)
    carried = (np.zeros((GRID.size, 1)), np.zeros((GRID.size, 1)))
    out = np.zeros(GRID.size, dtype=bool)
    for start in range(0, x.size, CHUNK):
        chunk = slice(start, start + CHUNK)
        hedged, *halves = log_wealth(x[chunk], GRID[:, None], lam[chunk], carried)
        carried = (halves[0], halves[1])
        out |= np.max(hedged, axis=-1) >= math.log(1 / alpha)
    return out


def first_decision(scores: npt.ArrayLike, alpha: float = ALPHA) -> npt.NDArray[np.intp]:
    """For each row of votes (arenas x votes), the number of votes at which 1/2 was ruled out, 0 if never."""
    x = np.atleast_2d(np.asarray(scores, dtype=np.float64))
    crossed = log_wealth(x, 0.5, bets(x, alpha))[0] >= math.log(1 / alpha)
    first: npt.NDArray[np.intp] = np.where(crossed.any(axis=-1), crossed.argmax(axis=-1) + 1, 0)
    return first


def decide(scores: npt.ArrayLike, alpha: float = ALPHA) -> Decision:
    """The confidence sequence after the votes so far (in the order cast) and what it lets us say."""
    x = np.asarray(scores, dtype=np.float64)
    if x.ndim != 1 or np.any((x != 0) & (x != 0.5) & (x != 1)):
        raise ValueError("scores must be a sequence of 1 (fine-tune preferred), 0.5 (tie) and 0 (base preferred)")
    n = x.size
    share = float(x.mean()) if n else 0.5
    out = ruled_out(x, alpha) if n else np.zeros(GRID.size, dtype=bool)
    kept = GRID[~out]
    step = GRID[0]
    # Shown rounded outward to the grid: the interval covers every candidate not ruled out and the gaps beside them.
    low = max(float(kept.min() - step), 0.0) if kept.size else share
    high = min(float(kept.max() + step), 1.0) if kept.size else share
    state = UNDECIDED
    if out[GRID.size // 2]:  # 1/2 is ruled out; the candidates left are all on one side of it
        state = FINETUNED if share > 0.5 else BASE
    more = more_votes(n, share, low, high) if state == UNDECIDED else 0
    return Decision(state, n, share, low, high, alpha, more)


def more_votes(n: int, share: float, low: float, high: float) -> int | None:
    """The stated projection: if the share stays where it is and the interval narrows like 1/sqrt(votes), its
    bound on the side of 1/2 (now ``share - low`` or ``high - share`` away) passes 1/2 after
    ``n * (reach / distance)^2`` votes. It ignores the slowly growing log factor of the sequence, so it errs on the
    short side."""
    distance = abs(share - 0.5)
    if n == 0 or distance == 0:
        return None
    reach = share - low if share > 0.5 else high - share
    return max(1, math.ceil(n * (reach / distance) ** 2 - n))
