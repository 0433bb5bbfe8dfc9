"""Replies' stored style features on real SQLite and PostgreSQL: migration 0011 backfills replies saved before
it, in batches, and every reply saved after stores its own."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from bot.statistics.style import style_features
from storage import reply_style
from storage.database import MIGRATIONS, make_engine, migrate
from storage.reply_style import STYLE_COLUMNS, STYLE_TOTALS, feature_values

TEXTS = ["# Title\n\n- a\n- b\n\n**bold** and __this__", "```\n# code\n```\n1. one\n2. two", "", "plain words"]


@pytest.fixture
def fresh_engine(database_url: str, tmp_path: Path) -> Iterator[Engine]:
    """An empty database of its own (a new schema on PostgreSQL), so it can start at an old revision."""
    admin = None
    if "postgresql" in database_url:
        url = make_url(database_url)
        schema = f"style_{uuid.uuid4().hex[:8]}"
        admin = create_engine(url)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        engine = make_engine(url.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
            hide_password=False))
    else:
        engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    yield engine
    engine.dispose()
    if admin is not None:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def test_upgrade_backfills_the_style_of_stored_replies_in_batches(
        fresh_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with fresh_engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0007")
        for n in range(3):
            connection.execute(text(
                "INSERT INTO comparisons (id, prompt, matchup, model_a, model_b, base_side, blind, requester, "
                "platform, server, channel, status, created_at, identity_leak, reply_problem) VALUES (:id, 'p', "
                "'m', 'x', 'y', 'a', true, 'r', 'slack', '', '', 'done', '2026-11-01 00:00:00', false, false)"),
                {"id": f"c{n}"})
            for side, body in zip("ab", (TEXTS[n], TEXTS[n + 1]), strict=True):
                connection.execute(text(
                    "INSERT INTO replies (comparison_id, side, model, text, tokens, latency_ms, cut) VALUES "
                    "(:id, :side, 'x', :text, :tokens, 1, false)"), {"id": f"c{n}", "side": side, "text": body,
                                                                    "tokens": 5 if side == "a" else 0})
            connection.execute(text(
                "INSERT INTO votes (comparison_id, voter, choice, changes, created_at, updated_at) VALUES "
                "(:id, 'u', 'a', 0, '2026-11-01 00:00:00', '2026-11-01 00:00:00')"), {"id": f"c{n}"})
    # Two replies per round: six replies take three, and every one must be reached.
    monkeypatch.setattr(reply_style, "BACKFILL_BATCH", 2)
    migrate(fresh_engine)
    with fresh_engine.connect() as connection:
        rows = connection.execute(text(
            f"SELECT comparison_id, side, text, tokens, {', '.join(STYLE_COLUMNS)} FROM replies "
            "ORDER BY comparison_id, side")).all()
    assert len(rows) == 6
    for _, _, body, tokens, *stored in rows:
        assert tuple(stored) == feature_values(style_features(body, tokens))
    assert rows[0][4:] == (5, 1, 0, 0, 0, 0, 0, 0, 2, 1, 1)  # the first text: h1, two items, ** and __
    # Each vote carries its comparison's base side and both replies' totals, which the leaderboard reads.
    with fresh_engine.connect() as connection:
        votes = connection.execute(text(
            f"SELECT comparison_id, base_side, {', '.join(STYLE_TOTALS)} FROM votes ORDER BY comparison_id")).all()
    assert [tuple(v[2:]) for v in votes] == [
        (*style_features(TEXTS[n], 5).totals(), *style_features(TEXTS[n + 1], 0).totals()) for n in range(3)]
    assert {v[1] for v in votes} == {"a"} and votes[0][2:6] == (5, 1, 2, 2)
