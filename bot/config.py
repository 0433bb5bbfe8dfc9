"""Settings: built-in defaults (the embedded matchup), overlaid by one TOML file, then by
``FTARENA_<SECTION>__<KEY>`` environment variables. Secrets are never stored here, only the
names of the environment variables that hold them (``*_env`` keys)."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from bot.domain import GenerationParams, Matchup, Model
from bot.errors import ConfigError

ENV_PREFIX = "FTARENA_"
PROVIDERS = ("llamacpp", "lamini", "openai", "echo")
TEMPLATES_HINT = "'completion', 'chat' or a string containing {prompt}"

DEFAULTS: dict[str, Any] = {
    "database": {"url": "sqlite:///ftarena.db"},
    "arena": {"default_matchup": "embedded"},
    "models": {
        "gemma-3-270m": {
            "provider": "llamacpp", "model": "embedded:gemma-3-270m", "template": "completion",
            "max_tokens": 96,
        },
        "smollm2-135m-instruct": {
            "provider": "llamacpp", "model": "embedded:smollm2-135m-instruct", "template": "chat",
            "max_tokens": 96,
        },
    },
    "matchups": {
        "embedded": {"base": "gemma-3-270m", "finetuned": "smollm2-135m-instruct"},
    },
}


@dataclass(frozen=True)
class ArenaSettings:
    default_matchup: str = "embedded"
    blind: bool = True
    max_prompt_chars: int = 4000
    rate_limit: int = 5
    rate_window_s: float = 60.0
    export_salt: str = "finetune-arena"
    stream_interval_s: float = 1.0
    # With two or more names here, a /compare that names no matchup draws one of them, favouring
    # those with fewer votes (weight 1 / (1 + votes)), as arenas do to balance under-voted pairs.
    sample_matchups: tuple[str, ...] = ()
    # A comparison still running this long after its slowest model's timeout belongs to a dead process.
    stale_grace_s: float = 60.0
    # ftarena serve: /healthz and /readyz on this port (0: off).
    health_port: int = 0


@dataclass(frozen=True)
class DiscordSettings:
    token_env: str = "DISCORD_TOKEN"
    api_base_url: str = "https://discord.com/api/v10"
    gateway_url: str = ""
    guild_ids: tuple[int, ...] = ()
    admin_user_ids: tuple[str, ...] = ()
    # Scale-out: run process i of N with shard_id = i, shard_count = N (0: one process, no sharding).
    shard_count: int = 0
    shard_id: int = 0


@dataclass(frozen=True)
class SlackSettings:
    bot_token_env: str = "SLACK_BOT_TOKEN"
    app_token_env: str = "SLACK_APP_TOKEN"
    signing_secret_env: str = "SLACK_SIGNING_SECRET"
    api_base_url: str = "https://slack.com/api/"
    admin_user_ids: tuple[str, ...] = ()
    compare_command: str = "/compare"
    leaderboard_command: str = "/leaderboard"
    models_command: str = "/arena-models"
    export_command: str = "/export"


@dataclass(frozen=True)
class WebSettings:
    host: str = "127.0.0.1"
    port: int = 8080
    admin_token_env: str = "FTARENA_WEB__ADMIN_TOKEN"
    # Signs the visitor cookie and the CSRF tokens; unset, a fresh secret per process (visitors start anew).
    cookie_secret_env: str = "FTARENA_WEB__COOKIE_SECRET"
    # Behind a proxy that logs people in: the header carrying the login (trusted as is; empty: cookies).
    identity_header: str = ""


@dataclass(frozen=True)
class Settings:
    database_url: str
    arena: ArenaSettings
    models: dict[str, Model]
    matchups: dict[str, Matchup]
    discord: DiscordSettings = field(default_factory=DiscordSettings)
    slack: SlackSettings = field(default_factory=SlackSettings)
    web: WebSettings = field(default_factory=WebSettings)


_SECTIONS = {"database", "arena", "models", "matchups", "discord", "slack", "web"}
# Secrets whose default variables read like settings (FTARENA_<SECTION>__<KEY>): read by name, never settings.
_SECRET_VARIABLES = {WebSettings.admin_token_env, WebSettings.cookie_secret_env}
_MODEL_KEYS = {"provider", "model", "template", "timeout_s"}
_PARAM_KEYS = {f.name for f in fields(GenerationParams)}


def load_settings(path: str | Path | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Read the config file (``path``, else ``$FTARENA_CONFIG``, else none) and the environment."""
    env = os.environ if env is None else env
    data: dict[str, Any] = {}
    chosen = path or env.get(ENV_PREFIX + "CONFIG")
    if chosen:
        try:
            data = tomllib.loads(Path(chosen).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(str(chosen), "file not found") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(str(chosen), f"not valid TOML ({exc})") from None
    return parse_settings(data, env)


def parse_settings(data: Mapping[str, Any], env: Mapping[str, str]) -> Settings:
    merged = _merge(DEFAULTS, dict(data))
    _apply_env(merged, env)
    unknown = set(merged) - _SECTIONS
    if unknown:
        raise ConfigError(sorted(unknown)[0], f"unknown section; known: {', '.join(sorted(_SECTIONS))}")
    database = _table(merged, "database")
    url = database.get("url")
    if not isinstance(url, str) or not url:
        raise ConfigError("database.url", "must be a database URL such as sqlite:///ftarena.db")
    arena = _dataclass_from(ArenaSettings, _table(merged, "arena"), "arena")
    models = {name: _model(name, spec) for name, spec in _table(merged, "models").items()}
    matchups = {name: _matchup(name, spec, models, arena.blind)
                for name, spec in _table(merged, "matchups").items()}
    if arena.default_matchup not in matchups:
        raise ConfigError("arena.default_matchup", f"no matchup named {arena.default_matchup!r}")
    for name in arena.sample_matchups:
        if name not in matchups:
            raise ConfigError("arena.sample_matchups", f"no matchup named {name!r}")
    discord = _dataclass_from(DiscordSettings, _table(merged, "discord"), "discord")
    if discord.shard_count and not 0 <= discord.shard_id < discord.shard_count:
        raise ConfigError("discord.shard_id", f"must be between 0 and shard_count - 1 ({discord.shard_count - 1})")
    return Settings(
        database_url=url, arena=arena, models=models, matchups=matchups, discord=discord,
        slack=_dataclass_from(SlackSettings, _table(merged, "slack"), "slack"),
        web=_dataclass_from(WebSettings, _table(merged, "web"), "web"),
    )


def _merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = {k: (dict(v) if isinstance(v, Mapping) else v) for k, v in base.items()}
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _env_value(raw: str) -> Any:
    """Numbers, booleans and arrays are read as TOML; anything else is a plain string."""
    try:
        return tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        return raw


def _apply_env(data: dict[str, Any], env: Mapping[str, str]) -> None:
    for name, raw in env.items():
        if not name.startswith(ENV_PREFIX) or "__" not in name or name in _SECRET_VARIABLES:
            continue
        path = [part.lower() for part in name[len(ENV_PREFIX):].split("__")]
        if path[0] not in _SECTIONS or any(not part for part in path):
            continue
        node = data
        for part in path[:-1]:
            # Model and matchup names may hold '-', which env names cannot: match '_' to '-'.
            key = next((k for k in node if k.replace("-", "_").lower() == part), part)
            node = node.setdefault(key, {})
            if not isinstance(node, dict):
                raise ConfigError(name, "sets a key below a value that is not a table")
        node[path[-1]] = _env_value(raw)


def _table(data: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(key, "must be a table")
    return value


def _check_type(key: str, value: Any, expected: Any) -> Any:
    if expected is bool:
        if not isinstance(value, bool):
            raise ConfigError(key, f"must be true or false, not {value!r}")
        return value
    if expected is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(key, f"must be a number, not {value!r}")
        return float(value)
    if expected is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(key, f"must be a whole number, not {value!r}")
        return value
    if expected is str:
        if not isinstance(value, str):
            raise ConfigError(key, f"must be a string, not {value!r}")
        return value
    if isinstance(value, str | int):
        value = [value]
    if not isinstance(value, list):
        raise ConfigError(key, f"must be a list, not {value!r}")
    item_type = int if "int" in str(expected) else str
    try:
        return tuple(item_type(v) for v in value)
    except (TypeError, ValueError):
        raise ConfigError(key, f"must be a list of {item_type.__name__}") from None


def _dataclass_from(cls: Any, table: Mapping[str, Any], section: str) -> Any:
    known = {f.name: f for f in fields(cls)}
    values = {}
    for key, value in table.items():
        if key not in known:
            raise ConfigError(f"{section}.{key}", f"unknown key; known: {', '.join(sorted(known))}")
        declared = str(known[key].type).removesuffix(" | None")
        expected = {"bool": bool, "float": float, "int": int, "str": str}.get(declared, declared)
        values[key] = _check_type(f"{section}.{key}", value, expected)
    return cls(**values)


def _model(name: str, spec: Any) -> Model:
    where = f"models.{name}"
    if not isinstance(spec, dict):
        raise ConfigError(where, "must be a table")
    provider = spec.get("provider")
    if provider not in PROVIDERS:
        raise ConfigError(f"{where}.provider", f"must be one of {', '.join(PROVIDERS)}, not {provider!r}")
    model_id = spec.get("model")
    if not isinstance(model_id, str) or not model_id:
        raise ConfigError(f"{where}.model", "must name the model (an id, a GGUF path or embedded:NAME)")
    template = _check_type(f"{where}.template", spec.get("template", "completion"), str)
    if template not in ("completion", "chat") and "{prompt}" not in template:
        raise ConfigError(f"{where}.template", f"must be {TEMPLATES_HINT}")
    params = _dataclass_from(GenerationParams, {k: v for k, v in spec.items() if k in _PARAM_KEYS}, where)
    if params.max_tokens <= 0:
        raise ConfigError(f"{where}.max_tokens", "must be at least 1")
    timeout = _check_type(f"{where}.timeout_s", spec.get("timeout_s", 120.0), float)
    if timeout <= 0:
        raise ConfigError(f"{where}.timeout_s", "must be more than 0")
    options = {}
    for key, value in spec.items():
        if key in _MODEL_KEYS or key in _PARAM_KEYS:
            continue
        if not isinstance(value, str | int | float | bool):
            raise ConfigError(f"{where}.{key}", "must be a string, number or boolean")
        options[key] = value
    return Model(name=name, provider=provider, model=model_id, template=template, params=params,
                 timeout_s=timeout, options=options)


def _matchup(name: str, spec: Any, models: Mapping[str, Model], blind_default: bool) -> Matchup:
    where = f"matchups.{name}"
    if not isinstance(spec, dict):
        raise ConfigError(where, "must be a table")
    picked = {}
    for role in ("base", "finetuned"):
        model_name = spec.get(role)
        if not isinstance(model_name, str) or model_name not in models:
            raise ConfigError(f"{where}.{role}", f"no model named {model_name!r}; known: {', '.join(models)}")
        picked[role] = models[model_name]
    if picked["base"].name == picked["finetuned"].name:
        raise ConfigError(f"{where}.finetuned", "must be a different model from base")
    extra = set(spec) - {"base", "finetuned", "blind"}
    if extra:
        raise ConfigError(f"{where}.{sorted(extra)[0]}", "unknown key; known: base, finetuned, blind")
    blind = _check_type(f"{where}.blind", spec.get("blind", blind_default), bool)
    return Matchup(name=name, base=picked["base"], finetuned=picked["finetuned"], blind=blind)
