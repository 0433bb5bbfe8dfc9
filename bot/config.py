"""Settings: built-in defaults (the embedded matchup), overlaid by one TOML file, then by
``FTARENA_<SECTION>__<KEY>`` environment variables. Secrets are never stored here, only the
names of the environment variables that hold them (``*_env`` keys). The core's sections are declared
here; each front end declares its own (a ``Section``) and the composition root hands them to the loader."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, ClassVar, Protocol

from bot.conversation import CONTEXT_OPTIONS
from bot.domain import ROLES, GenerationParams, Matchup, Model
from bot.errors import ConfigError
from bot.judge import JudgeSettings, check_judge
from bot.providers import PROVIDERS

# Hand-written rather than pydantic-settings (weighed in issue 13): its lax coercion would accept what we refuse
# ("9" or 2.0 for a whole number, "yes" for a boolean), its env source cannot reach a model named with '-', a file's
# [models] would replace the built-in ones instead of adding to them, and its messages ("Input should be a valid
# integer, unable to parse string as an integer [type=int_parsing, ...]") would need a translation table.
ENV_PREFIX = "FTARENA_"
TEMPLATES_HINT = "'completion', 'chat' or a string containing {prompt}"

# Room for a whole answer in reasonable time: on 2 cores, with both models generating at once, about 12 s for
# Gemma 3 270M and 7 s for SmolLM2-135M (96 tokens, the old default, cut most answers mid-sentence).
EMBEDDED_MAX_TOKENS = 256

DEFAULTS: dict[str, Any] = {
    "database": {"url": "sqlite:///ftarena.db"},
    "arena": {"default_matchup": "embedded"},
    "models": {
        "gemma-3-270m": {
            "provider": "llamacpp", "model": "embedded:gemma-3-270m", "template": "completion",
            "max_tokens": EMBEDDED_MAX_TOKENS,
        },
        "smollm2-135m-instruct": {
            "provider": "llamacpp", "model": "embedded:smollm2-135m-instruct", "template": "chat",
            "max_tokens": EMBEDDED_MAX_TOKENS,
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
    # Pseudonyms in exports hash voter ids with this salt. Empty: the installation's own random salt, generated
    # at first start and kept in the database (adapters/bootstrap.installation_salt).
    export_salt: str = ""
    stream_interval_s: float = 1.0
    # With two or more names here, a /compare that names no matchup draws one of them, favouring
    # those with fewer votes (weight 1 / (1 + votes)), as arenas do to balance under-voted pairs.
    sample_matchups: tuple[str, ...] = ()
    # A comparison still running this long after its slowest model's timeout belongs to a dead process.
    stale_grace_s: float = 60.0
    # ftarena serve: /healthz and /readyz on this port (0: off).
    health_port: int = 0
    # Allow-lists (empty: no limit). The channel ids the bot answers in, and the Discord role ids and user ids
    # (Discord or Slack) that may compare and vote; admins' /arena-settings override them per server or channel.
    allowed_channels: tuple[str, ...] = ()
    allowed_roles: tuple[str, ...] = ()
    allowed_users: tuple[str, ...] = ()
    # Tell each channel where a matchup was voted, once, when its anytime-valid decision is reached.
    announce_decisions: bool = True
    # Where ftarena train and /arena-train put trained adapters, one folder per contender.
    adapters_dir: str = "trained"


class Section(Protocol):
    """A settings section a front end declares: a frozen dataclass whose class attribute ``section`` is its
    name (``[name]`` in the file, ``FTARENA_NAME__KEY`` in the environment) and whose fields are its keys,
    typed bool, int, float, str or a tuple of int or str, each with its default. It checks its own values in
    ``__post_init__``, raising ConfigError with the dotted key (``name.key``)."""

    section: ClassVar[str]


@dataclass(frozen=True)
class Settings:
    database_url: str
    arena: ArenaSettings
    models: dict[str, Model]
    matchups: dict[str, Matchup]
    # Each front end's section by its name, holding defaults where the file and environment say nothing.
    sections: Mapping[str, Any] = field(default_factory=dict)

    def __getattr__(self, name: str) -> Any:
        """A front end's section as an attribute (``settings.<section>``), read like the core's own."""
        # Read through __dict__: copy and pickle look attributes up before ``sections`` is set.
        sections = self.__dict__.get("sections", {})
        if name in sections:
            return sections[name]
        raise AttributeError(f"no settings section {name!r}; declared: {', '.join(sorted(sections)) or 'none'}")


_CORE_SECTIONS = ("database", "arena", "models", "matchups")
_MODEL_KEYS = {"provider", "model", "template", "timeout_s"}
_PARAM_KEYS = {f.name for f in fields(GenerationParams)}


def load_settings(
    path: str | Path | None = None, env: Mapping[str, str] | None = None, sections: Iterable[type[Section]] = (),
) -> Settings:
    """Read the config file (``path``, else ``$FTARENA_CONFIG``, else none) and the environment, with the
    core's sections and ``sections``."""
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
    return parse_settings(data, env, sections)


