"""The docker-compose example, read with the bot's own config loader and command-line parser: every
override names a real setting, the shards cover 0..N-1, and the services point at each other."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy.engine import make_url

from adapters.bootstrap import load_settings
from adapters.cli import _parser

ROOT = Path(__file__).resolve().parents[2]
SECRETS = {"DISCORD_TOKEN": "discord-token", "SLACK_BOT_TOKEN": "xoxb-token", "SLACK_SIGNING_SECRET": "secret"}


def _after(command: list[str], flag: str) -> list[str]:
    return [command[i + 1] for i, word in enumerate(command) if word == flag]


def test_the_compose_example_wires_two_shards_a_balancer_postgres_and_vllm() -> None:
    compose: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
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
        assert args.command == "serve" and args.platforms == ["discord", "slack"] and args.http
        upstreams.append(f"{name}:{args.port}")
    assert sorted(shards) == list(range(len(bots))) and len(bots) == 2
    balancer = services["slack-lb"]["command"]
    assert _after(balancer, "--to") == upstreams, shlex.join(balancer)
    assert services["slack-lb"]["ports"] == [f"{_after(balancer, '--from')[0].lstrip(':')}:3000"]
