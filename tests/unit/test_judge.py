"""The judge's prompt, its reading of a judge's reply, its settings, and which comparisons its queue takes."""

from __future__ import annotations

import random

import pytest

from adapters.bootstrap import parse_settings
from bot.config import Settings
from bot.domain import Choice, Model, Status
from bot.errors import ConfigError
from bot.judge import DEFAULT_PROMPT, Judge, JudgeSettings, judge_prompt, parse_pick
from bot.judge_queue import JudgeQueue, backfill
from bot.judgement import JudgeStatus
from bot.providers.echo import EchoProvider
from tests.fakes import InMemoryRepository
from tests.support.comparisons import comparison


@pytest.mark.parametrize(("text", "pick"), [
    ("B is more accurate.\n[[B]]", Choice.B),
    ("I must answer [[A]], [[B]] or [[C]]. A is wrong, so: [[B]]", Choice.B),  # the last marker decides
    ("Equally good. [[ C ]]", Choice.TIE),
    ("A wins.\n[[A]]\n", Choice.A),
    ("A wins. [A]", None), ("[[a]]", None), ("[[D]]", None), ("", None),
])
def test_the_decision_is_the_last_marker(text: str, pick: Choice | None) -> None:
    assert parse_pick(text) is pick


def test_the_prompt_shows_the_request_and_answers_in_the_order_given_and_substitutes_once() -> None:
    shown = judge_prompt(DEFAULT_PROMPT, "Q?", "first {answer_b} {question}", "second")
    assert shown.count("first {answer_b} {question}") == 1 and "Q?" in shown
    assert shown.index("first") < shown.index("second")
    assert "[[A]]" in DEFAULT_PROMPT and "[[C]]" in DEFAULT_PROMPT


def settings_with(judge: dict[str, object]) -> Settings:
    return parse_settings({"models": {"j": {"provider": "echo", "model": "j"}}, "judge": judge}, {})


def test_the_judge_section_names_a_configured_model_and_checks_its_keys() -> None:
    chosen = settings_with({"model": "j", "mode": "sample", "sample_rate": 0.25}).judge
    assert chosen == JudgeSettings(model="j", mode="sample", sample_rate=0.25) and chosen.live
    assert not parse_settings({}, {}).judge.model
    for table, key in [({"model": "nobody"}, "judge.model"), ({"model": "j", "mode": "some"}, "judge.mode"),
                       ({"model": "j", "sample_rate": 0}, "judge.sample_rate"),
                       ({"model": "j", "prompt": "Judge {question} and {answer_a}"}, "judge.prompt"),
                       ({"model": "j", "workers": 0}, "judge.workers"), ({"modle": "j"}, "judge.modle")]:
        with pytest.raises(ConfigError) as caught:
            settings_with(table)
        assert caught.value.key == key, table
    from_env = parse_settings({"models": {"j": {"provider": "echo", "model": "j"}}},
                              {"FTARENA_JUDGE__MODEL": "j", "FTARENA_JUDGE__MODE": "off"}).judge
    assert from_env.model == "j" and not from_env.live


async def test_sample_mode_takes_the_sampled_share_and_skips_what_cannot_be_judged() -> None:
    model = Model(name="j", provider="echo", model="j")
    settings = JudgeSettings(model="j", mode="sample", sample_rate=0.3, queue_size=1000)
    queue = JudgeQueue(Judge(settings, model, EchoProvider(model)), InMemoryRepository(), random.Random(5))
    taken = [queue.offer(comparison(comparison_id=f"c{i}")) for i in range(200)]
    draws = random.Random(5)
    assert taken == [draws.random() < 0.3 for _ in range(200)] and 40 < sum(taken) < 80
    assert not queue.offer(comparison(error_a="The model failed."))  # one side failed: nothing to weigh
    assert not queue.offer(comparison(status=Status.CANCELLED))
    await queue.aclose()


async def test_a_backfill_loads_each_comparison_in_turn_and_skips_one_gone_meanwhile() -> None:
    model = Model(name="j", provider="echo", model="j")
    repo = InMemoryRepository()
    stored = comparison(comparison_id="c1")
    await repo.add_comparison(stored)
    seen: list[JudgeStatus | None] = []
    done = await backfill(Judge(JudgeSettings(model="j"), model, EchoProvider(model)), repo, ["gone", "c1"], 4,
                          lambda j: seen.append(j.status if j else None))
    # The echo judge repeats the prompt, whose last marker is its own [[C]]: a tie, in both orders.
    assert seen == [None, JudgeStatus.VERDICT] and [j.verdict for j in done] == [Choice.TIE]
    assert [j.judgement.comparison_id for j in await repo.judged()] == ["c1"]


async def test_the_composition_root_shares_a_contenders_model_and_closes_a_judge_of_its_own() -> None:
    from adapters.bootstrap import build_service

    models = {"base": {"provider": "echo", "model": "b"}, "tuned": {"provider": "echo", "model": "t"},
              "critic": {"provider": "echo", "model": "c"}}
    data = {"models": models, "matchups": {"pair": {"base": "base", "finetuned": "tuned"}}}
    shared = build_service(parse_settings({**data, "judge": {"model": "tuned"}}, {}), InMemoryRepository())
    assert shared.judge is not None and shared.judge.judge.provider is shared.providers["tuned"]
    own = build_service(parse_settings({**data, "judge": {"model": "critic"}}, {}), InMemoryRepository())
    assert own.judge is not None and own.judge.judge.provider is own.providers["critic"]
    assert build_service(parse_settings(data, {}), InMemoryRepository()).judge is None
    for service in (shared, own):
        await service.aclose()
