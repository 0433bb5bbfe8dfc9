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

from bot import export
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
from bot.outcomes import parse_choice
from bot.ports import Provider, Repository
from bot.progress import Progress, UpdateCallback
from bot.prompts import MAX_PROMPT_CHARS, apply_template, clean_prompt
from bot.ratelimit import RateLimiter
from bot.statistics import bradley_terry
from bot.statistics.bias import bias_report
from bot.statistics.report import ArenaReport
from bot.statistics.slices import BattleQuery
from bot.statistics.win_rates import tallies
from bot.tracing import request_id

if TYPE_CHECKING:
    from bot.registry import RegistryView

log = logging.getLogger(__name__)

STREAM_INTERVAL_S = 1.0
# Chat members may ask for the leaderboard often; a few seconds of staleness spares the CPU.
REPORT_CACHE_S = 10.0
FINISHED_CACHE_SIZE = 4096
CANCELLED = "Stopped before the reply was complete."

_CHECK_STATUS = {"ProviderAuthError": "auth failed", "MissingKeyError": "key not set",
                 "ModelNotFoundError": "not found", "ProviderRateLimitError": "rate limited",
                 "ProviderTimeoutError": "timed out"}


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
        rate_limiter: RateLimiter | None = None,
        sample_matchups: tuple[str, ...] = (),
        export_salt: str = export.SALT,
        rng: random.Random | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
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
        self.sample_matchups = tuple(sample_matchups)
        self.export_salt = export_salt
        self._finished: OrderedDict[str, Comparison] = OrderedDict()
        self._reports: dict[tuple[BattleQuery, int, int], tuple[float, ArenaReport]] = {}
        self._matchup_votes: dict[str, int] = {}
        self._rng = rng or random.SystemRandom()
        self._clock = clock

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
        return await self.run(comparison, on_update=on_update, update_interval=update_interval)

    def prepare(self, prompt: str, requester: str, place: Place, matchup: str | None = None) -> Comparison:
        """Validate the prompt, pick the matchup, apply the rate limit and draw the sides, without any I/O,
        so a chat adapter can refuse bad requests at once and acknowledge good ones before the slow part."""
        text = clean_prompt(prompt, self.max_prompt_chars)
        chosen = self.matchup(matchup) if matchup or len(self._sample_pool()) < 2 else self._draw_matchup()
        if self.rate_limiter is not None:
            self.rate_limiter.check(requester)
        base_side = Side.B if chosen.blind and self._rng.random() < 0.5 else Side.A
        left, right = (chosen.base, chosen.finetuned) if base_side is Side.A else (chosen.finetuned, chosen.base)
        return Comparison(
            id=new_comparison_id(), prompt=text, matchup=chosen.name, model_a=left.name, model_b=right.name,
            base_side=base_side, blind=chosen.blind, requester=requester, place=place, created_at=self._clock(),
        )

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
        side_b = asyncio.create_task(
            self._run_side(models[comparison.model_b], comparison.prompt, comparison.reply_b, progress))
        try:
            await self._run_side(models[comparison.model_a], comparison.prompt, comparison.reply_a, progress)
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
        # A copy for the cache, so a caller changing its result cannot change what others are served.
        self._remember(replace(comparison, reply_a=replace(comparison.reply_a), reply_b=replace(comparison.reply_b)))
        log.info("comparison %s on %s done: a=%s b=%s", comparison.id, chosen.name,
                 comparison.reply_a.error or "ok", comparison.reply_b.error or "ok")
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

    async def _run_side(self, model: Model, prompt: str, reply: Reply, progress: Progress) -> None:
        provider = self.providers.get(model.name)
        started = time.perf_counter()
        try:
            if provider is None:
                raise ProviderError("This model is not set up.")
            async with asyncio.timeout(model.timeout_s):
                async for piece in provider.stream(apply_template(model.template, prompt), model.params):
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
        self._remember(comparison)
        return comparison

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

    async def leaderboard(self, matchup: str | None = None) -> list[Tally]:
        """Tallies for every configured matchup (or one), including those with no votes yet."""
        names = [self.matchup(matchup).name] if matchup else sorted(self.matchups)
        # A matchup whose models were swapped in the config keeps its name: count only the current pair.
        found = {t.matchup: t for t in tallies(await self.repository.outcome_counts(matchup))
                 if t.matchup in self.matchups and (t.base, t.finetuned) ==
                 (self.matchups[t.matchup].base.name, self.matchups[t.matchup].finetuned.name)}
        result = []
        for name in names:
            m = self.matchups[name]
            result.append(found.get(name) or Tally(
                matchup=name, base=m.base.name, finetuned=m.finetuned.name, wins=0, losses=0, ties=0,
                both_bad=0, win_rate=None, ci_low=None, ci_high=None,
            ))
        return result

    async def report(self, query: BattleQuery | None = None, *, rounds: int = 100, seed: int = 0) -> ArenaReport:
        """Bradley-Terry ratings with bootstrap intervals, win rates, bias checks and filter tolls for a slice.
        Counting happens in the database; the fitting runs in a worker thread."""
        query = query or BattleQuery()
        key = (query, rounds, seed)
        cached = self._reports.get(key)
        if cached and time.monotonic() - cached[0] < REPORT_CACHE_S:
            return cached[1]
        battles = await self.repository.battle_set(query)
        board = await asyncio.to_thread(bradley_terry.leaderboard, battles.counts, rounds, seed)
        matrix = bradley_terry.win_rate_matrix(battles.counts)
        bias = bias_report(battles.counts, await self.repository.votes_per_voter(query))
        report = ArenaReport(query=query, leaderboard=board, battles=battles, win_rates=matrix, bias=bias)
        self._reports = {k: v for k, v in self._reports.items() if time.monotonic() - v[0] < REPORT_CACHE_S}
        self._reports[key] = (time.monotonic(), report)
        return report

    async def export(self, fmt: str, out: IO[str], query: BattleQuery | None = None,
                     options: export.ExportOptions | None = None) -> int:
        """Write the votes of a slice (all by default) in ``fmt`` to ``out``; returns rows written."""
        writer, fmt = export.writer_for(fmt), fmt.lower()
        options = options or export.ExportOptions(salt=self.export_salt)
        if fmt == "csv":  # the repository writes CSV itself, from renderings it stored: a million votes in seconds
            return await asyncio.to_thread(self.repository.write_csv, out, options, query)
        battles = self.repository.iter_battles(query, by_comparison=fmt in export.PREFERENCE_FORMATS)
        return await asyncio.to_thread(writer, battles, out, options)

    async def check_models(self, timeout_s: float = 30.0) -> list[tuple[Model, str]]:
        """Ping every model in a matchup with a one-token request, all at once; returns each model
        with ``reachable``, ``auth failed``, ``not found``, ``rate limited``, ``unavailable`` or ``timed out``."""
        models = {m.name: m for mu in self.matchups.values() for m in (mu.base, mu.finetuned)}

        async def ping(model: Model) -> tuple[Model, str]:
            provider = self.providers.get(model.name)
            if provider is None:
                return model, "unavailable"
            try:
                async with asyncio.timeout(min(timeout_s, model.timeout_s)):
                    await provider.generate(apply_template(model.template, "Hi"), replace(model.params, max_tokens=1))
            except TimeoutError:
                return model, "timed out"
            except ProviderError as exc:
                return model, _CHECK_STATUS.get(type(exc).__name__, "unavailable")
            return model, "reachable"

        return list(await asyncio.gather(*(ping(m) for m in models.values())))

    async def aclose(self) -> None:
        for provider in self.providers.values():
            await provider.aclose()
