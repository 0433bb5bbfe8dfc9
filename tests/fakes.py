"""In-memory implementations of the core's ports, for unit tests (real implementations, not mocks)."""

from __future__ import annotations

import asyncio
import copy
import dataclasses
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import IO

from bot.channels import StoredSetting
from bot.domain import (
    Choice,
    Comparison,
    Counts,
    GenerationParams,
    Matchup,
    Model,
    ModelInput,
    Place,
    Reply,
    Status,
    Vote,
    last_click_wins,
)
from bot.errors import ModelUnavailableError, UnknownComparisonError
from bot.export import ExportOptions, write_csv
from bot.judgement import JudgedComparison, Judgement, JudgeStatus
from bot.outcomes import WINNER, outcome
from bot.ports import (
    UNVOTED,
    Battle,
    BrowsedComparison,
    ComparisonFilter,
    ComparisonPage,
    Forgotten,
    OutcomeCount,
)
from bot.providers.common import collect_reply
from bot.registry import Contender, RegistryError
from bot.statistics.battles import BattleCount
from bot.statistics.slices import BattleQuery, BattleSet, FilterStep
from bot.statistics.style import style_features
from bot.statistics.vote_table import VoteRecord, VoteTable, table_from_records


class InMemoryRegistry:
    """The ContenderRegistry port in memory (mixed into InMemoryRepository), held to the same contract suite."""

    registered: dict[str, Contender]
    training_holder: tuple[str, datetime] | None = None

    def _registry(self) -> dict[str, Contender]:
        if not hasattr(self, "registered"):
            self.registered = {}
        return self.registered

    async def contenders(self, include_retired: bool = False) -> list[Contender]:
        found = [c for c in self._registry().values() if include_retired or c.live]
        return sorted(found, key=lambda c: (c.created_at or datetime.min.replace(tzinfo=UTC), c.name))

    async def register_contender(self, contender: Contender) -> None:
        if contender.name in self._registry():
            raise RegistryError(f"A model named {contender.name} is already registered.")
        self._registry()[contender.name] = contender

    async def retire_contender(self, name: str, at: datetime) -> bool:
        found = self._registry().get(name)
        if found is None or not found.live:
            return False
        self._registry()[name] = dataclasses.replace(found, retired_at=at)
        return True

    async def registry_version(self) -> str:
        registered = self._registry().values()
        return f"{len(registered)}:{sum(not c.live for c in registered)}"

    async def claim_training(self, holder: str, at: datetime, stale_before: datetime) -> str | None:
        current = self.training_holder
        if current is not None and current[0] != holder and current[1] >= stale_before:
            return current[0]
        self.training_holder = (holder, at)
        return None

    async def release_training(self, holder: str) -> None:
        if self.training_holder is not None and self.training_holder[0] == holder:
            self.training_holder = None


