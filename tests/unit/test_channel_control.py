"""Channel control in the core and the flow: settings resolved channel > server > config, checked values, the
cache every process refreshes within seconds, allow-lists on commands and buttons, and scoped leaderboards."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from adapters import ids
from adapters.bootstrap import build_service, parse_settings, prune_rate_windows
from adapters.channel_commands import parse_command, parse_leaderboard
from adapters.flow import ChatFlow
from bot.channels import CHANNEL, CONFIG, DISABLED, NOT_LISTED, SERVER, ChannelControl, ConfigDefaults, resolve
from bot.channels import StoredSetting as Stored
from bot.domain import Choice, Place
from bot.errors import AccessRefusedError, SettingsError, StorageError
from bot.ratelimit import SharedRateLimiter
from bot.service import ArenaService
from tests.fakes import InMemoryRepository, ScriptedProvider, matchup
from tests.unit.test_flow import RecordingSurface

DEFAULTS = ConfigDefaults("pair", rate_limit=5, rate_window_s=60)
HERE = Place("test", channel="c1", server="s1")


def test_a_channel_value_wins_over_the_server_value_which_wins_over_the_config() -> None:
    found = resolve(DEFAULTS, HERE, [Stored("c1", "blind", "off"), Stored("", "blind", "on"),
                                     Stored("", "rate_limit", "2"), Stored("c2", "enabled", "off")])
    assert found.blind is False and found.sources["blind"] == CHANNEL
    assert found.rate_limit == 2 and found.sources["rate_limit"] == SERVER
    assert found.enabled and found.sources["enabled"] == CONFIG  # another channel's value does not apply here
    assert found.matchup is None and found.roles == ()


def test_the_configs_channel_allow_list_switches_other_channels_off() -> None:
    listed = ConfigDefaults("pair", 5, 60, allowed_channels=("c1",))
    assert resolve(listed, HERE, []).enabled
    assert not resolve(listed, Place("test", channel="c9", server="s1"), []).enabled
    assert resolve(listed, Place("console", channel="terminal"), []).enabled  # no server: not a chat channel
    # A server admin can open a channel the config left out.
    assert resolve(listed, Place("test", channel="c9", server="s1"), [Stored("c9", "enabled", "on")]).enabled


def test_refusals_name_the_reason_and_admins_pass_the_allow_lists_only() -> None:
    off = resolve(DEFAULTS, HERE, [Stored("", "enabled", "off")])
    assert off.refusal("42", (), admin=True) == DISABLED
    listed = resolve(DEFAULTS, HERE, [Stored("", "roles", "7,8"), Stored("c1", "users", "42")])
    assert listed.refusal("42", (), admin=False) is None
    assert listed.refusal("43", ("8",), admin=False) is None
    assert listed.refusal("43", ("9",), admin=False) == NOT_LISTED
    assert listed.refusal("43", (), admin=True) is None


@pytest.mark.parametrize(("key", "raw", "problem"), [
    ("colour", "red", "No setting named 'colour'"), ("blind", "maybe", "blind must be on or off"),
    ("matchup", "nope", "No matchup named 'nope'. Known matchups: other, pair"),
    ("rate_limit", "-1", "rate_limit must be a whole number"), ("roles", "a;b", "roles takes ids"),
])
async def test_bad_values_are_refused_with_what_is_wrong_and_nothing_is_written(key: str, raw: str,
                                                                                problem: str) -> None:
    repo = InMemoryRepository()
    control = ChannelControl(repo, DEFAULTS, ["pair", "other"])
    with pytest.raises(SettingsError, match=problem):
        await control.change(HERE, SERVER, {"enabled": "off", key: raw}, "admin")
    assert repo.settings == {}


async def test_values_are_stored_canonical_and_mentions_become_ids() -> None:
    repo = InMemoryRepository()
    control = ChannelControl(repo, DEFAULTS, ["pair"])
    found = await control.change(HERE, CHANNEL, {"blind": "No", "roles": "<@&11>, 12 <@&11>",
                                                 "users": "<@U0AB|ann>", "rate_limit": "07"}, "admin")
    assert repo.settings == {("test", "s1", "c1", "blind"): "off", ("test", "s1", "c1", "roles"): "11,12",
                             ("test", "s1", "c1", "users"): "U0AB", ("test", "s1", "c1", "rate_limit"): "7"}
    assert found.blind is False and found.roles == ("11", "12") and found.rate_limit == 7


async def test_another_process_sees_a_change_once_its_cache_expires() -> None:
    repo, now = InMemoryRepository(), [0.0]
    ours = ChannelControl(repo, DEFAULTS, ["pair"], clock=lambda: now[0])
    theirs = ChannelControl(repo, DEFAULTS, ["pair"], ttl_s=5, clock=lambda: now[0])
    assert (await theirs.effective(HERE)).enabled
    assert not (await ours.change(HERE, SERVER, {"enabled": "off"}, "admin")).enabled  # at once where changed
    now[0] = 4.9
    assert (await theirs.effective(HERE)).enabled
    now[0] = 5.0
    assert not (await theirs.effective(HERE)).enabled
    with pytest.raises(AccessRefusedError, match="switched off"):
        await theirs.admit(HERE, "test:alice", (), admin=False)


async def test_while_the_database_is_down_the_last_known_settings_apply() -> None:
    class FlakyStore(InMemoryRepository):
        down = False

        async def scope_settings(self, platform: str, server: str, channel: str) -> list[Stored]:
            if self.down:
                raise StorageError("The database is busy or unreachable; please try again.")
            return await super().scope_settings(platform, server, channel)

    store, now = FlakyStore(), [0.0]
    control = ChannelControl(store, DEFAULTS, ["pair"], clock=lambda: now[0])
    await control.change(HERE, CHANNEL, {"users": "42"}, "admin")
    store.down, now[0] = True, 10.0
    assert (await control.effective(HERE)).users == ("42",)
    with pytest.raises(StorageError):  # nothing known about a channel never read: the member is told to retry
        await control.effective(Place("test", channel="c2", server="s1"))


def test_the_typed_commands_parse_or_say_what_is_wrong() -> None:
    assert parse_command("") == ("show", "", {})
    assert parse_command("set channel blind=off users=U1, U2") == (
        "set", "channel", {"blind": "off", "users": "U1, U2"})
    assert parse_command("reset server Rate_Limit roles") == ("reset", "server", {"rate_limit": None,
                                                                                  "roles": None})
    for bad, problem in (("set", "Say where"), ("set here blind=off", "Say where"), ("drop", "Unknown action"),
                         ("set channel blind", "key=value")):
        with pytest.raises(SettingsError, match=problem):
            parse_command(bad)
    assert parse_leaderboard("scope:Me pair") == ("pair", "me")
    assert parse_leaderboard("") == (None, None)


def make_flow(repo: InMemoryRepository, limit: int = 0) -> ChatFlow:
    pair, other = matchup("pair"), matchup("other", base="o-base", tuned="o-tuned")
    providers = {name: ScriptedProvider([name]) for name in ("base-m", "tuned-m", "o-base", "o-tuned")}
    control = ChannelControl(repo, ConfigDefaults("pair", limit, 60), ["pair", "other"])
    return ChatFlow(ArenaService({"pair": pair, "other": other}, providers, repo, rng=random.Random(1),
                                 channels=control, rate_limiter=SharedRateLimiter(repo, limit, 60)))


async def test_settings_are_for_admins_and_show_says_where_each_value_comes_from() -> None:
    repo = InMemoryRepository()
    flow = make_flow(repo)
    member = RecordingSurface(admin=False, voter="test:bob")
    await flow.settings(member, "set", "channel", {"enabled": "off"})
    assert member.calls == [("refuse", "Only the test's admins can change the arena's settings.")]
    assert repo.settings == {}
    admin = RecordingSurface(voter="test:root")
    await flow.settings(admin, "set", "server", {"matchup": "other", "blind": "off"})
    await flow.settings_text(admin, "/arena-settings", "set channel blind=on rate_limit=3")
    await flow.settings_text(member, "/arena-settings", "show")
    [(_, shown)] = member.calls[1:]
    assert "• matchup: other (set for the whole server)" in shown
    assert "• blind: on (set for this channel)" in shown and "• rate_limit: 3 per 60 s (set for this channel)" in shown
    assert "• enabled: on (config file)" in shown and "• roles: everyone (config file)" in shown
    compared = await flow.compare(member, "hi")
    assert compared is not None and compared.matchup == "other" and compared.blind
    await flow.settings_text(admin, "/arena-settings", "set channel colour=red")
    assert admin.calls[-1] == ("refuse", "No setting named 'colour'. Settings: enabled, matchup, blind, roles, "
                                         "users, rate_limit.")
    await flow.settings_text(admin, "/arena-settings", "set blind=off")
    assert admin.calls[-1][1].endswith("Usage: /arena-settings show | set channel|server key=value ... | "
                                       "reset channel|server key ...")


async def test_a_switched_off_channel_refuses_commands_and_old_buttons_but_not_the_admins_settings() -> None:
    repo = InMemoryRepository()
    flow = make_flow(repo)
    member = RecordingSurface(admin=False, voter="test:bob")
    compared = await flow.compare(member, "hi")
    assert compared is not None
    admin = RecordingSurface(voter="test:root")
    await flow.settings(admin, "set", "channel", {"enabled": "off"})
    button = ids.vote_id(compared.id, Choice.A)
    for command in (flow.compare(member, "again"), flow.vote_button(member, button), flow.leaderboard(member),
                    flow.models(member), flow.vote(member, compared.id, "b")):
        member.calls.clear()
        await command
        assert [c for c in member.calls if c[0] != "acknowledge"] == [("refuse", DISABLED)]
    assert not repo.votes
    await flow.settings(admin, "reset", "channel", {"enabled": None})
    member.calls.clear()
    assert await flow.vote_button(member, button) is not None


async def test_allow_lists_let_listed_roles_and_users_compare_and_vote() -> None:
    repo = InMemoryRepository()
    flow = make_flow(repo)
    await flow.settings(RecordingSurface(), "set", "server", {"roles": "7", "users": "carol"})
    stranger = RecordingSurface(admin=False, voter="test:dave", roles=("9",))
    assert await flow.compare(stranger, "hi") is None and stranger.calls == [("refuse", NOT_LISTED)]
    assert await flow.compare(RecordingSurface(admin=False, voter="test:erin", roles=("7",)), "hi") is not None
    assert await flow.compare(RecordingSurface(admin=False, voter="test:carol"), "hi") is not None


async def test_a_channel_rate_limit_overrides_the_configured_one() -> None:
    repo = InMemoryRepository()
    flow = make_flow(repo, limit=5)
    await flow.settings(RecordingSurface(), "set", "channel", {"rate_limit": "1"})
    member = RecordingSurface(admin=False, voter="test:bob")
    assert await flow.compare(member, "one") is not None
    assert await flow.compare(member, "two") is None and "try again in" in member.calls[-1][1]
    elsewhere = RecordingSurface(admin=False, voter="test:bob", channel="c2")
    assert await flow.compare(elsewhere, "three") is not None  # the config's 5 apply there


async def test_scoped_leaderboards_count_the_members_the_channels_or_the_servers_votes() -> None:
    repo = InMemoryRepository()
    flow = make_flow(repo)
    here, there = RecordingSurface(voter="test:ann"), RecordingSurface(voter="test:bob", channel="c2")
    for surface in (here, there):
        compared = await flow.compare(surface, "hi", "pair")
        assert compared is not None
        tuned_side = "b" if compared.base_side.value == "a" else "a"
        await flow.vote(surface, compared.id, tuned_side)
    mine = RecordingSurface(voter="test:ann", channel="c2")  # ann, asking from the other channel

    async def board(surface: RecordingSurface, scope: str | None) -> tuple[int, str]:
        surface.calls.clear()
        await flow.leaderboard(surface, "pair", scope)
        [(_, (tallies, _report, _chart))] = [c for c in surface.calls if c[0] == "show_leaderboard"]
        return tallies[0].wins, surface.heading

    assert await board(mine, "me") == (1, "Your votes")
    assert await board(mine, "channel") == (1, "Votes in this channel")  # bob's, in c2
    assert await board(mine, "server") == (2, "Votes in this server")
    assert await board(mine, None) == (2, "")
    await flow.leaderboard(mine, None, "galaxy")
    assert mine.calls[-1] == ("refuse", "The scope is me, channel, server, not 'galaxy'.")


async def test_a_matchup_setting_the_config_no_longer_has_falls_back_to_the_configs_choice() -> None:
    repo = InMemoryRepository()
    await ChannelControl(repo, DEFAULTS, ["pair", "retired"]).change(HERE, CHANNEL, {"matchup": "retired"}, "admin")
    found = await ChannelControl(repo, DEFAULTS, ["pair"]).effective(HERE)
    assert found.matchup is None and found.sources["matchup"] == CONFIG


def test_the_config_files_allow_lists_reach_the_served_service() -> None:
    settings = parse_settings({"database": {"url": "sqlite://"}, "arena": {
        "allowed_channels": ["C1"], "allowed_roles": [1234], "allowed_users": "U1, U2"}}, env={})
    defaults = build_service(settings, InMemoryRepository(), providers={}).channels.defaults
    assert (defaults.allowed_channels, defaults.roles, defaults.users) == (("C1",), ("1234",), ("U1", "U2"))


async def test_the_sweep_forgets_members_whose_window_has_emptied() -> None:
    settings = parse_settings({"database": {"url": "sqlite://"}, "arena": {"rate_window_s": 60}}, env={})
    repo, now = InMemoryRepository(), datetime.now(UTC)
    await repo.take_rate_slot("discord:1", 5, 60, now - timedelta(seconds=61))
    await repo.take_rate_slot("discord:2", 5, 60, now - timedelta(seconds=5))
    assert await prune_rate_windows(repo, settings) == 1
    assert list(repo.rate_hits) == ["discord:2"]


async def test_a_server_switched_off_with_one_channel_on_is_a_channel_allow_list() -> None:
    repo = InMemoryRepository()
    flow = make_flow(repo)
    admin = RecordingSurface(voter="test:root")
    await flow.settings(admin, "set", "server", {"enabled": "off"})
    await flow.settings(admin, "set", "channel", {"enabled": "on"})  # in c1
    assert await flow.compare(RecordingSurface(admin=False, voter="test:bob"), "hi") is not None
    elsewhere = RecordingSurface(admin=False, voter="test:bob", channel="c2")
    assert await flow.compare(elsewhere, "hi") is None and elsewhere.calls == [("refuse", DISABLED)]
