"""The Repository port's contract, held by every implementation: the in-memory fake the unit tests use, and
SqlAlchemyRepository on real SQLite and PostgreSQL (unique ids per test, so tests share a database)."""

from __future__ import annotations

import asyncio
import io
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from bot.domain import Choice, Comparison, Place, Reply, Side, Status
from bot.errors import UnknownComparisonError
from bot.export import ExportOptions
from bot.ports import Battle, Repository
from bot.statistics.slices import BattleQuery
from tests.support.csv_reference import reference_csv

NOW = datetime(2026, 11, 22, 9, 30, tzinfo=UTC)
PLACE = Place("discord", "chan", "guild")


def new_comparison(matchup: str, base_side: Side = Side.A, status: Status = Status.RUNNING,
                   created_at: datetime = NOW, place: Place = PLACE) -> Comparison:
    return Comparison(
        id=uuid.uuid4().hex[:16], prompt="Tell me how to train my dog to sit\nplease ✓", matchup=matchup,
        model_a="base" if base_side is Side.A else "tuned", model_b="tuned" if base_side is Side.A else "base",
        base_side=base_side, blind=True, requester="req", place=place, created_at=created_at, status=status)


async def finished(repo: Repository, matchup: str, base_side: Side = Side.A,
                   place: Place = PLACE) -> Comparison:
    c = new_comparison(matchup, base_side, place=place)
    await repo.add_comparison(c)
    c.reply_a = Reply("reply A", 3, 150)
    c.reply_b = Reply("", 0, 2000, "The model timed out after 2 s.")
    c.status = Status.DONE
    await repo.save_result(c)
    return c


async def battles_of(repo: Repository, query: BattleQuery | None = None, by_comparison: bool = False) -> list[Battle]:
    return await asyncio.to_thread(lambda: list(repo.iter_battles(query, by_comparison)))


@pytest.mark.asyncio
async def test_comparison_round_trip(repo: Repository) -> None:
    c = await finished(repo, f"m-{uuid.uuid4().hex}")
    loaded = await repo.get_comparison(c.id)
    assert loaded is not None
    assert loaded.prompt == c.prompt and loaded.place == c.place and loaded.base_side is Side.A
    assert loaded.reply_a == Reply("reply A", 3, 150) and loaded.reply_b.error == "The model timed out after 2 s."
    assert loaded.status is Status.DONE and loaded.created_at == NOW
    assert await repo.get_comparison("missing") is None


@pytest.mark.asyncio
async def test_vote_insert_change_and_counts(repo: Repository) -> None:
    c = await finished(repo, f"m-{uuid.uuid4().hex}")
    vote, previous = await repo.record_vote(c.id, "alice", Choice.A, NOW)
    assert previous is None and vote.changes == 0 and vote.created_at == NOW
    later = NOW + timedelta(minutes=1)
    vote, previous = await repo.record_vote(c.id, "alice", Choice.TIE, later)
    assert previous is Choice.A and vote.choice is Choice.TIE and vote.changes == 1
    assert vote.created_at == NOW and vote.updated_at == later
    vote, previous = await repo.record_vote(c.id, "alice", Choice.TIE, later)
    assert previous is Choice.TIE and vote.changes == 1  # same click again is not a change
    await repo.record_vote(c.id, "bob", Choice.B, NOW)
    counts = await repo.counts(c.id)
    assert (counts.a, counts.b, counts.tie, counts.both_bad) == (0, 1, 1, 0)


@pytest.mark.asyncio
async def test_vote_on_unknown_comparison(repo: Repository) -> None:
    with pytest.raises(UnknownComparisonError):
        await repo.record_vote("no-such-id", "alice", Choice.A, NOW)


@pytest.mark.asyncio
async def test_outcomes_follow_the_base_side(repo: Repository) -> None:
    name = f"m-{uuid.uuid4().hex}"
    left = await finished(repo, name, Side.A)   # base on A
    right = await finished(repo, name, Side.B)  # base on B
    await repo.record_vote(left.id, "v1", Choice.B, NOW)   # fine-tuned wins
    await repo.record_vote(right.id, "v1", Choice.A, NOW)  # fine-tuned wins
    await repo.record_vote(right.id, "v2", Choice.B, NOW)  # base wins
    await repo.record_vote(left.id, "v3", Choice.BOTH_BAD, NOW)
    rows = {(r.base_model, r.finetuned_model, r.outcome): r.count for r in await repo.outcome_counts(name)}
    assert rows == {("base", "tuned", "finetuned"): 2, ("base", "tuned", "base"): 1,
                    ("base", "tuned", "both_bad"): 1}


