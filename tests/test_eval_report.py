"""A whole report written into tmp_path with a stub scorer and hand-made baselines."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from redflags.eval.baselines import (
    LexiconBaseline,
    MajorityBaseline,
    TfidfLogRegBaseline,
)
from redflags.eval.data import EvalData, resolve_spec
from redflags.eval.evaluate import evaluate_systems, run_evaluate
from redflags.eval.interchange import Example, write_jsonl
from redflags.markers import MARKERS, STYLE_NOT_TRUTH

U, H, S = MARKERS


class StubScorer:
    """Quacks like redflags.Scorer: markers, thresholds, predict_proba (n, 3)."""

    markers = MARKERS
    thresholds = {m: 0.5 for m in MARKERS}
    config = {"markers": list(MARKERS), "training_config": None}
    model_dir = None

    def predict_proba(self, sentences, batch_size: int = 32) -> np.ndarray:
        return np.array([[0.9 if "sources" in t.lower() else 0.2, 0.8 if "may" in t else 0.1, 0.3] for t in sentences])


def _examples() -> list[Example]:
    texts = ["Sources said it may rain.", "The cat sat.", "A shocking result.", "Officials may act.",
             "Sources close to him spoke.", "Plain text."]
    out = []
    for i, t in enumerate(texts * 3):
        labels = {U: int("Sources" in t), H: int("may" in t) if i % 2 else None, S: int("shocking" in t)}
        out.append(Example(f"e{i}", t, labels, "toy_a" if i < 9 else "toy_b", f"d{i // 3}"))
    return out


def test_report_end_to_end(tmp_path: Path) -> None:
    ex = _examples()
    systems = {
        "model": StubScorer(),
        "lexicon": LexiconBaseline({U: ["sources said"], H: ["may"], S: ["shocking"]}),
        "tfidf_logreg": TfidfLogRegBaseline().fit(ex, ex),
        "majority": MajorityBaseline().fit(ex),
    }
    out = tmp_path / "report"
    result = evaluate_systems(systems, [EvalData("toy", ex, {"examples": len(ex), "examples_sha256": "0" * 64})],
                              out, command="redflags evaluate --test", n_boot=20)
    for name in ("metrics.json", "predictions.jsonl", "report.md", "report.html"):
        assert (out / name).is_file(), name
    for m in MARKERS:
        assert (out / "figures" / f"reliability_{m}.png").is_file()
    assert (out / "figures" / f"pr_{U}.png").is_file()

    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics == json.loads(json.dumps(result))
    assert metrics["systems"]["model"]["metrics"]["markers"][U]["f1"] == 1.0
    assert set(metrics["systems"]["model"]["metrics"]["per_corpus"]) == {"toy_a", "toy_b"}
    assert metrics["command"] == "redflags evaluate --test"

    preds = [json.loads(line) for line in (out / "predictions.jsonl").read_text().splitlines()]
    assert len(preds) == len(ex) and set(preds[0]["proba"]) == set(systems)
    assert preds[0]["flags"]["model"][U] == 1

    md = (out / "report.md").read_text()
    assert STYLE_NOT_TRUTH in md and "redflags evaluate --test" in md
    main = md.split("### Main table")[1].split("###")[0]
    rows = [line for line in main.splitlines() if line.startswith("| ") and not line.startswith("| system")]
    assert [r.split("|")[1].strip() for r in rows] == list(systems)  # one row per system
    html = (out / "report.html").read_text()
    assert html.count('colspan="3"') >= len(MARKERS) and "figures/pr_" in html


def test_rerun_gives_identical_numbers_from_jsonl_spec(tmp_path: Path) -> None:
    data = tmp_path / "eval.jsonl"
    write_jsonl(_examples(), data)
    spec = resolve_spec(str(data))
    assert spec.identity["kind"] == "jsonl" and len(spec.identity["sha256"]) == 64
    a = run_evaluate(None, [str(data)], tmp_path / "a", baselines=False, scorer=StubScorer(), n_boot=30, figures=False)
    b = run_evaluate(None, [str(data)], tmp_path / "b", baselines=False, scorer=StubScorer(), n_boot=30, figures=False)
    assert a["systems"] == b["systems"]
    assert (tmp_path / "a" / "predictions.jsonl").read_text() == (tmp_path / "b" / "predictions.jsonl").read_text()


def test_several_specs_get_their_own_table(tmp_path: Path) -> None:
    ex = _examples()
    a, b = EvalData("first", ex[:9], {"examples": 9}), EvalData("second", ex[9:], {"examples": 9})
    result = evaluate_systems({"model": StubScorer()}, [a, b], tmp_path, n_boot=10, figures=False)
    per_spec = result["systems"]["model"]["metrics"]["per_spec"]
    assert set(per_spec) == {"first", "second"} and per_spec["first"]["markers"][U]["n"] == 9
    assert "### Per data spec" in (tmp_path / "report.md").read_text()
