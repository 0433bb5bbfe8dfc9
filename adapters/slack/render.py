"""Block Kit rendering within Slack's limits (3,000 characters per section text, 50 blocks).

Model output is escaped for mrkdwn (``&``, ``<``, ``>``), so it cannot mention anyone or inject links."""

from __future__ import annotations

import bisect
import itertools
import json
import re
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    InputBlock,
    MarkdownTextObject,
    PlainTextInputElement,
    SectionBlock,
)
from slack_sdk.models.views import View

from adapters import flow, ids
from bot import display
from bot.domain import Choice, Comparison, Matchup, Reveal, Side, Status, Tally
from bot.judge_report import agreement_lines
from bot.prompts import MAX_REASON_CHARS
from bot.statistics.report import ArenaReport

SECTION_LIMIT = 3000
WHY_ACTION, CONFIRM_ACTION, WHY_CALLBACK = "why", "forget_confirm", "why"
SECTIONS_PER_REPLY = 3
PROMPT_LIMIT = 2000
FALLBACK_LIMIT = 300
BUTTON_STYLES = {Choice.A: "primary", Choice.B: "primary", Choice.TIE: None, Choice.BOTH_BAD: "danger"}
# The follow-up modal: its callback_id, and the block and action ids of its one text box.
FOLLOW_UP_VIEW, FOLLOW_UP_BLOCK, FOLLOW_UP_INPUT = "follow_up", "follow_up_text", "text"
FOLLOW_UP_ACTION, REGENERATE_ACTION = "follow_up", "regenerate"
INPUT_LIMIT = 3000  # Slack's most for a plain-text input; the arena's own prompt limit is checked after


_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_SPECIAL = re.compile("[&<>]")


def escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _section(text: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=text, verbatim=True))


def _context(text: str) -> ContextBlock:
    return ContextBlock(elements=[MarkdownTextObject(text=text, verbatim=True)])


def reply_sections(text: str) -> list[SectionBlock]:
    """A reply as up to three sections of escaped text, each within Slack's limit. Sections break between
    characters of the reply, never inside an escape such as ``&lt;``; anything past the third is cut with a
    marker."""
    sections = _split(text)
    if len(sections) > SECTIONS_PER_REPLY:
        # The longest cut of the reply (marker included) whose sections still number three; escaping never
        # shortens text, so no cut longer than the three sections' room can fit.
        low, high = 0, min(len(text), SECTION_LIMIT * SECTIONS_PER_REPLY)
        while low < high:
            middle = (low + high + 1) // 2
            if len(_split(display.truncate(text, middle))) <= SECTIONS_PER_REPLY:
                low = middle
            else:
                high = middle - 1
        sections = _split(display.truncate(text, low))
    return [_section(section) for section in sections]


def _split(text: str) -> list[str]:
    """``text`` escaped, in runs of at most SECTION_LIMIT characters that end between escaped characters."""
    if not _SPECIAL.search(text):  # nothing to escape (most replies): plain slices
        return [text[i:i + SECTION_LIMIT] for i in range(0, len(text), SECTION_LIMIT)]
    pieces = [_ESCAPES.get(character, character) for character in text]
    ends = list(itertools.accumulate(map(len, pieces)))
    sections: list[str] = []
    start, done = 0, 0
    while start < len(pieces):
        stop = bisect.bisect_right(ends, done + SECTION_LIMIT, lo=start)
        sections.append("".join(pieces[start:stop]))
        start, done = stop, ends[stop - 1]
    return sections


def state_line(comparison: Comparison, votes: int) -> str:
    mode = "Blind comparison: names are revealed after you vote." if comparison.blind else "Named comparison."
    where = display.lineage(comparison)
    mode = f"{where}. {mode}" if where else mode
    if comparison.status is Status.RUNNING:
        return f"{mode} The models are answering…"
    if comparison.status is Status.FAILED:
        return f"{mode} Both models failed; nothing to vote on."
    return f"{mode} Which reply is better? {votes} vote{'s' if votes != 1 else ''} so far."


