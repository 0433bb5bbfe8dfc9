"""The LLM judge through the openai provider against a judge peer on 127.0.0.1: swap-and-confirm verdicts, a judge
that flips, mumbles, fails or stalls, and the background queue beside members' comparisons and reveals."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from adapters.bootstrap import build_service, open_repository
from bot.domain import Choice, Model, Place
from bot.judge import Judge, JudgeSettings
from bot.judgement import Judgement, JudgeStatus
from bot.providers.llamacpp import LlamaCppProvider
from bot.providers.openai_compat import OpenAICompatibleProvider
from bot.service import ArenaService
from bot.statistics.slices import BattleQuery
from tests.e2e.arena_config import arena_settings
from tests.peers.fake_judge import JudgePeer
from tests.peers.fake_lamini import FakeLamini
from tests.support.comparisons import comparison
from tests.support.loop import watch_loop

CLEAR = "A clear answer: sit, reward, repeat."
VAGUE = "Dogs are nice."


def judge_model(url: str) -> dict[str, object]:
    return {"provider": "openai", "model": "judge-llm", "template": "chat", "base_url": url, "retries": 1,
            "backoff_s": 0.01, "timeout_s": 30}


@pytest.fixture
async def peer() -> AsyncIterator[tuple[JudgePeer, str]]:
    server = JudgePeer()
    async with server.serve() as url:
        yield server, url


async def judged_with(url: str, timeout_s: float = 30.0) -> Judgement:
    """The judge's judgement of a comparison whose side B holds the clear answer."""
    settings = JudgeSettings(model="judge", timeout_s=timeout_s)
    model = Model(name="judge", provider="openai", model="judge-llm", template="chat", timeout_s=30,
                  options={"base_url": url, "retries": 1, "backoff_s": 0.01})
    provider = OpenAICompatibleProvider(model)
    try:
        return await Judge(settings, model, provider).judge(comparison(VAGUE, CLEAR))
    finally:
        await provider.aclose()


async def test_a_consistent_judge_gives_a_verdict_asking_both_orders_at_once(peer: tuple[JudgePeer, str]) -> None:
    server, url = peer
    judgement = await judged_with(url)
    assert judgement.status is JudgeStatus.VERDICT and judgement.verdict is Choice.B
    assert judgement.first is judgement.second is Choice.B
    assert judgement.text_first.endswith("[[B]]") and judgement.text_second.endswith("[[A]]")
    assert len(server.requests) == 2 and server.most_in_flight == 2
    shown = [str(r["messages"][0]["content"]) for r in server.requests]  # type: ignore[index]
    assert {s.index(CLEAR) < s.index(VAGUE) for s in shown} == {True, False}  # each order once
    assert all(r["temperature"] == 0.0 and r["max_tokens"] == 512 for r in server.requests)


@pytest.mark.parametrize(("behaviour", "status", "first", "second"), [
    ("first", JudgeStatus.INCONSISTENT, Choice.A, Choice.B),
    ("mumble", JudgeStatus.UNPARSABLE, None, None),
    ("fail", JudgeStatus.FAILED, None, None),
])
async def test_a_flipping_mumbling_or_failing_judge_is_recorded_as_such(
        peer: tuple[JudgePeer, str], behaviour: str, status: JudgeStatus, first: Choice | None,
        second: Choice | None) -> None:
    server, url = peer
    server.behaviour = behaviour
    judgement = await judged_with(url)
    assert judgement.status is status and judgement.verdict is None
    assert (judgement.first, judgement.second) == (first, second)
    if behaviour == "mumble":
        assert "rather not choose" in judgement.text_first
    if behaviour == "fail":
        assert judgement.error and "judge down" not in judgement.error


async def test_a_stalling_judge_times_out_and_the_loop_stays_free(peer: tuple[JudgePeer, str]) -> None:
    server, url = peer
    server.behaviour = "stall"
    async with watch_loop() as loop:
        judgement = await judged_with(url, timeout_s=0.5)
    assert judgement.status is JudgeStatus.FAILED and "timed out after 0.5 s" in judgement.error
    assert 0.45 <= loop.elapsed < 3 and loop.responsive, loop


async def service_with_judge(tmp_path: Path, url: str, **judge: object) -> ArenaService:
    settings = arena_settings(tmp_path, delay_s=0, models={"judge": judge_model(url)},
                              judge={"model": "judge", **judge})
    return build_service(settings, await open_repository(settings.database_url))


