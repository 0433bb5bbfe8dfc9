"""What belongs to members and to the installation: a vote's reason (``feedback``), forgetting a member (their
votes, reasons and the comparisons they asked for, with every vote on them), and values chosen once per
installation (the export's secret salt)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from bot.ports import Forgotten
from storage.orm import COMPARISONS, INSTALLATION, VOTES


def record_feedback(connection: Connection, comparison_id: str, voter: str, text: str) -> bool:
    """Store ``text`` as the reason of ``voter``'s vote on the comparison (replacing any earlier one); False
    when they have no vote there."""
    v = VOTES.c
    result: Any = connection.execute(update(VOTES).where(v.comparison_id == comparison_id, v.voter == voter)
                                     .values(feedback=text))
    return bool(result.rowcount)


def forget(connection: Connection, voter: str, dry_run: bool) -> Forgotten:
    """Delete (or, with ``dry_run``, only count) the member's votes and reasons, and the comparisons they asked
    for with every vote on them; replies and CSV renderings go with their comparison (ON DELETE CASCADE)."""
    v, c = VOTES.c, COMPARISONS.c
    asked = select(c.id).where(c.requester == voter)
    own = v.voter == voter
    on_asked = v.comparison_id.in_(asked) & (v.voter != voter)
    counted = Forgotten(
        votes=_count(connection, own),
        reasons=_count(connection, own & (v.feedback != "")),
        comparisons=connection.execute(select(func.count()).select_from(COMPARISONS)
                                       .where(c.requester == voter)).scalar_one(),
        others_votes=_count(connection, on_asked),
    )
    if not dry_run:
        connection.execute(delete(VOTES).where(own | v.comparison_id.in_(asked)))
        connection.execute(delete(COMPARISONS).where(c.requester == voter))
    return counted


def _count(connection: Connection, condition: Any) -> int:
    return int(connection.execute(select(func.count()).select_from(VOTES).where(condition)).scalar_one())


def installation_value(connection: Connection, key: str, proposed: str) -> str:
    """The value stored under ``key``, storing ``proposed`` first when there is none: of processes starting at
    once, the first to commit wins and the others read its value."""
    insert_for = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
    connection.execute(insert_for(INSTALLATION).values(key=key, value=proposed)
                       .on_conflict_do_nothing(index_elements=[INSTALLATION.c.key]))
    return str(connection.execute(select(INSTALLATION.c.value).where(INSTALLATION.c.key == key)).scalar_one())
