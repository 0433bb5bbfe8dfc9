"""The quality filters of a slice (bot/statistics/slices.py) and the comparison flags they read."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.domain import Comparison, Place, Reply, Side, Status


def comparison(reply_a: Reply, reply_b: Reply) -> Comparison:
    return Comparison(
        id="c1", prompt="p", matchup="m", model_a="base", model_b="tuned", base_side=Side.A, blind=True,
        requester="bob", place=Place("console"), created_at=datetime(2026, 1, 1, tzinfo=UTC), status=Status.DONE,
        reply_a=reply_a, reply_b=reply_b)


@pytest.mark.parametrize(("reply_a", "reply_b", "problem"), [
    (Reply("Paris.", 2, 10), Reply("Lyon.", 2, 10), False),
    (Reply("", 0, 10), Reply("Lyon.", 2, 10), True),  # empty without an error
    (Reply("Paris.", 2, 10), Reply(" \n\t", 1, 10), True),  # whitespace only
    (Reply("Paris.", 2, 10), Reply("", 0, 10, "timed out"), True),  # failed
    (Reply("half an answer", 3, 10, "cut off"), Reply("Lyon.", 2, 10), True),  # failed, whatever it said
])
def test_a_failed_or_empty_reply_is_a_reply_problem(reply_a: Reply, reply_b: Reply, problem: bool) -> None:
    # The "failed or empty reply" filter drops votes on comparisons flagged by this property.
    assert comparison(reply_a, reply_b).reply_problem is problem
