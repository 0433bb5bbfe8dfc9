"""``ftarena models --check``: one one-token request to every model of the matchups, all at once, each answer
named in words a person acts on (``auth failed``: fix the key)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from dataclasses import replace

from bot.domain import Matchup, Model
from bot.errors import ProviderError
from bot.ports import Provider
from bot.prompts import apply_template

CHECK_STATUS = {"ProviderAuthError": "auth failed", "MissingKeyError": "key not set",
                "ModelNotFoundError": "not found", "ProviderRateLimitError": "rate limited",
                "ProviderTimeoutError": "timed out"}


async def check_models(matchups: Iterable[Matchup], providers: Mapping[str, Provider],
                       timeout_s: float = 30.0) -> list[tuple[Model, str]]:
    """Ping every model in a matchup with a one-token request, all at once; returns each model
    with ``reachable``, ``auth failed``, ``not found``, ``rate limited``, ``unavailable`` or ``timed out``."""
    models = {m.name: m for mu in matchups for m in (mu.base, mu.finetuned)}

    async def ping(model: Model) -> tuple[Model, str]:
        provider = providers.get(model.name)
        if provider is None:
            return model, "unavailable"
        try:
            async with asyncio.timeout(min(timeout_s, model.timeout_s)):
                await provider.generate(apply_template(model.template, "Hi"), replace(model.params, max_tokens=1))
        except TimeoutError:
            return model, "timed out"
        except ProviderError as exc:
            return model, CHECK_STATUS.get(type(exc).__name__, "unavailable")
        return model, "reachable"

    return list(await asyncio.gather(*(ping(m) for m in models.values())))

