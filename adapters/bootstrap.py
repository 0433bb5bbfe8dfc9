"""The composition root: settings (the core's and every platform's sections) -> engine, repository,
providers -> ArenaService.

Nothing happens at import time; tests call ``build_service`` with their own fakes."""

from __future__ import annotations

import asyncio
import logging
import random
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from adapters.platforms import PLATFORM_SETTINGS
from bot import config, export
from bot.channels import ChannelControl, ConfigDefaults
from bot.config import Settings
from bot.judge import Judge, JudgeSettings
from bot.judge_queue import JudgeQueue
from bot.ports import ContenderRegistry, Provider, Repository
from bot.providers import build_provider
from bot.ratelimit import SharedRateLimiter
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
    export_salt: str | None = None,
) -> ArenaService:
    """The service on ``repository``; ``rate_limited``: with the rate limit every process on the database shares.
    ``export_salt`` defaults to the config's (else the public default: tests and tools without a database);
    ``open_service`` passes the installation's."""
    if providers is None:
        used = {m.name: m for matchup in settings.matchups.values() for m in (matchup.base, matchup.finetuned)}
        providers = {name: build_provider(model) for name, model in used.items()}
    providers = dict(providers)
    judge = _judge(settings, providers, repository)
    arena = settings.arena
    limiter = SharedRateLimiter(repository, arena.rate_limit, arena.rate_window_s) if rate_limited else None
    # Unlimited where nothing limits (the terminal), so /arena-settings show says what applies.
    defaults = ConfigDefaults(arena.default_matchup, arena.rate_limit if rate_limited else 0, arena.rate_window_s,
                              arena.allowed_channels, arena.allowed_roles, arena.allowed_users)
    return ArenaService(
        settings.matchups, providers, repository, default_matchup=settings.arena.default_matchup,
        max_prompt_chars=settings.arena.max_prompt_chars, rate_limiter=limiter,
        channels=ChannelControl(repository, defaults, settings.matchups),
        sample_matchups=settings.arena.sample_matchups, rng=rng,
        export_salt=export_salt or settings.arena.export_salt or export.SALT,
        judge=judge, announce_decisions=settings.arena.announce_decisions,
    )


def _judge(settings: Settings, providers: dict[str, Provider], repository: Repository) -> JudgeQueue | None:
    """The judge's queue, when ``[judge]`` names a model. A judge that is also a contender shares its provider (one
    embedded model loaded once); otherwise its provider joins the service's, which closes them all."""
    chosen: JudgeSettings = settings.judge
    if not chosen.model:
        return None
    model = settings.models[chosen.model]
    if model.name not in providers:
        providers[model.name] = build_provider(model)
    return JudgeQueue(Judge(chosen, model, providers[model.name]), repository)


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


async def prune_rate_windows(repository: Repository, settings: Settings) -> int:
    """Forget the rate-limit windows that have emptied, so member ids stay no longer than their window."""
    window = timedelta(seconds=settings.arena.rate_window_s)
    return await repository.prune_rate_slots(datetime.now(UTC) - window)


async def open_repository(database_url: str) -> Repository:
    """Connect and bring the schema up to date."""
    from storage.database import make_engine, migrate
    from storage.repository import SqlAlchemyRepository

    engine = make_engine(database_url)
    await asyncio.to_thread(migrate, engine)
    return SqlAlchemyRepository(engine)


SALT_KEY = "export_salt"


async def installation_salt(repository: Repository, settings: Settings) -> str:
    """The salt of the exports' pseudonyms: the config's when it sets one, else this installation's, generated at
    first start and kept in the database (secret: with the public default, anyone knowing a member id could
    recompute their pseudonym)."""
    if settings.arena.export_salt:
        return settings.arena.export_salt
    return await repository.installation_value(SALT_KEY, secrets.token_urlsafe(32))


async def open_service(settings: Settings, *, rate_limited: bool = False) -> ArenaService:
    repository = await open_repository(settings.database_url)
    await fail_lost_comparisons(repository, settings)
    service = build_service(settings, repository, rate_limited=rate_limited,
                            export_salt=await installation_salt(repository, settings))
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
