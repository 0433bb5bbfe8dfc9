"""Repository.browse and votes_on, the same assertions on the in-memory fake, SQLite and PostgreSQL (unique
matchup names per test, so tests share a database)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from adapters.bootstrap import open_repository
from bot.domain import Choice, Comparison, Place, Reply, Side, Status
from bot.ports import UNVOTED, ComparisonFilter, Repository
from tests.fakes import InMemoryRepository

NOW = datetime(2026, 11, 22, 9, 30, tzinfo=UTC)


@pytest.fixture(params=["fake", "sqlite", "postgresql"])
async def repo(request: pytest.FixtureRequest) -> Repository:
    if request.param == "fake":
        return InMemoryRepository()
    if request.param == "sqlite":
        url = f"sqlite:///{request.getfixturevalue('tmp_path') / 'arena.db'}"
    else:
        url = str(request.getfixturevalue("postgres_url"))
    return await open_repository(url)


async def add(repo: Repository, matchup: str, prompt: str, minutes: int, base_side: Side = Side.A,
              platform: str = "discord", channel: str = "general") -> Comparison:
    c = Comparison(id=uuid.uuid4().hex[:16], prompt=prompt, matchup=matchup, model_a="m1", model_b="m2",
                   base_side=base_side, blind=True, requester="req", place=Place(platform, channel, "g"),
                   created_at=NOW + timedelta(minutes=minutes))
    await repo.add_comparison(c)
    c.reply_a, c.reply_b, c.status = Reply("one", 1, 1), Reply("two", 1, 1), Status.DONE
    await repo.save_result(c)
    return c


async def test_browse_filters_pages_and_counts(repo: Repository) -> None:
    m = f"m-{uuid.uuid4().hex[:8]}"
    dog = await add(repo, m, "Train my DOG to sit, 100% please", 0)
    cat = await add(repo, m, "Feed a cat_", 1, base_side=Side.B, platform="slack", channel="random")
    quiet = await add(repo, m, "Nobody votes here", 2)
    await repo.record_vote(dog.id, "v1", Choice.A, NOW)  # base on A: the base won
    await repo.record_vote(dog.id, "v2", Choice.TIE, NOW)
    await repo.record_vote(cat.id, "v1", Choice.A, NOW)  # base on B: the fine-tune won

    async def ids(**fields: object) -> list[str]:
        page = await repo.browse(ComparisonFilter(matchup=m, **fields))  # type: ignore[arg-type]
        return [item.comparison.id for item in page.items]

    assert await ids() == [quiet.id, cat.id, dog.id]  # newest first
    assert await ids(search="dog") == [dog.id]
    assert await ids(search="100%") == [dog.id] and await ids(search="t_") == [cat.id]  # wildcards are literal
    assert await ids(platform="slack") == [cat.id] and await ids(channel="general") == [quiet.id, dog.id]
    assert await ids(outcome="base") == [dog.id] and await ids(outcome="finetuned") == [cat.id]
    assert await ids(outcome="tie") == [dog.id] and await ids(outcome=UNVOTED) == [quiet.id]
    assert await ids(since=NOW + timedelta(minutes=1)) == [quiet.id, cat.id]
    assert await ids(until=NOW + timedelta(minutes=1)) == [dog.id]
    page = await repo.browse(ComparisonFilter(matchup=m, offset=1, limit=1))
    assert page.total == 3 and [i.comparison.id for i in page.items] == [cat.id]
    full = (await repo.browse(ComparisonFilter(matchup=m, search="dog"))).items[0]
    assert full.counts.a == 1 and full.counts.tie == 1 and full.comparison.reply_b.text == "two"


async def test_votes_on_one_comparison_oldest_first(repo: Repository) -> None:
    c = await add(repo, f"m-{uuid.uuid4().hex[:8]}", "prompt", 0)
    await repo.record_vote(c.id, "first", Choice.B, NOW)
    await repo.record_vote(c.id, "second", Choice.A, NOW + timedelta(seconds=1))
    await repo.record_vote(c.id, "first", Choice.TIE, NOW + timedelta(seconds=2))
    votes = await repo.votes_on(c.id)
    assert [(v.voter, v.choice, v.changes) for v in votes] == [("first", Choice.TIE, 1), ("second", Choice.A, 0)]
    assert await repo.votes_on("missing") == []
