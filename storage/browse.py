"""Reads for people browsing the arena (the web's /battles): a filtered page of comparisons with their vote
counts, and the votes on one comparison. Called by ``SqlAlchemyRepository.browse`` and ``votes_on``."""

from __future__ import annotations

from sqlalchemy import ColumnElement, Connection, and_, exists, func, not_, select

from bot.domain import Choice, Counts, Vote
from bot.ports import UNVOTED, BrowsedComparison, ComparisonFilter, ComparisonPage
from storage.battles import outcome_sql
from storage.comparisons import load_comparisons
from storage.orm import COMPARISONS, VoteRow

_vote_outcome = outcome_sql(VoteRow.choice, COMPARISONS.c.base_side)


def _conditions(query: ComparisonFilter) -> list[ColumnElement[bool]]:
    c = COMPARISONS.c
    wanted = [(c.matchup, query.matchup), (c.platform, query.platform), (c.channel, query.channel)]
    conditions: list[ColumnElement[bool]] = [column == value for column, value in wanted if value]
    if query.search.strip():
        escaped = query.search.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        conditions.append(func.lower(c.prompt).like(f"%{escaped.lower()}%", escape="\\"))
    if query.since is not None:
        conditions.append(c.created_at >= query.since)
    if query.until is not None:
        conditions.append(c.created_at < query.until)
    on_comparison = VoteRow.comparison_id == c.id
    if query.outcome == UNVOTED:
        conditions.append(not_(exists().where(on_comparison)))
    elif query.outcome:
        conditions.append(exists().where(and_(on_comparison, _vote_outcome == query.outcome)))
    return conditions


def browse(connection: Connection, query: ComparisonFilter) -> ComparisonPage:
    conditions = _conditions(query)
    total = connection.execute(select(func.count()).select_from(COMPARISONS).where(*conditions)).scalar_one()
    ids = list(connection.execute(
        select(COMPARISONS.c.id).where(*conditions)
        .order_by(COMPARISONS.c.created_at.desc(), COMPARISONS.c.id)
        .offset(max(0, query.offset)).limit(max(1, query.limit))).scalars())
    found = load_comparisons(connection, ids)
    counts: dict[str, dict[str, int]] = {}
    for comparison_id, choice, n in connection.execute(
            select(VoteRow.comparison_id, VoteRow.choice, func.count())
            .where(VoteRow.comparison_id.in_(ids)).group_by(VoteRow.comparison_id, VoteRow.choice)):
        counts.setdefault(comparison_id, {})[choice] = n
    items = tuple(BrowsedComparison(found[i], Counts(**counts.get(i, {}))) for i in ids if i in found)
    return ComparisonPage(items=items, total=int(total))


def votes_on(connection: Connection, comparison_id: str) -> list[Vote]:
    v = VoteRow
    rows = connection.execute(select(v.voter, v.choice, v.created_at, v.updated_at, v.changes, v.feedback)
                              .where(v.comparison_id == comparison_id).order_by(v.id))
    return [Vote(comparison_id=comparison_id, voter=voter, choice=Choice(choice), created_at=created,
                 updated_at=updated, changes=changes, feedback=feedback)
            for voter, choice, created, updated, changes, feedback in rows]
