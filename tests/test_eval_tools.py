"""Research tools on toy data: paired bootstrap, seed aggregation, cross-corpus matrix, the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from redflags.eval.compare import paired_bootstrap
from redflags.eval.crosscorpus import cross_corpus_matrix, train_fn_for
from redflags.eval.interchange import Example, write_jsonl
from redflags.eval.seeds import aggregate
from redflags.markers import MARKERS
from typer.testing import CliRunner

U, H, S = MARKERS


def test_paired_bootstrap_detects_a_real_difference_and_not_a_null_one() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200)
    good = np.clip(y * 0.6 + rng.random(200) * 0.4, 0, 1)
    noise = rng.random(200)
    r = paired_bootstrap(y, noise, good, 0.5, 0.5, n_boot=300, seed=1)
    assert r["f1"]["diff"] > 0 and r["f1"]["p_value"] < 0.01 and r["pr_auc"]["p_value"] < 0.01
    same = paired_bootstrap(y, good, good, 0.5, 0.5, n_boot=300, seed=1)
    assert same["f1"]["diff"] == 0 and same["f1"]["p_value"] == 1.0
    assert paired_bootstrap(y, noise, good, 0.5, 0.5, n_boot=300, seed=1) == r  # deterministic
    masked = paired_bootstrap(np.r_[y, [-1, -1]], np.r_[noise, [0, 1]], np.r_[good, [1, 0]], 0.5, 0.5, n_boot=300, seed=1)
    assert masked == r


def test_seed_aggregate_mean_and_sample_std() -> None:
    agg = aggregate({"s1": {"x": 0.5, "y": None}, "s2": {"x": 0.7, "y": 0.1}, "s3": {"x": 0.6, "y": None}})
    assert agg["x"]["mean"] == pytest.approx(0.6) and agg["x"]["std"] == pytest.approx(0.1)
    assert agg["y"] == {"n": 1, "mean": 0.1, "std": None, "min": 0.1, "max": 0.1}


def _ex(i: int, text: str, corpus: str, u: int) -> Example:
    return Example(f"{corpus}{i}", text, {U: u, H: None, S: None}, corpus, f"{corpus}-d{i}")


def test_cross_corpus_matrix_on_toy_corpora() -> None:
    def corpus(name: str, pos: str, neg: str) -> list[Example]:
        return [_ex(i, f"{pos} {i}" if i % 2 else f"{neg} {i}", name, i % 2) for i in range(10)]

    a, b = corpus("a", "officials said anonymously", "the cat sat"), corpus("b", "anonymous officials said", "rain fell")
    split = {s: {"a": a, "b": b} for s in ("train", "dev", "test")}
    res = cross_corpus_matrix({"a": ["a"], "b": ["b"], "ab": ["a", "b"]}, split, {U: ["a", "b"]}, train_fn_for("tfidf"))
    assert set(res[U]) == {"a", "b", "ab"} and set(res[U]["a"]) == {"a", "b"}
    assert res[U]["a"]["a"]["in_corpus"] and not res[U]["a"]["b"]["in_corpus"]
    assert res[U]["ab"]["b"]["f1"] == 1.0
    with pytest.raises(ValueError, match="module:function"):
        train_fn_for("bert")


def test_cli_evaluate_with_a_jsonl_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import redflags
    from redflags.cli.app import app

    class Stub:
        markers = MARKERS
        thresholds = {m: 0.5 for m in MARKERS}
        config = {"training_config": None}
        model_dir = None

        def predict_proba(self, sentences, batch_size: int = 32) -> np.ndarray:
            return np.array([[0.8 if "said" in t else 0.1, 0.5, 0.5] for t in sentences])

    monkeypatch.setattr(redflags, "load", lambda path=None: Stub())
    data = tmp_path / "d.jsonl"
    write_jsonl([_ex(i, "officials said" if i % 2 else "cat", "toy", i % 2) for i in range(8)], data)
    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["evaluate", "--data", str(data), "--out", str(out), "--no-baselines",
                                   "--n-boot", "20", "--no-figures"])
    assert res.exit_code == 0, res.output
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["systems"]["model"]["metrics"]["markers"][U]["f1"] == 1.0
    assert "evaluate" in metrics["command"]
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": 1}\n', encoding="utf-8")
    res = CliRunner().invoke(app, ["evaluate", "--data", str(bad), "--out", str(out), "--no-baselines"])
    assert res.exit_code == 1 and "bad.jsonl:1" in res.output


class _Const:
    markers = MARKERS
    config = {"training_config": None}
    model_dir = None

    def __init__(self, good: bool) -> None:
        self.good = good
        self.thresholds = {m: 0.5 for m in MARKERS}

    def predict_proba(self, sentences, batch_size: int = 32) -> np.ndarray:
        u = [0.9 if ("said" in t) == self.good else 0.1 for t in sentences]
        return np.array([[x, 0.5, 0.5] for x in u])


def test_compare_and_seeds_write_their_files(tmp_path: Path) -> None:
    from redflags.eval.compare import run_compare
    from redflags.eval.evaluate import run_evaluate
    from redflags.eval.seeds import run_seeds

    data = tmp_path / "d.jsonl"
    write_jsonl([_ex(i, "officials said" if i % 2 else "cat", "toy", i % 2) for i in range(30)], data)
    res = run_compare("a", "b", [str(data)], tmp_path / "cmp", n_boot=50, scorers=(_Const(False), _Const(True)))
    assert res["comparison"]["markers"][U]["f1"]["diff"] == 1.0
    assert (tmp_path / "cmp" / "compare.md").is_file()
    for i, good in enumerate((True, False)):
        run_evaluate(None, [str(data)], tmp_path / f"r{i}", baselines=False, scorer=_Const(good), n_boot=0, figures=False)
    seeds = run_seeds([str(tmp_path / "r0"), str(tmp_path / "r1")], [], tmp_path / "seeds")
    assert seeds["aggregate"][f"{U}.f1"]["mean"] == pytest.approx(0.5)
    assert "±" in (tmp_path / "seeds" / "seeds.md").read_text()
