"""Leaderboard rendering shared by every front end: one PNG chart (ratings with 95% intervals and the
pairwise win-rate heatmap) and a self-contained HTML page. Headless (Agg), no pyplot global state."""

from __future__ import annotations

import base64
import html
import io

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from bot import display
from bot.statistics.report import ArenaReport

MAX_MODELS_SHOWN = 30


def chart_png(report: ArenaReport) -> bytes:
    """The chart as PNG bytes (blocking: call it in a worker thread)."""
    buffer = io.BytesIO()
    chart_figure(report).savefig(buffer, format="png")
    return buffer.getvalue()


def chart_figure(report: ArenaReport) -> Figure:
    """Ratings with their 95% intervals (left) and the pairwise win-rate heatmap (right)."""
    standings = report.leaderboard.standings[:MAX_MODELS_SHOWN]
    models = [s.model for s in standings]
    figure = Figure(figsize=(12, max(3.0, 0.5 * len(models) + 2)), dpi=100)
    FigureCanvasAgg(figure)
    bars, heat = figure.subplots(1, 2, gridspec_kw={"width_ratios": [1, 1.2]})
    if not standings:
        for axis in (bars, heat):
            axis.axis("off")
        bars.text(0.5, 0.5, "No votes in this slice yet", ha="center", va="center", fontsize=14)
    else:
        ys = list(range(len(standings)))[::-1]
        ratings = [s.rating for s in standings]
        errors = [[s.rating - s.ci_low for s in standings], [s.ci_high - s.rating for s in standings]]
        bars.errorbar(ratings, ys, xerr=errors, fmt="o", capsize=4, color="#4c72b0")
        bars.set_yticks(ys, [f"{s.rank}. {s.model}" for s in standings])
        bars.set_xlabel("Bradley-Terry rating (95% bootstrap interval)")
        bars.set_title(f"Ratings from {report.leaderboard.battles:,} votes")
        bars.grid(axis="x", alpha=0.3)
        matrix = [[report.win_rates.get(row, {}).get(col, float("nan")) for col in models] for row in models]
        image = heat.imshow(matrix, cmap="RdBu", vmin=0, vmax=1)
        heat.set_xticks(range(len(models)), models, rotation=45, ha="right")
        heat.set_yticks(range(len(models)), models)
        heat.set_title("Win rate of row over column (ties count half)")
        for i, row in enumerate(matrix):
            for j, value in enumerate(row):
                if value == value:  # not NaN: the pair met
                    heat.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=8)
        figure.colorbar(image, ax=heat, fraction=0.046)
    figure.tight_layout()
    return figure


def filter_lines(report: ArenaReport) -> list[str]:
    b = report.battles
    lines = [f"{b.sliced:,} votes in this slice, {b.kept:,} kept after filters"]
    lines += [f"removed {step.removed:,}: {step.name}" for step in b.steps]
    bias = report.bias
    lines.append(f"side A wins {display.percent(bias.a_side_win_rate)} of {bias.decided:,} decided votes; "
                 f"ties {display.percent(bias.tie_share)}, both bad {display.percent(bias.both_bad_share)}; "
                 f"{bias.voters:,} voters (median {bias.median_votes_per_voter or 0:g}, "
                 f"max {bias.max_votes_per_voter:,} votes each)")
    return lines


def html_page(report: ArenaReport, png: bytes) -> str:
    rows = "".join(
        f"<tr><td>{s.rank}</td><td>{html.escape(s.model)}</td><td>{s.rating:.0f}</td>"
        f"<td>{s.ci_low:.0f} – {s.ci_high:.0f}</td><td>{s.votes:,}</td></tr>"
        for s in report.leaderboard.standings)
    notes = "".join(f"<li>{html.escape(line)}</li>" for line in filter_lines(report))
    image = base64.b64encode(png).decode()
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Finetune Arena leaderboard</title>
<style>body{{font-family:system-ui,sans-serif;margin:2rem;max-width:1200px}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:.3rem .6rem;text-align:right}}td:nth-child(2),th:nth-child(2){{text-align:left}}
img{{max-width:100%}}</style></head><body>
<h1>Finetune Arena leaderboard</h1>
<table><thead><tr><th>rank</th><th>model</th><th>rating</th><th>95% CI</th><th>votes</th></tr></thead>
<tbody>{rows}</tbody></table>
<ul>{notes}</ul>
<img alt="Ratings with intervals and win-rate heatmap" src="data:image/png;base64,{image}">
</body></html>
"""
