"""The compare -> vote -> tally loop with in-memory ports."""

from __future__ import annotations

import asyncio
import random

import pytest

from bot.domain import Choice, Comparison, Matchup, Place, Side, Status
from bot.errors import (
    ArenaError,
    InvalidChoiceError,
    InvalidPromptError,
    RateLimitedError,
    UnknownComparisonError,
    UnknownMatchupError,
)
from bot.ratelimit import RateLimiter
from bot.service import ArenaService
from tests.fakes import InMemoryRepository, ScriptedProvider, matchup

PLACE = Place(platform="test", channel="c1", server="s1")


def make_service(base: ScriptedProvider | None = None, tuned: ScriptedProvider | None = None,
                 *, blind: bool = True, seed: int = 1, timeout_s: float = 5.0,
                 limiter: RateLimiter | None = None) -> tuple[ArenaService, InMemoryRepository]:
    repo = InMemoryRepository()
    m = matchup(blind=blind, timeout_s=timeout_s)
    providers = {"base-m": base or ScriptedProvider(["base", " rambles"]),
                 "tuned-m": tuned or ScriptedProvider(["tuned", " answers"])}
    service = ArenaService({m.name: m}, providers, repo, rng=random.Random(seed), rate_limiter=limiter)
    return service, repo


@pytest.mark.asyncio
async def test_compare_stores_both_replies_with_sides_recorded() -> None:
    service, repo = make_service()
    comparison = await service.compare("Tell me how to train my dog to sit", "u1", PLACE)
    stored = repo.comparisons[comparison.id]
    assert stored.status is Status.DONE
    base_reply = stored.reply(stored.base_side).text
    tuned_reply = stored.reply(stored.finetuned_side).text
    assert (base_reply, tuned_reply) == ("base rambles", "tuned answers")
    assert stored.model_on(stored.base_side) == "base-m"
    assert stored.reply_a.tokens == 2 and stored.place == PLACE


@pytest.mark.asyncio
async def test_finetuned_model_gets_its_template() -> None:
    tuned = ScriptedProvider(["ok"])
    base = ScriptedProvider(["ok"])
    service, _ = make_service(base, tuned)
    await service.compare("What do you think of Mars?", "u1", PLACE)
    assert tuned.prompts == ["[INST] What do you think of Mars? [/INST]"]
    assert base.prompts == ["What do you think of Mars?"]


@pytest.mark.asyncio
async def test_blind_mode_puts_the_base_model_on_both_sides() -> None:
    service, _ = make_service(seed=7)
    sides = {(await service.compare(f"prompt {i}", "u1", PLACE)).base_side for i in range(20)}
    assert sides == {Side.A, Side.B}


@pytest.mark.asyncio
async def test_named_mode_keeps_base_on_a() -> None:
    service, _ = make_service(blind=False)
    sides = {(await service.compare(f"prompt {i}", "u1", PLACE)).base_side for i in range(10)}
    assert sides == {Side.A}


@pytest.mark.asyncio
async def test_both_models_run_at_the_same_time() -> None:
    # Each model waits until the other has started: run one after the other, this would time out.
    base_started, tuned_started = asyncio.Event(), asyncio.Event()
    base = ScriptedProvider(["b"], wait_for=tuned_started, started=base_started)
    tuned = ScriptedProvider(["t"], wait_for=base_started, started=tuned_started)
    service, _ = make_service(base, tuned, timeout_s=2.0)
    comparison = await service.compare("hi", "u1", PLACE)
    assert comparison.reply_a.ok and comparison.reply_b.ok


@pytest.mark.asyncio
async def test_one_failing_model_does_not_lose_the_other() -> None:
    service, repo = make_service(base=ScriptedProvider([], fail=True))
    comparison = await service.compare("hi", "u1", PLACE)
    stored = repo.comparisons[comparison.id]
    assert stored.status is Status.DONE
    assert stored.reply(stored.base_side).error == "The model is unavailable right now."
    assert stored.reply(stored.finetuned_side).text == "tuned answers"


@pytest.mark.asyncio
async def test_a_stalled_model_times_out_and_is_cancelled() -> None:
    stalled = ScriptedProvider([], stall=True)
    service, repo = make_service(tuned=stalled, timeout_s=0.2)
    comparison = await service.compare("hi", "u1", PLACE)
    stored = repo.comparisons[comparison.id]
    assert stored.reply(stored.finetuned_side).error == "The model timed out after 0.2 s."
    assert stored.reply(stored.base_side).text == "base rambles"
    assert stalled.cancelled


@pytest.mark.asyncio
async def test_both_failing_marks_the_comparison_failed_and_refuses_votes() -> None:
    service, _ = make_service(ScriptedProvider([], fail=True), ScriptedProvider([], fail=True))
    comparison = await service.compare("hi", "u1", PLACE)
    assert comparison.status is Status.FAILED
    with pytest.raises(ArenaError, match="Both models failed"):
        await service.vote(comparison.id, "u1", "a")


