"""The one chat flow on a recording surface: what each command shows, in which order, and its wording."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from adapters import flow as wording
from adapters import ids
from adapters.flow import ChatFlow
from bot.domain import Choice, Comparison, Matchup, Place, Reveal, Status, Tally
from bot.errors import StorageError
from bot.ratelimit import RateLimiter
from bot.service import ArenaService
from bot.statistics.report import ArenaReport
from tests.fakes import InMemoryRepository, ScriptedProvider, matchup


class RecordingSurface:
    """A surface that keeps every call, in order, as (method, value); ``fail_shows`` makes the first N
    comparison posts fail as a channel the bot may not post in does."""

    admins = "the test's admins"
    export_command = "/export"

    def __init__(self, *, admin: bool = True, streams: bool = True, shows_ratings: bool = True,
                 interval: float = 0.0, fail_shows: int = 0, voter: str = "alice", channel: str = "c1",
                 roles: tuple[str, ...] = ()) -> None:
        self.voter = voter
        self.place = Place("test", channel=channel, server="s1")
        self.roles = roles
        self.update_interval = interval
        self.streams = streams
        self.shows_ratings = shows_ratings
        self.admin = admin
        self.fail_shows = fail_shows
        self.calls: list[tuple[str, Any]] = []
        self.shown_at: list[float] = []

    def names(self) -> list[str]:
        return [name for name, _ in self.calls]

    def is_admin(self) -> bool:
        return self.admin

    async def acknowledge(self, *, private: bool = False, note: str = "") -> None:
        self.calls.append(("acknowledge", (private, note)))

    async def refuse(self, text: str) -> None:
        self.calls.append(("refuse", text))

    async def withdraw(self, text: str) -> None:
        self.calls.append(("withdraw", text))

    async def tell(self, text: str) -> None:
        self.calls.append(("tell", text))

    async def show_comparison(self, comparison: Comparison) -> None:
        if self.fail_shows:
            self.fail_shows -= 1
            raise RuntimeError("not_in_channel")
        self.shown_at.append(asyncio.get_running_loop().time())
        self.calls.append(("show_comparison", (comparison.status, comparison.reply_a.tokens)))

    async def show_reveal(self, reveal: Reveal) -> None:
        self.calls.append(("show_reveal", reveal))

    async def show_votes(self, comparison: Comparison, votes: int) -> None:
        self.calls.append(("show_votes", (comparison.id, votes)))

    async def show_leaderboard(self, tallies: list[Tally], report: ArenaReport | None, chart: bytes | None,
                               heading: str = "", private: bool = False) -> None:
        self.calls.append(("show_leaderboard", (tallies, report, chart)))
        self.heading = heading

    async def show_models(self, matchups: Sequence[Matchup], default: str) -> None:
        self.calls.append(("show_models", ([m.name for m in matchups], default)))

    async def send_file(self, path: Path, text: str) -> None:
        self.calls.append(("send_file", (path.read_text(encoding="utf-8"), text)))

    async def announce(self, places: Sequence[Place], text: str) -> None:
        self.calls.append(("announce", (list(places), text)))


def make_flow(base: ScriptedProvider | None = None, *, limiter: RateLimiter | None = None) -> ChatFlow:
    m = matchup()
    providers = {"base-m": base or ScriptedProvider(["base", " rambles"]),
                 "tuned-m": ScriptedProvider(["tuned", " answers"])}
    return ChatFlow(ArenaService({m.name: m, "other": matchup("other")}, providers, InMemoryRepository(),
                                 rng=random.Random(3), rate_limiter=limiter))


async def test_compare_acknowledges_streams_and_ends_with_the_votable_comparison() -> None:
    flow, surface = make_flow(ScriptedProvider([f" w{i}" for i in range(30)])), RecordingSurface()
    result = await flow.compare(surface, "Tell me how to train my dog to sit")
    assert result is not None and result.status is Status.DONE
    names = surface.names()
    assert names[0] == "acknowledge" and set(names[1:]) == {"show_comparison"}
    statuses = [status for _, (status, _) in surface.calls[1:]]
    assert statuses[0] is Status.RUNNING and statuses[-1] is Status.DONE
    assert statuses.count(Status.DONE) == 1, "the final message is shown once"


async def test_updates_and_the_final_message_share_one_throttle() -> None:
    flow = make_flow(ScriptedProvider([f" w{i}" for i in range(400)]))
    surface = RecordingSurface(interval=0.05)
    await flow.compare(surface, "hi")
    gaps = [b - a for a, b in zip(surface.shown_at, surface.shown_at[1:], strict=False)]
    assert gaps and min(gaps) >= 0.045, gaps  # the final edit too waits out the interval


async def test_a_refused_prompt_is_answered_privately_before_any_acknowledgement() -> None:
    flow, surface = make_flow(), RecordingSurface()
    assert await flow.compare(surface, "   ") is None
    assert surface.names() == ["refuse"]
    assert await flow.compare(surface, "hi", "nope") is None
    assert "No matchup named" in surface.calls[-1][1]


async def test_a_rate_limited_member_is_told_when_to_come_back() -> None:
    flow = make_flow(limiter=RateLimiter(1, 60))
    surface = RecordingSurface()
    await flow.compare(surface, "first")
    surface.calls.clear()
    await flow.compare(surface, "second")
    assert surface.names() == ["refuse"] and "try again in" in surface.calls[0][1]


async def test_without_streaming_only_the_final_comparison_is_shown() -> None:
    flow, surface = make_flow(), RecordingSurface(streams=False)
    await flow.compare(surface, "hi")
    assert surface.names() == ["acknowledge", "show_comparison"]
    assert surface.calls[1][1][0] is Status.DONE


async def test_when_the_comparison_cannot_be_posted_the_member_is_told_how_to_fix_it() -> None:
    flow, surface = make_flow(), RecordingSurface(fail_shows=10)
    assert await flow.compare(surface, "hi") is None
    assert surface.calls[-1] == ("tell", wording.CANNOT_POST)


async def test_a_storage_failure_withdraws_the_acknowledged_comparison() -> None:
    flow, surface = make_flow(), RecordingSurface()
    repository = flow.service.repository
    assert isinstance(repository, InMemoryRepository)

    async def down(comparison: Comparison) -> None:
        raise StorageError("The database is busy or unreachable; please try again.")

    repository.add_comparison = down  # type: ignore[method-assign]
    assert await flow.compare(surface, "hi") is None
    assert surface.calls[-1] == ("withdraw", "The database is busy or unreachable; please try again.")


async def test_vote_acknowledges_then_reveals_privately_then_shows_the_public_count() -> None:
    flow = make_flow()
    comparison = await flow.compare(RecordingSurface(), "hi")
    assert comparison is not None
    surface = RecordingSurface(voter="bob")
    reveal = await flow.vote(surface, comparison.id, Choice.A)
    assert surface.names() == ["acknowledge", "show_reveal", "show_votes"]
    assert reveal is not None and reveal.comparison.id == comparison.id  # the reveal carries its comparison
    assert surface.calls[2][1] == (comparison.id, 1)


async def test_a_button_vote_parses_its_id_and_refuses_foreign_ones() -> None:
    flow = make_flow()
    comparison = await flow.compare(RecordingSurface(), "hi")
    assert comparison is not None
    surface = RecordingSurface()
    assert await flow.vote_button(surface, "cmp:zz:vote:a") is None
    assert surface.names() == ["acknowledge", "refuse"] and surface.calls[1][1] == wording.NOT_OUR_BUTTON
    surface.calls.clear()
    reveal = await flow.vote_button(surface, ids.vote_id(comparison.id, Choice.TIE))
    assert reveal is not None and reveal.choice is Choice.TIE


async def test_a_vote_on_an_unknown_comparison_is_refused() -> None:
    flow, surface = make_flow(), RecordingSurface()
    assert await flow.vote(surface, "deadbeef", "a") is None
    assert surface.calls[-1][0] == "refuse" and "deadbeef" in surface.calls[-1][1]


async def test_leaderboard_with_ratings_and_chart_or_tallies_only() -> None:
    flow = make_flow()
    rich, plain = RecordingSurface(), RecordingSurface(shows_ratings=False)
    await flow.leaderboard(rich, "pair")
    tallies, report, chart = rich.calls[-1][1]
    assert [t.matchup for t in tallies] == ["pair"] and report is not None and chart.startswith(b"\x89PNG")
    await flow.leaderboard(plain)
    tallies, report, chart = plain.calls[-1][1]
    assert [t.matchup for t in tallies] == ["other", "pair"] and report is None and chart is None
    await flow.leaderboard(plain, "nope")
    assert plain.calls[-1][0] == "refuse"


async def test_models_lists_every_matchup_with_the_default() -> None:
    flow, surface = make_flow(), RecordingSurface()
    await flow.models(surface)
    await flow.models(surface, current="other")
    assert surface.calls == [("show_models", (["other", "pair"], "pair")),
                             ("show_models", (["other", "pair"], "other"))]


async def test_export_is_for_admins_checks_the_format_and_sends_this_servers_votes() -> None:
    flow = make_flow()
    comparison = await flow.compare(RecordingSurface(), "hi")
    assert comparison is not None
    await flow.vote(RecordingSurface(voter="bob"), comparison.id, "b")
    member = RecordingSurface(admin=False)
    await flow.export(member, "csv")
    assert member.calls == [("refuse", "Only the test's admins can export votes.")]
    admin = RecordingSurface()
    await flow.export(admin, "parquet")
    assert admin.calls == [("refuse", "Usage: /export csv|jsonl")]
    elsewhere = RecordingSurface(voter="carol")
    elsewhere.place = Place("test", channel="c9", server="s2")  # another community's comparison and vote
    other = await flow.compare(elsewhere, "hello")
    assert other is not None
    await flow.vote(elsewhere, other.id, "a")
    admin.calls.clear()
    await flow.export(admin, " CSV ")
    assert admin.names() == ["acknowledge", "send_file"]
    assert admin.calls[0][1] == (True, wording.PREPARING_EXPORT)
    content, text = admin.calls[1][1]
    assert text == "1 vote(s) exported." and comparison.id in content and "bob" not in content  # pseudonyms
    assert other.id not in content  # this server's votes only


@pytest.mark.parametrize(("rows", "expected"), [(0, "0 vote(s) exported."), (12, "12 vote(s) exported.")])
def test_export_wording(rows: int, expected: str) -> None:
    assert wording.exported(rows) == expected
    assert wording.export_refused("admins") == "Only admins can export votes."


@pytest.mark.asyncio
async def test_follow_ups_and_regenerations_count_against_the_rate_limit() -> None:
    flow, surface = make_flow(limiter=RateLimiter(2, 60)), RecordingSurface()
    first = await flow.compare(surface, "Name a dog breed")
    assert first is not None
    assert await flow.regenerate(surface, first.id) is not None
    assert await flow.follow_up(surface, first.id, "Why?") is None
    assert surface.calls[-1] == ("refuse", "You are comparing too often: try again in 60 s.")
async def decide_by_votes(flow: ChatFlow, surfaces: list[RecordingSurface], votes: int) -> list[int]:
    """``votes`` comparisons on "pair", each voted for the fine-tune by the next surface (round robin); returns
    the vote numbers after which something was announced. Every vote is checked: these come faster than the
    pause a check earns by its cost."""
    flow.service.decisions.cost_factor = 0
    announced = []
    for n in range(votes):
        surface = surfaces[n % len(surfaces)]
        c = await flow.compare(surface, f"question {n}", "pair")
        assert c is not None
        before = surface.names().count("announce")
        await flow.vote(surface, c.id, c.finetuned_side.value)
        if surface.names().count("announce") > before:
            announced.append(n + 1)
    return announced


async def test_a_decided_matchup_is_announced_once_per_channel_across_restarts() -> None:
    flow = make_flow()
    here = RecordingSurface(voter="alice")
    there = RecordingSurface(voter="bob")
    there.place = Place("test", channel="c2", server="s1")
    announced = await decide_by_votes(flow, [here, there], 30)
    # Every vote prefers the fine-tune: the sequence rules 1/2 out after a handful, and says so once.
    assert len(announced) == 1 and 5 <= announced[0] <= 20, announced
    [(places, text)] = [value for name, value in here.calls + there.calls if name == "announce"]
    assert sorted(p.channel for p in places) == ["c1", "c2"]
    assert text.startswith("Decided: fine-tune better (anytime-valid 95%) on matchup pair, after ")
    # A restarted process (a new service on the same database) does not say it again...
    restarted = ChatFlow(ArenaService(flow.service.matchups, flow.service.providers, flow.service.repository,
                                      rng=random.Random(4)))
    assert await decide_by_votes(restarted, [here], 3) == []
    # ...but a channel that votes for the first time after the decision hears it, once.
    late = RecordingSurface(voter="carol")
    late.place = Place("test", channel="c3", server="s1")
    assert await decide_by_votes(restarted, [late], 2) == [1]
    assert [value[0] for name, value in late.calls if name == "announce"] == [[late.place]]


async def test_a_check_that_took_long_waits_before_the_next_one() -> None:
    flow = make_flow()
    watch = flow.service.decisions
    await decide_by_votes(flow, [RecordingSurface()], 1)
    watch.cost_factor = 1e9  # the next check's own duration buys a pause far longer than this test
    assert await watch.reached("pair", "test") is None  # checked: one vote decides nothing
    reads = []
    original = watch.repository.vote_table

    async def counted(query: object) -> object:
        reads.append(query)
        return await original(query)  # type: ignore[arg-type]

    watch.repository.vote_table = counted  # type: ignore[method-assign]
    assert await watch.reached("pair", "test") is None and reads == []  # within the pause: not even read


async def test_announcements_can_be_turned_off() -> None:
    m = matchup()
    providers = {"base-m": ScriptedProvider(["base"]), "tuned-m": ScriptedProvider(["tuned"])}
    flow = ChatFlow(ArenaService({m.name: m}, providers, InMemoryRepository(), rng=random.Random(3),
                                 announce_decisions=False))
    assert await decide_by_votes(flow, [RecordingSurface()], 25) == []
