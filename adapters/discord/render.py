"""Discord rendering: message content, embeds and views within Discord's limits.

Model output is escaped (markdown and mentions) and every send uses ``AllowedMentions.none()``."""

from __future__ import annotations

from typing import Any

import discord

from bot import display
from bot.domain import Comparison, Matchup, Side, Status, Tally
from bot.judge_report import agreement_lines
from bot.statistics.report import ArenaReport

CONTENT_LIMIT = 2000
PROMPT_LIMIT = 1500
# Discord allows 4,096 characters per embed description but 6,000 across all embeds of a message.
REPLY_LIMIT = 2700
COLOURS = {Side.A: discord.Colour.blurple(), Side.B: discord.Colour.orange()}
NO_MENTIONS = discord.AllowedMentions.none()


def safe(text: str) -> str:
    """Text that renders as typed: no markdown, no mentions, even if a model wrote them."""
    return discord.utils.escape_mentions(discord.utils.escape_markdown(text))


def header(comparison: Comparison, votes: int = 0) -> str:
    prompt = display.truncate(safe(comparison.prompt), PROMPT_LIMIT)
    mode = "Blind comparison: names are revealed after you vote." if comparison.blind else "Named comparison."
    if comparison.status is Status.RUNNING:
        state = "The models are answering…"
    elif comparison.status is Status.FAILED:
        state = "Both models failed; nothing to vote on."
    else:
        state = f"Which reply is better? {votes} vote{'s' if votes != 1 else ''} so far."
    where = display.lineage(comparison)
    where = f"{where}. " if where else ""
    return display.truncate(f"**Prompt:** {prompt}\n-# {where}{mode} {state}", CONTENT_LIMIT)


def reply_embed(comparison: Comparison, side: Side) -> discord.Embed:
    reply = comparison.reply(side)
    text = display.truncate(safe(reply.text), REPLY_LIMIT) if reply.text else ""
    if not text:
        text = "…" if comparison.status is Status.RUNNING and not reply.error else "*(no reply)*"
    colour = discord.Colour.red() if reply.error else COLOURS[side]
    embed = discord.Embed(title=display.side_label(comparison, side), description=text, colour=colour)
    embed.set_footer(text=display.truncate(display.reply_status(comparison, side), 200))
    return embed


def comparison_message(comparison: Comparison, votes: int = 0) -> dict[str, Any]:
    return {
        "content": header(comparison, votes),
        "embeds": [reply_embed(comparison, Side.A), reply_embed(comparison, Side.B)],
        "allowed_mentions": NO_MENTIONS,
    }


def leaderboard_embed(tallies: list[Tally], report: ArenaReport) -> discord.Embed:
    heading, lines = display.standings_lines(report)
    description = (f"**{heading}**\n" + safe("\n".join(lines)) + "\n\nBelow: each fine-tune's "
                   "win rate over decided votes (ties and both-bad aside), 95% Wilson interval.")
    embed = discord.Embed(title="Leaderboard: fine-tuned vs base", colour=discord.Colour.green(),
                          description=display.truncate(description, 4000))
    for tally in tallies[:20]:
        embed.add_field(name=display.truncate(safe(tally.matchup), 256),
                        value=display.truncate(safe(display.tally_text(tally)), 1024), inline=False)
    if report.judge is not None:
        embed.add_field(name="LLM judge", value=display.truncate(safe("\n".join(agreement_lines(report.judge))), 1024),
                        inline=False)
    return embed


def models_embed(matchups: list[Matchup], default: str) -> discord.Embed:
    embed = discord.Embed(title="Matchups", colour=discord.Colour.blurple())
    for m in matchups[:25]:
        mark = " (default)" if m.name == default else ""
        value = (f"base: {m.base.name} ({m.base.provider})\nfine-tuned: {m.finetuned.name} ({m.finetuned.provider})\n"
                 f"{'blind' if m.blind else 'named'}")
        embed.add_field(name=display.truncate(safe(m.name + mark), 256), value=display.truncate(safe(value), 1024),
                        inline=False)
    return embed
