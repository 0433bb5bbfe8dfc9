"""The ``[slack]`` settings section, declared by the Slack front end (registered in adapters/platforms.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar


@dataclass(frozen=True)
class SlackSettings:
    section: ClassVar[str] = "slack"

    bot_token_env: str = "SLACK_BOT_TOKEN"
    app_token_env: str = "SLACK_APP_TOKEN"
    signing_secret_env: str = "SLACK_SIGNING_SECRET"
    api_base_url: str = "https://slack.com/api/"
    admin_user_ids: tuple[str, ...] = ()
    compare_command: str = "/compare"
    leaderboard_command: str = "/leaderboard"
    models_command: str = "/arena-models"
    export_command: str = "/export"
    settings_command: str = "/arena-settings"
    forget_command: str = "/arena-forget-me"
    train_command: str = "/arena-train"
