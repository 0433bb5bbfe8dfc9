"""Votes on the embedded matchup written straight into a database, for the training and registry tests: the
chosen reply of each pair on the side the voter picked, without running a model."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from adapters.bootstrap import open_repository
from bot.domain import Choice, Comparison, Place, Reply, Side, Status

BASE, TUNED = "gemma-3-270m", "smollm2-135m-instruct"  # the embedded matchup (bot/config.py)
FIRST_VOTE = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


async def seed_votes(database_url: str, pairs: Sequence[dict[str, Any]], matchup: str = "embedded") -> list[str]:
    """One comparison and one decided vote per pair, the tuned model's reply chosen on odd rows; returns the ids."""
    repository = await open_repository(database_url)
    ids = []
    for n, pair in enumerate(pairs):
        tuned_wins = n % 2 == 1
        tuned_text, base_text = ((pair["chosen"], pair["rejected"]) if tuned_wins
                                 else (pair["rejected"], pair["chosen"]))
        comparison = Comparison(
            id=uuid.uuid4().hex[:16], prompt=pair["prompt"], matchup=matchup, model_a=BASE, model_b=TUNED,
            base_side=Side.A, blind=True, requester="alice", place=Place("console"),
            created_at=FIRST_VOTE + timedelta(minutes=n), status=Status.DONE)
        await repository.add_comparison(comparison)
        comparison.reply_a = Reply(base_text, len(base_text.split()), 500)
        comparison.reply_b = Reply(tuned_text, len(tuned_text.split()), 400)
        await repository.save_result(comparison)
        await repository.record_vote(comparison.id, f"voter{n}", Choice.B if tuned_wins else Choice.A,
                                     FIRST_VOTE + timedelta(minutes=n, seconds=30))
        ids.append(comparison.id)
    return ids
