"""Discord rendering: model text shows as typed (no markdown, no mentions), blind sides stay anonymous, and
every message fits Discord's limits (2,000 content, 4,096 per embed description, 6,000 across embeds)."""

from __future__ import annotations

from typing import Any

from adapters.discord import render
from bot.domain import Status
from tests.support.comparisons import comparison, matchup

CUT_MARKER = "more characters cut"


def embed_size(embed: dict[str, Any]) -> int:
    """Characters Discord counts towards an embed's 6,000 (title, description, footer, fields)."""
    fields = sum(len(f.get("name", "")) + len(f.get("value", "")) for f in embed.get("fields", []))
    return (len(embed.get("title") or "") + len(embed.get("description") or "")
            + len((embed.get("footer") or {}).get("text") or "") + fields)


def message_text(message: dict[str, Any]) -> str:
    embeds = [e.to_dict() for e in message["embeds"]]
    parts = [message["content"]]
    for embed in embeds:
        parts += [embed.get("title", ""), embed.get("description", ""), embed.get("footer", {}).get("text", "")]
    return "\n".join(parts)


def test_safe_defuses_mentions_and_markdown() -> None:
    text = render.safe("@everyone @here <@123456789012345678> <@&123456789012345678> **bold** `code` ||spoiler||")
    assert "@everyone" not in text and "@here" not in text
    assert "<@123456789012345678>" not in text and "<@&123456789012345678>" not in text
    assert "\\*\\*bold\\*\\*" in text and "\\`code\\`" in text and "\\|\\|spoiler\\|\\|" in text


def test_model_text_is_escaped_in_prompt_and_replies() -> None:
    message = render.comparison_message(comparison("@everyone look", "**loud**", prompt="ping @here"))
    content = message["content"]
    assert "@here" not in content and "ping" in content
    a, b = (e.to_dict()["description"] for e in message["embeds"])
    assert "@everyone" not in a
    assert b == "\\*\\*loud\\*\\*"
    assert message["allowed_mentions"].everyone is False


def test_long_text_is_cut_with_a_marker_within_every_limit() -> None:
    # Escaping doubles '*': the limits must hold for the escaped text, not the raw one.
    long = "*" * 9000
    message = render.comparison_message(comparison(long, long, prompt=long), votes=3)
    assert len(message["content"]) <= render.CONTENT_LIMIT
    assert CUT_MARKER in message["content"]
    embeds = [e.to_dict() for e in message["embeds"]]
    for embed in embeds:
        assert len(embed["description"]) <= 4096
        assert CUT_MARKER in embed["description"]
    assert sum(embed_size(e) for e in embeds) <= 6000


def test_text_within_the_limits_is_not_cut() -> None:
    text = "x" * render.REPLY_LIMIT
    message = render.comparison_message(comparison(text, "short", prompt="p" * render.PROMPT_LIMIT))
    assert message["embeds"][0].to_dict()["description"] == text
    assert CUT_MARKER not in message["content"]


def test_blind_comparison_names_no_model_until_revealed() -> None:
    blind = message_text(render.comparison_message(comparison(model_a="secret-base", model_b="secret-tune")))
    assert "secret-base" not in blind and "secret-tune" not in blind
    named = message_text(render.comparison_message(comparison(blind=False, model_a="open-base")))
    assert "open-base" in named


def test_state_line_follows_the_status() -> None:
    running = render.comparison_message(comparison("", "", status=Status.RUNNING))
    assert "answering" in running["content"]
    assert [e.to_dict()["description"] for e in running["embeds"]] == ["…", "…"]
    assert "1 vote so far" in render.header(comparison(), votes=1)
    assert "2 votes so far" in render.header(comparison(), votes=2)
    failed = render.comparison_message(comparison("", "", status=Status.FAILED, error_a="timed out"))
    assert "nothing to vote on" in failed["content"]
    assert failed["embeds"][0].to_dict()["description"] == "*(no reply)*"


def test_models_embed_keeps_to_25_fields_and_escapes_names() -> None:
    matchups = [matchup(f"pair-{i}") for i in range(30)] + [matchup("**x**")]
    embed = render.models_embed(matchups, "pair-0").to_dict()
    assert len(embed["fields"]) == 25
    assert embed["fields"][0]["name"] == "pair-0 (default)"
    assert all(len(f["name"]) <= 256 and len(f["value"]) <= 1024 for f in embed["fields"])
    escaped = render.models_embed([matchup("**x**", base="@everyone")], "none").to_dict()["fields"][0]
    assert escaped["name"] == "\\*\\*x\\*\\*" and "@everyone" not in escaped["value"]



def test_the_leaderboard_embed_shows_each_matchups_lc_win_rate_and_decision() -> None:
    from bot.domain import Tally
    from bot.statistics import bradley_terry
    from bot.statistics.bias import bias_report
    from bot.statistics.report import ArenaReport
    from bot.statistics.slices import BattleQuery, BattleSet

    tally = Tally(matchup="pair", base="base", finetuned="tuned", wins=30, losses=10, ties=0, both_bad=0,
                  win_rate=0.75, ci_low=0.6, ci_high=0.86, lc_win_rate=0.61,
                  decision="fine-tune better (anytime-valid 95%)")
    empty = ArenaReport(query=BattleQuery(), leaderboard=bradley_terry.leaderboard([], rounds=5),
                        battles=BattleSet(counts=(), sliced=0, steps=()), win_rates={}, bias=bias_report([], []))
    [field] = render.leaderboard_embed([tally], empty).fields
    assert field.value is not None
    assert field.value.endswith("\nlength-controlled win rate 61% · fine-tune better (anytime-valid 95%)")
