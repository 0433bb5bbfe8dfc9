"""Block Kit rendering within Slack's limits (3,000 characters per section text, 50 blocks).

Model output is escaped for mrkdwn (``&``, ``<``, ``>``), so it cannot mention anyone or inject links."""

from __future__ import annotations

import bisect
import itertools
import re

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    MarkdownTextObject,
    SectionBlock,
)

from adapters import ids
from bot import display
from bot.domain import Choice, Comparison, Matchup, Side, Status, Tally
from bot.judge_report import agreement_lines
from bot.statistics.report import ArenaReport

SECTION_LIMIT = 3000
SECTIONS_PER_REPLY = 3
PROMPT_LIMIT = 2000
FALLBACK_LIMIT = 300
BUTTON_STYLES = {Choice.A: "primary", Choice.B: "primary", Choice.TIE: None, Choice.BOTH_BAD: "danger"}


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
    return blocks


def fallback_text(comparison: Comparison) -> str:
    """The plain text Slack shows in notifications."""
    return display.truncate(f"Compare: {escape(comparison.prompt)}", FALLBACK_LIMIT)


def leaderboard_blocks(tallies: list[Tally], report: ArenaReport) -> list[Block]:
    standings = "\n".join(f"{s.rank}. {escape(s.model)}: {s.rating:.0f} ({s.ci_low:.0f}–{s.ci_high:.0f}), "
                          f"{s.votes} votes" for s in report.leaderboard.standings[:15]) or "No votes yet."
    blocks: list[Block] = [_section(display.truncate("*Arena ratings* (Bradley-Terry, 95% interval)\n" + standings,
                                                     SECTION_LIMIT)),
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
