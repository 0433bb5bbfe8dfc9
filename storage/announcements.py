"""Decision announcements: the channels where a matchup's votes were cast, and the claim, per channel, to tell
it that the vote is decided; a claim is an insert that loses to any earlier one, so every process and restart
together tell each channel once."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, select

from bot.domain import Place
from storage.orm import ANNOUNCEMENTS, COMPARISONS, VOTES


def vote_places(connection: Connection, matchup: str) -> list[Place]:
    """Every channel with a vote on the matchup (the places of the comparisons voted on)."""
    c = COMPARISONS.c
    rows = connection.execute(
        select(c.platform, c.server, c.channel).distinct().select_from(VOTES)
        .join(COMPARISONS, c.id == VOTES.c.comparison_id).where(VOTES.c.matchup == matchup)
        .order_by(c.platform, c.server, c.channel)).all()
    return [Place(platform=platform, server=server, channel=channel) for platform, server, channel in rows]


def claim(connection: Connection, matchup: str, places: Sequence[Place], state: str, at: datetime) -> list[Place]:
    """The places among ``places`` not told yet, now marked as told (the caller tells them)."""
    dialect = connection.dialect
    when = ANNOUNCEMENTS.c.announced_at.type.dialect_impl(dialect).bind_processor(dialect)
    sql = (f"INSERT INTO {ANNOUNCEMENTS.name} (matchup, platform, server, channel, state, announced_at) "
           "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING")  # SQLite 3.24+, PostgreSQL 9.5+
    if dialect.paramstyle != "qmark":
        sql = sql.replace("?", "%s")
    claimed = []
    for place in places:
        result = connection.exec_driver_sql(sql, (matchup, place.platform, place.server, place.channel, state,
                                                  when(at) if when else at))
        if result.rowcount == 1:
            claimed.append(place)
    return claimed
