"""The leaderboard chart and page every front end shows (adapters/charts.py), read back from the figure:
each model's rating with its interval, and the win rate of every pair that met."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import numpy as np
import pytest
from matplotlib.container import ErrorbarContainer

from adapters.charts import TOO_FEW, chart_figure, chart_png, html_page
from bot.domain import Tally
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


def _tally(votes: int) -> Tally:
    wins = votes // 2
    return Tally(matchup="support", base="base", finetuned="chat", wins=wins, losses=votes - wins, ties=0,
                 both_bad=0, win_rate=wins / votes, ci_low=0.3, ci_high=0.7)


def _two_votes() -> ArenaReport:
    counts = (BattleCount("chat", "base", "model_a", 1), BattleCount("base", "chat", "model_b", 1))
    return ArenaReport(query=BattleQuery(platform="discord"), leaderboard=bradley_terry.leaderboard(counts, rounds=20),
                       battles=BattleSet(counts=counts, sliced=2, steps=()),
                       win_rates=bradley_terry.win_rate_matrix(counts), bias=bias_report(counts, [2]))


@pytest.mark.parametrize("shown", [report(), _two_votes()], ids=["many", "two"])
def test_the_chart_keeps_its_titles_inside_the_figure(shown: ArenaReport) -> None:
    figure = chart_figure(shown)
    figure.savefig(io.BytesIO(), format="png")  # lays the figure out, as chart_png does
    renderer = figure.canvas.get_renderer()  # type: ignore[attr-defined]
    frame = figure.bbox
    titles = [axis.title for axis in figure.axes[:2]] + [t for t in figure.texts if t.get_text()]  # + suptitle
    for title in titles:
        box = title.get_window_extent(renderer)
        assert frame.x0 <= box.x0 and box.x1 <= frame.x1 and box.y1 <= frame.y1, title.get_text()
    # No large empty area: the two plots fill the width, with only the heatmap's labels between them.
    bars, heat = (axis.get_window_extent(renderer) for axis in figure.axes[:2])
    assert heat.x0 - bars.x1 < 0.15 * frame.width and bars.width + heat.width > 0.7 * frame.width


def test_the_page_opens_with_each_fine_tunes_win_rate_the_date_the_slice_and_the_votes() -> None:
    page = html_page(report(), b"png", [_tally(40)], at=datetime(2026, 12, 3, 9, 0, tzinfo=UTC))
    covers = page.index('id="covers"')
    assert "2026-12-03 09:00 UTC" in page[covers:] and "slice: all votes" in page and "60 votes after filters" in page
    tallies = page.index('id="tallies"')
    assert covers < tallies < page.index("<th>rank</th>")  # the tally table comes before the ratings
    assert ("<td>support</td><td>chat</td><td>base</td><td>50%</td><td>30% – 70%</td>"
            "<td>20</td><td>20</td><td>0</td><td>0</td><td>40</td>") in page
    assert "class=\"few\"" not in page.split("</style>")[1]  # no warning anywhere


def test_with_two_votes_the_page_and_the_chart_say_there_are_too_few_to_read() -> None:
    shown = _two_votes()
    page = html_page(shown, b"png", [_tally(2)])
    assert page.count(TOO_FEW) >= 4  # the legend, the tally row, the ratings and the notes
    assert "slice: platform discord" in page and "1 voter " in page and "1 voters" not in page
    figure = chart_figure(shown)
    assert TOO_FEW in figure.get_suptitle() and chart_figure(report()).get_suptitle() == ""
