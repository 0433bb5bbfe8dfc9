"""The Repository contract for conversations, on the fake, SQLite and PostgreSQL: a later turn and a regenerated
comparison keep their links, history and dropped-turn counts, and the CSV fast path renders them byte for byte as
the csv module does from the battles."""

from __future__ import annotations

import asyncio
import io
import uuid
from dataclasses import replace
from datetime import timedelta

import pytest

from bot.domain import Choice, Exchange, Reply, Side, Status
from bot.export import ExportOptions
from bot.ports import Repository
from bot.statistics.slices import BattleQuery
from tests.contract.test_repository_contract import NOW, battles_of, new_comparison
from tests.support.csv_reference import reference_csv

HISTORY = (Exchange("Name a dog breed,\n\"please\"", "Dogs are ✓", "Border collie"),
           Exchange("Why?", "", "It herds sheep."))


async def turn_three(repository: Repository, matchup: str, base_side: Side = Side.A) -> tuple[str, str]:
    """A third turn with a vote, and a regeneration of it (sides swapped) with a vote; their ids."""
    first = new_comparison(matchup, base_side)
    later = replace(new_comparison(matchup, base_side), prompt="Thanks, and sheep?", conversation_id=first.id,
                    turn=3, history=HISTORY)
    await repository.add_comparison(later)
    later.reply_a, later.reply_b = Reply("Sheep, yes.", 3, 40, dropped_turns=1), Reply("Baa", 1, 30)
    later.status = Status.DONE
    await repository.save_result(later)
    again = replace(later, id=uuid.uuid4().hex[:16], regenerated_from=later.id, base_side=base_side,
                    reply_a=Reply(), reply_b=Reply(), status=Status.RUNNING)
    await repository.add_comparison(again)
    again.reply_a, again.reply_b, again.status = Reply("Other", 1, 9), Reply("Sheep!", 1, 8), Status.DONE
    await repository.save_result(again)
    await repository.record_vote(later.id, "alice", Choice.A, NOW)
    await repository.record_vote(again.id, "alice", Choice.B, NOW + timedelta(seconds=1))
    return later.id, again.id


@pytest.mark.asyncio
async def test_a_later_turn_and_a_regeneration_round_trip(repo: Repository) -> None:
    later_id, again_id = await turn_three(repo, f"m-{uuid.uuid4().hex}")
    later, again = await repo.get_comparison(later_id), await repo.get_comparison(again_id)
    assert later is not None and again is not None
    assert (later.turn, later.history, later.regenerated_from) == (3, HISTORY, None)
    assert later.conversation_id == again.conversation_id and later.conversation_id is not None
    assert (later.reply_a.dropped_turns, later.reply_b.dropped_turns) == (1, 0)
    assert again.regenerated_from == later_id and again.turn == 3


@pytest.mark.asyncio
async def test_a_first_turn_has_no_conversation_links(repo: Repository) -> None:
    c = new_comparison(f"m-{uuid.uuid4().hex}")
    await repo.add_comparison(c)
    loaded = await repo.get_comparison(c.id)
    assert loaded is not None
    assert (loaded.turn, loaded.history, loaded.conversation_id, loaded.regenerated_from) == (1, (), None, None)
    assert loaded.conversation == c.id


@pytest.mark.asyncio
async def test_battles_and_the_csv_fast_path_carry_the_whole_conversation(repo: Repository) -> None:
    name = f"m-{uuid.uuid4().hex}"
    await turn_three(repo, name)
    await turn_three(repo, name, Side.B)
    query = BattleQuery(matchup=name, drop_failed=False)
    battles = await battles_of(repo, query)
    assert [b.comparison.history for b in battles] == [HISTORY] * 4
    out = io.StringIO()
    rows = await asyncio.to_thread(repo.write_csv, out, ExportOptions(salt="pepper"), query)
    reference = reference_csv(battles, ExportOptions(salt="pepper"))
    assert out.getvalue() == reference and rows == 4
    assert '""content"": ""Why?""' in reference and ",3,True,," in reference


@pytest.mark.asyncio
async def test_has_later_turns_looks_at_the_export_slice_only(repo: Repository) -> None:
    conversation, single = f"m-{uuid.uuid4().hex}", f"m-{uuid.uuid4().hex}"
    await turn_three(repo, conversation)
    first = new_comparison(single)
    await repo.add_comparison(first)
    first.reply_a, first.reply_b, first.status = Reply("x", 1, 1), Reply("y", 1, 1), Status.DONE
    await repo.save_result(first)
    await repo.record_vote(first.id, "bob", Choice.A, NOW)
    assert await repo.has_later_turns(BattleQuery(matchup=conversation, drop_failed=False))
    assert not await repo.has_later_turns(BattleQuery(matchup=single, drop_failed=False))
    assert not await repo.has_later_turns(BattleQuery(matchup=conversation, voter="nobody", drop_failed=False))
    assert await repo.has_later_turns(None)
