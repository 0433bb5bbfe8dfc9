"""The anytime-valid decision (bot/statistics/sequential.py) by simulation: how often it declares a winner when
there is none, and how many votes it needs when there is one.

- p = 1/2: 1,000 simulated arenas of 2,000 votes each; the share that ever declares a winner (either way) must be
  at most 5% (the sequence's alpha), with ties (20% of votes) and without;
- p = 0.6: the median number of votes until "fine-tune better", with ties and without, and the share decided by
  2,000 votes.

Each arena is checked at every vote, as a chat channel watching the standings would. ``--quick`` uses 200 arenas."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from benchmarks import figures, machine
from bot.statistics.sequential import ALPHA, first_decision

ARENAS, QUICK_ARENAS = 1_000, 200
VOTES = 2_000
TIE_SHARE = 0.2
SEED = 2026


def _arenas(rng: np.random.Generator, arenas: int, p: float, ties: float) -> np.ndarray:
    """Scores of the fine-tune, mean ``p``: a tie (1/2) with probability ``ties``, else a win or a loss."""
    win = (p - ties / 2) / (1 - ties)
    scores = (rng.random((arenas, VOTES)) < win).astype(np.float64)
    scores[rng.random((arenas, VOTES)) < ties] = 0.5
    return scores


def main(argv: Sequence[str] | None = None) -> int:
    args = figures.parse_args(__doc__ or "", argv)
    arenas = QUICK_ARENAS if args.quick else ARENAS
    rng = np.random.default_rng(SEED)
    figures.header("sequential: anytime-valid decisions by simulation", machine.facts(),
                   f"{arenas:,} arenas x {VOTES:,} votes, alpha {ALPHA}, seed {SEED}")
    figures.section("no difference (p = 1/2): share of arenas that ever declare a winner")
    for label, ties in (("votes with 20% ties", TIE_SHARE), ("votes without ties", 0.0)):
        decided = first_decision(_arenas(rng, arenas, 0.5, ties))
        figures.check(label, 100 * float((decided > 0).mean()), " %", at_most=100 * ALPHA, fmt="{:.1f}")
    figures.section("fine-tune preferred (p = 0.6): votes to a decision")
    for label, ties in (("votes with 20% ties", TIE_SHARE), ("votes without ties", 0.0)):
        decided = first_decision(_arenas(rng, arenas, 0.6, ties))
        # Arenas still undecided at the end count as "more than VOTES", which leaves the median exact when
        # more than half decided.
        median = float(np.median(np.where(decided > 0, decided, VOTES + 1)))
        figures.figure(f"{label}: median votes to decide", f"{median:,.0f}",
                       f"(10%-90%: {np.percentile(decided[decided > 0], 10):,.0f}-"
                       f"{np.percentile(decided[decided > 0], 90):,.0f})")
        figures.figure(f"{label}: decided within {VOTES:,} votes", f"{100 * float((decided > 0).mean()):.1f} %")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
