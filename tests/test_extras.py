"""Lean install: scoring needs only the base dependencies; a command whose extra is missing says which to install."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from redflags.cli.app import app
from redflags.extras import EXTRAS, MissingExtraError, missing, require
from typer.testing import CliRunner

REPO = Path(__file__).resolve().parents[1]
SEED = REPO / "seeds" / "000_461dd1c7835a637b.txt"
# (pydantic is also a dependency of typer, so the base has it; the others are extra-only.)
EXTRA_ONLY = sorted({m for modules in EXTRAS.values() for m in modules} - {"pydantic"})


def _names(requirements: list[str]) -> set[str]:
    return {re.split(r"[<>=!~\[ ;]", r, maxsplit=1)[0].lower() for r in requirements}


def test_extras_module_matches_pyproject() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extras = project["optional-dependencies"]
    for extra, modules in EXTRAS.items():
        assert _names(extras[extra]) == set(modules.values()), extra
    assert extras["all"] == ["redflags[train,eval,ray,serve]"]
    base = _names(project["dependencies"])
    for heavy in ("datasets", "matplotlib", "peft", "openpyxl", "scikit-learn", "scipy", "transformers", "pydantic",
                  "accelerate", "ray", "pyarrow", "fastapi", "uvicorn"):
        assert heavy not in base


@pytest.mark.parametrize(("args", "extra"), [
    (["train", "configs/default.yaml"], "train"), (["data", "stats"], "train"), (["convert", "a", "b"], "train"),
    (["evaluate", "--data", "all:test", "--out", "o"], "eval"), (["check", "--model", "m"], "eval"),
    (["parity", "--model", "m"], "eval"),
])
def test_a_command_without_its_extra_says_which_to_install(monkeypatch: pytest.MonkeyPatch, args: list[str],
                                                          extra: str) -> None:
    monkeypatch.setitem(sys.modules, "datasets", None)  # as if not installed
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and f"pip install 'redflags[{extra}]'" in lines[0] and "datasets" in lines[0]
    assert lines[0].startswith(f"redflags: error: redflags {args[0]}")


def test_serve_without_its_extra_says_which_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "fastapi", None)  # as if not installed
    result = CliRunner().invoke(app, ["serve"])
    assert result.exit_code == 1
    assert result.output.strip() == ("redflags: error: redflags serve needs the web service extras: "
                                     "pip install 'redflags[serve]' (missing: fastapi)")


def test_require_names_the_extra_and_the_missing_packages(monkeypatch: pytest.MonkeyPatch) -> None:
    require("train", "train")  # the test environment has everything
    monkeypatch.setitem(sys.modules, "sklearn", None)
    assert missing("eval") == ["scikit-learn"]
    with pytest.raises(MissingExtraError, match=r"redflags evaluate needs the evaluation extras: "
                                                r"pip install 'redflags\[eval\]' \(missing: scikit-learn\)"):
        require("eval", "evaluate")


def test_save_pretrained_without_the_training_extras_says_which_to_install(
    monkeypatch: pytest.MonkeyPatch, tiny_model_dir: Path, tmp_path: Path
) -> None:
    import redflags

    scorer = redflags.load(tiny_model_dir)
    monkeypatch.setitem(sys.modules, "peft", None)
    with pytest.raises(MissingExtraError, match=r"Scorer.save_pretrained needs the training extras: "
                                                r"pip install 'redflags\[train\]' \(missing: peft\)"):
        scorer.save_pretrained(tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_scoring_imports_no_extra_only_package(tmp_path: Path) -> None:
    # A fresh interpreter in which every extra-only package is absent still scores and prints JSON.
    code = (
        "import sys\n"
        f"for m in {EXTRA_ONLY!r}: sys.modules[m] = None\n"
        "from redflags.cli import main\n"
        f"sys.argv = ['redflags', 'score', {str(SEED)!r}, '--format', 'json']\n"
        "main()\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert '"n_sentences": 23' in result.stdout