def parse_settings(data: Mapping[str, Any], env: Mapping[str, str], sections: Iterable[type[Section]] = ()) -> Settings:
    # [judge] is the core's, declared like a front end's section: its keys are plain values checked on their own.
    every: list[type[Section]] = [JudgeSettings, *sections]
    declared = {section.section: section for section in every}
    known = {*_CORE_SECTIONS, *declared}
    merged = _merge(DEFAULTS, dict(data))
    if isinstance(data.get("matchups"), Mapping) and data["matchups"]:
        # A deployment that names its matchups offers those only, not the built-in embedded one as well.
        merged["matchups"] = dict(data["matchups"])
        if "default_matchup" not in _table(dict(data), "arena"):
            merged["arena"]["default_matchup"] = next(iter(data["matchups"]))
    _apply_env(merged, env, known, _secret_variables(declared.values()))
    unknown = set(merged) - known
    if unknown:
        raise ConfigError(sorted(unknown)[0], f"unknown section; known: {', '.join(sorted(known))}")
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
    parsed = {name: _dataclass_from(cls, _table(merged, name), name) for name, cls in declared.items()}
    check_judge(parsed[JudgeSettings.section], models)
    return Settings(database_url=url, arena=arena, models=models, matchups=matchups, sections=parsed)


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


def _secret_variables(sections: Iterable[type[Section]]) -> set[str]:
    """The variables that sections' ``*_env`` keys name by default: secrets read by name, never settings, even
    when a name reads like one (``FTARENA_WEB__ADMIN_TOKEN``)."""
    return {f.default for cls in sections for f in fields(cls)  # type: ignore[arg-type]
            if f.name.endswith("_env") and isinstance(f.default, str)}


def _apply_env(data: dict[str, Any], env: Mapping[str, str], sections: set[str], secrets: set[str]) -> None:
    for name, raw in env.items():
        if not name.startswith(ENV_PREFIX) or "__" not in name or name in secrets:
            continue
        path = [part.lower() for part in name[len(ENV_PREFIX):].split("__")]
        if path[0] not in sections or any(not part for part in path):
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
    if isinstance(value, str):  # "123,456", from the environment most likely: a comma-separated list
        value = [item.strip() for item in value.split(",") if item.strip()]
    elif isinstance(value, int):
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
    if not isinstance(provider, str) or provider not in PROVIDERS:
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
    for key in CONTEXT_OPTIONS:  # a context size decides which turns of a conversation a model is sent
        if key in options and _check_type(f"{where}.{key}", options[key], int) < 1:
            raise ConfigError(f"{where}.{key}", "must be at least 1")
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
    known = ("base", "finetuned", "blind", "base_role", "finetuned_role")
    extra = set(spec) - set(known)
    if extra:
        raise ConfigError(f"{where}.{sorted(extra)[0]}", f"unknown key; known: {', '.join(known)}")
    blind = _check_type(f"{where}.blind", spec.get("blind", blind_default), bool)
    roles = {}
    for slot in ("base", "finetuned"):
        roles[slot] = _check_type(f"{where}.{slot}_role", spec.get(f"{slot}_role", slot), str)
        if roles[slot] not in ROLES:
            raise ConfigError(f"{where}.{slot}_role", f"must be one of {', '.join(ROLES)}, not {roles[slot]!r}")
    return Matchup(name=name, base=picked["base"], finetuned=picked["finetuned"], blind=blind,
                   base_role=roles["base"], finetuned_role=roles["finetuned"])