class InMemoryRepository(InMemoryRegistry):
    """The Repository port in memory, held to the same contract suite as the SQL repository
    (tests/contract/test_repository_contract.py)."""

    def __init__(self) -> None:
        self.comparisons: dict[str, Comparison] = {}
        # In the order first cast, as the SQL rows' ids run: a changed vote keeps its place.
        self.votes: dict[tuple[str, str], Vote] = {}
        self.settings: dict[tuple[str, str, str, str], str] = {}  # (platform, server, channel, key) -> value
        self.rate_hits: dict[str, list[datetime]] = {}
        self.installation: dict[str, str] = {}
        self.judgements: dict[tuple[str, str], Judgement] = {}
        self.announced: dict[tuple[str, Place], str] = {}

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
        vote, previous = last_click_wins(self.votes.get((comparison_id, voter)), comparison_id, voter, choice, at)
        self.votes[(comparison_id, voter)] = vote
        return vote, previous

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
            if matchup is not None and c.matchup != matchup:
                continue
            key = (c.matchup, c.model_on(c.base_side), c.model_on(c.finetuned_side), outcome(vote.choice, c.base_side))
            grouped[key] = grouped.get(key, 0) + 1
        return [OutcomeCount(*key, count=n) for key, n in grouped.items()]

    async def fail_unfinished(self, older_than: datetime | None = None, matchup: str | None = None) -> int:
        stale = [c for c in self.comparisons.values() if c.status is Status.RUNNING
                 and (older_than is None or c.created_at < older_than) and matchup in (None, c.matchup)]
        for c in stale:
            c.status = Status.FAILED
        return len(stale)

    def _sliced(self, query: BattleQuery) -> list[Battle]:
        battles = [Battle(self.comparisons[cid], vote) for (cid, _), vote in self.votes.items()]
        return [b for b in battles if _in_slice(b, query)]

    @staticmethod
    def _filtered(battles: list[Battle], query: BattleQuery) -> list[Battle]:
        return [b for b in battles if not (query.drop_identity_leaks and b.comparison.identity_leak)
                and not (query.drop_failed and b.comparison.reply_problem)]

    async def battle_set(self, query: BattleQuery) -> BattleSet:
        sliced = self._sliced(query)
        kept, steps = sliced, []
        if query.drop_identity_leaks:
            steps.append(FilterStep("identity leak", sum(b.comparison.identity_leak for b in kept)))
            kept = [b for b in kept if not b.comparison.identity_leak]
        if query.drop_failed:
            steps.append(FilterStep("failed or empty reply", sum(b.comparison.reply_problem for b in kept)))
            kept = [b for b in kept if not b.comparison.reply_problem]
        if query.daily_cap is not None:
            capped = _capped(kept, query.daily_cap)
            steps.append(FilterStep(f"more than {query.daily_cap} votes per voter per day", len(kept) - len(capped)))
            kept = capped
        grouped: dict[tuple[str, str, str], int] = {}
        for b in kept:
            key = (b.comparison.model_a, b.comparison.model_b, WINNER[b.vote.choice])
            grouped[key] = grouped.get(key, 0) + 1
        return BattleSet(counts=tuple(BattleCount(*k, n) for k, n in grouped.items()), sliced=len(sliced),
                         steps=tuple(steps))

    async def vote_table(self, query: BattleQuery) -> VoteTable:
        return table_from_records(VoteRecord(
            matchup=b.comparison.matchup, voter=b.vote.voter, model_a=b.comparison.model_a,
            model_b=b.comparison.model_b, winner=WINNER[b.vote.choice],
            finetuned_side=b.comparison.finetuned_side.value,
            style_a=style_features(b.comparison.reply_a.text, b.comparison.reply_a.tokens),
            style_b=style_features(b.comparison.reply_b.text, b.comparison.reply_b.tokens),
        ) for b in self._filtered(self._sliced(query), query))

    async def vote_places(self, matchup: str) -> list[Place]:
        places = {self.comparisons[cid].place for (cid, _) in self.votes if self.comparisons[cid].matchup == matchup}
        return sorted(places, key=lambda p: (p.platform, p.server, p.channel))

    async def claim_announcements(self, matchup: str, places: Sequence[Place], state: str,
                                  at: datetime) -> list[Place]:
        claimed = [place for place in places if (matchup, place) not in self.announced]
        self.announced.update({(matchup, place): state for place in claimed})
        return claimed

    async def votes_per_voter(self, query: BattleQuery) -> list[int]:
        voters: dict[str, int] = {}
        for b in self._filtered(self._sliced(query), query):
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

    async def record_feedback(self, comparison_id: str, voter: str, text: str) -> bool:
        vote = self.votes.get((comparison_id, voter))
        if vote is None:
            return False
        self.votes[(comparison_id, voter)] = dataclasses.replace(vote, feedback=text)
        return True

    async def forget(self, voter: str, dry_run: bool = False) -> Forgotten:
        asked = {cid for cid, c in self.comparisons.items() if c.requester == voter}
        while True:  # and the later turns of their conversations, and the regenerations of any of these
            first = {}
            for cid in asked:
                c = self.comparisons[cid]
                first[c.conversation] = min(first.get(c.conversation, c.turn), c.turn)
            more = {cid for cid, c in self.comparisons.items() if cid not in asked and (
                c.regenerated_from in asked or (c.conversation in first and c.turn > first[c.conversation]))}
            if not more:
                break
            asked |= more
        own = [key for key in self.votes if key[1] == voter]
        others = [key for key in self.votes if key[0] in asked and key[1] != voter]
        found = Forgotten(votes=len(own), reasons=sum(bool(self.votes[key].feedback) for key in own),
                          comparisons=len(asked), others_votes=len(others))
        if not dry_run:
            for key in (*own, *others):
                del self.votes[key]
            for cid in asked:
                del self.comparisons[cid]
            for key in [key for key in self.judgements if key[0] in asked]:  # as ON DELETE CASCADE does
                del self.judgements[key]
            self.rate_hits.pop(voter, None)
        return found

    async def installation_value(self, key: str, proposed: str) -> str:
        return self.installation.setdefault(key, proposed)
    async def save_judgement(self, judgement: Judgement) -> None:
        if judgement.comparison_id not in self.comparisons:
            raise UnknownComparisonError(judgement.comparison_id)
        self.judgements[(judgement.comparison_id, judgement.judge)] = judgement

    async def judged(self, matchup: str | None = None, judge: str | None = None, *, platform: str | None = None,
                     server: str | None = None, channel: str | None = None) -> list[JudgedComparison]:
        found = []
        for (cid, name), j in self.judgements.items():
            c = self.comparisons[cid]
            where = ((matchup, c.matchup), (platform, c.place.platform), (server, c.place.server),
                     (channel, c.place.channel), (judge, name))
            if all(wanted in (None, value) for wanted, value in where):
                bare = replace(j, text_first="", text_second="")  # read back without the raw texts, as in SQL
                found.append(JudgedComparison(bare, c.matchup, c.model_a, c.model_b, c.base_side,
                                              await self.counts(cid)))
        return sorted(found, key=lambda f: (self.comparisons[f.judgement.comparison_id].created_at,
                                            f.judgement.comparison_id, f.judgement.judge))

    async def unjudged(self, judge: str, matchup: str | None = None, limit: int | None = None) -> list[str]:
        def answered(c: Comparison) -> bool:
            j = self.judgements.get((c.id, judge))
            return j is not None and j.status is not JudgeStatus.FAILED

        found = sorted((c for c in self.comparisons.values() if c.status is Status.DONE and not c.reply_problem
                        and matchup in (None, c.matchup) and not answered(c)), key=lambda c: (c.created_at, c.id))
        return [c.id for c in found[:limit]]

    def iter_battles(self, query: BattleQuery | None = None, by_comparison: bool = False) -> Iterator[Battle]:
        battles = self._sliced(query or RAW)
        if query is not None:
            battles = self._filtered(battles, query)
        if by_comparison:
            battles.sort(key=lambda b: b.comparison.id)  # stable: in the order first cast within each
        yield from (copy.deepcopy(b) for b in battles)

    async def has_later_turns(self, query: BattleQuery | None = None) -> bool:
        return any(b.comparison.turn > 1 for b in self.iter_battles(query))

    def write_csv(self, out: IO[str], options: ExportOptions, query: BattleQuery | None = None) -> int:
        return write_csv(self.iter_battles(query), out, options)

    async def scope_settings(self, platform: str, server: str, channel: str) -> list[StoredSetting]:
        return [StoredSetting(c, key, value) for (p, s, c, key), value in self.settings.items()
                if (p, s) == (platform, server) and c in ("", channel)]

    async def put_settings(self, platform: str, server: str, channel: str, values: Mapping[str, str | None],
                           by: str, at: datetime) -> None:
        for key, value in values.items():
            if value is None:
                self.settings.pop((platform, server, channel, key), None)
            else:
                self.settings[(platform, server, channel, key)] = value

    async def take_rate_slot(self, member: str, limit: int, window_s: float, at: datetime) -> float:
        hits = [hit for hit in self.rate_hits.get(member, []) if (at - hit).total_seconds() < window_s]
        self.rate_hits[member] = hits
        if len(hits) >= limit:
            return window_s - (at - hits[len(hits) - limit]).total_seconds()
        hits.append(at)
        return 0.0

    async def prune_rate_slots(self, before: datetime) -> int:
        gone = [member for member, hits in self.rate_hits.items() if not hits or hits[-1] < before]
        for member in gone:
            del self.rate_hits[member]
        return len(gone)


