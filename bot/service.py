"""The arena service: compare a prompt on a matchup, record votes, tally and export.

Adapters call this and nothing below it; storage and model backends come in as ports."""

from __future__ import annotations

import asyncio
import logging
import random
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import IO, TYPE_CHECKING

from bot import conversation, export, model_checks
from bot.announcements import DecisionWatch
from bot.channels import CONFIG, ChannelControl, ConfigDefaults, Effective
from bot.domain import (
    Choice,
    Comparison,
    LengthLimit,
    Matchup,
    Model,
    Place,
    Reply,
    Reveal,
    Side,
    Status,
    Tally,
)
from bot.errors import (
    ArenaError,
    ProviderError,
    UnknownComparisonError,
    UnknownMatchupError,
)
from bot.identity_leaks import identity_leak
from bot.judge_queue import JudgeQueue
from bot.outcomes import parse_choice
from bot.ports import Forgotten, Provider, Repository
from bot.progress import Progress, UpdateCallback
from bot.prompts import MAX_PROMPT_CHARS, clean_prompt, clean_reason
from bot.ratelimit import Limiter
from bot.reports import Reports
from bot.statistics.report import ArenaReport
from bot.statistics.slices import BattleQuery
from bot.tracing import request_id

if TYPE_CHECKING:
    from bot.registry import RegistryView

log = logging.getLogger(__name__)

STREAM_INTERVAL_S = 1.0
# Every turn stores the whole conversation before it (exports carry it): this bounds what one row holds.
MAX_TURNS = 20
FINISHED_CACHE_SIZE = 4096
CANCELLED = "Stopped before the reply was complete."


def new_comparison_id() -> str:
    return secrets.token_hex(8)


