"""Rich renderables for the terminal: the pair of replies, the reveal, the leaderboard, the models."""

from __future__ import annotations

from rich import box
from rich.console import Group, RenderableType
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from bot import display
from bot.domain import Comparison, Matchup, Reveal, Side, Status, Tally
from bot.outcomes import CHOICE_WORDS
from bot.statistics.report import ArenaReport
from bot.statistics.verdicts import style_columns

COMMANDS = (
    ("/compare PROMPT", "put PROMPT to both models (plain text does the same; \\n starts a new line)"),
    ("/vote a|b|tie|bad", "vote on the last comparison (or just type a, b, tie or bad)"),
    ("/follow TEXT", "follow up on the last comparison: both models answer with the conversation so far"),
    ("/regenerate", "run the last comparison's prompt again, sides drawn afresh (the old one stays votable)"),
    ("/why TEXT", "say why you voted as you did (your last vote; a new reason replaces the old)"),
    ("/leaderboard [scope:me|channel|server] [MATCHUP]", "win rate of the fine-tuned model, 95% interval"),
    ("/arena-settings [show|set|reset ...]", "settings here: set channel|server key=value, reset channel|server key"),
    ("/export csv|jsonl PATH", "write every vote as arena battles"),
    ("/models", "list matchups"),
    ("/matchup NAME", "switch matchup"),
    ("/arena-forget-me", "delete your votes, reasons and comparisons (asks to confirm)"),
    ("/help", "this help"),
    ("/quit", "leave (Ctrl-D does too)"),
)


def help_view() -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    for command, what in COMMANDS:
        table.add_row(escape(command), escape(what))
    return table


def side_title(comparison: Comparison, side: Side, revealed: bool) -> str:
    """``A``, or ``A · model`` once names may show; the role goes under the panel, so a half-width panel on an
    80-column terminal still shows the whole name."""
    label = side.value.upper()
    if comparison.blind and not revealed:
        return f"[bold]{label}[/]"
    return f"[bold]{label}[/] · {escape(comparison.model_on(side))}"


def _role(comparison: Comparison, side: Side, revealed: bool) -> str:
    if comparison.blind and not revealed:
        return ""
    return display.role(comparison, side) + " · "


def reply_panel(comparison: Comparison, side: Side, revealed: bool = False) -> Panel:
    reply = comparison.reply(side)
    title = side_title(comparison, side, revealed)
    body: RenderableType = Text(reply.text or "", overflow="fold")
    if reply.error:
        body = Group(body, Text(f"⚠ {reply.error}", style="bold red")) if reply.text else \
            Text(f"⚠ {reply.error}", style="bold red")
    elif comparison.status is Status.RUNNING:
        status = f"generating… {display.plural(reply.tokens, 'token')}" if reply.tokens else "waiting for the model…"
        return Panel(body, title=title, subtitle=status, border_style="yellow")
    elif not reply.text:
        body = Text("(empty reply)", style="dim")
    timing = f"{display.plural(reply.tokens, 'token')} · {reply.latency_ms / 1000:.1f} s"
    if reply.cut:
        timing += " · cut"  # by the length limit: likely mid-sentence
    if reply.dropped_turns:
        timing += f" · oldest {display.plural(reply.dropped_turns, 'turn')} left out"
    subtitle = _role(comparison, side, revealed) + timing
    return Panel(body, title=title, subtitle=subtitle, border_style="cyan")


def comparison_view(comparison: Comparison, revealed: bool = False, vote_hint: bool = True) -> RenderableType:
    grid = Table.grid(expand=True, padding=(0, 1))
    grid.add_column(ratio=1)
    grid.add_column(ratio=1)
    grid.add_row(reply_panel(comparison, Side.A, revealed), reply_panel(comparison, Side.B, revealed))
    where = display.lineage(comparison)
    header = Text.assemble((f"{where} · " if where else "", "dim"), ("Prompt: ", "bold"), comparison.prompt)
    footer = Text("")
    if comparison.status is Status.DONE and vote_hint:
        footer = Text(f"Vote: a, b, tie or bad · /follow TEXT · /regenerate   (comparison {comparison.id})",
                      style="dim")
    elif comparison.status is Status.FAILED:
        footer = Text("Both models failed; nothing to vote on.", style="red")
    elif comparison.status is Status.CANCELLED:
        footer = Text("Stopped; nothing to vote on.", style="yellow")
    return Group(header, grid, footer)