def comparison_blocks(comparison: Comparison, votes: int = 0) -> list[Block]:
    prompt = display.truncate(escape(comparison.prompt), PROMPT_LIMIT)
    blocks: list[Block] = [_section(f"*Prompt:* {prompt}"), _context(state_line(comparison, votes))]
    for side in Side:
        reply = comparison.reply(side)
        blocks.append(DividerBlock())
        blocks.append(_section(f"*{escape(display.side_label(comparison, side))}*"))
        if reply.text:
            blocks.extend(reply_sections(reply.text))
        blocks.append(_context(escape(display.reply_status(comparison, side))))
    if comparison.status is Status.DONE:
        blocks.append(DividerBlock())
        blocks.append(ActionsBlock(block_id=f"votes:{comparison.id}", elements=[
            ButtonElement(text=display.CHOICE_LABELS[c], action_id=f"vote_{ids.CODES[c]}",
                          value=ids.vote_id(comparison.id, c), style=BUTTON_STYLES[c])
            for c in Choice
        ]))
    if comparison.status is not Status.RUNNING:
        actions = [ButtonElement(text="Follow up", action_id=FOLLOW_UP_ACTION,
                                 value=ids.action_id(comparison.id, ids.FOLLOW))] \
            if comparison.status is Status.DONE and not comparison.reply_problem else []
        actions.append(ButtonElement(text="Regenerate", action_id=REGENERATE_ACTION,
                                     value=ids.action_id(comparison.id, ids.REGENERATE)))
        blocks.append(ActionsBlock(block_id=f"actions:{comparison.id}", elements=actions))
    return blocks


def follow_up_view(metadata: str) -> View:
    """The follow-up modal; ``metadata`` (private_metadata) says which comparison, channel and thread."""
    return View(type="modal", callback_id=FOLLOW_UP_VIEW, private_metadata=metadata,
                title="Follow up", submit="Send", close="Cancel",
                blocks=[InputBlock(block_id=FOLLOW_UP_BLOCK, label="Your next message to both models",
                                   element=PlainTextInputElement(action_id=FOLLOW_UP_INPUT, multiline=True,
                                                                 max_length=INPUT_LIMIT))])


def fallback_text(comparison: Comparison) -> str:
    """The plain text Slack shows in notifications."""
    return display.truncate(f"Compare: {escape(comparison.prompt)}", FALLBACK_LIMIT)


def heading_block(text: str) -> SectionBlock:
    """A leaderboard's slice (``Your votes``), above its tallies."""
    return _section(f"*{escape(text)}*")


def leaderboard_blocks(tallies: list[Tally], report: ArenaReport) -> list[Block]:
    heading, lines = display.standings_lines(report)
    blocks: list[Block] = [_section(display.truncate(f"*{heading}*\n" + escape("\n".join(lines)), SECTION_LIMIT)),
                           _section("*Fine-tuned vs base* (win rate over decided votes, 95% Wilson interval)")]
    for tally in tallies[:40]:
        blocks.append(_section(f"*{escape(tally.matchup)}*\n{escape(display.tally_text(tally))}"))
    if report.judge is not None:
        blocks.append(_section(display.truncate("*LLM judge*\n" + escape("\n".join(agreement_lines(report.judge))),
                                                SECTION_LIMIT)))
    return blocks


def models_blocks(matchups: list[Matchup], default: str) -> list[Block]:
    blocks: list[Block] = [_section("*Matchups*")]
    for m in matchups[:40]:
        mark = " (default)" if m.name == default else ""
        blocks.append(_section(escape(
            f"{m.name}{mark}: base {m.base.name} ({m.base.provider}) vs fine-tuned {m.finetuned.name} "
            f"({m.finetuned.provider}), {'blind' if m.blind else 'named'}")))
    return blocks


def reveal_blocks(reveal: Reveal) -> list[Block]:
    """The private reveal, with the *Why?* button."""
    return [_section(escape(display.reveal_text(reveal))),
            ActionsBlock(block_id=f"why:{reveal.comparison_id}", elements=[
                ButtonElement(text="Why?", action_id=WHY_ACTION, value=ids.why_id(reveal.comparison_id))])]


def confirm_blocks(text: str, button_id: str, label: str) -> list[Block]:
    return [_section(escape(text)), ActionsBlock(block_id="confirm", elements=[
        ButtonElement(text=label, action_id=CONFIRM_ACTION, value=button_id, style="danger")])]


def why_view(comparison_id: str, channel: str) -> View:
    """The *Why?* modal; its private metadata carries the comparison and the channel to answer in."""
    return View(type="modal", callback_id=WHY_CALLBACK, title=flow.WHY_TITLE, submit="Save", close="Cancel",
                private_metadata=json.dumps({"comparison": comparison_id, "channel": channel}),
                blocks=[InputBlock(block_id=ids.REASON_FIELD, label="Reason", element=PlainTextInputElement(
                    action_id=ids.REASON_FIELD, multiline=True, max_length=MAX_REASON_CHARS,
                    placeholder=flow.WHY_PLACEHOLDER))])


def submitted_reason(view: dict[str, Any]) -> tuple[str, str, str] | None:
    """(comparison id, channel, reason) from a submitted *Why?* modal, or None when it is not one."""
    try:
        meta = json.loads(view.get("private_metadata") or "")
        value = view["state"]["values"][ids.REASON_FIELD][ids.REASON_FIELD]["value"]
        return str(meta["comparison"]), str(meta["channel"]), str(value or "")
    except (ValueError, KeyError, TypeError):
        return None