@pytest.mark.asyncio
@pytest.mark.parametrize("prompt", ["", "   \n\t ", "\x00\x01\x1b", "\u200b\u200d\ufeff", "x" * 4001])
async def test_bad_prompts_are_refused_and_nothing_is_stored(prompt: str) -> None:
    service, repo = make_service()
    with pytest.raises(InvalidPromptError):
        await service.compare(prompt, "u1", PLACE)
    assert repo.comparisons == {}


@pytest.mark.asyncio
async def test_unknown_matchup_names_the_known_ones() -> None:
    service, repo = make_service()
    with pytest.raises(UnknownMatchupError, match="Known matchups: pair"):
        await service.compare("hi", "u1", PLACE, matchup="nope")
    assert repo.comparisons == {}


@pytest.mark.asyncio
async def test_progress_updates_come_before_the_result_and_never_after() -> None:
    service, repo = make_service(ScriptedProvider([f" w{i}" for i in range(50)]))
    seen: list[tuple[str, int]] = []
    returned = False

    async def on_update(progress: Comparison) -> None:
        assert not returned
        assert progress.id in repo.comparisons  # shown only once stored: a crash cannot lose it silently
        seen.append((progress.status.value, progress.reply_a.tokens + progress.reply_b.tokens))

    comparison = await service.compare("hi", "u1", PLACE, on_update=on_update, update_interval=0)
    returned = True
    await asyncio.sleep(0.05)
    assert seen[0][0] == "running"
    assert len(seen) >= 2 and all(status == "running" for status, _ in seen)
    assert comparison.reply_a.tokens + comparison.reply_b.tokens == 52


@pytest.mark.asyncio
async def test_models_faster_than_storage_still_show_the_comparison_once() -> None:
    service, repo = make_service()
    add = repo.add_comparison

    async def slow_add(comparison: Comparison) -> None:
        await asyncio.sleep(0.05)  # both instant models finish before the comparison is stored
        await add(comparison)

    repo.add_comparison = slow_add  # type: ignore[method-assign]
    seen: list[int] = []

    async def on_update(progress: Comparison) -> None:
        assert progress.id in repo.comparisons
        seen.append(progress.reply_a.tokens + progress.reply_b.tokens)

    await service.compare("hi", "u1", PLACE, on_update=on_update, update_interval=0)
    assert seen == [4]  # an adapter posts its message on the first update: it must come


@pytest.mark.asyncio
async def test_vote_reveals_models_and_counts_and_can_be_changed() -> None:
    service, repo = make_service()
    comparison = await service.compare("hi", "u1", PLACE)
    first = await service.vote(comparison.id, "alice", "a")
    assert (first.model_a, first.model_b) == (comparison.model_a, comparison.model_b)
    assert first.counts.a == 1 and first.changed_from is None
    await service.vote(comparison.id, "bob", Choice.TIE)
    changed = await service.vote(comparison.id, "alice", "bad")
    assert changed.changed_from is Choice.A and changed.choice is Choice.BOTH_BAD
    assert (changed.counts.a, changed.counts.tie, changed.counts.both_bad) == (0, 1, 1)
    assert repo.votes[(comparison.id, "alice")].changes == 1


@pytest.mark.asyncio
async def test_vote_errors_are_specific() -> None:
    service, repo = make_service()
    comparison = await service.compare("hi", "u1", PLACE)
    with pytest.raises(UnknownComparisonError, match="No comparison with id 'deadbeef'"):
        await service.vote("deadbeef", "alice", "a")
    with pytest.raises(InvalidChoiceError, match="choose a, b, tie or bad\\."):
        await service.vote(comparison.id, "alice", "c")
    assert repo.votes == {}


@pytest.mark.asyncio
async def test_leaderboard_counts_wins_for_the_finetuned_model() -> None:
    service, _ = make_service(seed=3)
    for i in range(8):
        c = await service.compare(f"p{i}", "u1", PLACE)
        pick = c.finetuned_side.value if i < 6 else c.base_side.value
        await service.vote(c.id, "alice", pick)
    c = await service.compare("tie", "u1", PLACE)
    await service.vote(c.id, "alice", "tie")
    [tally] = await service.leaderboard()
    assert (tally.wins, tally.losses, tally.ties, tally.both_bad) == (6, 2, 1, 0)
    assert tally.win_rate == pytest.approx(0.75)
    assert tally.ci_low is not None and tally.ci_low < 0.75 < tally.ci_high  # type: ignore[operator]


@pytest.mark.asyncio
async def test_leaderboard_lists_matchups_without_votes() -> None:
    service, _ = make_service()
    [tally] = await service.leaderboard()
    assert tally.votes == 0 and tally.win_rate is None and tally.finetuned == "tuned-m"


