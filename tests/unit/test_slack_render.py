"""Slack rendering: model text is escaped for mrkdwn, a long reply takes at most three 3,000-character
sections with a marker, blind sides stay anonymous, and the vote buttons carry ids we can parse back."""

from __future__ import annotations

from typing import Any

from adapters import ids
from adapters.slack import render
from bot.domain import Choice, Status
from tests.support.comparisons import comparison, matchup

CUT_MARKER = "more characters cut"
SLACK_BLOCK_LIMIT = 50


def texts(blocks: list[Any]) -> list[str]:
    """Every mrkdwn text in the blocks, in order."""
    found = []
    for block in (b.to_dict() for b in blocks):
        if "text" in block:
            found.append(block["text"]["text"])
        found += [e["text"] for e in block.get("elements", []) if e.get("type") == "mrkdwn"]
    return found


def test_escape_defuses_mentions_and_links() -> None:
    assert render.escape("<!channel> <@U123> <https://x.test|click> a & b") == \
        "&lt;!channel&gt; &lt;@U123&gt; &lt;https://x.test|click&gt; a &amp; b"


def test_prompt_and_replies_are_escaped() -> None:
    blocks = render.comparison_blocks(comparison("<!here> hi", "a & b", prompt="<@U1>"))
    joined = "\n".join(texts(blocks))
    assert "<!here>" not in joined and "<@U1>" not in joined
    assert "&lt;!here&gt; hi" in joined and "a &amp; b" in joined


def test_a_short_reply_is_one_section_and_a_full_one_three() -> None:
    assert len(render.reply_sections("x" * render.SECTION_LIMIT)) == 1
    full = render.reply_sections("x" * render.SECTION_LIMIT * render.SECTIONS_PER_REPLY)
    assert len(full) == 3 and all(CUT_MARKER not in t for t in texts(full))


def test_a_long_reply_is_cut_to_three_sections_with_a_marker() -> None:
    # Escaping makes '<' four characters long: the limit holds for the escaped text.
    sections = texts(render.reply_sections("<" * 20_000))
    assert len(sections) == render.SECTIONS_PER_REPLY
    assert all(len(t) <= render.SECTION_LIMIT for t in sections)
    assert CUT_MARKER in sections[-1]


def test_comparison_fits_slack_limits() -> None:
    long = "y" * 50_000
    blocks = render.comparison_blocks(comparison(long, long, prompt=long))
    assert len(blocks) <= SLACK_BLOCK_LIMIT
    assert all(len(t) <= render.SECTION_LIMIT for t in texts(blocks))
    assert len(render.fallback_text(comparison(prompt=long))) <= render.FALLBACK_LIMIT


def test_vote_buttons_only_when_done_and_their_values_parse_back() -> None:
    done = comparison()
    actions = [b.to_dict() for b in render.comparison_blocks(done) if b.to_dict()["type"] == "actions"]
    assert len(actions) == 2
    buttons = actions[0]["elements"]
    assert [ids.parse_vote_id(b["value"]) for b in buttons] == [(done.id, c) for c in Choice]
    assert len({b["action_id"] for b in buttons}) == len(Choice)
    follow, regenerate = actions[1]["elements"]
    assert ids.parse_action_id(follow["value"], ids.FOLLOW) == done.id
    assert ids.parse_action_id(regenerate["value"], ids.REGENERATE) == done.id
    blocks = render.comparison_blocks(comparison(status=Status.RUNNING))
    assert all(b.to_dict()["type"] != "actions" for b in blocks)
    [failed] = [b.to_dict() for b in render.comparison_blocks(comparison(status=Status.FAILED))
                if b.to_dict()["type"] == "actions"]
    assert [e["action_id"] for e in failed["elements"]] == [render.REGENERATE_ACTION]  # nothing to vote on or follow


def test_blind_comparison_names_no_model() -> None:
    blind = "\n".join(texts(render.comparison_blocks(comparison(model_a="secret-base", model_b="secret-tune"))))
    assert "secret-base" not in blind and "secret-tune" not in blind
    named = "\n".join(texts(render.comparison_blocks(comparison(blind=False, model_a="open-base"))))
    assert "open-base" in named


def test_vote_count_wording() -> None:
    assert "1 vote so far" in render.state_line(comparison(), 1)
    assert "0 votes so far" in render.state_line(comparison(), 0)


def test_models_blocks_are_escaped_and_bounded() -> None:
    blocks = render.models_blocks([matchup(f"m{i}") for i in range(60)] + [matchup("<!channel>")], "m0")
    assert len(blocks) <= SLACK_BLOCK_LIMIT
    assert "m0 (default)" in texts(blocks)[1]
    escaped = texts(render.models_blocks([matchup("<!channel>")], "none"))[1]
    assert "<!channel>" not in escaped and "&lt;!channel&gt;" in escaped


def test_no_escape_is_split_between_sections() -> None:
    sections = texts(render.reply_sections("x" * (render.SECTION_LIMIT - 1) + "<" + "y"))
    assert sections == ["x" * (render.SECTION_LIMIT - 1), "&lt;y"]
    long = texts(render.reply_sections("a<b&" * 5_000))
    assert len(long) == render.SECTIONS_PER_REPLY and all(len(t) <= render.SECTION_LIMIT for t in long)
    joined = "".join(long)
    cut_at = joined.index("\n…")
    assert joined[:cut_at].replace("&lt;", "<").replace("&amp;", "&").count("&") == joined[:cut_at].count("&amp;")
    assert "more characters cut" in joined