RAW = BattleQuery(drop_identity_leaks=False, drop_failed=False)


def _in_slice(b: Battle, query: BattleQuery) -> bool:
    c, v = b.comparison, b.vote
    wanted = ((query.matchup, c.matchup), (query.platform, c.place.platform), (query.server, c.place.server),
              (query.channel, c.place.channel), (query.voter, v.voter))
    return (all(value is None or value == found for value, found in wanted)
            and (query.since is None or v.updated_at >= query.since)
            and (query.until is None or v.updated_at < query.until) and v.voter not in query.without_voters)


def _capped(battles: list[Battle], cap: int) -> list[Battle]:
    """Each voter's first ``cap`` votes (in the order first cast) of every UTC day of their last click."""
    seen: dict[tuple[str, date], int] = {}
    kept = []
    for b in battles:
        day = (b.vote.voter, b.vote.updated_at.astimezone(UTC).date())
        seen[day] = seen.get(day, 0) + 1
        if seen[day] <= cap:
            kept.append(b)
    return kept


class ScriptedProvider:
    """Yields fixed words; can wait on an event before starting, fail, or stall forever."""

    def __init__(self, words: list[str], *, fail: bool = False, stall: bool = False,
                 wait_for: asyncio.Event | None = None, started: asyncio.Event | None = None) -> None:
        self.words = words
        self.fail = fail
        self.stall = stall
        self.wait_for = wait_for
        self.started = started or asyncio.Event()
        self.prompts: list[ModelInput] = []
        self.cancelled = False

    async def stream(self, prompt: ModelInput, params: GenerationParams) -> AsyncIterator[str]:
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

    async def generate(self, prompt: ModelInput, params: GenerationParams) -> Reply:
        return await collect_reply(self.stream(prompt, params))

    async def aclose(self) -> None:
        return None


def model(name: str, template: str = "completion", timeout_s: float = 5.0) -> Model:
    return Model(name=name, provider="echo", model=name, template=template, timeout_s=timeout_s)


def matchup(name: str = "pair", blind: bool = True, base: str = "base-m", tuned: str = "tuned-m",
            timeout_s: float = 5.0) -> Matchup:
    return Matchup(name=name, base=model(base, timeout_s=timeout_s),
                   finetuned=model(tuned, "[INST] {prompt} [/INST]", timeout_s), blind=blind)

