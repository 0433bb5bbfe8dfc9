"""Model backends behind the Provider port, chosen by a model's ``provider`` key."""

from __future__ import annotations

from bot.domain import Model
from bot.errors import ConfigError
from bot.ports import Provider


def build_provider(model: Model) -> Provider:
    """A provider for ``model``; backends are imported only when a model uses them."""
    if model.provider == "llamacpp":
        from bot.providers.llamacpp import LlamaCppProvider

        return LlamaCppProvider(model)
    if model.provider == "openai":
        from bot.providers.openai_compat import OpenAICompatibleProvider

        return OpenAICompatibleProvider(model)
    if model.provider == "lamini":
        from bot.providers.lamini import LaminiProvider

        return LaminiProvider(model)
    if model.provider == "echo":
        from bot.providers.echo import EchoProvider

        return EchoProvider(model)
    raise ConfigError(f"models.{model.name}.provider", f"provider {model.provider!r} is not available yet")
