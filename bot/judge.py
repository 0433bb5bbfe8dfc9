"""The LLM judge: the ``[judge]`` settings, the pairwise prompt, and swap-and-confirm judging of one comparison
(the judge reads both answers in both orders at once; the same winner twice is a verdict, a flip is inconsistent).

The prompt follows the shape MT-Bench made common for pairwise judging (explain, then end with ``[[A]]``,
``[[B]]`` or ``[[C]]``) in our own words."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import ClassVar

from bot.domain import Choice, Comparison, GenerationParams, Model, Reply, Side, Status
from bot.errors import ConfigError, ProviderError
from bot.judgement import Judgement, JudgeStatus
from bot.ports import Provider
from bot.prompts import apply_template

log = logging.getLogger(__name__)

MODES = ("all", "sample", "off")
PLACEHOLDERS = ("{question}", "{answer_a}", "{answer_b}")
DEFAULT_PROMPT = """\
Two AI assistants answered the same request from a user. Your job is to decide which answer serves that user \
better. Weigh correctness first, then how helpful, relevant and complete the answer is, then clarity. \
The order in which the answers appear means nothing, a longer answer is not a better one for being longer, \
and the assistants' names, if any appear, must not sway you.

First, in a few sentences, say where each answer succeeds and where it falls short. Then end your \
reply with one line holding only your decision: [[A]] when Answer A is better, [[B]] when Answer B is \
better, or [[C]] when neither is better than the other.

=== Request ===
{question}

=== Answer A ===
{answer_a}

=== Answer B ===
{answer_b}
"""
# The decision marker; the last one in the reply counts (a judge may quote the format while explaining).
_DECISION = re.compile(r"\[\[\s*([ABC])\s*\]\]")
_PICKS = {"A": Choice.A, "B": Choice.B, "C": Choice.TIE}
_SWAPPED = {Choice.A: Choice.B, Choice.B: Choice.A, Choice.TIE: Choice.TIE}


@dataclass(frozen=True)
class JudgeSettings:
    """``[judge]``: which configured model judges, and how often. ``model`` empty: no judge at all. ``mode`` decides
    which new comparisons are judged as they finish (``all``, a random ``sample`` at ``sample_rate``, or ``off``);
    ``ftarena judge --backfill`` judges stored ones whatever the mode. ``queue_size`` bounds the comparisons
    waiting for the judge (more are left for a backfill), ``workers`` how many it judges at once."""

    section: ClassVar[str] = "judge"

    model: str = ""
    mode: str = "all"
    sample_rate: float = 0.1
    max_tokens: int = 512
    temperature: float = 0.0
    timeout_s: float = 120.0
    queue_size: int = 64
    workers: int = 1
    prompt: str = DEFAULT_PROMPT

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ConfigError("judge.mode", f"must be one of {', '.join(MODES)}, not {self.mode!r}")
        if not 0.0 < self.sample_rate <= 1.0:
            raise ConfigError("judge.sample_rate", f"must be more than 0 and at most 1, not {self.sample_rate}")
        for key in ("max_tokens", "queue_size", "workers"):
            if getattr(self, key) < 1:
                raise ConfigError(f"judge.{key}", "must be at least 1")
        if self.timeout_s <= 0:
            raise ConfigError("judge.timeout_s", "must be more than 0")
        missing = [p for p in PLACEHOLDERS if p not in self.prompt]
        if missing:
            raise ConfigError("judge.prompt", f"must contain {', '.join(missing)}")

    @property
    def live(self) -> bool:
        """Whether new comparisons are judged as they finish."""
        return bool(self.model) and self.mode != "off"


def check_judge(settings: JudgeSettings, models: Mapping[str, Model]) -> None:
    """Refuse a judge naming a model the config does not declare."""
    if settings.model and settings.model not in models:
        raise ConfigError("judge.model", f"no model named {settings.model!r}; known: {', '.join(models)}")


def judge_prompt(template: str, question: str, first: str, second: str) -> str:
    """The prompt with the request and the two answers in the order shown. One pass over the template, so an
    answer that happens to contain ``{answer_b}`` is never substituted into."""
    values = {"{question}": question, "{answer_a}": first, "{answer_b}": second}
    return re.sub(r"\{question\}|\{answer_a\}|\{answer_b\}", lambda m: values[m.group(0)], template)


def parse_pick(text: str) -> Choice | None:
    """The decision a judge's reply ends with, as the position it names (A: shown first); None if it names none."""
    found = _DECISION.findall(text)
    return _PICKS[found[-1]] if found else None


