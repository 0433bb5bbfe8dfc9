"""Replies' style features in the database: the columns written with each saved reply (bot.statistics.style) and
the backfill of replies saved before they existed (migration 0011)."""

from __future__ import annotations

from sqlalchemy import Connection, select

from bot.domain import Reply
from bot.statistics.style import StyleFeatures, style_features
from storage.driver import driver_many
from storage.orm import REPLIES

STYLE_COLUMNS = ("style_tokens", "header_h1", "header_h2", "header_h3", "header_h4", "header_h5", "header_h6",
                 "list_ordered", "list_unordered", "bold_asterisks", "bold_underscores")
# Both replies' totals as comparisons and votes carry them (StyleFeatures.totals() of A, then of B).
STYLE_TOTALS = ("a_tokens", "a_headers", "a_lists", "a_bold", "b_tokens", "b_headers", "b_lists", "b_bold")
BACKFILL_BATCH = 2000


def style_values(reply: Reply) -> tuple[int, ...]:
    """A reply's style columns, in the order of ``STYLE_COLUMNS``."""
    return feature_values(style_features(reply.text, reply.tokens))


def style_totals(a: Reply, b: Reply) -> tuple[int, ...]:
    """Both replies' totals, in the order of ``STYLE_TOTALS``."""
    return (*style_features(a.text, a.tokens).totals(), *style_features(b.text, b.tokens).totals())


def feature_values(style: StyleFeatures) -> tuple[int, ...]:
    return (style.tokens, *style.headers, style.ordered, style.unordered, style.bold_asterisks,
            style.bold_underscores)


def backfill(connection: Connection, batch: int | None = None) -> int:
    """Count the style of every reply that has none yet, ``batch`` replies (``BACKFILL_BATCH``) per round trip:
    memory stays flat however many there are. Returns how many. Run by migration 0011 on SQLite and PostgreSQL."""
    batch = batch or BACKFILL_BATCH
    done = 0
    last: tuple[str, str] = ("", "")
    assignments = ", ".join(f"{name} = ?" for name in STYLE_COLUMNS)
    update = f"UPDATE {REPLIES.name} SET {assignments} WHERE comparison_id = ? AND side = ?"
    r = REPLIES.c
    while True:
        # Keyset pagination on the primary key: each round starts where the last one stopped.
        rows = connection.execute(
            select(r.comparison_id, r.side, r.text, r.tokens)
            .where(r.style_tokens.is_(None), (r.comparison_id > last[0]) | (
                (r.comparison_id == last[0]) & (r.side > last[1])))
            .order_by(r.comparison_id, r.side).limit(batch)).all()
        if not rows:
            return done
        driver_many(connection, update, [
            (*feature_values(style_features(text or "", tokens or 0)), cid, side) for cid, side, text, tokens in rows])
        done += len(rows)
        last = (rows[-1].comparison_id, rows[-1].side)


def _reply_total(side: str, expression: str) -> str:
    return f"(SELECT {expression} FROM {REPLIES.name} r WHERE r.comparison_id = {{table}}.id AND r.side = '{side}')"


_TOTALS_SQL = {"tokens": "coalesce(r.style_tokens, r.tokens)",
               "headers": " + ".join(f"r.header_h{level}" for level in range(1, 7)),
               "lists": "r.list_ordered + r.list_unordered", "bold": "r.bold_asterisks + r.bold_underscores"}


def backfill_totals(connection: Connection) -> None:
    """Copy the replies' style totals onto their comparisons, then onto every vote with the base model's side
    (after ``backfill``): one statement per table, the database does the work (row values, SQLite 3.15+)."""
    sets = ", ".join(f"{name} = " + _reply_total(name[0], _TOTALS_SQL[name[2:]]).format(table="comparisons")
                     for name in STYLE_TOTALS)
    connection.exec_driver_sql(f"UPDATE comparisons SET {sets}")
    columns = ", ".join(("base_side", *STYLE_TOTALS))
    connection.exec_driver_sql(
        f"UPDATE votes SET ({columns}) = (SELECT {columns} FROM comparisons c WHERE c.id = votes.comparison_id)")


