"""The ``[discord]`` settings section, declared by the Discord front end (registered in adapters/platforms.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from bot.errors import ConfigError


@dataclass(frozen=True)
class DiscordSettings:
    section: ClassVar[str] = "discord"

    token_env: str = "DISCORD_TOKEN"
    api_base_url: str = "https://discord.com/api/v10"
    gateway_url: str = ""
    guild_ids: tuple[int, ...] = ()
    admin_user_ids: tuple[str, ...] = ()
    # Scale-out: run process i of N with shard_id = i, shard_count = N (0: one process, no sharding).
    shard_count: int = 0
    shard_id: int = 0

    def __post_init__(self) -> None:
        if self.shard_count and not 0 <= self.shard_id < self.shard_count:
            raise ConfigError(f"{self.section}.shard_id",
                              f"must be between 0 and shard_count - 1 ({self.shard_count - 1})")
