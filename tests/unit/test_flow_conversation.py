"""Follow-ups and regenerate in the one chat flow, on a recording surface (the order of what is shown, the
buttons' ids, refusals), the Discord buttons under a comparison, and text-only backends' transcripts."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import UTC, datetime

from rich.console import Console

from adapters import ids
from adapters.console.surface import ConsoleSurface
from adapters.discord.buttons import vote_view
from adapters.flow import FOLLOW_UP_NOT_HERE, NOT_OUR_BUTTON
from adapters.web.surface import WebSurface
from bot.conversation import as_text, chat_messages, messages
from bot.domain import Comparison, Exchange, Place, Reply, Side, Status
from bot.ratelimit import RateLimiter
from tests.fakes import ScriptedProvider
from tests.unit.test_flow import RecordingSurface, make_flow


class ConversingSurface(RecordingSurface):
    async def ask_follow_up(self, comparison_id: str) -> None:
        self.calls.append(("ask_follow_up", comparison_id))


async def test_a_follow_up_runs_like_a_comparison_and_is_the_next_turn() -> None:
    flow, surface = make_flow(), ConversingSurface()
    first = await flow.compare(surface, "Name a dog breed")
    assert first is not None
    surface.calls.clear()
    second = await flow.follow_up(surface, first.id, "Why that one?")
    assert second is not None and (second.turn, second.conversation_id) == (2, first.id)
    names = surface.names()
    assert names[0] == "acknowledge" and set(names[1:]) == {"show_comparison"}
    assert surface.calls[-1][1][0] is Status.DONE


async def test_buttons_open_the_follow_up_box_or_regenerate_and_anything_else_is_refused() -> None:
    flow, surface = make_flow(), ConversingSurface()
    first = await flow.compare(surface, "Name a dog breed")
    assert first is not None
    surface.calls.clear()
    assert await flow.action_button(surface, ids.action_id(first.id, ids.FOLLOW)) is None
    assert surface.calls == [("ask_follow_up", first.id)]  # the box is the click's immediate answer
    again = await flow.action_button(surface, ids.action_id(first.id, ids.REGENERATE))
    assert again is not None and again.regenerated_from == first.id and again.id != first.id
    surface.calls.clear()
    for forged in ("cmp:zz:regen", ids.action_id(first.id, ids.FOLLOW_UP_BOX), "cmp:ab:vote:a"):
        assert await flow.action_button(surface, forged) is None
    assert surface.calls == [("refuse", NOT_OUR_BUTTON)] * 3


async def test_a_refused_follow_up_or_regeneration_runs_nothing() -> None:
    flow = make_flow(ScriptedProvider(["base"]), limiter=RateLimiter(1, 60))
    surface = ConversingSurface()
    first = await flow.compare(surface, "Name a dog breed")
    assert first is not None
    surface.calls.clear()
    assert await flow.follow_up(surface, first.id, "Why?") is None
    assert await flow.regenerate(surface, "beef") is None
    assert surface.names() == ["refuse", "refuse"]
    assert "too often" in surface.calls[0][1] and "No comparison" in surface.calls[1][1]


async def test_surfaces_without_a_follow_up_box_say_where_to_ask() -> None:
    web = WebSurface("web:1", Place("web"))
    await web.ask_follow_up("abc")
    assert web.refused == FOLLOW_UP_NOT_HERE
    screen = io.StringIO()
    await ConsoleSurface(Console(file=screen, width=100), "tess", Place("console")).ask_follow_up("abc")
    assert "Type /follow and your message" in screen.getvalue()


def test_discord_buttons_offer_follow_up_only_under_two_replies_and_regenerate_under_any_finished_one() -> None:
    done = Comparison(id="ab12", prompt="p", matchup="pair", model_a="a", model_b="b", base_side=Side.A, blind=True,
                      requester="u", place=Place("discord"), created_at=datetime.now(UTC), status=Status.DONE,
                      reply_a=Reply("x"), reply_b=Reply("y"))

    def buttons(comparison: Comparison) -> list[tuple[str, str]]:
        rows = vote_view(comparison).to_components()
        return [(b["label"], b["custom_id"]) for row in rows for b in row["components"]]

    assert [label for label, _ in buttons(done)] == ["A is better", "B is better", "Tie", "Both bad", "Follow up",
                                                     "Regenerate"]
    one_failed = replace(done, reply_b=Reply(error="The model timed out after 2 s."))
    assert [label for label, _ in buttons(one_failed)][-2:] == ["Both bad", "Regenerate"]
    assert [label for label, _ in buttons(replace(done, status=Status.FAILED))] == ["Regenerate"]
    follow, regenerate = (custom_id for _, custom_id in buttons(done)[-2:])
    assert ids.parse_action_id(follow, ids.FOLLOW) == ids.parse_action_id(regenerate, ids.REGENERATE) == "ab12"


def test_a_text_only_backend_gets_a_conversation_as_a_transcript() -> None:
    sent = messages((Exchange("Hi", "Hello A", "Hello B"),), Side.B, "Bye")
    assert as_text(sent) == "User: Hi\n\nAssistant: Hello B\n\nUser: Bye\n\nAssistant:"
    assert as_text("plain") == "plain" and chat_messages("plain") == [{"role": "user", "content": "plain"}]
