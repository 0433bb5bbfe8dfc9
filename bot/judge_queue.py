"""The judge's background work: finished comparisons wait in a bounded queue and a few worker tasks judge them and
store each judgement. Offering never waits, so judging can never delay a member's comparison or reveal; when the
queue is full the comparison is left unjudged (``ftarena judge --backfill`` catches up) instead of piling up work.
Also the backfill: stored comparisons judged a few at a time."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Sequence

from bot.domain import Comparison
from bot.errors import ArenaError
from bot.judge import Judge, judgeable
from bot.judgement import Judgement
from bot.ports import Repository

log = logging.getLogger(__name__)


class JudgeQueue:
    """Judges comparisons as they finish, per the judge's ``mode``, in the background."""

    def __init__(self, judge: Judge, repository: Repository, rng: random.Random | None = None) -> None:
        self.judge = judge
        self.repository = repository
        self.settings = judge.settings
        self.dropped = 0  # offered while the queue was full: left for a backfill
        self._queue: asyncio.Queue[Comparison] | None = None
        self._workers: list[asyncio.Task[None]] = []
        self._rng = rng or random.Random()

    @property
    def name(self) -> str:
        """The judge model's name, as its judgements record it."""
        return self.judge.name

    def offer(self, comparison: Comparison) -> bool:
        """Queue ``comparison`` for judging if the mode wants it; returns whether it was queued. Never waits."""
        if not self.settings.live or not judgeable(comparison):
            return False
        if self.settings.mode == "sample" and self._rng.random() >= self.settings.sample_rate:
            return False
        queue = self._start()
        try:
            queue.put_nowait(comparison)
        except asyncio.QueueFull:
            self.dropped += 1
            log.warning("judge queue full (%d waiting): comparison %s left for a backfill",
                        self.settings.queue_size, comparison.id)
            return False
        return True

    def _start(self) -> asyncio.Queue[Comparison]:
        # Created on first use, on the running loop: the service is built before any loop runs in some entry points.
        if self._queue is None:
            self._queue = asyncio.Queue(self.settings.queue_size)
            self._workers = [asyncio.create_task(self._work(self._queue), name=f"judge-{i}")
                             for i in range(self.settings.workers)]
        return self._queue

    async def _work(self, queue: asyncio.Queue[Comparison]) -> None:
        while True:
            comparison = await queue.get()
            try:
                await judge_and_store(self.judge, self.repository, comparison)
            except Exception:
                # Whatever broke, the worker lives on: a dead worker would silently stop all judging.
                log.exception("judging comparison %s failed unexpectedly", comparison.id)
            finally:
                queue.task_done()

    async def join(self) -> None:
        """Wait until every queued comparison is judged and stored."""
        if self._queue is not None:
            await self._queue.join()

    async def aclose(self) -> None:
        """Stop the workers; comparisons still waiting stay unjudged (a backfill finds them)."""
        for task in self._workers:
            task.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        self._workers = []


async def judge_and_store(judge: Judge, repository: Repository, comparison: Comparison) -> Judgement | None:
    """Judge one comparison and store the judgement; a storage failure is logged and the judgement dropped."""
    judgement = await judge.judge(comparison)
    try:
        await repository.save_judgement(judgement)
    except ArenaError as exc:
        log.warning("could not store the judgement of comparison %s: %s", comparison.id, exc.user_message)
        return None
    return judgement


async def backfill(judge: Judge, repository: Repository, comparison_ids: Sequence[str], workers: int,
                   on_judged: Callable[[Judgement | None], None] = lambda _: None) -> list[Judgement]:
    """Judge the comparisons with these ids, at most ``workers`` at once, each loaded only when its turn comes
    (a backlog of thousands is never held in memory), calling ``on_judged`` after each (a progress bar; None for
    one that could not be stored or no longer exists)."""
    pending = iter(comparison_ids)
    done: list[Judgement] = []

    async def worker() -> None:
        for comparison_id in pending:  # one shared iterator: each comparison is taken by one worker
            comparison = await repository.get_comparison(comparison_id)
            judgement = await judge_and_store(judge, repository, comparison) if comparison else None
            if judgement is not None:
                done.append(judgement)
            on_judged(judgement)

    await asyncio.gather(*(worker() for _ in range(max(1, min(workers, len(comparison_ids))))))
    return done