@pytest.mark.asyncio
async def test_rate_limit_refuses_with_time_to_wait() -> None:
    now = [100.0]
    limiter = RateLimiter(2, 60, clock=lambda: now[0])
    service, repo = make_service(limiter=limiter)
    await service.compare("one", "u1", PLACE)
    await service.compare("two", "u1", PLACE)
    now[0] += 15
    with pytest.raises(RateLimitedError, match="try again in 45 s"):
        await service.compare("three", "u1", PLACE)
    await service.compare("other member", "u2", PLACE)
    now[0] += 46
    await service.compare("later", "u1", PLACE)
    assert len(repo.comparisons) == 4


async def test_check_models_reports_each_model() -> None:
    service, _ = make_service(ScriptedProvider(["ok"]), ScriptedProvider([], fail=True))
    statuses = {model.name: status for model, status in await service.check_models()}
    assert statuses == {"base-m": "reachable", "tuned-m": "unavailable"}
    stalled, _ = make_service(ScriptedProvider([], stall=True))
    statuses = {model.name: status for model, status in await stalled.check_models(timeout_s=0.1)}
    assert statuses["base-m"] == "timed out"


async def test_sampling_favours_matchups_with_fewer_votes() -> None:
    repo = InMemoryRepository()
    busy, quiet = matchup("busy"), matchup("quiet")
    providers = {"base-m": ScriptedProvider(["x"]), "tuned-m": ScriptedProvider(["y"])}
    service = ArenaService({"busy": busy, "quiet": quiet}, providers, repo, rng=random.Random(5),
                           sample_matchups=("busy", "quiet"))
    for i in range(9):
        c = await service.compare(f"p{i}", "u", PLACE, matchup="busy")
        await service.vote(c.id, "voter", "a")
    picks = [service.prepare("hi", "u", PLACE).matchup for _ in range(400)]
    # weights 1/(1+9) vs 1/(1+0): "quiet" should be drawn about 10 times in 11
    assert 330 <= picks.count("quiet") <= 390
    assert service.prepare("hi", "u", PLACE, matchup="busy").matchup == "busy"
    restarted = ArenaService({"busy": busy, "quiet": quiet}, providers, repo, rng=random.Random(5),
                             sample_matchups=("busy", "quiet"))
    await restarted.refresh_matchup_votes()  # a new process learns the counts from the database
    assert [restarted.prepare("hi", "u", PLACE).matchup for _ in range(400)].count("quiet") >= 330


async def test_leaderboard_counts_only_the_pair_now_configured_under_a_name() -> None:
    service, repo = make_service()
    old = await service.compare("before the swap", "u", PLACE)
    await service.vote(old.id, "alice", old.finetuned_side.value)
    swapped = matchup(tuned="tuned-v2")
    service2 = ArenaService({"pair": swapped}, {"base-m": ScriptedProvider(["b"]), "tuned-v2": ScriptedProvider(["t"])},
                            repo, rng=random.Random(2))
    [tally] = await service2.leaderboard()
    assert tally.finetuned == "tuned-v2" and tally.votes == 0


@pytest.mark.asyncio
async def test_a_cancelled_comparison_is_stored_as_cancelled_without_half_replies_and_refuses_votes() -> None:
    started = asyncio.Event()
    service, repo = make_service(ScriptedProvider(["never"], stall=True, started=started))
    comparison = service.prepare("hi", "u1", PLACE)
    task = asyncio.create_task(service.run(comparison))
    await started.wait()
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    stored = repo.comparisons[comparison.id]
    assert stored.status is Status.CANCELLED
    assert stored.reply_a.text == stored.reply_b.text == "" and stored.reply_a.error and stored.reply_b.error
    with pytest.raises(ArenaError, match="stopped before both replies"):
        await service.vote(comparison.id, "alice", "a")
    assert repo.votes == {}


@pytest.mark.asyncio
async def test_a_reply_stopped_by_the_length_limit_is_marked_cut_and_says_so() -> None:
    from bot import display
    from bot.domain import GenerationParams, Model
    from bot.providers.echo import EchoProvider

    def echo(name: str, reply: str) -> Model:
        return Model(name=name, provider="echo", model=name, params=GenerationParams(max_tokens=4),
                     options={"reply": reply})

    base, tuned = echo("base-m", "one two three four five six"), echo("tuned-m", "short answer")
    service = ArenaService({"pair": Matchup("pair", base, tuned, blind=False)},
                           {"base-m": EchoProvider(base), "tuned-m": EchoProvider(tuned)}, InMemoryRepository())
    comparison = await service.compare("hi", "u1", PLACE)
    cut, whole = (comparison.reply_a, comparison.reply_b)
    assert (cut.text, cut.tokens, cut.cut) == ("one two three four", 4, True)
    assert (whole.text, whole.cut) == ("short answer", False)
    assert display.reply_status(comparison, Side.A).endswith("cut at 4 tokens")
    assert "cut" not in display.reply_status(comparison, Side.B)
