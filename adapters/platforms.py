"""The front ends that `serve` runs, listed once: each by the settings section its adapter declares. ``ftarena serve``
accepts their names and the composition root hands their sections to the config loader."""

from __future__ import annotations

from adapters.discord.settings import DiscordSettings
from adapters.slack.settings import SlackSettings
from adapters.web.settings import WebSettings
from bot.config import Section

# A new platform adds its section here; serve.py then says how to start it.
PLATFORM_SETTINGS: tuple[type[Section], ...] = (DiscordSettings, SlackSettings, WebSettings)
PLATFORMS = tuple(settings.section for settings in PLATFORM_SETTINGS)
