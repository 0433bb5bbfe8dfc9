"""Terminal rendering: model text and names print as typed (no Rich markup taken from them), and blind
sides stay anonymous until the reveal."""

from __future__ import annotations

import io

from rich.console import Console, RenderableType

from adapters.console import render
from bot.domain import Choice, Counts, Reveal, Side, Status
from tests.support.comparisons import comparison, matchup


def shown(renderable: RenderableType) -> str:
    console = Console(file=io.StringIO(), width=160, record=True, color_system=None)
    console.print(renderable)
    return console.export_text()


def test_reply_text_with_markup_prints_as_typed() -> None:
    text = shown(render.comparison_view(comparison("[bold red]shout[/]", "[link=x]y[/link]")))
    assert "[bold red]shout[/]" in text and "[link=x]y[/link]" in text


def test_model_names_with_markup_print_as_typed() -> None:
    named = comparison(blind=False, model_a="[red]base", model_b="tune[/]")
    text = shown(render.comparison_view(named))
    assert "A · [red]base " in text and "B · tune[/] " in text  # names in the titles, as typed
    assert "base · " in text
    assert "fine-tuned · " in text  # roles under the panels


def test_blind_sides_stay_anonymous_until_revealed() -> None:
    blind = comparison(model_a="secret-base", model_b="secret-tune")
    hidden = shown(render.comparison_view(blind))
    assert "secret-base" not in hidden and "secret-tune" not in hidden
    revealed = shown(render.comparison_view(blind, revealed=True))
    assert "A · secret-base " in revealed and "base · " in revealed and "fine-tuned · " in revealed


def test_footer_follows_the_status() -> None:
    assert "Vote: a, b, tie or bad" in shown(render.comparison_view(comparison()))
    assert "Vote:" not in shown(render.comparison_view(comparison(), vote_hint=False))
    assert "Both models failed" in shown(render.comparison_view(comparison("", "", status=Status.FAILED)))
    running = shown(render.comparison_view(comparison("", "", status=Status.RUNNING)))
    assert "waiting for the model" in running and "Vote:" not in running


def test_errors_and_empty_replies_are_said() -> None:
    text = shown(render.comparison_view(comparison("", "", error_a="model timed out")))
    assert "⚠ model timed out" in text and "(empty reply)" in text


def test_reveal_escapes_names_and_says_what_changed() -> None:
    voted = comparison(model_a="[b]base", model_b="tune")
    reveal = Reveal(comparison_id=voted.id, choice=Choice.B, changed_from=Choice.A, model_a=voted.model_a,
                    model_b=voted.model_b, base_side=Side.A, counts=Counts(a=1, b=2), comparison=voted)
    text = shown(render.reveal_view(reveal))
    assert "changed from a to b" in text
    assert "A was [b]base (base), B was tune (fine-tuned)" in text
    assert "A 1 · B 2 · tie 0 · both bad 0" in text


def test_models_view_marks_the_default_and_escapes() -> None:
    text = shown(render.models_view([matchup("pair"), matchup("[x]", blind=False)], "pair"))
    assert "pair (default)" in text and "[x]" in text and "named" in text


def test_a_reply_the_length_limit_stopped_says_it_was_cut() -> None:
    cut = comparison("one two three", "whole answer")
    cut.reply_a.cut = True
    text = shown(render.comparison_view(cut))
    assert "3 tokens · 1.2 s · cut" in text and "2 tokens · 0.9 s ─" in text