def judgeable(comparison: Comparison) -> bool:
    """A finished comparison with two answers to weigh."""
    return comparison.status is Status.DONE and not comparison.reply_problem


class Judge:
    """One judge model: ``judge`` asks it about a comparison in both orders at once and returns the judgement.
    Never raises for the model's failures: they are the judgement (FAILED), logged without the prompt."""

    def __init__(self, settings: JudgeSettings, model: Model, provider: Provider,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.settings = settings
        self.model = model
        self.provider = provider
        self._clock = clock
        # Greedy by default: a judge asked twice should answer the same way; the sampling knobs stay the model's.
        self._params: GenerationParams = replace(model.params, max_tokens=settings.max_tokens,
                                                 temperature=settings.temperature)

    @property
    def name(self) -> str:
        return self.model.name

    async def judge(self, comparison: Comparison) -> Judgement:
        started = time.perf_counter()
        a, b = comparison.reply(Side.A).text, comparison.reply(Side.B).text
        prompts = (judge_prompt(self.settings.prompt, comparison.prompt, a, b),
                   judge_prompt(self.settings.prompt, comparison.prompt, b, a))
        error: str | None = None
        replies: list[Reply] = []
        try:
            async with asyncio.timeout(self.settings.timeout_s):
                replies = await self._both(prompts)
        except TimeoutError:
            error = f"The judge timed out after {self.settings.timeout_s:g} s."
        except ProviderError as exc:
            error = exc.user_message
        except Exception:
            # A broken judge must not break the arena: record the failure, keep the traceback in the log.
            log.exception("judge %s failed unexpectedly on comparison %s", self.name, comparison.id)
            error = "The judge failed unexpectedly."
        latency = round((time.perf_counter() - started) * 1000)
        if error is not None:
            log.warning("judge %s on comparison %s: %s", self.name, comparison.id, error)
            return self._judgement(comparison, JudgeStatus.FAILED, None, None, ("", ""), error, latency)
        texts = (replies[0].text, replies[1].text)
        first, swapped = parse_pick(texts[0]), parse_pick(texts[1])
        second = _SWAPPED[swapped] if swapped is not None else None
        if first is None or second is None:
            status = JudgeStatus.UNPARSABLE
        else:
            status = JudgeStatus.VERDICT if first == second else JudgeStatus.INCONSISTENT
        return self._judgement(comparison, status, first, second, texts, None, latency)

    async def _both(self, prompts: tuple[str, str]) -> list[Reply]:
        """Both orders at once; when one fails or time runs out, the other is stopped rather than left running."""
        tasks = [asyncio.create_task(self._ask(p)) for p in prompts]
        try:
            return [await task for task in tasks]
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _ask(self, prompt: str) -> Reply:
        return await self.provider.generate(apply_template(self.model.template, prompt), self._params)

    def _judgement(self, comparison: Comparison, status: JudgeStatus, first: Choice | None, second: Choice | None,
                   texts: tuple[str, str], error: str | None, latency_ms: int) -> Judgement:
        return Judgement(
            comparison_id=comparison.id, judge=self.name, status=status,
            verdict=first if status is JudgeStatus.VERDICT else None, first=first, second=second,
            text_first=texts[0], text_second=texts[1], error=error, latency_ms=latency_ms, created_at=self._clock())
