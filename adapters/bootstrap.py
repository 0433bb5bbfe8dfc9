"""The composition root: settings -> engine, repository, providers -> ArenaService.

Nothing happens at import time; tests call ``build_service`` with their own fakes."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from bot.config import Settings
from bot.ports import Provider, Repository
from bot.providers import build_provider
from bot.ratelimit import RateLimiter
from bot.service import ArenaService

log = logging.getLogger(__name__)

# A comparison still "running" this long past its slowest model's timeout belongs to a dead process.
STALE_MARGIN = timedelta(minutes=1)


def build_service(
    settings: Settings,
    repository: Repository,
    providers: Mapping[str, Provider] | None = None,
    *,
    rate_limited: bool = False,
    rng: random.Random | None = None,
) -> ArenaService:
    if providers is None:
        used = {m.name: m for matchup in settings.matchups.values() for m in (matchup.base, matchup.finetuned)}
        providers = {name: build_provider(model) for name, model in used.items()}
    limiter = RateLimiter(settings.arena.rate_limit, settings.arena.rate_window_s) if rate_limited else None
    return ArenaService(
        settings.matchups, providers, repository, default_matchup=settings.arena.default_matchup,
        max_prompt_chars=settings.arena.max_prompt_chars, rate_limiter=limiter,
        sample_matchups=settings.arena.sample_matchups, rng=rng,
    )


async def open_repository(database_url: str, stale_after: timedelta = STALE_MARGIN) -> Repository:
    """Connect, bring the schema up to date and close out comparisons a dead process left running."""
    from storage.database import make_engine, migrate
    from storage.repository import SqlAlchemyRepository

    engine = make_engine(database_url)
    await asyncio.to_thread(migrate, engine)
    repository = SqlAlchemyRepository(engine)
    stale = await repository.fail_unfinished(older_than=datetime.now(UTC) - stale_after)
    if stale:
        log.warning("marked %d unfinished comparison(s) from an earlier run as failed", stale)
    return repository


async def open_service(settings: Settings, *, rate_limited: bool = False) -> ArenaService:
    slowest = max((m.timeout_s for m in settings.models.values()), default=0.0)
    repository = await open_repository(settings.database_url, timedelta(seconds=slowest) + STALE_MARGIN)
    service = build_service(settings, repository, rate_limited=rate_limited)
    if settings.arena.sample_matchups:
        await service.refresh_matchup_votes()
    return service
