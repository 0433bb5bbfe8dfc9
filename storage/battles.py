"""Votes read as battles: a BattleQuery's slice and quality filters as SQL conditions, the grouped counts the
statistics need (counted by the database), and battles streamed with their comparisons for the exports."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import ColumnElement, Connection, case, func, select

from bot.domain import Choice, Side, Vote
from bot.outcomes import WINNER, outcome
from bot.ports import Battle, OutcomeCount
from bot.statistics.battles import BattleCount
from bot.statistics.slices import BattleQuery, BattleSet, FilterStep
from storage.comparisons import REPLY_FIELDS, comparison_from, reply_from
from storage.orm import COMPARISONS, REPLIES, VOTES, ComparisonRow, VoteRow

EXPORT_BATCH = 1000
RAW = BattleQuery(drop_identity_leaks=False, drop_failed=False)


def winner_sql(choice: Any) -> ColumnElement[str]:
    """``bot.outcomes.WINNER`` in SQL: the lmsys ``winner`` of a stored choice."""
    return case({c.value: winner for c, winner in WINNER.items()}, value=choice)


def outcome_sql(choice: Any, base_side: Any) -> ColumnElement[str]:
    """``bot.outcomes.outcome`` in SQL, built from it: what a stored choice means for the fine-tuned model."""
    whens: list[tuple[ColumnElement[bool], str]] = []
    for c in Choice:
        by_side = {side: outcome(c, side) for side in Side}
        if len(set(by_side.values())) == 1:  # the same whichever side the base model was on
            whens.append((choice == c.value, by_side[Side.A]))
        else:
            whens.extend(((choice == c.value) & (base_side == side.value), found) for side, found in by_side.items())
    return case(*whens)


def slice_conditions(query: BattleQuery) -> list[ColumnElement[bool]]:
    v = VoteRow
    wanted: list[tuple[Any, Any]] = [(v.matchup, query.matchup), (v.platform, query.platform),
                                     (v.server, query.server), (v.channel, query.channel), (v.voter, query.voter)]
    conditions = [column == value for column, value in wanted if value is not None]
    if query.without_voters:
        conditions.append(v.voter.not_in(query.without_voters))
    if query.since is not None:
        conditions.append(v.updated_at >= query.since)
    if query.until is not None:
        conditions.append(v.updated_at < query.until)
    return conditions


def conditions(query: BattleQuery, filters: bool = True) -> list[ColumnElement[bool]]:
    """The slice, then (with ``filters``) the quality filters; the daily cap is counted apart (``_capped``)."""
    found = slice_conditions(query)
    if filters and query.drop_identity_leaks:
        found.append(VoteRow.identity_leak.is_(False))
    if filters and query.drop_failed:
        found.append(VoteRow.reply_problem.is_(False))
    return found


def export_conditions(query: BattleQuery | None) -> list[ColumnElement[bool]]:
    """What an export reads: the slice and filters of ``query``, or every vote."""
    return conditions(query or RAW, filters=query is not None)


def has_later_turns(connection: Connection, query: BattleQuery | None) -> bool:
    """Whether a vote of the export's slice is on a comparison past a conversation's first turn."""
    c, v = COMPARISONS.c, VoteRow
    found = select(v.id).join(COMPARISONS, c.id == v.comparison_id).where(c.turn > 1, *export_conditions(query))
    return connection.execute(select(found.exists())).scalar_one() is True


def outcome_counts(connection: Connection, matchup: str | None) -> list[OutcomeCount]:
    c, v = ComparisonRow, VoteRow
    base_model = case((c.base_side == Side.A.value, c.model_a), else_=c.model_b)
    finetuned_model = case((c.base_side == Side.A.value, c.model_b), else_=c.model_a)
    found = outcome_sql(v.choice, c.base_side)
    query = (select(c.matchup, base_model, finetuned_model, found, func.count())
             .join(v, v.comparison_id == c.id).group_by(c.matchup, base_model, finetuned_model, found))
    if matchup is not None:
        query = query.where(c.matchup == matchup)
    return [OutcomeCount(matchup=m, base_model=b, finetuned_model=f, outcome=o, count=n)
            for m, b, f, o, n in connection.execute(query).all()]


def battle_set(connection: Connection, query: BattleQuery) -> BattleSet:
    """Grouped (model_a, model_b, outcome) counts with each filter's toll, in one pass over the votes."""
    v = VoteRow
    # In the order of ix_votes_board, so the database can count from the index alone.
    keys = (v.model_a, v.model_b, v.choice, v.identity_leak, v.reply_problem)
    rows = [(a, b, WINNER[Choice(choice)], leak, bad, n) for a, b, choice, leak, bad, n in connection.execute(
        select(*keys, func.count()).where(*slice_conditions(query)).group_by(*keys)).all()]
    sliced = sum(n for *_, n in rows)
    steps = []
    if query.drop_identity_leaks:
        steps.append(FilterStep("identity leak", sum(n for *_, leak, _, n in rows if leak)))
        rows = [r for r in rows if not r[3]]
    if query.drop_failed:
        steps.append(FilterStep("failed or empty reply", sum(n for *_, bad, n in rows if bad)))
        rows = [r for r in rows if not r[4]]
    grouped: dict[tuple[str, str, str], int] = {}
    for a, b, winner, _, _, n in rows:
        grouped[(a, b, winner)] = grouped.get((a, b, winner), 0) + n
    if query.daily_cap is not None:
        capped = _capped(connection, query)
        steps.append(FilterStep(f"more than {query.daily_cap} votes per voter per day",
                                sum(grouped.values()) - sum(capped.values())))
        grouped = capped
    counts = tuple(BattleCount(a, b, winner, n) for (a, b, winner), n in grouped.items() if n)
    return BattleSet(counts=counts, sliced=sliced, steps=tuple(steps))