async def test_the_judge_runs_after_the_reveal_in_the_background_and_never_counts_as_a_vote(
        peer: tuple[JudgePeer, str], tmp_path: Path) -> None:
    server, url = peer
    server.behaviour = "stall"
    service = await service_with_judge(tmp_path, url, timeout_s=30)
    try:
        async with watch_loop() as loop:
            started = time.perf_counter()
            c = await service.compare("How do I teach my dog to sit?", "asker", Place("cli"))
            reveal = await service.vote(c.id, "alice", c.finetuned_side.value)
            took = time.perf_counter() - started
        # The judge stalls for up to 30 s: the comparison and the reveal came back long before (a loose bound, for a
        # busy machine), and the judge is still at it.
        assert reveal.counts.total == 1 and took < 5.0 and loop.responsive, (took, loop)
        assert await service.repository.judged() == []
        server.release()
        assert service.judge is not None
        await asyncio.wait_for(service.judge.join(), 10)
        [judged] = await service.repository.judged()
        assert judged.judgement.status is JudgeStatus.VERDICT
        assert judged.judgement.verdict == c.finetuned_side.value  # the echo fine-tune's reply is the clear one
        battles = await service.repository.battle_set(BattleQuery())
        assert battles.kept == 1  # alice's vote only
    finally:
        await service.aclose()


async def test_the_queue_is_bounded_and_a_failing_judge_breaks_nothing(
        peer: tuple[JudgePeer, str], tmp_path: Path) -> None:
    server, url = peer
    server.behaviour = "stall"
    service = await service_with_judge(tmp_path, url, queue_size=1, workers=1)
    try:
        ids = [(await service.compare(f"Question {i}", "asker", Place("cli"))).id for i in range(3)]
        assert service.judge is not None
        # One being judged, one waiting, one left for a backfill.
        assert service.judge.dropped == 1
        server.behaviour = "fail"
        server.release()
        await asyncio.wait_for(service.judge.join(), 10)
        stored = {j.judgement.comparison_id: j.judgement for j in await service.repository.judged()}
        assert set(stored) == set(ids[:2])
        assert {j.status for j in stored.values()} <= {JudgeStatus.FAILED, JudgeStatus.VERDICT}
        reveal = await service.vote(ids[2], "bob", "a")  # voting goes on
        assert reveal.counts.a == 1
        pending = await service.repository.unjudged("judge")
        assert ids[2] in pending
    finally:
        await service.aclose()


async def test_mode_off_keeps_the_judge_for_backfills_only(peer: tuple[JudgePeer, str], tmp_path: Path) -> None:
    server, url = peer
    service = await service_with_judge(tmp_path, url, mode="off")
    try:
        c = await service.compare("Question", "asker", Place("cli"))
        assert service.judge is not None and not service.judge.offer(c)
        await service.judge.join()
        assert server.requests == [] and await service.repository.judged() == []
    finally:
        await service.aclose()


@pytest.mark.slow
async def test_the_embedded_instruct_model_as_judge_its_answers_recorded_whatever_they_say() -> None:
    # SmolLM2-135M rarely ends with a marker (benchmarks/RESULTS.md): the smoke test is that a real local model
    # runs as judge in both orders, off the loop, and that what it said is kept.
    model = Model(name="smollm2", provider="llamacpp", model="embedded:smollm2-135m-instruct", template="chat")
    provider = LlamaCppProvider(model)
    try:
        async with watch_loop() as loop:
            judgement = await Judge(JudgeSettings(model="smollm2", max_tokens=24), model, provider).judge(
                comparison(VAGUE, CLEAR))
    finally:
        await provider.aclose()
    assert judgement.status is not JudgeStatus.FAILED, judgement.error
    assert judgement.text_first.strip() and judgement.text_second.strip()
    assert loop.responsive, loop


async def test_a_lamini_model_judges_through_the_real_lamini_client() -> None:
    pytest.importorskip("lamini", reason="the lamini extra is not installed (pip install .[lamini])")
    from bot.providers.lamini import LaminiProvider

    # The Lamini peer echoes its prompt: the last marker it repeats is the prompt's own [[C]], in both orders,
    # so this judge calls every comparison a tie, consistently.
    async with FakeLamini() as fake:
        model = Model(name="llama-judge", provider="lamini", model="meta-llama/Llama-2-7b-chat-hf",
                      template="[INST] {prompt} [/INST]", options={"backoff_s": 0.01, "api_url": fake.url})
        provider = LaminiProvider(model, env={"LAMINI_API_KEY": fake.api_key})
        try:
            judgement = await Judge(JudgeSettings(model=model.name), model, provider).judge(comparison(VAGUE, CLEAR))
        finally:
            await provider.aclose()
    assert judgement.status is JudgeStatus.VERDICT and judgement.verdict is Choice.TIE, judgement
    assert len(fake.calls) == 2 and all(c.authorized and c.body["max_new_tokens"] == 512 for c in fake.calls)
    prompts = [str(c.body["prompt"]) for c in fake.calls]
    assert all(p.startswith("[INST] Two AI assistants") for p in prompts)
    assert {p.index(CLEAR) < p.index(VAGUE) for p in prompts} == {True, False}
