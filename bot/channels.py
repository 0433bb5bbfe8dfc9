"""Channel control: the arena settings an admin changes from the chat for a whole server or one channel, how
they resolve (channel > server > config file), and who may use the arena where (the allow-lists)."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Protocol

from bot.domain import Place
from bot.errors import AccessRefusedError, SettingsError, StorageError

log = logging.getLogger(__name__)

# How stale a process's view of the settings may be: every process sees a change within this many seconds.
# Between refreshes the hot path (every compare and every click) reads memory only.
SETTINGS_TTL_S = 5.0
CACHE_PLACES = 10_000  # past this many channels cached, expired entries are dropped

CHANNEL, SERVER, CONFIG = "channel", "server", "config"
SCOPES = (CHANNEL, SERVER)

# Each key an admin may set, with what it takes (the commands' option descriptions; at most 100 characters).
KEYS: Mapping[str, str] = {
    "enabled": "On or off: off refuses every command and button here",
    "matchup": "The matchup a /compare without one uses",
    "blind": "On: model names hidden until the vote; off: named",
    "roles": "Discord role ids (or @mentions) allowed to compare and vote, comma-separated; none clears",
    "users": "User ids (or @mentions) allowed to compare and vote, comma-separated; none clears",
    "rate_limit": "Comparisons per member per window; 0: no limit",
}
LIST_KEYS = ("roles", "users")
BOOL_KEYS = ("enabled", "blind")
_TRUE, _FALSE = ("on", "true", "yes", "1"), ("off", "false", "no", "0")
# A role or user as typed in chat: a bare id, or a mention (<@&123>, <@123>, <@!123>, Slack's <@U123|name>).
_MENTION = re.compile(r"^<@[!&]?([A-Za-z0-9]+)(?:\|[^>]*)?>$")

DISABLED = "The arena is switched off in this channel."
NOT_LISTED = "The arena is open to some members only in this channel, and you are not one of them."


def member_id(voter: str) -> str:
    """The platform's own user id in a voter id (``discord:42`` -> ``42``, ``slack:T1:U2`` -> ``U2``)."""
    return voter.rsplit(":", 1)[-1]


@dataclass(frozen=True)
class StoredSetting:
    """One value an admin set: for the whole server (``channel`` empty) or one channel; ``value`` canonical text."""

    channel: str
    key: str
    value: str


@dataclass(frozen=True)
class ConfigDefaults:
    """What applies where no admin has set anything: the config file's ``[arena]`` values."""

    matchup: str
    rate_limit: int
    rate_window_s: float
    allowed_channels: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()
    users: tuple[str, ...] = ()


@dataclass(frozen=True)
class Effective:
    """The settings that apply in one channel, each with where it comes from (CHANNEL, SERVER or CONFIG)."""

    enabled: bool
    matchup: str | None  # None: the config's choice (its default, or a draw among sample_matchups)
    blind: bool | None  # None: each matchup's own
    roles: tuple[str, ...]
    users: tuple[str, ...]
    rate_limit: int
    sources: Mapping[str, str] = field(default_factory=dict)

    def refusal(self, member: str, roles: Sequence[str], admin: bool) -> str | None:
        """Why this member may not use the arena here, or None. Admins pass the allow-lists, not a channel
        that is switched off (they switch it back on with /arena-settings, which is never refused)."""
        if not self.enabled:
            return DISABLED
        if admin or not (self.roles or self.users):
            return None
        if member in self.users or any(role in self.roles for role in roles):
            return None
        return NOT_LISTED


class SettingsStore(Protocol):
    """The part of the Repository port that channel control uses (bot/ports.py documents each method)."""

    async def scope_settings(self, platform: str, server: str, channel: str) -> list[StoredSetting]: ...

    async def put_settings(self, platform: str, server: str, channel: str, values: Mapping[str, str | None],
                           by: str, at: datetime) -> None: ...


def parse_value(key: str, raw: str, matchups: Collection[str]) -> str:
    """The canonical text of a value an admin typed; SettingsError says what is wrong with it."""
    text = raw.strip()
    if key not in KEYS:
        raise SettingsError(f"No setting named {key[:40]!r}. Settings: {', '.join(KEYS)}.")
    if key in BOOL_KEYS:
        if text.lower() not in (*_TRUE, *_FALSE):
            raise SettingsError(f"{key} must be on or off, not {text[:40]!r}.")
        return "on" if text.lower() in _TRUE else "off"
    if key == "matchup":
        if text not in matchups:
            raise SettingsError(f"No matchup named {text[:60]!r}. Known matchups: {', '.join(sorted(matchups))}.")
        return text
    if key == "rate_limit":
        if not text.isdigit() or int(text) > 10_000:
            raise SettingsError(f"rate_limit must be a whole number from 0 to 10000, not {text[:40]!r}.")
        return str(int(text))
    if text.lower() in ("none", "everyone", ""):
        return ""
    ids = []
    for item in re.split(r"[\s,]+", text):
        mention = _MENTION.match(item)
        found = mention[1] if mention else item
        if not found.isalnum() or len(found) > 40:
            raise SettingsError(f"{key} takes ids separated by commas, not {item[:40]!r}.")
        ids.append(found)
    return ",".join(dict.fromkeys(ids))


def _decoded(key: str, text: str) -> Any:
    if key in BOOL_KEYS:
        return text == "on"
    if key == "rate_limit":
        return int(text)
    if key in LIST_KEYS:
        return tuple(item for item in text.split(",") if item)
    return text


