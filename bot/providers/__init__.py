"""Model backends behind the Provider port, chosen by a model's ``provider`` key: the one registry of them."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import cast

from bot.domain import Model
from bot.errors import ConfigError
from bot.ports import Provider

# Each ``provider`` key a config may name, with the module and class that implement it. Named rather than
# imported so a backend's libraries load only when a model uses it (llama.cpp is heavy, lamini optional).
PROVIDERS: Mapping[str, tuple[str, str]] = {
    "llamacpp": ("bot.providers.llamacpp", "LlamaCppProvider"),
    "lamini": ("bot.providers.lamini", "LaminiProvider"),
    "openai": ("bot.providers.openai_compat", "OpenAICompatibleProvider"),
    "echo": ("bot.providers.echo", "EchoProvider"),
}


def build_provider(model: Model) -> Provider:
    """A provider for ``model``, its backend imported on first use."""
    try:
        module, name = PROVIDERS[model.provider]
    except KeyError:
        raise ConfigError(
            f"models.{model.name}.provider", f"provider {model.provider!r} is not available yet") from None
    return cast(Provider, getattr(importlib.import_module(module), name)(model))
