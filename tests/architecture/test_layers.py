"""The layer contract of pyproject.toml holds, and would catch an upward import."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint(cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own linter on our own tree
        [str(LINT_IMPORTS), "--no-cache"], cwd=cwd, capture_output=True, text=True, timeout=120
    )


def test_the_package_graph_is_one_way():
    result = _lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


def test_an_upward_import_breaks_the_contract(tmp_path):
    """A copy of the tree where the ledger imports the console must fail the check."""
    for name in ("miniprogram_api", "wechat_simulator"):
        (tmp_path / name).symlink_to(ROOT / name)
    shutil.copytree(ROOT / "server", tmp_path / "server", ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "server" / "ledger" / "upward.py").write_text("import server.console  # noqa: F401\n")
    (tmp_path / "pyproject.toml").write_text((ROOT / "pyproject.toml").read_text())
    result = _lint(tmp_path)
    assert result.returncode != 0
    assert "server.ledger is not allowed to import server.console" in result.stdout