def reveal_view(reveal: Reveal) -> RenderableType:
    def who(side: Side) -> str:
        name = reveal.model_a if side is Side.A else reveal.model_b
        return f"{escape(name)} ({display.role(reveal.comparison, side)})"

    verb = f"changed from {CHOICE_WORDS[reveal.changed_from]} to" if reveal.changed_from else "recorded:"
    return Text.from_markup(
        f"Vote {verb} [bold]{CHOICE_WORDS[reveal.choice]}[/].  A was {who(Side.A)}, B was {who(Side.B)}.\n"
        f"Votes on this comparison: {display.counts_text(reveal.counts)}")


def percent(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.0f}%"


def leaderboard_view(tallies: list[Tally]) -> Table:
    """One row per matchup; the two model names share a column, one above the other, so the table fits an
    80-column terminal without splitting a name."""
    table = Table(title="Fine-tuned vs base: win rate over decided votes, 95% Wilson interval",
                  caption="W/L: fine-tuned won/lost · T: tie · bad: both bad", box=box.SIMPLE_HEAD,
                  pad_edge=False)
    table.add_column("matchup", overflow="fold")
    table.add_column("fine-tuned\nvs base", overflow="fold")
    for column in ("W", "L", "T", "bad", "win rate", "95% CI"):
        table.add_column(column, justify="right", no_wrap=True)
    for t in tallies:
        ci = "–" if t.ci_low is None else f"{percent(t.ci_low)}–{percent(t.ci_high)}"
        table.add_row(escape(t.matchup), f"{escape(t.finetuned)}\n[dim]vs[/] {escape(t.base)}", str(t.wins),
                      str(t.losses), str(t.ties), str(t.both_bad), percent(t.win_rate), ci)
    # The LC win rate and the decision under the table: a ninth column would split model names at 80 columns.
    verdicts = [f"{t.matchup}: length-controlled win rate {percent(t.lc_win_rate)}; {t.decision}"
                for t in tallies if t.lc_win_rate is not None and t.decision]
    if verdicts:
        table.caption = "\n".join([table.caption or "", *map(escape, verdicts)])
    return table


def models_view(matchups: list[Matchup], default: str) -> Table:
    table = Table(title="Matchups")
    for column in ("matchup", "base", "fine-tuned", "mode"):
        table.add_column(column)
    for m in matchups:
        mark = " (default)" if m.name == default else ""
        # The provider under the name: an 80-column terminal then splits no name.
        table.add_row(escape(m.name + mark), f"{escape(m.base.name)}\n[dim]{escape(m.base.provider)}[/]",
                      f"{escape(m.finetuned.name)}\n[dim]{escape(m.finetuned.provider)}[/]",
                      "blind" if m.blind else "named")
    return table


def style_standings_view(report: ArenaReport) -> Table | None:
    """Raw and style-controlled rating and rank side by side (``leaderboard --style``); None without them."""
    style = report.verdicts.style if report.verdicts else None
    if style is None:
        return None
    controlled = style_columns(style)
    table = Table(title=f"Raw and style-controlled ratings (95% {style.method} interval for style control)")
    for column in ("model", "raw rank", "raw rating", "style rank", "style rating", "95% CI"):
        table.add_column(column, justify="left" if column == "model" else "right")
    for s in report.leaderboard.standings:
        c = controlled.get(s.model)
        table.add_row(escape(s.model), str(s.rank), f"{s.rating:.0f}", str(c.rank) if c else "–",
                      f"{c.rating:.0f}" if c else "–", f"{c.ci_low:.0f}–{c.ci_high:.0f}" if c else "–")
    return table


def standings_view(report: ArenaReport) -> Table:
    table = Table(title="Arena ratings (Bradley-Terry, 95% bootstrap interval)")
    for column in ("rank", "model", "rating", "95% CI", "votes"):
        table.add_column(column, justify="left" if column == "model" else "right")
    for s in report.leaderboard.standings:
        table.add_row(str(s.rank), escape(s.model), f"{s.rating:.0f}", f"{s.ci_low:.0f}–{s.ci_high:.0f}",
                      f"{s.votes:,}")
    return table
