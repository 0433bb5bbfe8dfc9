"""The wording and the typed form of the channel-control commands: ``/arena-settings`` (show, set, reset) and the
scopes of ``/leaderboard``. The flow sequences them; bot/channels.py holds what the settings mean."""

from __future__ import annotations

from dataclasses import replace

from bot.channels import CHANNEL, KEYS, SCOPES, SERVER, SETTINGS_TTL_S, ConfigDefaults, Effective, describe
from bot.domain import Place
from bot.errors import ArenaError, SettingsError
from bot.statistics.slices import BattleQuery

SHOW, SET, RESET = "show", "set", "reset"
USAGE = "show | set channel|server key=value ... | reset channel|server key ..."
# /leaderboard scope: the member's own votes, this channel's or this server's.
ME = "me"
LEADERBOARD_SCOPES = (ME, CHANNEL, SERVER)
HEADINGS = {ME: "Your votes", CHANNEL: "Votes in this channel", SERVER: "Votes in this server"}
SOURCES = {"channel": "set for this channel", "server": "set for the whole server", "config": "config file"}


def settings_refused(admins: str) -> str:
    return f"Only {admins} can change the arena's settings."


def saved(scope: str) -> str:
    where = "this channel" if scope == CHANNEL else "the whole server"
    return f"Saved for {where}; every bot process applies it within {SETTINGS_TTL_S:g} s."


def show_text(here: Effective, defaults: ConfigDefaults, note: str = "") -> str:
    """What ``/arena-settings show`` prints: each value that applies here and where it comes from."""
    lines = [note] if note else []
    lines.append("Arena settings here (a channel's own value wins over the server's, which wins over the "
                 "config file):")
    lines += [f"• {key}: {value} ({SOURCES[source]})" for key, value, source in describe(here, defaults)]
    return "\n".join(lines)


def parse_command(text: str) -> tuple[str, str, dict[str, str | None]]:
    """``show``, ``set SCOPE key=value ...`` (a word without ``=`` continues the value before it, so
    ``users=U1, U2`` works) or ``reset SCOPE key ...``, as (action, scope, values); SettingsError otherwise."""
    words = text.split()
    action = words[0].lower() if words else SHOW
    if action == SHOW and len(words) <= 1:
        return SHOW, "", {}
    if action not in (SET, RESET):
        raise SettingsError(f"Unknown action {action[:20]!r}.")
    if len(words) < 3 or words[1].lower() not in SCOPES:
        raise SettingsError(f"Say where ({' or '.join(SCOPES)}) and what to {action}.")
    scope, rest = words[1].lower(), words[2:]
    if action == RESET:
        return RESET, scope, dict.fromkeys((word.lower() for word in rest), None)
    values: dict[str, str | None] = {}
    last = None
    for word in rest:
        key, found, value = word.partition("=")
        if found:
            last = key.lower()
            values[last] = value
        elif last is not None:
            values[last] = f"{values[last]} {word}"
        else:
            raise SettingsError(f"Write each setting as key=value, not {word[:40]!r}. Settings: {', '.join(KEYS)}.")
    return SET, scope, values


def parse_leaderboard(text: str) -> tuple[str | None, str | None]:
    """``[scope:me|channel|server] [MATCHUP]`` typed after /leaderboard, as (matchup, scope)."""
    scope, rest = None, []
    for word in text.split():
        if word.lower().startswith("scope:"):
            scope = word.partition(":")[2].lower()
        else:
            rest.append(word)
    return (" ".join(rest) or None), scope


def leaderboard_slice(scope: str | None, voter: str, place: Place, matchup: str | None) -> tuple[str, BattleQuery]:
    """The heading and the votes of a leaderboard scope (none: the whole arena's)."""
    query = BattleQuery(matchup=matchup)
    if scope is None:
        return "", query
    if scope not in LEADERBOARD_SCOPES:
        raise ArenaError(f"The scope is {', '.join(LEADERBOARD_SCOPES)}, not {scope[:20]!r}.")
    if scope == ME:
        return HEADINGS[ME], replace(query, voter=voter)
    where = replace(query, platform=place.platform, server=place.server)
    return HEADINGS[scope], (replace(where, channel=place.channel) if scope == CHANNEL else where)
