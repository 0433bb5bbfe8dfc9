"""The flow's *Why?* and forget-me sequences on a recording surface: what is asked, acknowledged and said."""

from __future__ import annotations

import pytest

from adapters import flow as wording
from adapters import ids
from bot.domain import Choice
from bot.errors import UnknownComparisonError
from bot.ports import Forgotten
from bot.prompts import MAX_REASON_CHARS
from tests.unit.test_flow import RecordingSurface, make_flow


class BoxSurface(RecordingSurface):
    async def ask_reason(self, comparison_id: str) -> None:
        self.calls.append(("ask_reason", comparison_id))

    async def confirm(self, text: str, button_id: str, label: str) -> None:
        self.calls.append(("confirm", (text, button_id, label)))


async def test_why_opens_the_box_then_stores_replaces_and_refuses_clearly() -> None:
    flow, alice = make_flow(), BoxSurface()
    comparison = await flow.compare(alice, "What do you think of Mars?")
    assert comparison is not None
    await flow.vote(alice, comparison.id, Choice.B)

    alice.calls.clear()
    await flow.why_button(alice, ids.why_id(comparison.id))
    assert alice.calls == [("ask_reason", comparison.id)]  # the box is the acknowledgement: nothing before it
    await flow.why_button(alice, "cmp:zz:why")
    assert alice.calls[-1] == ("refuse", wording.NOT_OUR_BUTTON)

    alice.calls.clear()
    assert await flow.reason(alice, comparison.id, "  B stayed on topic\x00  ") == "B stayed on topic"
    assert alice.calls == [("acknowledge", (True, "")), ("tell", wording.reason_recorded("B stayed on topic"))]
    assert await flow.reason(alice, comparison.id, "no, B was shorter") == "no, B was shorter"
    [vote] = await flow.service.repository.votes_on(comparison.id)
    assert vote.feedback == "no, B was shorter"

    for text, refusal in (("   ", "The reason is empty"), ("x" * (MAX_REASON_CHARS + 1), "The reason is too long")):
        alice.calls.clear()
        assert await flow.reason(alice, comparison.id, text) is None
        assert alice.calls[-1][0] == "refuse" and alice.calls[-1][1].startswith(refusal)
    bob = BoxSurface(voter="bob")
    assert await flow.reason(bob, comparison.id, "me too") is None
    assert bob.calls[-1] == ("refuse", "Vote on this comparison first, then say why.")
    [vote] = await flow.service.repository.votes_on(comparison.id)
    assert vote.feedback == "no, B was shorter"  # what was refused changed nothing


async def test_forget_me_asks_first_and_deletes_only_whoever_confirms() -> None:
    flow, alice, bob = make_flow(), BoxSurface(), BoxSurface(voter="bob")
    mine = await flow.compare(alice, "What do you think of Mars?")
    theirs = await flow.compare(bob, "taylor swift's best friend")
    assert mine is not None and theirs is not None
    await flow.vote(alice, mine.id, Choice.A)
    await flow.vote(bob, mine.id, Choice.B)
    await flow.vote(alice, theirs.id, Choice.TIE)
    await flow.reason(alice, theirs.id, "both fine")

    await flow.forget_me(alice)
    assert alice.calls[-1] == ("confirm", (wording.FORGET_WARNING, ids.FORGET_CONFIRM, wording.FORGET_BUTTON))
    assert len(await flow.service.repository.votes_on(mine.id)) == 2  # asking deletes nothing

    assert await flow.forget_confirmed(alice, "forget:someone-else") is None
    assert alice.calls[-1] == ("refuse", wording.NOT_OUR_BUTTON)
    found = await flow.forget_confirmed(alice, ids.FORGET_CONFIRM)
    assert found == Forgotten(votes=2, reasons=1, comparisons=1, others_votes=1)
    assert alice.calls[-1] == ("tell", "Deleted: 2 votes (1 with a reason), 1 comparison you asked for and 1 vote "
                                       "others gave on them.")
    assert await flow.service.repository.get_comparison(mine.id) is None
    with pytest.raises(UnknownComparisonError):  # not served from the service's cache either: old buttons fail
        await flow.service.get(mine.id)
    assert [v.voter for v in await flow.service.repository.votes_on(theirs.id)] == []
    assert (await flow.service.get(theirs.id)).id == theirs.id  # bob's comparison stays

    await flow.forget_confirmed(alice, ids.FORGET_CONFIRM)
    assert alice.calls[-1] == ("tell", "There was nothing of yours to delete.")
