"""Progress pacing: updates once stored, at most one per interval and one at a time, none after close."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from bot.domain import Comparison, Place, Side
from bot.progress import Progress

INTERVAL = 0.05


def comparison() -> Comparison:
    return Comparison(id="c1", prompt="p", matchup="m", model_a="a", model_b="b", base_side=Side.A, blind=True,
                      requester="r", place=Place("test"), created_at=datetime.now(UTC))


class Recorder:
    def __init__(self, seconds: float = 0.0, fail: bool = False) -> None:
        self.seconds = seconds
        self.fail = fail
        self.calls: list[float] = []
        self.running = 0
        self.most_at_once = 0

    async def __call__(self, _: Comparison) -> None:
        self.calls.append(asyncio.get_running_loop().time())
        self.running += 1
        self.most_at_once = max(self.most_at_once, self.running)
        try:
            await asyncio.sleep(self.seconds)
            if self.fail:
                raise RuntimeError("the chat platform is down")
        finally:
            self.running -= 1


async def tokens(progress: Progress, count: int, every: float) -> None:
    for _ in range(count):
        await asyncio.sleep(every)
        progress.changed()


@pytest.mark.asyncio
async def test_nothing_is_shown_before_the_comparison_is_stored() -> None:
    recorder = Recorder()
    progress = Progress(recorder, comparison(), INTERVAL)
    await tokens(progress, 5, 0.01)
    assert recorder.calls == []
    await progress.stored()
    await progress.close()
    assert len(recorder.calls) == 1


@pytest.mark.asyncio
async def test_updates_are_paced_and_never_overlap() -> None:
    recorder = Recorder(seconds=0.03)
    progress = Progress(recorder, comparison(), INTERVAL)
    await progress.stored()
    await tokens(progress, 40, 0.01)  # 0.4 s of tokens
    await progress.close()
    gaps = [b - a for a, b in zip(recorder.calls, recorder.calls[1:], strict=False)]
    assert 4 <= len(recorder.calls) <= 10 and min(gaps) >= INTERVAL * 0.9
    assert recorder.most_at_once == 1


@pytest.mark.asyncio
async def test_no_update_without_change_and_none_after_close() -> None:
    recorder = Recorder()
    progress = Progress(recorder, comparison(), INTERVAL)
    await progress.stored()
    await asyncio.sleep(INTERVAL * 3)  # nothing changed: only the first update
    assert len(recorder.calls) == 1
    progress.changed()  # due long ago: shown at once
    await progress.close()
    progress.changed()
    await asyncio.sleep(INTERVAL * 2)
    assert len(recorder.calls) == 2


@pytest.mark.asyncio
async def test_close_waits_for_a_running_update_and_failures_are_contained() -> None:
    recorder = Recorder(seconds=0.05, fail=True)
    progress = Progress(recorder, comparison(), 0)
    await progress.stored()  # the first update runs in the caller's task, and its failure stays there
    assert len(recorder.calls) == 1 and recorder.running == 0
    progress.changed()  # later ones run in a task of their own
    await asyncio.sleep(0)
    assert recorder.running == 1
    await progress.close()
    assert recorder.running == 0 and len(recorder.calls) == 2


@pytest.mark.asyncio
async def test_without_a_callback_nothing_runs() -> None:
    progress = Progress(None, comparison(), 0)
    await progress.stored()
    progress.changed()
    await progress.close()


@pytest.mark.asyncio
async def test_finish_waits_out_the_interval_then_shows_the_final_comparison_once_even_after_close() -> None:
    recorder = Recorder()
    progress = Progress(recorder, comparison(), INTERVAL)
    await progress.stored()
    await progress.close()
    await progress.finish()
    assert len(recorder.calls) == 2 and recorder.calls[1] - recorder.calls[0] >= INTERVAL * 0.9
    assert progress.shown


@pytest.mark.asyncio
async def test_a_failing_final_update_reaches_the_caller_and_a_failed_first_one_is_not_shown() -> None:
    recorder = Recorder(fail=True)
    progress = Progress(recorder, comparison(), 0)
    await progress.stored()  # contained: only logged
    assert not progress.shown
    with pytest.raises(RuntimeError, match="platform is down"):
        await progress.finish()
