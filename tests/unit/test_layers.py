"""The layering rule (pyproject's [tool.importlinter] contracts) holds, and each contract catches a breach:
on a copy of the packages with one forbidden import injected per contract, lint-imports fails naming it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("bot", "adapters", "storage")
# Module -> the line injected into it, and the contract that line breaks.
BREACHES = {
    "bot/domain.py": ("import sqlalchemy", "The core knows no front end"),
    "storage/orm.py": ("from adapters import ids", "Storage knows no front end"),
    "adapters/discord/render.py": ("from adapters.slack import render as slack_render",
                                   "The front ends do not import each other"),
}


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    executable = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    if executable is None:
        pytest.skip("import-linter is not installed (pip install -e '.[dev]')")
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run([executable, "--no-cache"], cwd=root, env=env, capture_output=True, text=True,
                          timeout=120, check=False)


def test_the_code_keeps_every_contract() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 kept, 0 broken" in result.stdout


def test_each_contract_catches_a_breach(tmp_path: Path) -> None:
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    for module, (line, _) in BREACHES.items():
        path = tmp_path / module
        path.write_text(path.read_text() + f"\n{line}\n")

    result = lint_imports(tmp_path)

    assert result.returncode != 0
    assert "0 kept, 3 broken" in result.stdout, result.stdout
    assert "bot.domain -> sqlalchemy" in result.stdout
    assert "storage.orm -> adapters.ids" in result.stdout
    assert "adapters.discord.render -> adapters.slack.render" in result.stdout
    for _, contract in BREACHES.values():
        assert contract in result.stdout
