"""Leaderboard rendering shared by every front end: one PNG chart (ratings with 95% intervals and the
pairwise win-rate heatmap) and a self-contained HTML page. Headless (Agg), no pyplot global state."""

from __future__ import annotations

import base64
import dataclasses
import html
import io
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from bot import display
from bot.domain import Tally
from bot.statistics.bradley_terry import Standing
from bot.statistics.report import ArenaReport
from bot.statistics.slices import BattleQuery
from bot.statistics.verdicts import style_columns, verdict_lines

MAX_MODELS_SHOWN = 30
# Below this many votes a model's bootstrap interval spans most of the scale (2 votes gave "7–1000"): the
# rating is drawn but flagged as too few votes to read rather than presented as a result.
MIN_VOTES_TO_READ = 10
TOO_FEW = "too few votes to read"


def chart_png(report: ArenaReport) -> bytes:
    """The chart as PNG bytes (blocking: call it in a worker thread)."""
    buffer = io.BytesIO()
    chart_figure(report).savefig(buffer, format="png")
    return buffer.getvalue()


def too_few(report: ArenaReport) -> list[str]:
    """The models whose rating rests on fewer than MIN_VOTES_TO_READ votes."""
    return [s.model for s in report.leaderboard.standings if s.votes < MIN_VOTES_TO_READ]


def few_votes_warning(report: ArenaReport) -> str | None:
    thin = too_few(report)
    if not thin:
        return None
    return (f"{TOO_FEW}: {', '.join(thin)} "
            f"(fewer than {display.plural(MIN_VOTES_TO_READ, 'vote')} each; the intervals are not a result yet)")


def chart_figure(report: ArenaReport) -> Figure:
    """Ratings with their 95% intervals (left) and the pairwise win-rate heatmap (right), sized from the
    number of models and laid out by matplotlib's constrained layout so titles and labels stay inside."""
    standings = report.leaderboard.standings[:MAX_MODELS_SHOWN]
    models = [s.model for s in standings]
    height = max(3.5, 0.45 * len(models) + 2.5)
    figure = Figure(figsize=(min(16.0, 8.0 + 0.5 * len(models)), height), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    bars, heat = figure.subplots(1, 2, gridspec_kw={"width_ratios": [1, 1.2]})
    if not standings:
        for axis in (bars, heat):
            axis.axis("off")
        bars.text(0.5, 0.5, "No votes in this slice yet", ha="center", va="center", fontsize=14)
        return figure
    ys = list(range(len(standings)))[::-1]
    ratings = [s.rating for s in standings]
    errors = [[s.rating - s.ci_low for s in standings], [s.ci_high - s.rating for s in standings]]
    bars.errorbar(ratings, ys, xerr=errors, fmt="o", capsize=4, color="#4c72b0", label="raw")
    _style_markers(bars, report, standings, ys)
    bars.set_yticks(ys, [f"{s.rank}. {s.model}" for s in standings])
    bars.set_xlabel("Bradley-Terry rating\n(95% bootstrap interval)")
    bars.set_title(f"Ratings from {display.plural(report.leaderboard.battles, 'vote')}")
    bars.grid(axis="x", alpha=0.3)
    matrix = [[report.win_rates.get(row, {}).get(col, float("nan")) for col in models] for row in models]
    # Cells take the axes' shape: a square heatmap beside a wide bar chart left a large empty band.
    image = heat.imshow(matrix, cmap="RdBu", vmin=0, vmax=1, aspect="auto")
    heat.set_xticks(range(len(models)), models, rotation=45, ha="right")
    heat.set_yticks(range(len(models)), models)
    heat.set_title("Win rate, row over column\n(ties count half)")
    for i, row in enumerate(matrix):
        for j, value in enumerate(row):
            if value == value:  # not NaN: the pair met
                heat.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=8)
    figure.colorbar(image, ax=heat, fraction=0.046)
    warning = few_votes_warning(report)
    if warning:
        figure.suptitle(f"⚠ {warning}", color="#b00020", fontsize=10, wrap=True)
    return figure


def _style_markers(axis: Any, report: ArenaReport, standings: Sequence[Standing], ys: Sequence[int]) -> None:
    """The style-controlled rating of each model beside its raw one, when the report has them."""
    style = report.verdicts.style if report.verdicts else None
    controlled, method = style_columns(style), style.method if style else ""
    shown = [(controlled[s.model], y) for s, y in zip(standings, ys, strict=True) if s.model in controlled]
    if not shown:
        return
    offset = [y - 0.25 for _, y in shown]
    axis.errorbar([c.rating for c, _ in shown], offset, xerr=[[c.rating - c.ci_low for c, _ in shown],
                                                               [c.ci_high - c.rating for c, _ in shown]],
                  fmt="s", capsize=3, color="#dd8452", label=f"style-controlled ({method} interval)")
    axis.legend(loc="best", fontsize=8)


# Fields of a query that slice_text words itself, or leaves out (voter ids are nobody's business in a report).
_WORDED = ("drop_identity_leaks", "drop_failed", "drop_outliers", "without_voters")


def slice_text(query: BattleQuery) -> str:
    """The slice a report covers, in the words of ``ftarena report``'s options."""
    parts = [f"{field.name.replace('_', ' ')} {display_value(getattr(query, field.name))}"
             for field in dataclasses.fields(query)
             if field.name not in _WORDED and getattr(query, field.name) is not None]
    kept = [] if query.drop_identity_leaks and query.drop_failed else ["keeping every vote (--keep-all)"]
    dropped = ["without outlier voters (--drop-outliers)"] if query.drop_outliers else []
    return "; ".join(parts + kept + dropped) or "all votes"


