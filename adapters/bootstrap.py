"""The composition root: settings (the core's and every platform's sections) -> engine, repository,
providers -> ArenaService.

Nothing happens at import time; tests call ``build_service`` with their own fakes."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from adapters.platforms import PLATFORM_SETTINGS
from bot import config
from bot.config import Settings
from bot.ports import ContenderRegistry, Provider, Repository
from bot.providers import build_provider
from bot.ratelimit import RateLimiter
from bot.registry import RegistryView
from bot.service import ArenaService

log = logging.getLogger(__name__)


def load_settings(path: str | Path | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """The settings as the app reads them: the config file and environment, with every platform's section."""
    return config.load_settings(path, env, PLATFORM_SETTINGS)


def parse_settings(data: Mapping[str, Any], env: Mapping[str, str]) -> Settings:
    """Settings from already-read TOML data and the environment, with every platform's section."""
    return config.parse_settings(data, env, PLATFORM_SETTINGS)


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
        sample_matchups=settings.arena.sample_matchups, rng=rng, export_salt=settings.arena.export_salt,
    )


def stale_after(settings: Settings, matchup: str | None = None) -> timedelta:
    """How old a still-running comparison must be to count as lost: its slowest model's timeout (any
    model's, for matchups no longer configured) plus ``arena.stale_grace_s``, so a comparison that a
    live process is still running is never touched."""
    known = settings.matchups.get(matchup or "")
    models = (known.base, known.finetuned) if known else tuple(settings.models.values())
    slowest = max((m.timeout_s for m in models), default=0.0)
    return timedelta(seconds=slowest + settings.arena.stale_grace_s)


async def fail_lost_comparisons(repository: Repository, settings: Settings) -> int:
    """Mark comparisons that a dead process left running as failed, matchup by matchup."""
    now = datetime.now(UTC)
    failed = 0
    for name in settings.matchups:
        failed += await repository.fail_unfinished(older_than=now - stale_after(settings, name), matchup=name)
    failed += await repository.fail_unfinished(older_than=now - stale_after(settings))
    if failed:
        log.warning("marked %d unfinished comparison(s) of a dead process as failed", failed)
    return failed


async def open_repository(database_url: str) -> Repository:
    """Connect and bring the schema up to date."""
    from storage.database import make_engine, migrate
    from storage.repository import SqlAlchemyRepository

    engine = make_engine(database_url)
    await asyncio.to_thread(migrate, engine)
    return SqlAlchemyRepository(engine)


async def open_service(settings: Settings, *, rate_limited: bool = False) -> ArenaService:
    repository = await open_repository(settings.database_url)
    await fail_lost_comparisons(repository, settings)
    service = build_service(settings, repository, rate_limited=rate_limited)
    if settings.arena.sample_matchups:
        await service.refresh_matchup_votes()
    await watch_registry(service, settings)
    return service


async def watch_registry(service: ArenaService, settings: Settings) -> None:
    """Give the service the registry's live contenders now, and the means to follow it (``registry_view``)."""
    if not isinstance(service.repository, ContenderRegistry):
        return
    service.registry_view = RegistryView(service, service.repository, settings.models, build_provider,
                                         blind=settings.arena.blind)
    await service.registry_view.refresh(force=True)
