"""The docker-compose example, read with the bot's own config loader and command-line parser: every
override names a real setting, the shards cover 0..N-1, and the services point at each other."""

from __future__ import annotations

import asyncio
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy.engine import make_url

from adapters.bootstrap import load_settings
from adapters.cli import _parser
from adapters.serve import pick_platforms, serve
from bot.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
SECRETS = {"DISCORD_TOKEN": "discord-token", "SLACK_BOT_TOKEN": "xoxb-token", "SLACK_SIGNING_SECRET": "secret"}


def _after(command: list[str], flag: str) -> list[str]:
    return [command[i + 1] for i, word in enumerate(command) if word == flag]


def test_the_compose_example_wires_two_shards_a_balancer_postgres_and_vllm() -> None:
    compose_text = (ROOT / "docker-compose.yml").read_text()
    compose: dict[str, Any] = yaml.safe_load(compose_text)
    services = compose["services"]
    bots = {name: service for name, service in services.items() if name.startswith("bot-")}
    vllm = services["vllm"]["command"]
    served = {*_after(vllm, "--model"), *(module.split("=")[0] for module in _after(vllm, "--lora-modules"))}
    postgres = services["postgres"]["environment"]
    shards, upstreams = [], []
    for name, bot in bots.items():
        [config] = [volume.split(":")[0] for volume in bot["volumes"] if ":/config/arena.toml" in volume]
        env = {key: str(value) for key, value in bot["environment"].items()}
        assert env["FTARENA_CONFIG"] == "/config/arena.toml" and set(SECRETS) <= set(env)
        settings = load_settings(ROOT / config, {**env, **SECRETS})
        assert set(settings.models) == set(load_settings(ROOT / config, {}).models)  # no override adds a model
        compared = settings.matchups[settings.arena.default_matchup]
        models = (compared.base, compared.finetuned)
        assert {m.options.get("base_url") for m in models} == {"http://vllm:8000/v1"}
        assert {m.model for m in models} == served  # vLLM serves both, the fine-tune by its LoRA's name
        url = make_url(settings.database_url)
        assert (url.host, url.username, url.password, url.database) == (
            "postgres", postgres["POSTGRES_USER"], postgres["POSTGRES_PASSWORD"], postgres["POSTGRES_DB"])
        assert bot["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert settings.discord.shard_count == len(bots)
        shards.append(settings.discord.shard_id)
        check = " ".join(bot["healthcheck"]["test"])
        assert f"127.0.0.1:{settings.arena.health_port}/readyz" in check
        args = _parser().parse_args(bot["command"])
        # No platform named: each bot serves those whose credentials the deployer set.
        assert args.command == "serve" and args.platforms == [] and args.http
        assert pick_platforms(settings, {**env, **SECRETS}, http=args.http)[0] == ["discord", "slack"]
        # A Discord-only or Slack-only deployer leaves the other's variables unset and edits nothing.
        for left_out, alone in ((("DISCORD_TOKEN",), "slack"),
                                (("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET"), "discord")):
            unset = dict.fromkeys(left_out, "")
            assert pick_platforms(settings, {**env, **SECRETS, **unset}, http=args.http)[0] == [alone]
        upstreams.append(f"{name}:{args.port}")
    assert sorted(shards) == list(range(len(bots))) and len(bots) == 2
    proxy = services["slack-lb"]
    balancer = proxy["command"]
    assert _after(balancer, "--to") == upstreams, shlex.join(balancer)
    # Slack only calls HTTPS URLs: Caddy serves a domain (automatic certificates), not a bare port.
    [domain] = _after(balancer, "--from")
    assert domain.startswith("${SLACK_DOMAIN") and "SLACK_DOMAIN" in compose_text.split("x-bot:")[0]
    assert proxy["ports"] == ["80:80", "443:443"] and "caddy-data:/data" in proxy["volumes"]
    assert "caddy-data" in compose["volumes"]


def test_the_slack_manifest_shows_the_request_url_for_every_command_and_interactivity() -> None:
    text = (ROOT / "slack-manifest.yml").read_text()
    manifest: dict[str, Any] = yaml.safe_load(text)
    commands = [c["command"] for c in manifest["features"]["slash_commands"]]
    settings = load_settings(None, {})
    assert commands == [settings.slack.compare_command, settings.slack.leaderboard_command,
                        settings.slack.models_command, settings.slack.export_command,
                        settings.slack.settings_command, settings.slack.forget_command, settings.slack.train_command]
    # Each command and interactivity carry a commented request URL to uncomment for HTTP mode.
    for name in commands:
        block = text.split(f"- command: {name}\n")[1].split("- command:")[0].split("oauth_config:")[0]
        assert "# url: https://YOUR-HOST/slack/events" in block, name
    assert "# request_url: https://YOUR-HOST/slack/events" in text.split("interactivity:")[1]


def test_serve_with_no_platform_named_starts_those_with_credentials_or_says_what_is_missing() -> None:
    settings = load_settings(None, {})
    assert pick_platforms(settings, {"SLACK_BOT_TOKEN": "x", "SLACK_APP_TOKEN": "y"}, http=False) == (
        ["slack"], {"discord": "DISCORD_TOKEN not set", "web": "started only when named (ftarena serve web)"})
    chosen, skipped = pick_platforms(settings, {"DISCORD_TOKEN": "t", "SLACK_BOT_TOKEN": "x",
                                                "SLACK_APP_TOKEN": " "}, http=True)
    assert chosen == ["discord"] and skipped["slack"] == "SLACK_SIGNING_SECRET not set"
    with pytest.raises(ConfigError) as caught:
        asyncio.run(serve(settings, [], env={"DISCORD_TOKEN": "", "SLACK_BOT_TOKEN": "xoxb-secret-value"}))
    message = caught.value.user_message
    assert "DISCORD_TOKEN not set" in message and "SLACK_APP_TOKEN not set" in message
    assert "xoxb-secret-value" not in message  # names, never values
    with pytest.raises(ConfigError, match="unknown platform telegram"):
        asyncio.run(serve(settings, ["telegram"], env={}))