def _capped(connection: Connection, query: BattleQuery) -> dict[tuple[str, str, str], int]:
    """Grouped counts keeping each voter's first ``daily_cap`` votes of every UTC day."""
    v = VoteRow
    on_pg = connection.dialect.name == "postgresql"
    # Days in UTC on both backends (PostgreSQL would otherwise use its own time zone).
    day = func.date(func.timezone("UTC", v.updated_at)) if on_pg else func.date(v.updated_at)
    numbered = (select(v.model_a, v.model_b, winner_sql(v.choice).label("winner"), func.row_number().over(
        partition_by=(v.voter, day), order_by=v.id).label("n")).where(*conditions(query)).subquery())
    rows = connection.execute(
        select(numbered.c.model_a, numbered.c.model_b, numbered.c.winner, func.count())
        .where(numbered.c.n <= query.daily_cap)
        .group_by(numbered.c.model_a, numbered.c.model_b, numbered.c.winner)).all()
    return {(a, b, winner): n for a, b, winner, n in rows}


def votes_per_voter(connection: Connection, query: BattleQuery) -> list[int]:
    stmt = select(func.count()).select_from(VoteRow).where(*conditions(query)).group_by(VoteRow.voter)
    return [int(n) for n in connection.execute(stmt).scalars()]


def iter_battles(connection: Connection, query: BattleQuery | None, by_comparison: bool) -> Iterator[Battle]:
    # Plain columns, not ORM objects: nothing piles up in a session however many rows stream by.
    c, v = COMPARISONS.c, VOTES.c
    ra, rb = REPLIES.alias("ra"), REPLIES.alias("rb")
    columns = [*(col.label(f"c_{col.name}") for col in c), *(col.label(f"v_{col.name}") for col in v),
               *(ra.c[n].label(f"a_{n}") for n in REPLY_FIELDS), *(rb.c[n].label(f"b_{n}") for n in REPLY_FIELDS)]
    order = (v.comparison_id, v.id) if by_comparison else (v.id,)
    statement = (select(*columns).select_from(VOTES)
                 .join(COMPARISONS, c.id == v.comparison_id)
                 .outerjoin(ra, (ra.c.comparison_id == c.id) & (ra.c.side == Side.A.value))
                 .outerjoin(rb, (rb.c.comparison_id == c.id) & (rb.c.side == Side.B.value))
                 .where(*export_conditions(query))
                 .order_by(*order)
                 .execution_options(yield_per=EXPORT_BATCH))
    for row in connection.execute(statement).mappings():
        comparison = comparison_from(row, reply_from(row, "a_"), reply_from(row, "b_"), prefix="c_")
        vote = Vote(comparison_id=row["v_comparison_id"], voter=row["v_voter"], choice=Choice(row["v_choice"]),
                    created_at=row["v_created_at"], updated_at=row["v_updated_at"], changes=row["v_changes"],
                    feedback=row["v_feedback"] or "")
        yield Battle(comparison=comparison, vote=vote)
