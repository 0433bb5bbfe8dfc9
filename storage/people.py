"""What belongs to members and to the installation: a vote's reason (``feedback``), forgetting a member (their
votes, reasons and the comparisons they asked for, with every vote on them), and values chosen once per
installation (the export's secret salt)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from bot.ports import Forgotten
from storage.orm import COMPARISONS, INSTALLATION, RATE_SLOTS, VOTES


def record_feedback(connection: Connection, comparison_id: str, voter: str, text: str) -> bool:
    """Store ``text`` as the reason of ``voter``'s vote on the comparison (replacing any earlier one); False
    when they have no vote there."""
    v = VOTES.c
    result: Any = connection.execute(update(VOTES).where(v.comparison_id == comparison_id, v.voter == voter)
                                     .values(feedback=text))
    return bool(result.rowcount)


def forget(connection: Connection, voter: str, dry_run: bool) -> Forgotten:
    """Delete (or, with ``dry_run``, only count) the member's votes and reasons, and the comparisons that hold
    their words with every vote on them: those they asked for, the later turns of a conversation they took part in
    (each carries the turns before it) and the regenerations of those. Replies and CSV renderings go with their
    comparison (ON DELETE CASCADE); their rate-limit window goes too."""
    v = VOTES.c
    asked = _holding_their_words(connection, voter)
    own = v.voter == voter
    on_asked = v.comparison_id.in_(asked) & (v.voter != voter)
    counted = Forgotten(votes=_count(connection, own), reasons=_count(connection, own & (v.feedback != "")),
                        comparisons=len(asked), others_votes=_count(connection, on_asked))
    if not dry_run:
        connection.execute(delete(VOTES).where(own | v.comparison_id.in_(asked)))
        connection.execute(delete(COMPARISONS).where(COMPARISONS.c.id.in_(asked)))
        connection.execute(delete(RATE_SLOTS).where(RATE_SLOTS.c.member == voter))
    return counted


def _holding_their_words(connection: Connection, voter: str) -> list[str]:
    """The ids of the comparisons the member asked for, then, until nothing is added, the later turns of their
    conversations and the regenerations of any of these. Forgetting is rare: a few small queries are fine."""
    c = COMPARISONS.c
    rows = {r.id: (r.conversation_id or r.id, r.turn) for r in connection.execute(
        select(c.id, c.conversation_id, c.turn).where(c.requester == voter))}
    frontier = dict(rows)
    while frontier:
        conversations = {conversation for conversation, _ in frontier.values()}
        first_turn = {conversation: min(turn for conv, turn in frontier.values() if conv == conversation)
                      for conversation in conversations}
        found = connection.execute(select(c.id, c.conversation_id, c.turn, c.regenerated_from).where(
            c.conversation_id.in_(conversations) | c.regenerated_from.in_(list(frontier)))).all()
        frontier = {r.id: (r.conversation_id or r.id, r.turn) for r in found if r.id not in rows and (
            r.regenerated_from in frontier or r.turn > first_turn.get(r.conversation_id or r.id, r.turn))}
        rows.update(frontier)
    return list(rows)


def _count(connection: Connection, condition: Any) -> int:
    return int(connection.execute(select(func.count()).select_from(VOTES).where(condition)).scalar_one())


def installation_value(connection: Connection, key: str, proposed: str) -> str:
    """The value stored under ``key``, storing ``proposed`` first when there is none: of processes starting at
    once, the first to commit wins and the others read its value."""
    insert_for = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
    connection.execute(insert_for(INSTALLATION).values(key=key, value=proposed)
                       .on_conflict_do_nothing(index_elements=[INSTALLATION.c.key]))
    return str(connection.execute(select(INSTALLATION.c.value).where(INSTALLATION.c.key == key)).scalar_one())
