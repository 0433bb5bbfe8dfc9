"""LLM judges' verdicts: stored one per judge and comparison (judging again replaces), read back with the members'
vote counts for agreement, and the finished comparisons a judge has yet to judge (for a backfill)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, exists, func, select
from sqlalchemy.dialects import postgresql, sqlite

from bot.domain import Choice, Counts, Side, Status
from bot.judgement import JudgedComparison, Judgement, JudgeStatus
from storage.orm import COMPARISONS, JUDGEMENTS, VOTES


def save_judgement(connection: Connection, j: Judgement) -> None:
    """Insert, or replace this judge's earlier judgement, in one statement: two processes judging the same
    comparison at once (two backfills) leave the last one, never an error."""
    insert_for = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
    values = {"comparison_id": j.comparison_id, "judge": j.judge, "status": j.status.value,
              "verdict": _value(j.verdict), "pick_first": _value(j.first), "pick_second": _value(j.second),
              "text_first": j.text_first, "text_second": j.text_second, "error": j.error,
              "latency_ms": j.latency_ms, "created_at": j.created_at}
    stmt = insert_for(JUDGEMENTS).values(values)
    replaced = {name: stmt.excluded[name] for name in values if name not in ("comparison_id", "judge")}
    connection.execute(stmt.on_conflict_do_update(index_elements=[JUDGEMENTS.c.comparison_id, JUDGEMENTS.c.judge],
                                                  set_=replaced))


def judged(connection: Connection, judge: str | None, where: Mapping[str, str | None]) -> list[JudgedComparison]:
    """Every judgement (of one judge, when named) on comparisons whose columns hold ``where``'s values (a None
    value: any), without its raw texts, with its comparison's sides and vote counts, oldest comparison first."""
    j, c = JUDGEMENTS.c, COMPARISONS.c
    kept = [column for column in JUDGEMENTS.c if column.name not in ("text_first", "text_second")]
    stmt = (select(*kept, c.matchup, c.model_a, c.model_b, c.base_side)
            .join(COMPARISONS, c.id == j.comparison_id).order_by(c.created_at, c.id, j.judge))
    for column, value in where.items():
        if value is not None:
            stmt = stmt.where(c[column] == value)
    if judge is not None:
        stmt = stmt.where(j.judge == judge)
    rows = connection.execute(stmt).all()
    ids = sorted({row.comparison_id for row in rows})
    counts: dict[str, dict[str, int]] = {}
    if ids:
        tally = (select(VOTES.c.comparison_id, VOTES.c.choice, func.count())
                 .where(VOTES.c.comparison_id.in_(ids)).group_by(VOTES.c.comparison_id, VOTES.c.choice))
        for comparison_id, choice, n in connection.execute(tally):
            counts.setdefault(comparison_id, {})[choice] = n
    return [JudgedComparison(judgement=_judgement(row._mapping), matchup=row.matchup, model_a=row.model_a,
                             model_b=row.model_b, base_side=Side(row.base_side),
                             votes=Counts(**counts.get(row.comparison_id, {})))
            for row in rows]


def unjudged(connection: Connection, judge: str, matchup: str | None, limit: int | None) -> list[str]:
    """The ids of finished comparisons with two answers that ``judge`` has no answer on (none stored, or only a
    failure, which may pass), oldest first."""
    j, c = JUDGEMENTS.c, COMPARISONS.c
    answered = exists().where(j.comparison_id == c.id, j.judge == judge, j.status != JudgeStatus.FAILED.value)
    stmt = (select(c.id).where(c.status == Status.DONE.value, c.reply_problem.is_(False), ~answered)
            .order_by(c.created_at, c.id))
    if matchup is not None:
        stmt = stmt.where(c.matchup == matchup)
    if limit is not None:
        stmt = stmt.limit(limit)
    return list(connection.execute(stmt).scalars())


def _value(choice: Choice | None) -> str | None:
    return choice.value if choice is not None else None


def _choice(value: str | None) -> Choice | None:
    return Choice(value) if value is not None else None


def _judgement(row: Any) -> Judgement:
    return Judgement(
        comparison_id=row["comparison_id"], judge=row["judge"], status=JudgeStatus(row["status"]),
        verdict=_choice(row["verdict"]), first=_choice(row["pick_first"]), second=_choice(row["pick_second"]),
        text_first=row.get("text_first", ""), text_second=row.get("text_second", ""), error=row["error"],
        latency_ms=row["latency_ms"], created_at=row["created_at"])
