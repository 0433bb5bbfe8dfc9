from __future__ import annotations

from pathlib import Path

import pytest

from adapters.bootstrap import load_settings, parse_settings
from bot.errors import ConfigError


def test_defaults_are_the_embedded_matchup() -> None:
    settings = parse_settings({}, {})
    m = settings.matchups["embedded"]
    assert (m.base.model, m.finetuned.model) == ("embedded:gemma-3-270m", "embedded:smollm2-135m-instruct")
    assert m.blind and m.finetuned.template == "chat" and settings.database_url == "sqlite:///ftarena.db"


def test_toml_file_and_env_overrides(tmp_path: Path) -> None:
    config = tmp_path / "arena.toml"
    config.write_text('''
[arena]
default_matchup = "seed"
[models.llama-2-7b]
provider = "echo"
model = "meta-llama/Llama-2-7b-hf"
[models.llama-2-7b-chat]
provider = "echo"
model = "meta-llama/Llama-2-7b-chat-hf"
template = "[INST] {prompt} [/INST]"
temperature = 0.2
[matchups.seed]
base = "llama-2-7b"
finetuned = "llama-2-7b-chat"
blind = false
''')
    env = {"FTARENA_DATABASE__URL": "sqlite:////data/arena.db", "FTARENA_ARENA__RATE_LIMIT": "9",
           "FTARENA_MODELS__LLAMA_2_7B_CHAT__MAX_TOKENS": "32", "FTARENA_DISCORD__GUILD_IDS": "[1, 2]"}
    settings = load_settings(config, env)
    seed = settings.matchups["seed"]
    assert settings.database_url == "sqlite:////data/arena.db" and settings.arena.rate_limit == 9
    assert seed.finetuned.params.max_tokens == 32 and seed.finetuned.params.temperature == 0.2
    assert not seed.blind and settings.discord.guild_ids == (1, 2)
    # A config that names its matchups offers only those (the built-in models stay, unused unless named).
    assert set(settings.matchups) == {"seed"} and "gemma-3-270m" in settings.models


def test_a_config_without_matchups_keeps_the_embedded_one_and_the_first_named_is_the_default(tmp_path: Path) -> None:
    config = tmp_path / "arena.toml"
    config.write_text('[database]\nurl = "sqlite:///x.db"\n')
    assert set(load_settings(config, {}).matchups) == {"embedded"}
    config.write_text('[models.x]\nprovider = "echo"\nmodel = "x"\n[models.y]\nprovider = "echo"\nmodel = "y"\n'
                      '[matchups.first]\nbase = "x"\nfinetuned = "y"\n[matchups.second]\nbase = "y"\nfinetuned = "x"\n')
    settings = load_settings(config, {})
    assert set(settings.matchups) == {"first", "second"} and settings.arena.default_matchup == "first"


def test_list_keys_take_comma_separated_values_from_the_environment() -> None:
    env = {"FTARENA_DISCORD__ADMIN_USER_IDS": "123, 456", "FTARENA_DISCORD__GUILD_IDS": "123,456",
           "FTARENA_SLACK__ADMIN_USER_IDS": "U1", "FTARENA_ARENA__SAMPLE_MATCHUPS": "embedded"}
    settings = load_settings(None, env)
    assert settings.discord.admin_user_ids == ("123", "456") and settings.discord.guild_ids == (123, 456)
    assert settings.slack.admin_user_ids == ("U1",) and settings.arena.sample_matchups == ("embedded",)
    assert load_settings(None, {"FTARENA_DISCORD__GUILD_IDS": "[7, 8]"}).discord.guild_ids == (7, 8)
    with pytest.raises(ConfigError, match=r"discord\.guild_ids: must be a list of int"):
        load_settings(None, {"FTARENA_DISCORD__GUILD_IDS": "123,abc"})


def test_config_file_from_env_var(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text('[database]\nurl = "sqlite:///x.db"\n')
    assert load_settings(None, {"FTARENA_CONFIG": str(config)}).database_url == "sqlite:///x.db"


@pytest.mark.parametrize(("data", "key"), [
    ({"arena": {"rate_limit": "many"}}, "arena.rate_limit"),
    ({"arena": {"bliind": True}}, "arena.bliind"),
    ({"models": {"x": {"provider": "nope", "model": "m"}}}, "models.x.provider"),
    ({"models": {"x": {"provider": "echo"}}}, "models.x.model"),
    ({"models": {"x": {"provider": "echo", "model": "m", "template": "no slot"}}}, "models.x.template"),
    ({"models": {"x": {"provider": "echo", "model": "m", "max_tokens": 0}}}, "models.x.max_tokens"),
    ({"matchups": {"y": {"base": "missing", "finetuned": "gemma-3-270m"}}}, "matchups.y.base"),
    ({"arena": {"default_matchup": "ghost"}}, "arena.default_matchup"),
    ({"databse": {}}, "databse"),
    ({"matchups": {"self": {"base": "gemma-3-270m", "finetuned": "gemma-3-270m"}}}, "matchups.self.finetuned"),
])
def test_bad_config_names_the_key(data: dict[str, object], key: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_settings(data, {})
    assert caught.value.key == key
    assert caught.value.user_message.startswith(f"Config error at {key}:")


def test_bad_toml_and_missing_file(tmp_path: Path) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text("[arena\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(broken, {})
    with pytest.raises(ConfigError, match="file not found"):
        load_settings(tmp_path / "absent.toml", {})


def test_shard_id_must_fit_the_shard_count() -> None:
    with pytest.raises(ConfigError, match="between 0 and shard_count - 1"):
        parse_settings({"discord": {"shard_count": 2, "shard_id": 2}}, {})