class ArenaService:
    def __init__(
        self,
        matchups: Mapping[str, Matchup],
        providers: Mapping[str, Provider],
        repository: Repository,
        *,
        default_matchup: str | None = None,
        max_prompt_chars: int = MAX_PROMPT_CHARS,
        rate_limiter: Limiter | None = None,
        channels: ChannelControl | None = None,
        sample_matchups: tuple[str, ...] = (),
        export_salt: str = export.SALT,
        rng: random.Random | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        judge: JudgeQueue | None = None,
        announce_decisions: bool = True,
    ) -> None:
        if not matchups:
            raise ArenaError("No matchup is configured.")
        self.matchups = dict(matchups)
        self.config_matchups = dict(matchups)
        self.registry_matchups: tuple[str, ...] = ()  # live registered contenders' (bot/registry.py)
        self.registry_view: RegistryView | None = None  # set by the composition root when there is a registry
        self.providers = dict(providers)
        self.repository = repository
        self.default_matchup = default_matchup or next(iter(self.matchups))
        self.max_prompt_chars = max_prompt_chars
        self.rate_limiter = rate_limiter
        # Settings admins set per server and channel; without a config's allow-lists, everyone everywhere.
        self.channels = channels or ChannelControl(repository, ConfigDefaults(
            self.default_matchup, rate_limiter.limit if rate_limiter else 0,
            rate_limiter.window_s if rate_limiter else 60.0), self.matchups)
        self.sample_matchups = tuple(sample_matchups)
        self.export_salt = export_salt
        self._finished: OrderedDict[str, Comparison] = OrderedDict()
        self.reports = Reports(repository, lambda: self.matchups, self.matchup)
        self._matchup_votes: dict[str, int] = {}
        self._rng = rng or random.SystemRandom()
        self._clock = clock
        self.judge = judge  # judges finished comparisons in the background, when a judge is configured
        self.decisions = DecisionWatch(repository, self.matchups, clock, announce_decisions)

    def matchup(self, name: str | None = None) -> Matchup:
        key = name or self.default_matchup
        try:
            return self.matchups[key]
        except KeyError:
            raise UnknownMatchupError(key, sorted(self.matchups)) from None

    async def compare(
        self,
        prompt: str,
        requester: str,
        place: Place,
        matchup: str | None = None,
        *,
        on_update: UpdateCallback | None = None,
        update_interval: float = STREAM_INTERVAL_S,
    ) -> Comparison:
        """Check the request, then run both models on it: ``prepare`` followed by ``run``."""
        comparison = self.prepare(prompt, requester, place, matchup)
        await self.take_turn(requester)
        return await self.run(comparison, on_update=on_update, update_interval=update_interval)

    def prepare(self, prompt: str, requester: str, place: Place, matchup: str | None = None, *,
                blind: bool | None = None) -> Comparison:
        """Validate the prompt, pick the matchup and draw the sides, without any I/O, so a chat adapter can
        refuse bad requests at once and acknowledge good ones before the slow part (``take_turn`` next).
        ``blind`` overrides the matchup's own (a channel's setting)."""
        text = clean_prompt(prompt, self.max_prompt_chars)
        chosen = self.matchup(matchup) if matchup or len(self._sample_pool()) < 2 else self._draw_matchup()
        if blind is not None:
            chosen = replace(chosen, blind=blind)
        base_side, left, right = self._draw_sides(chosen)
        return Comparison(
            id=new_comparison_id(), prompt=text, matchup=chosen.name, model_a=left.name, model_b=right.name,
            base_side=base_side, blind=chosen.blind, requester=requester, place=place, created_at=self._clock(),
            base_role=chosen.base_role, finetuned_role=chosen.finetuned_role,
        )

    async def take_turn(self, requester: str, here: Effective | None = None) -> None:
        """Count one comparison against the member's rate limit (the channel's or server's setting ``here``,
        else the configured one), or raise RateLimitedError; a prepared comparison that was refused costs none."""
        if self.rate_limiter is None:
            return
        # The configured limit lives in the limiter itself; a setting overrides it.
        set_here = here is not None and here.sources.get("rate_limit") != CONFIG
        await self.rate_limiter.take(requester, here.rate_limit if here is not None and set_here else None)

    async def follow_up(self, comparison_id: str, prompt: str, requester: str, place: Place) -> Comparison:
        """Prepare the next turn of a finished comparison: both models answer with the conversation so far, each
        with its own side's history, on the same sides. Run it with ``run``; it is votable on its own."""
        previous = await self.get(comparison_id)
        if previous.status is not Status.DONE or previous.reply_problem:
            raise ArenaError("A follow-up needs both replies of the comparison before it: regenerate it instead.")
        if previous.turn >= MAX_TURNS:
            raise ArenaError(f"This conversation has reached {MAX_TURNS} turns: start a new comparison.")
        text = clean_prompt(prompt, self.max_prompt_chars)
        self._current_models(previous)
        turn = conversation.next_turn(previous, text, new_comparison_id(), requester, place, self._clock())
        self._with_roles(turn)
        return turn

    async def regenerate(self, comparison_id: str, requester: str, place: Place) -> Comparison:
        """Prepare the same prompt (and turn) again as a new comparison with sides drawn afresh, linked to the
        original, which stays votable. Counts against the rate limit like any comparison."""
        original = await self.get(comparison_id)
        if original.status is Status.RUNNING:
            raise ArenaError("The models are still answering: regenerate once both replies are in.")
        chosen = self._current_models(original)
        base_side, left, right = self._draw_sides(chosen)
        again = conversation.rerun(original, left.name, right.name, base_side, new_comparison_id(), requester,
                                   place, self._clock())
        self._with_roles(again)
        return again

    def _draw_sides(self, chosen: Matchup) -> tuple[Side, Model, Model]:
        """The base model's side (at random when blind) and the models on sides A and B."""
        base_side = Side.B if chosen.blind and self._rng.random() < 0.5 else Side.A
        left, right = (chosen.base, chosen.finetuned) if base_side is Side.A else (chosen.finetuned, chosen.base)
        return base_side, left, right

    def _current_models(self, comparison: Comparison) -> Matchup:
        """The matchup of an earlier comparison, if it still pairs the same two models."""
        chosen = self.matchup(comparison.matchup)
        if {chosen.base.name, chosen.finetuned.name} != {comparison.model_a, comparison.model_b}:
            raise ArenaError("The models of this matchup have changed since: start a new comparison.")
        return chosen

    async def run(
        self,
        comparison: Comparison,
        *,
        on_update: UpdateCallback | None = None,
        update_interval: float = STREAM_INTERVAL_S,
        progress: Progress | None = None,
    ) -> Comparison:
        """Store a prepared comparison, run both models concurrently and store the result.

        The models start while the comparison is being stored. ``on_update`` is called once it is stored
        and then as replies grow, at most once per ``update_interval`` seconds, never after this returns.
        A caller that shows the final result through the same pacing passes its own ``progress`` instead
        (and calls ``progress.finish()`` afterwards)."""
        chosen = self.matchup(comparison.matchup)
        models = {m.name: m for m in (chosen.base, chosen.finetuned)}
        request_id.set(comparison.id)  # every log line about this comparison carries its id
        progress = progress or Progress(on_update, comparison, update_interval)
        stored = asyncio.create_task(self._store(comparison, progress))
        # Side B in a task of its own, side A in this one: concurrent, with one task fewer than gather().
        side_b = asyncio.create_task(self._run_side(models[comparison.model_b], comparison, Side.B, progress))
        try:
            await self._run_side(models[comparison.model_a], comparison, Side.A, progress)
            await side_b
        except asyncio.CancelledError:
            side_b.cancel()
            await self._cancelled(comparison, stored)
            raise
        finally:
            side_b.cancel()
            try:
                if not stored.done():  # the stored comparison is shown at least once, however fast the models
                    await asyncio.wait({stored})
            finally:
                await progress.close()  # no update after this returns, even when cancelled while waiting
            await stored  # a storage failure surfaces here, before anything else is written
        comparison.status = Status.FAILED if not (comparison.reply_a.ok or comparison.reply_b.ok) else Status.DONE
        comparison.identity_leak = identity_leak(
            comparison.prompt, [comparison.reply_a.text, comparison.reply_b.text],
            [name for m in models.values() for name in (m.name, m.model)])
        await self.repository.save_result(comparison)
        # A copy for the cache (and the judge), so a caller changing its result cannot change what others are served.
        kept = replace(comparison, reply_a=replace(comparison.reply_a), reply_b=replace(comparison.reply_b))
        self._remember(kept)
        log.info("comparison %s on %s done: a=%s b=%s", comparison.id, chosen.name,
                 comparison.reply_a.error or "ok", comparison.reply_b.error or "ok")
        if self.judge is not None:
            self.judge.offer(kept)  # never waits: the judge works in the background
        return comparison

    async def _cancelled(self, comparison: Comparison, stored: asyncio.Task[None]) -> None:
        """The member stopped the comparison: store it as cancelled, without the half-written replies (nothing
        of it can be voted on or exported), rather than leave it running until the stale sweep."""
        await asyncio.wait({stored})
        if stored.cancelled() or stored.exception() is not None:
            return  # never stored: nothing to mark
        comparison.status = Status.CANCELLED
        comparison.reply_a, comparison.reply_b = Reply(error=CANCELLED), Reply(error=CANCELLED)
        try:
            await self.repository.save_result(comparison)
        except ArenaError:
            log.warning("could not mark cancelled comparison %s; the stale sweep will", comparison.id)
        log.info("comparison %s cancelled", comparison.id)

    async def _store(self, comparison: Comparison, progress: Progress) -> None:
        await self.repository.add_comparison(comparison)
        # A member never sees a comparison that a crash could lose without trace: updates start once stored.
        await progress.stored()

    async def _run_side(self, model: Model, comparison: Comparison, side: Side, progress: Progress) -> None:
        provider = self.providers.get(model.name)
        reply = comparison.reply(side)
        fitted = conversation.fit(model, comparison.history, side, comparison.prompt)
        reply.dropped_turns = fitted.dropped_turns
        started = time.perf_counter()
        try:
            if provider is None:
                raise ProviderError("This model is not set up.")
            async with asyncio.timeout(model.timeout_s):
                async for piece in provider.stream(fitted.prompt, model.params):
                    if isinstance(piece, LengthLimit):
                        reply.cut = True
                        continue
                    reply.text += piece
                    reply.tokens += 1
                    progress.changed()
        except TimeoutError:
            log.warning("model %s timed out after %.0f s", model.name, model.timeout_s)
            reply.error = f"The model timed out after {model.timeout_s:g} s."
        except ProviderError as exc:
            log.warning("model %s failed: %s", model.name, exc)
            reply.error = exc.user_message
        except Exception:
            # A broken backend must not lose the other side's reply: record, log, carry on.
            log.exception("model %s failed unexpectedly", model.name)
            reply.error = "The model failed unexpectedly."
        reply.latency_ms = round((time.perf_counter() - started) * 1000)
        progress.changed()

    def _sample_pool(self) -> tuple[str, ...]:
        """What a /compare naming no matchup draws from: the configured sample (else the default matchup) and
        every live registered contender's matchup, so a new fine-tune is put in front of people at once."""
        if not self.registry_matchups:
            return self.sample_matchups
        return tuple(dict.fromkeys((*(self.sample_matchups or (self.default_matchup,)), *self.registry_matchups)))

    async def set_registry_matchups(self, matchups: Mapping[str, Matchup], providers: Mapping[str, Provider]) -> None:
        """Serve config + ``matchups`` from now on (``bot.registry.RegistryView`` calls this when the registry
        changed), with ``providers`` for models not seen before. A config matchup keeps its name."""
        added = {name: m for name, m in matchups.items() if name not in self.config_matchups}
        self.providers.update(providers)
        self.matchups = {**self.config_matchups, **added}
        self.decisions.matchups = self.matchups  # a new contender's matchup is announced when decided, too
        self.registry_matchups = tuple(added)
        if added:
            await self.refresh_matchup_votes()

    def _draw_matchup(self) -> Matchup:
        """Weight 1 / (1 + votes so far): a pair nobody has voted on is drawn most often."""
        pool = [self.matchups[name] for name in self._sample_pool()]
        weights = [1 / (1 + self._matchup_votes.get(m.name, 0)) for m in pool]
        return self._rng.choices(pool, weights)[0]

    async def refresh_matchup_votes(self) -> None:
        """Reload the vote counts that matchup sampling uses (at start; votes keep them current)."""
        counts: dict[str, int] = {}
        for row in await self.repository.outcome_counts():
            counts[row.matchup] = counts.get(row.matchup, 0) + row.count
        self._matchup_votes = counts

    async def get(self, comparison_id: str) -> Comparison:
        """A comparison by id; finished ones never change, so recent ones are served from memory."""
        cached = self._finished.get(comparison_id)
        if cached is not None:
            self._finished.move_to_end(comparison_id)
            return cached
        comparison = await self.repository.get_comparison(comparison_id)
        if comparison is None:
            raise UnknownComparisonError(comparison_id)
        self._with_roles(comparison)
        self._remember(comparison)
        return comparison

    def _with_roles(self, comparison: Comparison) -> None:
        """Roles are configuration, not stored: a loaded comparison takes its matchup's, while the matchup still
        holds the same two models (a renamed pair keeps the default roles)."""
        configured = self.matchups.get(comparison.matchup)
        if configured is not None and {configured.base.name, configured.finetuned.name} == {
                comparison.model_a, comparison.model_b}:
            comparison.base_role, comparison.finetuned_role = configured.base_role, configured.finetuned_role

    def _remember(self, comparison: Comparison) -> None:
        if comparison.status is Status.RUNNING:
            return
        self._finished[comparison.id] = comparison
        while len(self._finished) > FINISHED_CACHE_SIZE:
            self._finished.popitem(last=False)

    async def vote(self, comparison_id: str, voter: str, choice: str | Choice, at: datetime | None = None) -> Reveal:
        """Record ``voter``'s vote and return the reveal. ``at`` is when the member clicked (the platform's
        event time; now if not given): the latest click wins, whatever order clicks are processed in."""
        picked = choice if isinstance(choice, Choice) else parse_choice(choice)
        request_id.set(comparison_id[:32])
        comparison = await self.get(comparison_id)
        if comparison.status is Status.RUNNING:
            raise ArenaError("The models are still answering: vote once both replies are in.")
        if comparison.status is Status.FAILED:
            raise ArenaError("Both models failed on this prompt, so there is nothing to vote on.")
        if comparison.status is Status.CANCELLED:
            raise ArenaError("This comparison was stopped before both replies were in, so there is nothing to "
                             "vote on.")
        vote, previous, counts = await self.repository.record_vote_and_count(
            comparison_id, voter, picked, at or self._clock())
        if previous is None:
            self._matchup_votes[comparison.matchup] = self._matchup_votes.get(comparison.matchup, 0) + 1
        return Reveal(
            comparison_id=comparison_id, choice=vote.choice,
            changed_from=previous if previous is not None and previous != vote.choice else None,
            model_a=comparison.model_a, model_b=comparison.model_b, base_side=comparison.base_side,
            counts=counts, comparison=comparison,
        )

    async def give_reason(self, comparison_id: str, voter: str, text: str) -> str:
        """Store why ``voter`` voted as they did on the comparison (the latest reason wins); returns the reason
        as stored. Raises ArenaError when the text is empty or too long, or they have not voted there."""
        reason = clean_reason(text)
        if not await self.repository.record_feedback(comparison_id, voter, reason):
            raise ArenaError("Vote on this comparison first, then say why.")
        return reason

    async def forget(self, voter: str, dry_run: bool = False) -> Forgotten:
        """Delete a member's votes and reasons and the comparisons they asked for (with every vote on them);
        ``dry_run`` only counts. The log line names no one: a deletion request leaves no id behind."""
        found = await self.repository.forget(voter, dry_run)
        if dry_run:
            return found
        for cid in [cid for cid, c in self._finished.items() if c.requester == voter]:
            del self._finished[cid]
        await self.refresh_matchup_votes()
        log.info("forgot a member: %d vote(s), %d comparison(s) with %d other vote(s)", found.votes,
                 found.comparisons, found.others_votes)
        return found

    async def leaderboard(self, matchup: str | None = None, query: BattleQuery | None = None, *,
                          verdicts: bool = False, style: bool = False) -> list[Tally]:
        """Tallies per matchup (``Reports.leaderboard``)."""
        return await self.reports.leaderboard(matchup, query, verdicts=verdicts, style=style)

    async def report(self, query: BattleQuery | None = None, *, rounds: int = 100, seed: int = 0,
                     verdicts: bool = False, style: bool = False, style_rounds: int | None = None) -> ArenaReport:
        """Ratings and verdicts for a slice (``Reports.report``)."""
        return await self.reports.report(query, rounds=rounds, seed=seed, verdicts=verdicts, style=style,
                                         style_rounds=style_rounds)

    async def export(self, fmt: str, out: IO[str], query: BattleQuery | None = None,
                     options: export.ExportOptions | None = None) -> int:
        """Write the votes of a slice (all by default) in ``fmt`` to ``out``; returns rows written."""
        writer, fmt = export.writer_for(fmt), fmt.lower()
        options = options or export.ExportOptions(salt=self.export_salt)
        if fmt == "csv":  # the repository writes CSV itself, from renderings it stored: a million votes in seconds
            return await asyncio.to_thread(self.repository.write_csv, out, options, query)
        if fmt in export.PREFERENCE_FORMATS and not options.conversational and \
                await self.repository.has_later_turns(query):
            options = replace(options, conversational=True)  # one form per file (the same left_out counter)
        battles = self.repository.iter_battles(query, by_comparison=fmt in export.PREFERENCE_FORMATS)
        return await asyncio.to_thread(writer, battles, out, options)

    async def check_models(self, timeout_s: float = 30.0) -> list[tuple[Model, str]]:
        """Ping every model in a matchup (``model_checks.check_models``)."""
        return await model_checks.check_models(self.matchups.values(), self.providers, timeout_s)

    async def aclose(self) -> None:
        if self.judge is not None:
            await self.judge.aclose()
        for provider in self.providers.values():
            await provider.aclose()
