"""The README's Python example runs as written."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from redflags.scoring import scorer as scorer_module

REPO = Path(__file__).resolve().parents[1]


def python_blocks(readme: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", readme, flags=re.S)


def test_readme_has_a_python_example() -> None:
    assert python_blocks((REPO / "README.md").read_text(encoding="utf-8"))


def test_readme_python_example_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tiny_model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The example uses the shipped default model; until training has produced one, the tiny test
    # model stands in for it so the example's code still runs.
    if not (scorer_module.DEFAULT_MODEL_DIR / "config.json").is_file():
        monkeypatch.setattr(scorer_module, "DEFAULT_MODEL_DIR", tiny_model_dir)
    shutil.copytree(REPO / "seeds", tmp_path / "seeds")
    monkeypatch.chdir(tmp_path)
    for code in python_blocks((REPO / "README.md").read_text(encoding="utf-8")):
        exec(compile(code, "README.md", "exec"), {"__name__": "__readme__"})
    out = capsys.readouterr().out
    assert "not whether it is true" in out
    assert (tmp_path / "report.html").is_file()