def resolve(defaults: ConfigDefaults, place: Place, stored: Sequence[StoredSetting]) -> Effective:
    """Channel > server > config file, key by key."""
    values: dict[str, Any] = {
        # The channel allow-list is for servers' channels (a Discord guild, a Slack workspace); the terminal and
        # the web arena belong to no server and stay open.
        "enabled": not defaults.allowed_channels or not place.server or place.channel in defaults.allowed_channels,
        "matchup": None, "blind": None, "roles": defaults.roles, "users": defaults.users,
        "rate_limit": defaults.rate_limit,
    }
    sources = dict.fromkeys(KEYS, CONFIG)
    # Server rows first, so the channel's own rows overwrite them.
    for setting in sorted(stored, key=lambda s: s.channel != ""):
        if setting.key in KEYS and setting.channel in ("", place.channel):
            values[setting.key] = _decoded(setting.key, setting.value)
            sources[setting.key] = SERVER if setting.channel == "" else CHANNEL
    return Effective(**values, sources=sources)


class ChannelControl:
    """Reads the settings that apply where a member asks (cached for ``ttl_s``) and changes them for admins."""

    def __init__(self, store: SettingsStore, defaults: ConfigDefaults, matchups: Collection[str], *,
                 ttl_s: float = SETTINGS_TTL_S, clock: Callable[[], float] = time.monotonic,
                 now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.store = store
        self.defaults = defaults
        self.matchups = matchups
        self.ttl_s = ttl_s
        self._clock = clock
        self._now = now
        self._cache: dict[Place, tuple[float, Effective]] = {}

    async def effective(self, place: Place) -> Effective:
        cached = self._cache.get(place)
        if cached is not None and self._clock() - cached[0] < self.ttl_s:
            return cached[1]
        try:
            stored = await self.store.scope_settings(place.platform, place.server, place.channel)
        except StorageError:
            if cached is None:
                raise
            # A database that is briefly down must not stop every click: the last known settings still apply,
            # for another ttl_s before the next try.
            log.warning("settings unreadable; serving the last known ones for %s", place.platform)
            self._cache[place] = (self._clock(), cached[1])
            return cached[1]
        found = resolve(self.defaults, place, stored)
        if found.matchup is not None and found.matchup not in self.matchups:
            # The config dropped a matchup a channel was set to: the config's choice applies until an admin sets
            # another, rather than every /compare failing.
            log.warning("a %s channel's matchup setting names %r, which is no longer configured", place.platform,
                        found.matchup)
            found = replace(found, matchup=None, sources={**found.sources, "matchup": CONFIG})
        now = self._clock()
        if len(self._cache) >= CACHE_PLACES:
            self._cache = {p: v for p, v in self._cache.items() if now - v[0] < self.ttl_s}
        self._cache[place] = (now, found)
        return found

    async def admit(self, place: Place, voter: str, roles: Sequence[str], admin: bool) -> Effective:
        """The settings here, or AccessRefusedError when this member may not use the arena here."""
        found = await self.effective(place)
        refusal = found.refusal(member_id(voter), roles, admin)
        if refusal is not None:
            raise AccessRefusedError(refusal)
        return found

    async def change(self, place: Place, scope: str, values: Mapping[str, str | None], by: str) -> Effective:
        """Set (a text value) or clear (None) keys for this channel or the whole server; returns what now applies
        here. Every value is checked before anything is written."""
        if scope not in SCOPES:
            raise SettingsError(f"The scope is channel or server, not {scope[:20]!r}.")
        if not values:
            raise SettingsError(f"Name at least one setting: {', '.join(KEYS)}.")
        checked: dict[str, str | None] = {}
        for key, raw in values.items():
            if raw is None:
                if key not in KEYS:
                    raise SettingsError(f"No setting named {key[:40]!r}. Settings: {', '.join(KEYS)}.")
                checked[key] = None
            else:
                checked[key] = parse_value(key, raw, self.matchups)
        channel = place.channel if scope == CHANNEL else ""
        await self.store.put_settings(place.platform, place.server, channel, checked, by, self._now())
        # Which keys, where: enough to follow a change in the logs (who made it is in the database, not here).
        log.info("%s settings for a %s changed: %s", place.platform, scope, ", ".join(sorted(checked)))
        # This process sees its own change at once; the others within ttl_s.
        self._cache = {p: v for p, v in self._cache.items() if (p.platform, p.server) != (place.platform,
                                                                                            place.server)}
        return await self.effective(place)


def describe(found: Effective, defaults: ConfigDefaults) -> list[tuple[str, str, str]]:
    """Each setting as (key, value as shown, source), for ``/arena-settings show``."""
    def words(key: str) -> str:
        if key in BOOL_KEYS:
            value = getattr(found, key)
            return "each matchup's own" if value is None else ("on" if value else "off")
        if key == "matchup":
            return found.matchup or defaults.matchup
        if key == "rate_limit":
            return f"{found.rate_limit} per {defaults.rate_window_s:g} s" if found.rate_limit else "no limit"
        listed = getattr(found, key)
        if listed:
            return ", ".join(listed)
        # An empty list allows everyone only when the other one is empty too.
        return "none listed" if found.roles or found.users else "everyone"

    return [(key, words(key), found.sources.get(key, CONFIG)) for key in KEYS]