def display_value(value: object) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


def filter_lines(report: ArenaReport) -> list[str]:
    b = report.battles
    lines = [f"{display.plural(b.sliced, 'vote')} in this slice, {b.kept:,} kept after filters"]
    lines += [f"removed {step.removed:,}: {step.name}" for step in b.steps]
    bias = report.bias
    lines.append(f"side A wins {display.percent(bias.a_side_win_rate)} of "
                 f"{display.plural(bias.decided, 'decided vote')}; "
                 f"ties {display.percent(bias.tie_share)}, both bad {display.percent(bias.both_bad_share)}; "
                 f"{display.plural(bias.voters, 'voter')} (median {bias.median_votes_per_voter or 0:g}, "
                 f"max {display.plural(bias.max_votes_per_voter, 'vote')} each)")
    warning = few_votes_warning(report)
    if warning:
        lines.append(warning)
    return lines


def _tally_rows(tallies: Sequence[Tally]) -> str:
    def row(t: Tally) -> str:
        ci = "–" if t.ci_low is None else f"{display.percent(t.ci_low)} – {display.percent(t.ci_high)}"
        few = f' <em class="few">{TOO_FEW}</em>' if 0 < t.votes < MIN_VOTES_TO_READ else ""
        return (f"<tr><td>{html.escape(t.matchup)}</td><td>{html.escape(t.finetuned)}</td>"
                f"<td>{html.escape(t.base)}</td><td>{display.percent(t.win_rate)}{few}</td><td>{ci}</td>"
                f"<td>{t.wins:,}</td><td>{t.losses:,}</td><td>{t.ties:,}</td><td>{t.both_bad:,}</td>"
                f"<td>{t.votes:,}</td></tr>")

    return "".join(row(t) for t in tallies) or '<tr><td colspan="10">No matchups configured.</td></tr>'


def _verdict_section(report: ArenaReport) -> str:
    """Style control, the LC win rate, the decision and the outliers (issue #16); empty when not computed."""
    v = report.verdicts
    if v is None:
        return ""
    table = ""
    if v.style is not None:
        controlled = style_columns(v.style)
        rows = "".join(
            f"<tr><td>{html.escape(s.model)}</td><td>{s.rank}</td><td>{s.rating:.0f}</td><td>{c.rank}</td>"
            f"<td>{c.rating:.0f}</td><td>{c.ci_low:.0f} – {c.ci_high:.0f}</td></tr>"
            for s in report.leaderboard.standings if (c := controlled.get(s.model)))
        table = (f'<table id="style"><thead><tr><th>model</th><th>raw rank</th><th>raw rating</th>'
                 f"<th>style rank</th><th>style-controlled rating</th><th>95% {v.style.method} interval</th>"
                 f"</tr></thead><tbody>{rows}</tbody></table>")
    lines = "".join(f"<li>{html.escape(line)}</li>" for line in verdict_lines(v))
    return f'<h2>Style control, length and the decision</h2>\n{table}\n<ul id="verdicts">{lines}</ul>'


def html_page(report: ArenaReport, png: bytes, tallies: Sequence[Tally] = (), at: datetime | None = None) -> str:
    """The report: first the date, the slice, the votes it covers and each fine-tune's win rate over its base;
    then the arena ratings, the filters and bias checks, and the chart."""
    when = (at or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M UTC")
    rows = "".join(
        f"<tr><td>{s.rank}</td><td>{html.escape(s.model)}</td><td>{s.rating:.0f}</td>"
        f"<td>{s.ci_low:.0f} – {s.ci_high:.0f}</td><td>{s.votes:,}</td></tr>"
        for s in report.leaderboard.standings)
    notes = "".join(f"<li>{html.escape(line)}</li>" for line in filter_lines(report))
    warning = few_votes_warning(report)
    warned = f'<p class="few">⚠ {html.escape(warning)}</p>' if warning else ""
    image = base64.b64encode(png).decode()
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Finetune Arena report</title>
<style>body{{font-family:system-ui,sans-serif;margin:2rem;max-width:1200px}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:.3rem .6rem;text-align:right}}td:nth-child(2),th:nth-child(2){{text-align:left}}
.few{{color:#b00020}}img{{max-width:100%}}</style></head><body>
<h1>Finetune Arena report</h1>
<p id="covers">{when} · slice: {html.escape(slice_text(report.query))} ·
{display.plural(report.battles.kept, 'vote')} after filters</p>
<h2>Fine-tuned vs base</h2>
<table id="tallies"><thead><tr><th>matchup</th><th>fine-tuned</th><th>base</th><th>win rate</th>
<th>95% Wilson interval</th><th>won</th><th>lost</th><th>tie</th><th>both bad</th><th>votes</th></tr></thead>
<tbody>{_tally_rows(tallies)}</tbody></table>
<p>Win rate over decided votes (ties and both-bad left out), counted over every vote on each matchup: the
slice and its filters apply to the arena ratings below. Fewer than {display.plural(MIN_VOTES_TO_READ, 'vote')}
is {TOO_FEW}.</p>
<h2>Arena ratings</h2>
{warned}
<table><thead><tr><th>rank</th><th>model</th><th>rating</th><th>95% CI</th><th>votes</th></tr></thead>
<tbody>{rows}</tbody></table>
<ul>{notes}</ul>
{_verdict_section(report)}
<img alt="Ratings with intervals and win-rate heatmap" src="data:image/png;base64,{image}">
</body></html>
"""
