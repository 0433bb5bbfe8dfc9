"""The Repository contract for what belongs to members and to the installation: a vote's reason, forgetting a
member, per-installation values; on the in-memory fake, SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import dataclasses
import io
import json
import uuid
from datetime import timedelta

import pytest

from bot import conversation, export
from bot.domain import Choice, Comparison, Reply, Status
from bot.ports import Forgotten, Repository
from bot.statistics.slices import BattleQuery
from tests.contract.test_repository_contract import NOW, finished, new_comparison
from tests.support.csv_reference import reference_csv


def member() -> str:
    return f"discord:{uuid.uuid4().int % 10**12}"


async def asked_by(repo: Repository, requester: str) -> str:
    c = dataclasses.replace(new_comparison(f"m-{uuid.uuid4().hex}"), requester=requester)
    await repo.add_comparison(c)
    c.reply_a, c.reply_b, c.status = Reply("one", 1, 10), Reply("two", 1, 10), Status.DONE
    await repo.save_result(c)
    return c.id


async def jsonl_rows(repo: Repository, fmt: str = "jsonl") -> list[dict[str, object]]:
    out = io.StringIO()
    battles = await asyncio.to_thread(lambda: list(repo.iter_battles(by_comparison=fmt in export.PREFERENCE_FORMATS)))
    export.FORMATS[fmt](battles, out, export.ExportOptions())
    return [json.loads(line) for line in out.getvalue().splitlines()]


@pytest.mark.asyncio
async def test_a_reason_is_stored_replaced_and_cleared_when_the_choice_changes(repo: Repository) -> None:
    c = await finished(repo, f"m-{uuid.uuid4().hex}")
    alice = member()
    assert not await repo.record_feedback(c.id, alice, "no vote yet")
    await repo.record_vote(c.id, alice, Choice.A, NOW)
    assert await repo.record_feedback(c.id, alice, "shorter, to the point")
    assert await repo.record_feedback(c.id, alice, "it answered, \"B\" rambled\nfor lines")
    [vote] = await repo.votes_on(c.id)
    assert vote.feedback == "it answered, \"B\" rambled\nfor lines"
    await repo.record_vote(c.id, alice, Choice.A, NOW + timedelta(seconds=1))  # the same choice again: kept
    [vote] = await repo.votes_on(c.id)
    assert vote.feedback.startswith("it answered")
    await repo.record_vote(c.id, alice, Choice.B, NOW + timedelta(seconds=2))
    [vote] = await repo.votes_on(c.id)
    assert vote.choice is Choice.B and vote.feedback == ""


@pytest.mark.asyncio
async def test_forget_removes_a_members_votes_reasons_and_comparisons_with_every_vote_on_them(
        repo: Repository) -> None:
    alice, bob = member(), member()
    theirs = await asked_by(repo, alice)
    others = await asked_by(repo, bob)
    await repo.record_vote(theirs, bob, Choice.A, NOW)
    await repo.record_vote(theirs, alice, Choice.B, NOW)
    await repo.record_vote(others, alice, Choice.TIE, NOW)
    await repo.record_vote(others, bob, Choice.B, NOW)
    await repo.record_feedback(others, alice, "both fine")

    expected = Forgotten(votes=2, reasons=1, comparisons=1, others_votes=1)
    assert await repo.forget(alice, dry_run=True) == expected
    assert len(await repo.votes_on(theirs)) == 2  # a dry run deletes nothing
    assert await repo.forget(alice) == expected

    assert await repo.get_comparison(theirs) is None
    assert [v.voter for v in await repo.votes_on(others)] == [bob]
    rows = [row for row in await jsonl_rows(repo) if row["question_id"] in (theirs, others)]
    assert [(row["question_id"], row["judge"]) for row in rows] == [(others, export.pseudonym(bob))]
    assert await repo.forget(alice) == Forgotten(0, 0, 0, 0)


async def stored(repo: Repository, c: Comparison) -> str:
    await repo.add_comparison(c)
    c.reply_a, c.reply_b, c.status = Reply("one", 1, 10), Reply("two", 1, 10), Status.DONE
    await repo.save_result(c)
    return c.id


@pytest.mark.asyncio
async def test_forget_removes_the_later_turns_and_regenerations_that_carry_a_members_words(
        repo: Repository) -> None:
    alice, bob = member(), member()
    first = dataclasses.replace(new_comparison(f"m-{uuid.uuid4().hex}"), requester=bob)
    await stored(repo, first)
    first = await repo.get_comparison(first.id)
    assert first is not None
    # Bob starts; Alice asks turn 2; Bob asks turn 3 (which carries Alice's turn 2) and regenerates turn 2.
    second = conversation.next_turn(first, "Alice asks this", uuid.uuid4().hex[:16], alice, first.place, NOW)
    await stored(repo, second)
    second = await repo.get_comparison(second.id)
    assert second is not None
    third = conversation.next_turn(second, "Bob again", uuid.uuid4().hex[:16], bob, first.place, NOW)
    again = conversation.rerun(second, second.model_a, second.model_b, second.base_side, uuid.uuid4().hex[:16],
                               bob, first.place, NOW)
    for c in (third, again):
        await stored(repo, c)
    await repo.record_vote(third.id, bob, Choice.A, NOW)

    assert await repo.forget(alice) == Forgotten(votes=0, reasons=0, comparisons=3, others_votes=1)
    assert await repo.get_comparison(first.id) is not None  # Bob's first turn holds nothing of Alice's
    assert [await repo.get_comparison(c.id) for c in (second, third, again)] == [None, None, None]


@pytest.mark.asyncio
async def test_an_installation_value_is_stored_once(repo: Repository) -> None:
    key = f"k-{uuid.uuid4().hex[:8]}"
    assert await repo.installation_value(key, "first") == "first"
    assert await repo.installation_value(key, "second") == "first"


@pytest.mark.asyncio
async def test_the_csv_export_quotes_reasons_as_the_csv_module_does(repo: Repository) -> None:
    """The fast CSV path (stitched by the database) agrees byte for byte with the csv module on reasons."""
    c = await finished(repo, f"m-{uuid.uuid4().hex}")
    reasons = {member(): text for text in ("plain", 'with, comma', 'a "quote"', "two\nlines", "cr\r\nlf", "", "%_")}
    for voter, text in reasons.items():
        await repo.record_vote(c.id, voter, Choice.A, NOW)
        if text:
            await repo.record_feedback(c.id, voter, text)
    query = BattleQuery(matchup=c.matchup, drop_identity_leaks=False, drop_failed=False)
    out = io.StringIO()
    assert await asyncio.to_thread(repo.write_csv, out, export.ExportOptions(), query) == len(reasons)
    battles = await asyncio.to_thread(lambda: list(repo.iter_battles(query)))
    assert out.getvalue() == reference_csv(battles)
    assert sorted(b.vote.feedback for b in battles) == sorted(reasons.values())