@pytest.mark.asyncio
async def test_a_tie_is_a_tie_whichever_side_the_base_model_is_on(repo: Repository) -> None:
    name = f"m-{uuid.uuid4().hex}"
    for side in Side:
        c = await finished(repo, name, side)
        await repo.record_vote(c.id, "v1", Choice.TIE, NOW)
        await repo.record_vote(c.id, "v2", Choice.BOTH_BAD, NOW)
    rows = {(r.base_model, r.finetuned_model, r.outcome): r.count for r in await repo.outcome_counts(name)}
    assert rows == {("base", "tuned", "tie"): 2, ("base", "tuned", "both_bad"): 2}


@pytest.mark.asyncio
async def test_concurrent_votes_are_neither_lost_nor_doubled(repo: Repository) -> None:
    c = await finished(repo, f"m-{uuid.uuid4().hex}")
    voters = [f"voter-{i}" for i in range(40)]
    final = {v: (Choice.TIE if i % 3 else Choice.B) for i, v in enumerate(voters)}

    async def clicks(voter: str) -> None:
        for choice in (Choice.A, Choice.B, final[voter]):
            await repo.record_vote(c.id, voter, choice, NOW)

    async def racer(voter: str) -> None:
        # Many simultaneous clicks by one member: still one row.
        await asyncio.gather(*(repo.record_vote(c.id, voter, Choice.A, NOW) for _ in range(5)))

    await asyncio.gather(*(clicks(v) for v in voters), *(racer(f"racer-{i}") for i in range(5)))
    counts = await repo.counts(c.id)
    assert counts.total == 45
    assert counts.a == 5 and counts.b == sum(1 for ch in final.values() if ch is Choice.B)
    battles = [b for b in await battles_of(repo) if b.comparison.id == c.id]
    assert {b.vote.voter: b.vote.choice for b in battles if b.vote.voter.startswith("voter")} == final


@pytest.mark.asyncio
async def test_iter_battles_joins_replies(repo: Repository) -> None:
    c = await finished(repo, f"m-{uuid.uuid4().hex}")
    await repo.record_vote(c.id, "alice", Choice.A, NOW)
    [b] = [b for b in await battles_of(repo) if b.comparison.id == c.id]
    assert b.comparison.reply_a.text == "reply A" and b.comparison.reply_b.error and b.vote.voter == "alice"


@pytest.mark.asyncio
async def test_unfinished_comparisons_are_failed_on_restart(repo: Repository) -> None:
    old = new_comparison("m", created_at=datetime.now(UTC) - timedelta(hours=2))
    fresh = new_comparison("m", created_at=datetime.now(UTC))
    await repo.add_comparison(old)
    await repo.add_comparison(fresh)
    assert await repo.fail_unfinished(older_than=datetime.now(UTC) - timedelta(minutes=5)) >= 1
    assert (await repo.get_comparison(old.id)).status is Status.FAILED  # type: ignore[union-attr]
    assert (await repo.get_comparison(fresh.id)).status is Status.RUNNING  # type: ignore[union-attr]


