"""The package's layers (README, "Layout"): import-linter's contracts in pyproject.toml, and the face rule.

The source folders install as one package (model/ -> redflags, training/ -> redflags.training,
eval/ -> redflags.eval), which an editable install does not lay out on disk; the test assembles that
layout in a temporary folder (copies of the .py files) and runs `lint-imports` on it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
grimp = pytest.importorskip("grimp", reason="import-linter is in the test extra")


@pytest.fixture(scope="module")
def laid_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """redflags/ as it installs: model/ with training/ and eval/ inside, Python files only."""
    top = tmp_path_factory.mktemp("layout")
    skip = shutil.ignore_patterns("__pycache__", "default_model", "templates", "*.jsonl", "*.yaml")
    shutil.copytree(ROOT / "model", top / "redflags", ignore=skip)
    shutil.copytree(ROOT / "training", top / "redflags" / "training", ignore=skip)
    shutil.copytree(ROOT / "eval", top / "redflags" / "eval", ignore=skip)
    return top


def _lint(top: Path) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("lint-imports")
    env = dict(os.environ, PYTHONPATH=str(top))
    return subprocess.run([str(exe), str(ROOT / "pyproject.toml")], cwd=top, env=env, capture_output=True,
                          text=True, timeout=120)


def test_import_contracts_are_kept(laid_out: Path) -> None:
    result = _lint(laid_out)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_an_import_up_the_layers_breaks_a_contract(tmp_path: Path, laid_out: Path) -> None:
    top = tmp_path / "copy"
    shutil.copytree(laid_out, top)
    with (top / "redflags" / "core" / "memory.py").open("a", encoding="utf-8") as fh:
        fh.write("\nfrom redflags.scoring import report  # an arrow pointing up\n")
    result = _lint(top)
    assert result.returncode != 0 and "BROKEN" in result.stdout


def test_nothing_inside_the_package_imports_its_face(laid_out: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(laid_out))
    for name in [m for m in sys.modules if m == "redflags" or m.startswith("redflags.")]:
        monkeypatch.delitem(sys.modules, name)
    graph = grimp.build_graph("redflags")
    assert graph.find_modules_that_directly_import("redflags") == set()
