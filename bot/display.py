"""Platform-neutral wording for what members see; each adapter adds only its own markup and limits."""

from __future__ import annotations

from bot.domain import Choice, Comparison, Counts, Reveal, Side, Status, Tally
from bot.statistics.report import ArenaReport
from bot.statistics.style_control import describe_coefficients
from bot.statistics.verdicts import style_columns

CHOICE_LABELS = {Choice.A: "A is better", Choice.B: "B is better", Choice.TIE: "Tie", Choice.BOTH_BAD: "Both bad"}


def plural(count: int, word: str) -> str:
    """``1 vote``, ``2 votes``, ``1,000 votes`` (regular English plurals only)."""
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def truncate(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, with a marker saying how much was cut."""
    if len(text) <= limit:
        return text
    # The marker's length depends on the count it shows; 80 characters always hold it.
    keep = max(0, limit - 80)
    marker = f"\n… [{len(text) - keep:,} more characters cut; the export has the full reply]"
    return text[:keep] + marker[: limit - keep]


ROLE_LABELS = {"base": "base", "finetuned": "fine-tuned", "reference": "reference"}


def role(comparison: Comparison, side: Side) -> str:
    """What the model on ``side`` is to its matchup, in words: base, fine-tuned or reference."""
    slot = comparison.base_role if side is comparison.base_side else comparison.finetuned_role
    return ROLE_LABELS.get(slot, slot)


def side_label(comparison: Comparison, side: Side, revealed: bool = False) -> str:
    label = side.value.upper()
    if comparison.blind and not revealed:
        return label
    return f"{label} · {comparison.model_on(side)} ({role(comparison, side)})"


def reply_status(comparison: Comparison, side: Side) -> str:
    reply = comparison.reply(side)
    if reply.error:
        return f"⚠ {reply.error}"
    if comparison.status is Status.RUNNING:
        return f"generating… {plural(reply.tokens, 'token')}" if reply.tokens else "waiting for the model…"
    cut = f" · cut at {plural(reply.tokens, 'token')}" if reply.cut else ""
    return f"{plural(reply.tokens, 'token')} · {reply.latency_ms / 1000:.1f} s{cut}{dropped_note(comparison, side)}"


def dropped_note(comparison: Comparison, side: Side) -> str:
    """Said under a reply whose model was sent only the latest turns of the conversation."""
    dropped = comparison.reply(side).dropped_turns
    if not dropped:
        return ""
    return f" · oldest {plural(dropped, 'turn')} left out to fit the model's context"


def lineage(comparison: Comparison) -> str:
    """Where a comparison stands in its conversation: ``Turn 2``, ``Regenerated``; empty for a first turn."""
    parts = [f"Turn {comparison.turn}"] if comparison.turn > 1 else []
    if comparison.regenerated_from:
        parts.append("regenerated" if parts else "Regenerated")
    return ", ".join(parts)


def counts_text(counts: Counts) -> str:
    return f"A {counts.a} · B {counts.b} · tie {counts.tie} · both bad {counts.both_bad}"


def reveal_text(reveal: Reveal) -> str:
    def who(side: Side) -> str:
        name = reveal.model_a if side is Side.A else reveal.model_b
        return f"{name} ({role(reveal.comparison, side)})"

    verb = f"changed from “{CHOICE_LABELS[reveal.changed_from]}” to" if reveal.changed_from else "recorded:"
    return (f"Your vote {verb} “{CHOICE_LABELS[reveal.choice]}”.\n"
            f"A was {who(Side.A)}; B was {who(Side.B)}.\n"
            f"Votes on this comparison: {counts_text(reveal.counts)}")


def percent(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.0f}%"


def tally_text(t: Tally) -> str:
    interval = "no decided votes yet" if t.ci_low is None else f"95% CI {percent(t.ci_low)}–{percent(t.ci_high)}"
    return (f"{t.finetuned} vs {t.base}: won {t.wins} · lost {t.losses} · tie {t.ties} · both bad {t.both_bad}\n"
            f"win rate {percent(t.win_rate)} ({interval}){verdict_text(t)}")


def verdict_text(t: Tally) -> str:
    """The length-controlled win rate and the decision, on a line of their own (empty when not computed)."""
    if t.lc_win_rate is None or t.decision is None:
        return ""
    return f"\nlength-controlled win rate {percent(t.lc_win_rate)} · {t.decision}"


RATINGS_HEADING = "Arena ratings (Bradley-Terry, 95% interval)"
STYLE_HEADING = "Arena ratings (Bradley-Terry, 95% interval; then with length and markdown held equal)"


def standings_lines(report: ArenaReport, limit: int = 15) -> tuple[str, list[str]]:
    """The chat leaderboard's ratings: a heading and one line per model, best first; with the style-controlled
    rating and rank beside the raw ones when the report has them, and the style coefficients in words last."""
    style = report.verdicts.style if report.verdicts is not None else None
    styled = style_columns(style)
    lines = []
    for s in report.leaderboard.standings[:limit]:
        line = f"{s.rank}. {s.model} — {s.rating:.0f} ({s.ci_low:.0f}–{s.ci_high:.0f}), {s.votes} votes"
        found = styled.get(s.model)
        if found is not None:
            line += f"; style-controlled {found.rating:.0f} ({found.ci_low:.0f}–{found.ci_high:.0f}), #{found.rank}"
        lines.append(line)
    if not lines:
        return RATINGS_HEADING, ["No votes yet."]
    if style is None:
        return RATINGS_HEADING, lines
    return STYLE_HEADING, [*lines, "Style: " + "; ".join(describe_coefficients(style.coefficients))]