@pytest.mark.asyncio
async def test_battle_set_slices_filters_and_reports_what_it_removed(repo: Repository) -> None:
    name = f"m-{uuid.uuid4().hex}"

    async def comparison(leak: bool = False, broken: bool = False) -> Comparison:
        c = await finished(repo, name)  # reply B failed
        if not broken:
            c.reply_b = Reply("fine", 1, 10)
        c.identity_leak = leak
        await repo.save_result(c)
        return c

    c1, c2, c3 = await comparison(), await comparison(), await comparison()
    leaky, broken = await comparison(leak=True), await comparison(broken=True)
    day, heavy = datetime(2026, 11, 20, 10, tzinfo=UTC), f"heavy-{name}"
    for c, choice in ((c1, Choice.A), (c2, Choice.A), (c3, Choice.B)):  # three in a day: a cap of 2 drops one
        await repo.record_vote(c.id, heavy, choice, day)
    await repo.record_vote(c1.id, "v2", Choice.A, day)
    await repo.record_vote(leaky.id, "v2", Choice.B, day)
    await repo.record_vote(broken.id, "v2", Choice.TIE, day)
    await repo.record_vote(c3.id, "other", Choice.BOTH_BAD, day + timedelta(days=1))

    everything = await repo.battle_set(BattleQuery(matchup=name, drop_identity_leaks=False, drop_failed=False))
    assert everything.sliced == everything.kept == 7 and everything.steps == ()
    filtered = await repo.battle_set(BattleQuery(matchup=name, daily_cap=2))
    assert [(s.name, s.removed) for s in filtered.steps] == [
        ("identity leak", 1), ("failed or empty reply", 1), ("more than 2 votes per voter per day", 1)]
    assert filtered.sliced == 7 and filtered.kept == 4
    outcomes = {(c.model_a, c.model_b, c.outcome): c.count for c in filtered.counts}
    assert outcomes == {("base", "tuned", "model_a"): 3, ("base", "tuned", "tie (bothbad)"): 1}
    assert (await repo.battle_set(BattleQuery(matchup=name, since=day + timedelta(hours=12)))).kept == 1
    assert (await repo.battle_set(BattleQuery(matchup=name, until=day + timedelta(hours=12)))).kept == 4
    mine = await repo.battle_set(BattleQuery(matchup=name, voter=heavy))
    assert mine.kept == 3
    assert sorted(await repo.votes_per_voter(BattleQuery(matchup=name))) == [1, 1, 3]


@pytest.mark.asyncio
async def test_every_query_field_slices_every_read(repo: Repository) -> None:
    """platform, server, channel, voter, since (inclusive) and until (exclusive), in battle_set,
    votes_per_voter, iter_battles and write_csv alike; the daily cap in battle_set alone."""
    name = f"m-{uuid.uuid4().hex}"
    places = [Place("discord", "general", "g1"), Place("discord", "random", "g1"), Place("slack", "general", "T9")]
    comparisons = [await finished(repo, name, place=place) for place in places]
    for i, c in enumerate(comparisons):
        for k, voter in enumerate(("ann", "ben")):
            await repo.record_vote(c.id, voter, Choice.A if k else Choice.B, NOW + timedelta(hours=i))
    base = BattleQuery(matchup=name, drop_failed=False)
    slices = {
        BattleQuery(matchup=name, drop_failed=False, platform="discord"): 4,
        BattleQuery(matchup=name, drop_failed=False, server="g1"): 4,
        BattleQuery(matchup=name, drop_failed=False, channel="general"): 4,
        BattleQuery(matchup=name, drop_failed=False, server="g1", channel="general"): 2,
        BattleQuery(matchup=name, drop_failed=False, voter="ben"): 3,
        BattleQuery(matchup=name, drop_failed=False, since=NOW + timedelta(hours=1)): 4,
        BattleQuery(matchup=name, drop_failed=False, until=NOW + timedelta(hours=1)): 2,
        BattleQuery(matchup=name, drop_failed=False, platform="telegram"): 0,
        base: 6,
    }
    for query, expected in slices.items():
        assert (await repo.battle_set(query)).kept == expected, query
        assert sum(await repo.votes_per_voter(query)) == expected, query
        assert len(await battles_of(repo, query)) == expected, query
        out = io.StringIO()
        assert await asyncio.to_thread(repo.write_csv, out, ExportOptions(), query) == expected, query
    assert (await repo.battle_set(BattleQuery(matchup=name))).kept == 0  # every reply B failed
    capped = BattleQuery(matchup=name, drop_failed=False, daily_cap=1)
    assert (await repo.battle_set(capped)).kept == 2  # one vote per voter: all six fell on one UTC day
    assert sum(await repo.votes_per_voter(capped)) == 6 and len(await battles_of(repo, capped)) == 6


@pytest.mark.asyncio
async def test_battles_come_in_the_order_first_cast_or_grouped_by_comparison(repo: Repository) -> None:
    name = f"m-{uuid.uuid4().hex}"
    first, second = await finished(repo, name), await finished(repo, name)
    await repo.record_vote(second.id, "ann", Choice.A, NOW)
    await repo.record_vote(first.id, "ben", Choice.B, NOW + timedelta(seconds=1))
    await repo.record_vote(second.id, "cal", Choice.TIE, NOW + timedelta(seconds=2))
    await repo.record_vote(second.id, "ann", Choice.B, NOW + timedelta(seconds=3))  # a change keeps its place
    query = BattleQuery(matchup=name, drop_failed=False)
    assert [b.vote.voter for b in await battles_of(repo, query)] == ["ann", "ben", "cal"]
    grouped = [(b.comparison.id, b.vote.voter) for b in await battles_of(repo, query, by_comparison=True)]
    assert grouped == sorted([(second.id, "ann"), (second.id, "cal"), (first.id, "ben")], key=lambda g: g[0])


