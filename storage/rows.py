"""Stored rows back into domain objects: comparisons with their replies."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, select

from bot.domain import Comparison, Place, Reply, Side, Status
from storage.writes import COMPARISONS, REPLIES


def load_comparisons(connection: Connection, ids: Sequence[str]) -> dict[str, Comparison]:
    """The comparisons with these ids that exist, with their replies, by id."""
    rows = connection.execute(select(COMPARISONS).where(COMPARISONS.c.id.in_(ids))).all()
    replies: dict[tuple[str, str], Any] = {
        (r.comparison_id, r.side): r
        for r in connection.execute(select(REPLIES).where(REPLIES.c.comparison_id.in_(ids)))}
    return {row.id: comparison_from(row, replies.get((row.id, "a")), replies.get((row.id, "b"))) for row in rows}


def reply_from(row: Any) -> Reply:
    if row is None:
        return Reply()
    return Reply(text=row.text, tokens=row.tokens, latency_ms=row.latency_ms, error=row.error)


def comparison_from(row: Any, reply_a: Any, reply_b: Any) -> Comparison:
    return Comparison(
        id=row.id, prompt=row.prompt, matchup=row.matchup, model_a=row.model_a, model_b=row.model_b,
        base_side=Side(row.base_side), blind=row.blind, requester=row.requester,
        place=Place(platform=row.platform, channel=row.channel, server=row.server),
        created_at=row.created_at, status=Status(row.status), reply_a=reply_from(reply_a),
        reply_b=reply_from(reply_b), identity_leak=row.identity_leak,
    )
