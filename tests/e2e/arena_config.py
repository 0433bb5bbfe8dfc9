"""Arena settings for chat-platform end-to-end tests: deterministic echo models, real SQLite."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from adapters.bootstrap import parse_settings
from bot.config import Settings

LONG_REPLY = " ".join(f"word{i:04d}" for i in range(1100))  # about 10,000 characters
HOSTILE_REPLY = "@everyone look <@123> <!channel> **bold** [link](http://evil.example) `code`"


def arena_settings(tmp_path: Path, delay_s: float = 0.05, **sections: dict[str, Any]) -> Settings:
    data: dict[str, Any] = {
        "database": {"url": f"sqlite:///{tmp_path / 'arena.db'}"},
        "arena": {"default_matchup": "pair", "stream_interval_s": 0.2, "rate_limit": 50},
        "models": {
            "base-echo": {"provider": "echo", "model": "base", "reply": "{prompt} and then it rambles on and on",
                          "delay_s": delay_s},
            "tuned-echo": {"provider": "echo", "model": "tuned", "reply": "Here is a clear answer to: {prompt}",
                           "delay_s": delay_s},
            "broken": {"provider": "echo", "model": "broken", "fail": True},
            "long": {"provider": "echo", "model": "long", "reply": LONG_REPLY, "max_tokens": 5000},
            "long-base": {"provider": "echo", "model": "long-base", "reply": "base: " + LONG_REPLY, "max_tokens": 5000},
            "hostile": {"provider": "echo", "model": "hostile", "reply": HOSTILE_REPLY},
        },
        "matchups": {
            "pair": {"base": "base-echo", "finetuned": "tuned-echo"},
            "failing": {"base": "broken", "finetuned": "tuned-echo"},
            "long": {"base": "long-base", "finetuned": "long"},
            "hostile": {"base": "base-echo", "finetuned": "hostile"},
        },
    }
    for name, values in sections.items():
        data.setdefault(name, {}).update(values)
    return parse_settings(data, {})
