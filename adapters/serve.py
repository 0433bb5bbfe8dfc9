"""``ftarena serve``: run the front ends (Discord, Slack, the web arena, any of them) in one process and one loop."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable, Coroutine, Mapping
from typing import Any

from adapters.bootstrap import fail_lost_comparisons, open_service, prune_rate_windows
from adapters.health import health_server
from adapters.loop import freeze_heap
from adapters.platforms import PLATFORMS
from bot.config import Settings
from bot.errors import ConfigError, StorageError
from bot.service import ArenaService

log = logging.getLogger(__name__)


def secret(env: Mapping[str, str], section: str, key: str, variable: str) -> str:
    """A secret from the environment, or a ConfigError naming the variable (never its value)."""
    value = env.get(variable, "").strip()
    if not value:
        raise ConfigError(f"{section}.{key}", f"the environment variable {variable} is not set")
    return value


def _missing(env: Mapping[str, str], *variables: str) -> list[str]:
    return [variable for variable in variables if not env.get(variable, "").strip()]


def pick_platforms(settings: Settings, env: Mapping[str, str], *, http: bool) -> tuple[list[str], dict[str, str]]:
    """For ``ftarena serve`` with no names: the platforms whose credentials are set, and why each other one is
    skipped (naming the missing variables, never a value). The web arena needs no secret, so it starts only
    when named: a bot deployment does not open a public page by surprise."""
    wanted = {
        "discord": _missing(env, settings.discord.token_env),
        "slack": _missing(env, settings.slack.bot_token_env,
                          settings.slack.signing_secret_env if http else settings.slack.app_token_env),
    }
    chosen = [name for name in PLATFORMS if name in wanted and not wanted[name]]
    skipped = {name: f"{', '.join(missing)} not set" for name, missing in wanted.items() if missing}
    skipped |= {name: f"started only when named (ftarena serve {name})" for name in PLATFORMS if name not in wanted}
    return chosen, skipped


def _chosen(settings: Settings, platforms: list[str], env: Mapping[str, str], *, http: bool) -> list[str]:
    if platforms:
        unknown = sorted(set(platforms) - set(PLATFORMS))
        if unknown:
            raise ConfigError("serve", f"unknown platform {', '.join(unknown)}: choose from {', '.join(PLATFORMS)}")
        return platforms
    chosen, skipped = pick_platforms(settings, env, http=http)
    for name, reason in skipped.items():
        log.info("not starting %s: %s", name, reason)
    if not chosen:
        reasons = "; ".join(f"{name}: {reason}" for name, reason in skipped.items())
        raise ConfigError("serve", f"no platform has its credentials set ({reasons}); set them or name the "
                                   f"platforms to run, from {', '.join(PLATFORMS)}")
    return chosen


SWEEP_EVERY_S = 60.0


async def sweep_stale(service: ArenaService, settings: Settings, every_s: float = SWEEP_EVERY_S) -> None:
    """Now and then, mark comparisons whose process died (by any bot sharing the database) as failed, and forget
    emptied rate-limit windows."""
    while True:
        await asyncio.sleep(every_s)
        try:
            await fail_lost_comparisons(service.repository, settings)
            await prune_rate_windows(service.repository, settings)
        except StorageError:
            log.warning("could not sweep unfinished comparisons or rate-limit windows; will try again")


async def serve(settings: Settings, platforms: list[str], *, http_port: int | None = None,
                env: Mapping[str, str] | None = None) -> None:
    """Run the named platforms, or with none named every platform whose credentials are set."""
    env = os.environ if env is None else env
    platforms = _chosen(settings, platforms, env, http=http_port is not None)
    # Every secret is checked before anything starts, so a missing one costs nothing.
    discord_token = secret(env, "discord", "token_env", settings.discord.token_env) if "discord" in platforms else ""
    if "slack" in platforms:
        from adapters.slack.app import slack_credentials

        slack = slack_credentials(settings.slack, env, http=http_port is not None)
    service = await open_service(settings, rate_limited=True)
    runners: list[Callable[[], Coroutine[Any, Any, None]]] = [lambda: sweep_stale(service, settings)]
    view = service.registry_view
    if view is not None:  # contenders trained or added while this process runs join its matchups
        runners.append(view.keep_fresh)
    try:
        if "discord" in platforms:
            from adapters.discord.client import serve_discord

            runners.append(lambda: serve_discord(service, settings, discord_token))
        if "slack" in platforms:
            from adapters.slack.app import serve_slack

            runners.append(lambda: serve_slack(service, settings, slack, http_port=http_port))
        if "web" in platforms:
            from adapters.web.app import serve_web

            runners.append(lambda: serve_web(service, settings, env))
        log.info("serving %s", ", ".join(platforms))
        freeze_heap()  # the platforms' libraries are loaded now
        async with health_server(service, settings.arena.health_port), asyncio.TaskGroup() as group:
            # One platform failing (a refused token, say) stops the others; its error is the one reported.
            for runner in runners:
                group.create_task(runner())
    except* Exception as group_error:
        raise group_error.exceptions[0] from None
    finally:
        await service.aclose()
