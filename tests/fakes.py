"""In-memory implementations of the core's ports, for unit tests (real implementations, not mocks)."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import datetime

from bot.analysis import BattleQuery, BattleSet
from bot.arena_ratings import BattleCount
from bot.domain import (
    Choice,
    Comparison,
    Counts,
    GenerationParams,
    Matchup,
    Model,
    Reply,
    Status,
    Vote,
)
from bot.errors import ModelUnavailableError, UnknownComparisonError
from bot.export import WINNER, csv_line, csv_parts, epoch_ms
from bot.outcomes import outcome
from bot.ports import UNVOTED, Battle, BrowsedComparison, ComparisonFilter, ComparisonPage, CsvChunk, OutcomeCount
from bot.providers.common import collect_reply


class InMemoryRepository:
    def __init__(self) -> None:
        self.comparisons: dict[str, Comparison] = {}
        self.votes: dict[tuple[str, str], Vote] = {}

    async def ping(self) -> None:
        return None

    async def add_comparison(self, comparison: Comparison) -> None:
        self.comparisons[comparison.id] = copy.deepcopy(comparison)

    async def save_result(self, comparison: Comparison) -> None:
        self.comparisons[comparison.id] = copy.deepcopy(comparison)

    async def get_comparison(self, comparison_id: str) -> Comparison | None:
        found = self.comparisons.get(comparison_id)
        return copy.deepcopy(found) if found else None

    async def record_vote(self, comparison_id: str, voter: str, choice: Choice,
                          at: datetime) -> tuple[Vote, Choice | None]:
        if comparison_id not in self.comparisons:
            raise UnknownComparisonError(comparison_id)
        old = self.votes.get((comparison_id, voter))
        if old is not None and old.updated_at > at:
            return old, old.choice
        if old is None:
            vote = Vote(comparison_id, voter, choice, at, at, 0)
        else:
            vote = Vote(comparison_id, voter, choice, old.created_at, at, old.changes + (old.choice != choice))
        self.votes[(comparison_id, voter)] = vote
        return vote, old.choice if old else None

    async def record_vote_and_count(self, comparison_id: str, voter: str, choice: Choice,
                                    at: datetime) -> tuple[Vote, Choice | None, Counts]:
        vote, previous = await self.record_vote(comparison_id, voter, choice, at)
        return vote, previous, await self.counts(comparison_id)

    async def counts(self, comparison_id: str) -> Counts:
        choices = [v.choice for (cid, _), v in self.votes.items() if cid == comparison_id]
        return Counts(a=choices.count(Choice.A), b=choices.count(Choice.B), tie=choices.count(Choice.TIE),
                      both_bad=choices.count(Choice.BOTH_BAD))

    async def outcome_counts(self, matchup: str | None = None) -> list[OutcomeCount]:
        grouped: dict[tuple[str, str, str, str], int] = {}
        for (cid, _), vote in self.votes.items():
            c = self.comparisons[cid]
            if matchup and c.matchup != matchup:
                continue
            if vote.choice in (Choice.TIE, Choice.BOTH_BAD):
                outcome = vote.choice.value
            else:
                outcome = "base" if vote.choice.value == c.base_side.value else "finetuned"
            key = (c.matchup, c.model_on(c.base_side), c.model_on(c.finetuned_side), outcome)
            grouped[key] = grouped.get(key, 0) + 1
        return [OutcomeCount(*key, count=n) for key, n in grouped.items()]

    async def fail_unfinished(self, older_than: datetime | None = None, matchup: str | None = None) -> int:
        stale = [c for c in self.comparisons.values() if c.status is Status.RUNNING
                 and (older_than is None or c.created_at < older_than) and matchup in (None, c.matchup)]
        for c in stale:
            c.status = Status.FAILED
        return len(stale)

    def _selected(self, query: BattleQuery | None) -> list[Battle]:
        battles = [Battle(self.comparisons[cid], vote) for (cid, _), vote in self.votes.items()]
        if query is None:
            return battles
        return [b for b in battles if (query.matchup in (None, b.comparison.matchup))
                and (query.platform in (None, b.comparison.place.platform)) and (query.voter in (None, b.vote.voter))
                and not (query.drop_identity_leaks and b.comparison.identity_leak)
                and not (query.drop_failed and b.comparison.reply_problem)]

    async def battle_set(self, query: BattleQuery) -> BattleSet:
        kept = self._selected(query)
        grouped: dict[tuple[str, str, str], int] = {}
        for b in kept:
            key = (b.comparison.model_a, b.comparison.model_b, WINNER[b.vote.choice])
            grouped[key] = grouped.get(key, 0) + 1
        return BattleSet(counts=tuple(BattleCount(*k, n) for k, n in grouped.items()), sliced=len(kept), steps=())

    async def votes_per_voter(self, query: BattleQuery) -> list[int]:
        voters: dict[str, int] = {}
        for b in self._selected(query):
            voters[b.vote.voter] = voters.get(b.vote.voter, 0) + 1
        return list(voters.values())

    async def browse(self, query: ComparisonFilter) -> ComparisonPage:
        def wanted(c: Comparison) -> bool:
            outcomes = {outcome(v.choice, c.base_side) for (cid, _), v in self.votes.items() if cid == c.id}
            return (all(value in (None, "", found) for value, found in (
                        (query.matchup, c.matchup), (query.platform, c.place.platform),
                        (query.channel, c.place.channel)))
                    and query.search.strip().lower() in c.prompt.lower()
                    and (query.since is None or c.created_at >= query.since)
                    and (query.until is None or c.created_at < query.until)
                    and (not query.outcome or (not outcomes if query.outcome == UNVOTED
                                               else query.outcome in outcomes)))

        found = sorted((c for c in self.comparisons.values() if wanted(c)), key=lambda c: c.id)
        found.sort(key=lambda c: c.created_at, reverse=True)
        page = found[max(0, query.offset):max(0, query.offset) + max(1, query.limit)]
        items = [BrowsedComparison(copy.deepcopy(c), await self.counts(c.id)) for c in page]
        return ComparisonPage(tuple(items), len(found))

    async def votes_on(self, comparison_id: str) -> list[Vote]:
        return sorted((v for (cid, _), v in self.votes.items() if cid == comparison_id), key=lambda v: v.created_at)

    def iter_battles(self, query: BattleQuery | None = None, by_comparison: bool = False) -> Iterator[Battle]:
        battles = sorted(self._selected(query), key=lambda b: b.vote.created_at)
        if by_comparison:
            battles.sort(key=lambda b: b.comparison.id)
        yield from battles

    def iter_csv(self, judge: Callable[[str], str], query: BattleQuery | None = None) -> Iterator[CsvChunk]:
        lines = [csv_line(csv_parts(b.comparison), b.vote.choice.value, judge(b.vote.voter),
                          epoch_ms(b.vote.updated_at), b.vote.changes) for b in self.iter_battles(query)]
        yield CsvChunk("".join(lines), len(lines))


class ScriptedProvider:
    """Yields fixed words; can wait on an event before starting, fail, or stall forever."""

    def __init__(self, words: list[str], *, fail: bool = False, stall: bool = False,
                 wait_for: asyncio.Event | None = None, started: asyncio.Event | None = None) -> None:
        self.words = words
        self.fail = fail
        self.stall = stall
        self.wait_for = wait_for
        self.started = started or asyncio.Event()
        self.prompts: list[str] = []
        self.cancelled = False

    async def stream(self, prompt: str, params: GenerationParams) -> AsyncIterator[str]:
        self.prompts.append(prompt)
        self.started.set()
        try:
            if self.wait_for is not None:
                await self.wait_for.wait()
            if self.fail:
                raise ModelUnavailableError("The model is unavailable right now.")
            if self.stall:
                await asyncio.Event().wait()
            for word in self.words:
                await asyncio.sleep(0)
                yield word
        except asyncio.CancelledError:
            self.cancelled = True
            raise

    async def generate(self, prompt: str, params: GenerationParams) -> Reply:
        return await collect_reply(self.stream(prompt, params))

    async def aclose(self) -> None:
        return None


def model(name: str, template: str = "completion", timeout_s: float = 5.0) -> Model:
    return Model(name=name, provider="echo", model=name, template=template, timeout_s=timeout_s)


def matchup(name: str = "pair", blind: bool = True, base: str = "base-m", tuned: str = "tuned-m",
            timeout_s: float = 5.0) -> Matchup:
    return Matchup(name=name, base=model(base, timeout_s=timeout_s),
                   finetuned=model(tuned, "[INST] {prompt} [/INST]", timeout_s), blind=blind)

