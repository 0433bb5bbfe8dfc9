"""Channel control in the database: the settings admins set per server and channel, and the shared rate limit's
sliding windows (one row per member, read and written under that row's lock)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import Connection, Table, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite

from bot.channels import StoredSetting
from storage.orm import CHANNEL_SETTINGS, RATE_SLOTS


def _insert(connection: Connection, table: Table) -> postgresql.Insert | sqlite.Insert:
    """The dialect's INSERT, which has ON CONFLICT (both backends we support do)."""
    return postgresql.insert(table) if connection.dialect.name == "postgresql" else sqlite.insert(table)


def scope_settings(connection: Connection, platform: str, server: str, channel: str) -> list[StoredSetting]:
    t = CHANNEL_SETTINGS.c
    rows = connection.execute(select(t.channel, t.key, t.value).where(
        t.platform == platform, t.server == server, t.channel.in_(["", channel]))).all()
    return [StoredSetting(channel=row.channel, key=row.key, value=row.value) for row in rows]


def put_settings(connection: Connection, platform: str, server: str, channel: str,
                 values: Mapping[str, str | None], by: str, at: datetime) -> None:
    t = CHANNEL_SETTINGS.c
    for key, value in values.items():
        if value is None:
            connection.execute(delete(CHANNEL_SETTINGS).where(
                t.platform == platform, t.server == server, t.channel == channel, t.key == key))
            continue
        # An upsert: two admins setting one key at once both succeed, the later commit winning.
        row = _insert(connection, CHANNEL_SETTINGS).values(platform=platform, server=server, channel=channel,
                                                           key=key, value=value, updated_by=by, updated_at=at)
        connection.execute(row.on_conflict_do_update(
            index_elements=[t.platform, t.server, t.channel, t.key],
            set_={"value": row.excluded.value, "updated_by": row.excluded.updated_by,
                  "updated_at": row.excluded.updated_at}))


def take_rate_slot(connection: Connection, member: str, limit: int, window_s: float, at: datetime) -> float:
    """The sliding window of bot/ratelimit.py, made atomic: the upsert first takes the member's row lock on
    PostgreSQL (the write lock on SQLite), so a second process counting the same member waits for this one to
    commit and then reads its hit."""
    now = at.timestamp()
    upsert = _insert(connection, RATE_SLOTS).values(member=member, hits="", latest=now)
    # RETURNING reads the locked row in the same statement: one round trip fewer (PostgreSQL, SQLite >= 3.35).
    stored = connection.execute(upsert.on_conflict_do_update(
        index_elements=[RATE_SLOTS.c.member], set_={"hits": RATE_SLOTS.c.hits}).returning(RATE_SLOTS.c.hits)
    ).scalar_one()
    hits = [hit for hit in (float(text) for text in stored.split()) if now - hit < window_s]
    if len(hits) >= limit:
        return hits[len(hits) - limit] + window_s - now
    hits.append(now)
    connection.execute(update(RATE_SLOTS).where(RATE_SLOTS.c.member == member).values(
        hits=" ".join(f"{hit:.6f}" for hit in hits), latest=now))
    return 0.0


def prune_rate_slots(connection: Connection, before: datetime) -> int:
    result = connection.execute(delete(RATE_SLOTS).where(RATE_SLOTS.c.latest < before.timestamp()))
    return int(result.rowcount or 0)
