"""The behaviour suite: its case file, the pass-rate arithmetic, and `redflags check` end to end."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from redflags.eval.checklist import CheckSuiteError, load_cases, render, run_checks
from redflags.markers import MARKERS

U, H, S = MARKERS


class WordScorer:
    """A transparent stand-in: each marker's probability is the share of its trigger words present."""

    markers = MARKERS
    thresholds = {U: 0.5, H: 0.5, S: 0.5}
    words = {U: ("sources",), H: ("may", "reportedly"), S: ("slammed",)}

    def predict_proba(self, sentences):
        return np.array([[float(any(w in s.lower().split() for w in self.words[m])) * 0.9 + 0.05 for m in MARKERS]
                         for s in sentences])


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "cases.yaml"
    path.write_text(text, encoding="utf-8")
    return path


CASES = """
- {id: m1, kind: mft, marker: hedging, edge_case: modal, text: "It may rain.", expect: 1}
- {id: m2, kind: mft, marker: hedging, edge_case: booster, text: "It will clearly rain.", expect: 0}
- {id: m3, kind: mft, marker: unverifiable_sourcing, edge_case: anonymous, text: "Officials said so.", expect: 1}
- {id: i1, kind: inv, marker: all, edge_case: swap names, text: "Sources said Ann left.", variant: "Sources said Bo left."}
- {id: d1, kind: dir, marker: hedging, edge_case: reportedly, text: "The plant closed.", variant: "The plant reportedly closed.", expect: up}
- {id: d2, kind: dir, marker: sensational_framing, edge_case: loaded, text: "He slammed it.", variant: "He criticised it.", expect: up}
"""


def test_pass_rates_per_kind_and_marker(tmp_path: Path) -> None:
    result = run_checks(WordScorer(), load_cases(write(tmp_path, CASES)))
    assert result["overall"] == {"n": 6, "passed": 4, "rate": pytest.approx(4 / 6)}
    assert result["by_kind"]["mft"] == {"n": 3, "passed": 2, "rate": pytest.approx(2 / 3)}  # m3: no trigger word
    assert result["by_kind"]["inv"]["passed"] == 1 and result["by_kind"]["dir"]["passed"] == 1  # d2 goes down
    assert result["by_marker_kind"]["hedging / mft"]["passed"] == 2
    assert [c["id"] for c in result["cases"] if not c["passed"]] == ["m3", "d2"]
    text = render(result, "word model")
    assert "4/6" in text and "m3, d2" in text and "not whether it is true" in text


@pytest.mark.parametrize("bad, message", [
    ("- {id: x, kind: mft, marker: hedging, edge_case: e, text: t, expect: 2}", "expects 0 or 1"),
    ("- {id: x, kind: inv, marker: hedging, edge_case: e, text: t, variant: v}", "'all' for inv cases only"),
    ("- {id: x, kind: dir, marker: hedging, edge_case: e, text: t, expect: up}", "needs a variant"),
    ("- {id: x, kind: vibe, marker: hedging, edge_case: e, text: t}", "kind must be one of"),
    ("- {id: x, kind: mft, marker: hedging, edge_case: e, text: t, expect: 1, colour: red}", "unexpected keyword"),
    ("- {id: x, kind: mft, marker: hedging, edge_case: e, text: t, expect: 1}\n"
     "- {id: x, kind: mft, marker: hedging, edge_case: e, text: u, expect: 0}", "id used twice"),
])
def test_malformed_cases_name_file_and_case(tmp_path: Path, bad: str, message: str) -> None:
    with pytest.raises(CheckSuiteError, match=f"cases.yaml: case .*{message}"):
        load_cases(write(tmp_path, bad))


def test_the_shipped_suite_is_large_and_covers_every_marker_and_kind() -> None:
    cases = load_cases()
    assert len(cases) >= 90
    kinds = Counter(c.kind for c in cases)
    assert kinds["mft"] >= 45 and kinds["inv"] >= 15 and kinds["dir"] >= 15
    for m in MARKERS:
        assert {c.expect for c in cases if c.kind == "mft" and c.marker == m} == {0, 1}
        assert any(c.kind == "dir" and c.marker == m for c in cases)
    assert any(c.kind == "dir" and "reportedly" in c.variant and c.expect == "up" for c in cases)


def test_check_command_on_a_model_directory(tmp_path: Path, tiny_model_dir: Path) -> None:
    from redflags.cli.app import app
    from typer.testing import CliRunner

    result = CliRunner().invoke(app, ["check", "--model", str(tiny_model_dir), "--cases", str(write(tmp_path, CASES)),
                                      "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "Overall:" in result.output and (tmp_path / "out" / "checks.json").is_file()
    bad = CliRunner().invoke(app, ["check", "--model", str(tmp_path / "nope"), "--cases", str(write(tmp_path, CASES))])
    assert bad.exit_code == 1 and "does not exist" in bad.output
