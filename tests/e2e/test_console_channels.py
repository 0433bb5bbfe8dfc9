"""``/arena-settings`` and ``/leaderboard scope:me`` in ``ftarena chat``: a real process on echo models and real
SQLite, its commands piped in. The terminal's user is its admin."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.processes import write_config
from tests.e2e.test_console_chat import run_ftarena


def test_terminal_settings_show_set_reset_and_a_personal_board(tmp_path: Path) -> None:
    config = write_config(tmp_path, f"sqlite:///{tmp_path / 'arena.db'}")
    script = "\n".join([
        "/arena-settings set channel blind=off", "/arena-settings show", "What do you think of Mars?", "tie",
        "/leaderboard scope:me", "/arena-settings set channel colour=red", "/arena-settings set blind=off",
        "/arena-settings reset channel blind", "/quit",
    ]) + "\n"
    result = run_ftarena(["--config", str(config), "chat", "--user", "alice"], tmp_path, script, timeout=60)
    out = result.stdout
    assert result.returncode == 0, result.stderr
    assert "Saved for this channel; every bot process applies it within 5 s." in out
    assert "• blind: off (set for this channel)" in out and "• matchup: pair (config" in out
    assert "A · base-echo" in out or "A · tuned-echo" in out  # named, as the channel's setting says
    assert "Your votes" in out
    assert "No setting named 'colour'. Settings: enabled, matchup, blind, roles, users, rate_limit." in out
    assert "Say where (channel or server) and what to set." in out and "Usage: /arena-settings show" in out
    assert "• blind: each matchup's own (config file)" in out