@pytest.mark.asyncio
async def test_write_csv_equals_the_csv_module_for_every_slice(repo: Repository) -> None:
    name = f"m-{uuid.uuid4().hex}"
    for i, side in enumerate((Side.A, Side.B, Side.A)):
        c = await finished(repo, name, side)
        for k, choice in enumerate(Choice):
            await repo.record_vote(c.id, f"voter,{k}", choice, NOW + timedelta(seconds=i, milliseconds=120 * k))
    for query in (BattleQuery(matchup=name, drop_failed=False), BattleQuery(matchup=name, voter="voter,2",
                                                                            drop_failed=False)):
        for options in (ExportOptions(salt="pepper"), ExportOptions(raw_voters=True)):
            out = io.StringIO()
            rows = await asyncio.to_thread(repo.write_csv, out, options, query)
            reference = reference_csv(await battles_of(repo, query), options)
            assert out.getvalue() == reference and rows == reference.count("\r\n") - 1 > 0


@pytest.mark.asyncio
async def test_an_older_click_processed_late_does_not_win(repo: Repository) -> None:
    c = await finished(repo, f"m-{uuid.uuid4().hex}")
    await repo.record_vote(c.id, "alice", Choice.B, NOW + timedelta(seconds=2))
    vote, previous = await repo.record_vote(c.id, "alice", Choice.A, NOW + timedelta(seconds=1))
    assert vote.choice is Choice.B and previous is Choice.B and vote.changes == 0
    vote, previous = await repo.record_vote(c.id, "alice", Choice.TIE, NOW + timedelta(seconds=3))
    assert vote.choice is Choice.TIE and previous is Choice.B and vote.changes == 1


@pytest.mark.asyncio
async def test_concurrent_clicks_are_written_in_batches_and_one_bad_id_fails_alone(repo: Repository) -> None:
    c = await finished(repo, f"m-{uuid.uuid4().hex}")
    clicks = [repo.record_vote_and_count(c.id, f"v{i}", Choice.A if i % 2 else Choice.B, NOW) for i in range(120)]
    clicks.insert(60, repo.record_vote_and_count("no-such-comparison", "v-bad", Choice.A, NOW))
    results = await asyncio.gather(*clicks, return_exceptions=True)
    errors = [r for r in results if isinstance(r, Exception)]
    assert len(errors) == 1 and isinstance(errors[0], UnknownComparisonError)
    outcomes = [r for r in results if not isinstance(r, BaseException)]
    assert len(outcomes) == 120 and all(previous is None for _, previous, _ in outcomes)
    assert all(counts.total <= 120 for _, _, counts in outcomes)
    assert max(counts.total for _, _, counts in outcomes) == 120  # the last batch sees every vote
    final = await repo.counts(c.id)
    assert (final.a, final.b) == (60, 60)


@pytest.mark.asyncio
async def test_one_members_clicks_in_one_batch_behave_as_one_after_another(repo: Repository) -> None:
    c = await finished(repo, f"m-{uuid.uuid4().hex}")
    times = [NOW, NOW + timedelta(seconds=2), NOW + timedelta(seconds=1)]  # the third click is older than the second
    first, second, stale = await asyncio.gather(*(
        repo.record_vote_and_count(c.id, "m", choice, at) for choice, at in zip((Choice.A, Choice.B, Choice.TIE),
                                                                                times, strict=True)))
    assert first[1] is None and second[1] is Choice.A
    assert stale[0].choice is Choice.B and stale[1] is Choice.B  # changed nothing: the stored vote comes back
    assert second[0].changes == 1 and second[0].created_at == NOW and second[0].updated_at == times[1]
    assert all(v.updated_at.utcoffset() == timedelta(0) for v, _, _ in (first, second, stale))
    assert (await repo.counts(c.id)).b == 1


