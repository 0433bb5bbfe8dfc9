"""The leaderboard chart and page every front end shows (adapters/charts.py), read back from the figure:
each model's rating with its interval, and the win rate of every pair that met."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.container import ErrorbarContainer

from adapters.charts import chart_figure, chart_png, html_page
from bot.statistics import bradley_terry
from bot.statistics.battles import BattleCount
from bot.statistics.bias import bias_report
from bot.statistics.report import ArenaReport
from bot.statistics.slices import BattleQuery, BattleSet

# Three models; "small" never met "chat", so their cell of the heatmap stays empty.
COUNTS = [BattleCount("chat", "base", "model_a", 30), BattleCount("chat", "base", "model_b", 10),
          BattleCount("base", "small", "model_a", 12), BattleCount("base", "small", "tie", 4),
          BattleCount("small", "base", "model_a", 4)]


def report() -> ArenaReport:
    counts = tuple(COUNTS)
    return ArenaReport(query=BattleQuery(), leaderboard=bradley_terry.leaderboard(counts, rounds=20),
                       battles=BattleSet(counts=counts, sliced=60, steps=()),
                       win_rates=bradley_terry.win_rate_matrix(counts), bias=bias_report(counts, [20, 40]))


def test_the_chart_shows_each_rating_with_its_interval_and_every_pairs_win_rate() -> None:
    shown = report()
    standings = shown.leaderboard.standings
    bars, heat, _colorbar = chart_figure(shown).axes
    [points] = [c for c in bars.containers if isinstance(c, ErrorbarContainer)]
    xs = list(points.lines[0].get_xdata())
    assert xs == pytest.approx([s.rating for s in standings])
    # Each interval is drawn as a segment from its low to its high end.
    segments = points.lines[2][0].get_segments()
    ends = [end for seg in segments for end in (seg[0][0], seg[1][0])]
    assert ends == pytest.approx([end for s in standings for end in (s.ci_low, s.ci_high)])
    top_down = sorted(zip(bars.get_yticks(), (t.get_text() for t in bars.get_yticklabels()), strict=True),
                      reverse=True)
    assert [label for _, label in top_down] == [f"{s.rank}. {s.model}" for s in standings]
    assert [y for y, _ in top_down] == pytest.approx(list(points.lines[0].get_ydata()))  # each label at its point
    models = [s.model for s in standings]
    matrix = heat.images[0].get_array()
    for i, row in enumerate(models):
        for j, col in enumerate(models):
            expected = shown.win_rates.get(row, {}).get(col)
            if expected is None:
                assert np.ma.getmaskarray(matrix)[i, j], (row, col)  # no colour where the pair never met
            else:
                assert matrix[i, j] == pytest.approx(expected), (row, col)
    texts = {t.get_text() for t in heat.texts}
    assert f"{shown.win_rates['chat']['base']:.2f}" in texts and len(heat.texts) == 4  # the two pairs that met
    assert chart_png(shown).startswith(b"\x89PNG")


def test_the_page_lists_every_model_with_its_rating_and_interval() -> None:
    shown = report()
    page = html_page(shown, b"png")
    for s in shown.leaderboard.standings:
        assert (f"<td>{s.rank}</td><td>{s.model}</td><td>{s.rating:.0f}</td>"
                f"<td>{s.ci_low:.0f} – {s.ci_high:.0f}</td><td>{s.votes:,}</td>") in page
    assert "60 votes in this slice" in page and "side A wins" in page


def test_with_no_votes_the_chart_says_so() -> None:
    empty = ArenaReport(query=BattleQuery(), leaderboard=bradley_terry.leaderboard([], rounds=20),
                        battles=BattleSet(counts=(), sliced=0, steps=()), win_rates={}, bias=bias_report([], []))
    bars, heat = chart_figure(empty).axes
    assert [t.get_text() for t in bars.texts] == ["No votes in this slice yet"] and not heat.images
