"""Votes read as columns with both replies' style (``Repository.vote_table``), what style control, the
length-controlled win rate, the decision state and the outlier test read.

Fast path: the query runs on the driver's own cursor and its rows become arrays column by column, with no ORM
object or SQLAlchemy row per vote (a million votes: see benchmarks/RESULTS.md, "style-controlled leaderboard");
the cost is SQL written against the driver, kept to this one statement."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy import Connection, func, select

from bot.domain import Choice, Side
from bot.outcomes import SCORES, WINNER
from bot.statistics.slices import BattleQuery
from bot.statistics.vote_table import VoteTable, table_from_columns
from storage.battles import conditions
from storage.driver import driver_query
from storage.orm import COMPARISONS, REPLIES, VOTES
from storage.reply_style import STYLE_COLUMNS

FETCH_BATCH = 50_000
# Score of model A by stored choice.
_SCORE = {choice.value: SCORES[WINNER[choice]] for choice in Choice}


def _totals(reply: Any) -> list[Any]:
    """The four quantities style control compares, from a reply alias; a reply saved without its style
    (see storage/orm.py) counts its tokens as stored and no markdown."""
    c = reply.c
    zero = [func.coalesce(c[name], 0) for name in STYLE_COLUMNS[1:]]
    return [func.coalesce(c.style_tokens, c.tokens, 0), zero[0] + zero[1] + zero[2] + zero[3] + zero[4] + zero[5],
            zero[6] + zero[7], zero[8] + zero[9]]


def vote_table(connection: Connection, query: BattleQuery) -> VoteTable:
    """The votes of a slice after its quality filters (the daily cap aside), in the order first cast."""
    v, c = VOTES.c, COMPARISONS.c
    ra, rb = REPLIES.alias("ra"), REPLIES.alias("rb")
    statement = (select(v.matchup, v.voter, v.model_a, v.model_b, v.choice, c.base_side, *_totals(ra), *_totals(rb))
                 .select_from(VOTES).join(COMPARISONS, c.id == v.comparison_id)
                 .outerjoin(ra, (ra.c.comparison_id == v.comparison_id) & (ra.c.side == Side.A.value))
                 .outerjoin(rb, (rb.c.comparison_id == v.comparison_id) & (rb.c.side == Side.B.value))
                 .where(*conditions(replace(query, without_voters=()))).order_by(v.id))
    sql, params = driver_query(connection, statement)
    cursor: Any = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(sql, params({}))
        rows: list[Sequence[Any]] = []
        while batch := cursor.fetchmany(FETCH_BATCH):
            rows.extend(batch)
    finally:
        cursor.close()
    columns = list(zip(*rows, strict=True)) if rows else [()] * 14
    table = table_from_columns(
        columns[0], columns[1], columns[2], columns[3], [_SCORE[choice] for choice in columns[4]],
        [side == Side.B.value for side in columns[5]], list(zip(*columns[6:10], strict=True)),
        list(zip(*columns[10:14], strict=True)),
    )
    # Voters left out here, not in SQL: NOT IN's expanding parameter has no form on the driver's own cursor.
    return table.without_voters(query.without_voters) if query.without_voters else table