@pytest.mark.asyncio
async def test_a_cut_reply_and_a_cancelled_comparison_are_stored_as_such(repo: Repository) -> None:
    c = new_comparison(f"m-{uuid.uuid4().hex}")
    await repo.add_comparison(c)
    c.reply_a, c.reply_b = Reply("stops mid", 96, 10, cut=True), Reply("whole", 2, 10)
    c.status = Status.DONE
    await repo.save_result(c)
    loaded = await repo.get_comparison(c.id)
    assert loaded is not None and loaded.reply_a.cut and not loaded.reply_b.cut
    await repo.record_vote(c.id, "v", Choice.A, NOW)
    [battle] = await battles_of(repo, BattleQuery(matchup=c.matchup, drop_identity_leaks=False, drop_failed=False))
    assert battle.comparison.reply_a.cut and not battle.comparison.reply_b.cut
    c.status = Status.CANCELLED
    await repo.save_result(c)
    again = await repo.get_comparison(c.id)
    assert again is not None and again.status is Status.CANCELLED


STYLED_A = "# Plan\n\n1. **sit**\n2. stay\n\n```\n# not a header\n- nor a list\n```\n"
STYLED_B = "- one\n- __two__\n\n## More\n"


@pytest.mark.asyncio
async def test_vote_table_reads_votes_in_order_with_both_replies_style(repo: Repository) -> None:
    from bot.statistics.style import style_features

    matchup = f"m-{uuid.uuid4().hex}"
    first = new_comparison(matchup, Side.A)
    second = new_comparison(matchup, Side.B)
    for c in (first, second):
        await repo.add_comparison(c)
        c.reply_a, c.reply_b = Reply(STYLED_A, 0, 10), Reply(STYLED_B, 7, 10)
        c.status = Status.DONE
        await repo.save_result(c)
    await repo.record_vote(second.id, "bob", Choice.TIE, NOW)
    await repo.record_vote(first.id, "alice", Choice.A, NOW)
    await repo.record_vote(first.id, "carol", Choice.B, NOW)
    await repo.record_vote(first.id, "bob", Choice.BOTH_BAD, NOW)

    table = await repo.vote_table(BattleQuery(matchup=matchup))
    assert [table.voters[v] for v in table.voter] == ["bob", "alice", "carol", "bob"]  # the order first cast
    assert table.scores.tolist() == [0.5, 1.0, 0.0, 0.5]
    # The base was A in the first comparison, B in the second: the fine-tune is A only in the second.
    assert table.finetuned_a.tolist() == [True, False, False, False]
    assert [(table.models[a], table.models[b]) for a, b in zip(table.a, table.b, strict=True)] == [
        ("tuned", "base"), ("base", "tuned"), ("base", "tuned"), ("base", "tuned")]
    expected_a, expected_b = style_features(STYLED_A, 0).totals(), style_features(STYLED_B, 7).totals()
    assert expected_a == (-(-len(STYLED_A) // 4), 1, 2, 1) and expected_b == (7, 1, 2, 1)
    assert [tuple(row) for row in table.style_a.tolist()] == [expected_a] * 4
    assert [tuple(row) for row in table.style_b.tolist()] == [expected_b] * 4

    without = await repo.vote_table(BattleQuery(matchup=matchup, without_voters=("bob",)))
    assert sorted(without.voters[v] for v in without.voter) == ["alice", "carol"]
    assert (await repo.battle_set(BattleQuery(matchup=matchup, without_voters=("bob",)))).kept == 2
    assert len(await repo.vote_table(BattleQuery(matchup=f"m-{uuid.uuid4().hex}"))) == 0


@pytest.mark.asyncio
async def test_each_channel_is_told_once_that_a_matchup_is_decided(repo: Repository) -> None:
    matchup = f"m-{uuid.uuid4().hex}"
    here, there = Place("discord", "c1", "g1"), Place("slack", "C2", "T1")
    for place, voter in ((here, "alice"), (there, "bob"), (here, "carol")):
        c = await finished(repo, matchup, place=place)
        await repo.record_vote(c.id, voter, Choice.A, NOW)
    assert await repo.vote_places(matchup) == [here, there]
    assert await repo.claim_announcements(matchup, [here], "finetuned", NOW) == [here]
    # A second process (or a restart) asking again gets only the channel not told yet.
    assert await repo.claim_announcements(matchup, [here, there], "finetuned", NOW) == [there]
    assert await repo.claim_announcements(matchup, [here, there], "finetuned", NOW) == []
    assert await repo.claim_announcements(f"m-{uuid.uuid4().hex}", [here], "base", NOW) == [here]
