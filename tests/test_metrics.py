"""Metrics on a toy case worked out by hand, masking of unknown labels, bootstrap determinism."""

from __future__ import annotations

import numpy as np
import pytest
from redflags.training.metrics import (
    bootstrap_f1,
    bootstrap_indices,
    evaluate_arrays,
    marker_metrics,
)
from redflags.markers import MARKERS
from sklearn.metrics import f1_score

# y = 1 1 0 0 1, p = .9 .4 .6 .1 .8, threshold .5 -> predicted 1 0 1 0 1: TP 2, FP 1, FN 1.
Y = [1, 1, 0, 0, 1]
P = [0.9, 0.4, 0.6, 0.1, 0.8]


def test_hand_computed_toy_case() -> None:
    m = marker_metrics(Y, P, 0.5, n_boot=0)
    assert (m["n"], m["positives"], m["negatives"]) == (5, 3, 2)
    assert m["precision"] == pytest.approx(2 / 3)  # TP / (TP + FP) = 2 / 3
    assert m["recall"] == pytest.approx(2 / 3)  # TP / (TP + FN) = 2 / 3
    assert m["f1"] == pytest.approx(2 / 3)
    # Brier: mean of (.1^2, .6^2, .6^2, .1^2, .2^2) = .78 / 5
    assert m["brier"] == pytest.approx(0.156)
    # Average precision: positives ranked 1, 2, 4 -> (1/1 + 2/2 + 3/4) / 3
    assert m["pr_auc"] == pytest.approx((1 + 1 + 0.75) / 3)
    # ROC-AUC: 5 of the 6 positive/negative pairs are ordered correctly (.4 < .6 is the one that is not)
    assert m["roc_auc"] == pytest.approx(5 / 6)
    # ECE: every probability falls in its own bin: (.1 + .6 + .6 + .1 + .2) / 5
    assert m["ece"] == pytest.approx(0.32)
    # Best F1: threshold .4 flags the 3 positives and 1 negative: F1 = 6 / 7
    assert m["best_f1_threshold"] == pytest.approx(0.4)
    assert m["best_f1"] == pytest.approx(6 / 7)


def test_unknown_labels_are_masked() -> None:
    masked = marker_metrics(Y + [-1, -1], P + [0.99, 0.01], 0.5, n_boot=50)
    plain = marker_metrics(Y, P, 0.5, n_boot=50)
    assert masked == plain
    assert marker_metrics([-1, -1], [0.3, 0.7], 0.5) is None


def test_single_class_leaves_undefined_metrics_empty() -> None:
    m = marker_metrics([1, 1, 1], [0.2, 0.7, 0.9], 0.5, n_boot=20)
    assert m["roc_auc"] is None and m["pr_auc"] is None and m["recall"] == pytest.approx(2 / 3)
    m = marker_metrics([0, 0], [0.2, 0.7], 0.5, n_boot=20)
    assert m["pr_auc"] is None and m["best_f1"] is None and m["pr_auc_ci"] is None


def test_bootstrap_f1_equals_sklearn_and_is_deterministic() -> None:
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 40)
    pred = rng.integers(0, 2, 40)
    idx = bootstrap_indices(40, 25, seed=3)
    expected = [f1_score(y[i], pred[i], zero_division=0) for i in idx]
    assert bootstrap_f1(y, pred, idx) == pytest.approx(expected)
    p = np.linspace(0, 1, 40)
    assert marker_metrics(y, p, 0.5, n_boot=100, seed=7) == marker_metrics(y, p, 0.5, n_boot=100, seed=7)
    lo, hi = marker_metrics(y, p, 0.5, n_boot=100, seed=7)["f1_ci"]
    assert 0 <= lo <= hi <= 1


def test_evaluate_arrays_per_corpus_and_macro() -> None:
    y = np.array([[1, -1, 0], [0, -1, 1], [1, 1, -1], [0, 0, -1]])
    p = np.array([[0.8, 0.5, 0.2], [0.3, 0.5, 0.9], [0.6, 0.7, 0.5], [0.1, 0.2, 0.5]])
    res = evaluate_arrays(y, p, ["a", "a", "b", "b"], {m: 0.5 for m in MARKERS}, n_boot=10)
    assert set(res["per_corpus"]) == {"a", "b"}
    assert set(res["per_corpus"]["a"]["markers"]) == {MARKERS[0], MARKERS[2]}  # hedging unknown in a
    assert set(res["per_corpus"]["b"]["markers"]) == {MARKERS[0], MARKERS[1]}
    assert res["markers"][MARKERS[1]]["n"] == 2
    assert res["macro"]["f1"] == pytest.approx(np.mean([res["markers"][m]["f1"] for m in MARKERS]))
    with pytest.raises(ValueError, match="probabilities"):
        evaluate_arrays(y, p + 1, ["a"] * 4, {m: 0.5 for m in MARKERS})
