"""Comparisons: written in batches (new ones, then finished ones with their replies), and read back, with
their replies, into domain objects (the one mapping from stored rows to a Comparison)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, select

from bot.domain import Comparison, Exchange, Place, Reply, Side, Status
from storage.driver import driver_many, insert_many
from storage.orm import COMPARISONS, REPLIES
from storage.reply_style import STYLE_COLUMNS, STYLE_TOTALS, style_totals, style_values

COMPARISON_COLUMNS = ("id", "prompt", "matchup", "model_a", "model_b", "base_side", "blind", "requester", "platform",
                      "server", "channel", "status", "created_at", "identity_leak", "reply_problem",
                      "conversation_id", "turn", "history", "regenerated_from")
REPLY_COLUMNS = ("comparison_id", "side", "model", "text", "tokens", "latency_ms", "error", "cut", "dropped_turns",
                 *STYLE_COLUMNS)
REPLY_FIELDS = ("text", "tokens", "latency_ms", "error", "cut", "dropped_turns")
ADD, SAVE = "add", "save"
Write = tuple[str, Comparison]  # (ADD or SAVE, the comparison)


def write_comparisons(requests: list[Write], connection: Connection) -> list[Exception | None]:
    """New comparisons first, then finished ones (a comparison is always added before it is saved), each
    kind as one ``executemany`` per table."""
    added = [c for kind, c in requests if kind == ADD]
    saved = [c for kind, c in requests if kind == SAVE]
    if added:
        # Stored times in the form SQLAlchemy gives them (SQLite keeps text), so every reader sees one format.
        dialect = connection.dialect
        time_type = COMPARISONS.c.created_at.type.dialect_impl(dialect)
        when: Callable[[Any], Any] = time_type.bind_processor(dialect) or _as_is
        insert_many(connection, COMPARISONS.name, COMPARISON_COLUMNS, [
            (c.id, c.prompt, c.matchup, c.model_a, c.model_b, c.base_side.value, c.blind, c.requester,
             c.place.platform, c.place.server, c.place.channel, c.status.value, when(c.created_at), False, False,
             c.conversation_id, c.turn, history_json(c.history), c.regenerated_from)
            for c in added])
    if saved:
        ids = [(c.id,) for c in saved]
        totals = "".join(f", {name} = ?" for name in STYLE_TOTALS)
        driver_many(connection, f"UPDATE {COMPARISONS.name} SET status = ?, identity_leak = ?, reply_problem = ?"
                     f"{totals} WHERE id = ?", [(c.status.value, c.identity_leak, c.reply_problem,
                                                 *style_totals(c.reply_a, c.reply_b), c.id) for c in saved])
        # Saving again replaces the replies.
        driver_many(connection, f"DELETE FROM {REPLIES.name} WHERE comparison_id = ?", ids)
        insert_many(connection, REPLIES.name, REPLY_COLUMNS, [
            (c.id, side.value, c.model_on(side), c.reply(side).text, c.reply(side).tokens, c.reply(side).latency_ms,
             c.reply(side).error, c.reply(side).cut, c.reply(side).dropped_turns, *style_values(c.reply(side)))
            for c in saved for side in Side])
    return [None] * len(requests)


def _as_is(value: Any) -> Any:
    return value


def history_json(history: Sequence[Exchange]) -> str | None:
    """Earlier turns as stored: ``[[prompt, answer_a, answer_b], …]``, or NULL for a first turn."""
    if not history:
        return None
    return json.dumps([[t.prompt, t.answer_a, t.answer_b] for t in history], ensure_ascii=False)


def history_from(stored: str | None) -> tuple[Exchange, ...]:
    return tuple(Exchange(*turn) for turn in json.loads(stored)) if stored else ()


def load_comparisons(connection: Connection, ids: Sequence[str]) -> dict[str, Comparison]:
    """The comparisons with these ids that exist, with their replies, by id."""
    rows = connection.execute(select(COMPARISONS).where(COMPARISONS.c.id.in_(ids))).all()
    replies: dict[tuple[str, str], Any] = {
        (r.comparison_id, r.side): r._mapping
        for r in connection.execute(select(REPLIES).where(REPLIES.c.comparison_id.in_(ids)))}
    return {row.id: comparison_from(row._mapping, reply_from(replies.get((row.id, "a"))),
                                    reply_from(replies.get((row.id, "b")))) for row in rows}


def reply_from(row: Mapping[Any, Any] | None, prefix: str = "") -> Reply:
    """A stored reply (its columns named ``prefix`` + field); none stored yet: an empty one."""
    if row is None or row[f"{prefix}text"] is None:
        return Reply()
    return Reply(text=row[f"{prefix}text"], tokens=row[f"{prefix}tokens"], latency_ms=row[f"{prefix}latency_ms"],
                 error=row[f"{prefix}error"], cut=bool(row[f"{prefix}cut"]),
                 dropped_turns=row[f"{prefix}dropped_turns"] or 0)


def comparison_from(row: Mapping[Any, Any], reply_a: Reply, reply_b: Reply, prefix: str = "") -> Comparison:
    """A stored comparison (its columns named ``prefix`` + column) with its replies."""
    def get(name: str) -> Any:
        return row[prefix + name]

    return Comparison(
        id=get("id"), prompt=get("prompt"), matchup=get("matchup"), model_a=get("model_a"), model_b=get("model_b"),
        base_side=Side(get("base_side")), blind=get("blind"), requester=get("requester"),
        place=Place(platform=get("platform"), channel=get("channel"), server=get("server")),
        created_at=get("created_at"), status=Status(get("status")), reply_a=reply_a, reply_b=reply_b,
        identity_leak=get("identity_leak"), conversation_id=get("conversation_id"), turn=get("turn") or 1,
        history=history_from(get("history")), regenerated_from=get("regenerated_from"),
    )
