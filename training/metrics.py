"""Per-marker metrics with masking, bootstrap confidence intervals and calibration error.

Every reported number comes from scikit-learn (precision/recall/F1, average precision as PR-AUC,
ROC-AUC, Brier score, `calibration_curve`); only the ECE sum over bins, the best-F1 search over
sklearn's PR curve and the bootstrap resampling are ours (F1 inside the bootstrap is counted with
numpy for speed and tested equal to sklearn's).

Masking: a label of -1 (or None upstream) means "not annotated"; those rows are dropped from that
marker's metrics only.

ECE binning: 10 equal-width bins on [0, 1] (sklearn `calibration_curve(strategy="uniform")`, whose
bins are right-closed except the first); ECE = sum over non-empty bins of
(bin size / n) * |fraction of positives - mean predicted probability|.

Bootstrap: percentile intervals (2.5 %, 97.5 %) over `n_boot` resamples of the rows, drawn with
`numpy.random.default_rng(seed)` so a rerun gives identical numbers. The threshold is held fixed
(the stored one); resamples without a positive are skipped for PR-AUC.
"""

from __future__ import annotations

import logging
import math
from typing import Any, Mapping, Sequence

import numpy as np
from redflags.markers import MARKERS
from sklearn.calibration import calibration_curve
from sklearn.metrics import (
    average_precision_score,
    brier_score_loss,
    precision_recall_curve,
    precision_recall_fscore_support,
    roc_auc_score,
)

log = logging.getLogger(__name__)

N_BINS = 10
DEFAULT_N_BOOT = 1000
DEFAULT_SEED = 20240607
HEADLINE = ("f1", "precision", "recall", "pr_auc", "roc_auc", "brier", "ece")


def _f(x: Any) -> float | None:
    """A JSON-safe float (None for NaN/None)."""
    if x is None:
        return None
    x = float(x)
    return None if math.isnan(x) else x


def bootstrap_indices(n: int, n_boot: int, seed: int) -> np.ndarray:
    """(n_boot, n) row indices drawn with replacement; fixed seed -> identical resamples."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, n, size=(n_boot, n))


def bootstrap_f1(y: np.ndarray, pred: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """F1 of every resample in `idx` (n_boot, n), all at once.

    A loop of sklearn calls costs ~2 ms per resample, too slow for thousands of resamples per
    cell on a shared CPU, so the confusion counts are gathered with numpy; tests check that each
    value equals sklearn's `f1_score` on the same resample (zero_division=0).
    """
    tp = (y[idx] & pred[idx]).sum(axis=1)
    fp = ((1 - y[idx]) & pred[idx]).sum(axis=1)
    fn = (y[idx] & (1 - pred[idx])).sum(axis=1)
    denom = 2 * tp + fp + fn
    return np.divide(2 * tp, denom, out=np.zeros(len(idx)), where=denom > 0)


def prf(y: np.ndarray, pred: np.ndarray) -> tuple[float, float, float]:
    """Precision, recall, F1 of the positive class (0 where undefined)."""
    p, r, f, _ = precision_recall_fscore_support(y, pred, average="binary", pos_label=1, zero_division=0)
    return float(p), float(r), float(f)


def pr_auc(y: np.ndarray, prob: np.ndarray) -> float | None:
    """Average precision; None without positives (undefined) or without negatives (always 1.0, uninformative)."""
    return float(average_precision_score(y, prob)) if 0 < y.sum() < len(y) else None


def expected_calibration_error(y: np.ndarray, prob: np.ndarray, n_bins: int = N_BINS) -> tuple[float, dict]:
    """ECE over equal-width bins, plus the reliability-diagram data (one entry per non-empty bin)."""
    prob_true, prob_pred = calibration_curve(y, prob, n_bins=n_bins, strategy="uniform", pos_label=1)
    # Same bin assignment calibration_curve uses, to weight each non-empty bin by its size.
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    counts = np.bincount(np.searchsorted(edges[1:-1], prob), minlength=n_bins)
    counts = counts[counts > 0]
    ece = float(np.sum(counts / counts.sum() * np.abs(prob_true - prob_pred)))
    return ece, {"prob_true": prob_true.tolist(), "prob_pred": prob_pred.tolist(), "count": counts.tolist()}


def best_f1_threshold(y: np.ndarray, prob: np.ndarray) -> tuple[float | None, float | None]:
    """The threshold that maximises F1 on this data (reported only, never used for the headline)."""
    if not y.any():
        return None, None
    precision, recall, thresholds = precision_recall_curve(y, prob)
    p, r = precision[:-1], recall[:-1]
    f1 = np.divide(2 * p * r, p + r, out=np.zeros_like(p), where=(p + r) > 0)
    i = int(np.argmax(f1))
    return float(thresholds[i]), float(f1[i])


def marker_metrics(
    y_true: Sequence[int] | np.ndarray,
    prob: Sequence[float] | np.ndarray,
    threshold: float,
    *,
    n_boot: int = DEFAULT_N_BOOT,
    seed: int = DEFAULT_SEED,
    with_curves: bool = False,
) -> dict[str, Any] | None:
    """Metrics for one marker on one slice of data; rows with label -1 are masked.

    Returns None when no row is annotated for the marker.
    """
    y_all = np.asarray(y_true, dtype=int)
    p_all = np.asarray(prob, dtype=float)
    keep = y_all >= 0
    y, p = y_all[keep], p_all[keep]
    n = int(len(y))
    if n == 0:
        return None
    pos = int(y.sum())
    pred = (p >= threshold).astype(int)
    precision, recall, f1 = prf(y, pred)
    best_t, best_f1 = best_f1_threshold(y, p)
    ece, rel = expected_calibration_error(y, p)
    out: dict[str, Any] = {
        "n": n,
        "positives": pos,
        "negatives": n - pos,
        "threshold": float(threshold),
        "predicted_positive": int(pred.sum()),
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "best_f1": _f(best_f1),
        "best_f1_threshold": _f(best_t),
        "pr_auc": _f(pr_auc(y, p)),
        # ROC-AUC needs both classes; a corpus with positives only (weak labels) has none.
        "roc_auc": _f(roc_auc_score(y, p)) if 0 < pos < n else None,
        "brier": float(brier_score_loss(y, p, pos_label=1)),
        "ece": ece,
        "f1_ci": None,
        "pr_auc_ci": None,
    }
    if n_boot > 0 and n > 1:
        idx_all = bootstrap_indices(n, n_boot, seed)
        f1s = bootstrap_f1(y, pred, idx_all)
        aps = ([average_precision_score(y[idx], p[idx]) for idx in idx_all if y[idx].any()]
               if out["pr_auc"] is not None else [])
        out["f1_ci"] = [float(v) for v in np.percentile(f1s, [2.5, 97.5])]
        if aps:
            out["pr_auc_ci"] = [float(v) for v in np.percentile(aps, [2.5, 97.5])]
        out["n_boot"] = n_boot
    if with_curves:
        out["reliability"] = rel
    return out


def macro(per_marker: Mapping[str, Mapping[str, Any] | None]) -> dict[str, Any]:
    """Unweighted mean of each headline metric over the markers where it is defined."""
    out: dict[str, Any] = {}
    for key in HEADLINE:
        vals = [m[key] for m in per_marker.values() if m and m.get(key) is not None]
        out[key] = float(np.mean(vals)) if vals else None
        out[f"{key}_markers"] = len(vals)
    return out


def evaluate_arrays(
    y: np.ndarray,
    prob: np.ndarray,
    corpora: Sequence[str],
    thresholds: Mapping[str, float],
    markers: Sequence[str] = MARKERS,
    *,
    n_boot: int = DEFAULT_N_BOOT,
    seed: int = DEFAULT_SEED,
    per_corpus_ci: bool = True,
    per_corpus: bool = True,
) -> dict[str, Any]:
    """Pooled and per-corpus metrics for one system.

    `y` is (n, M) with -1 for unknown, `prob` is (n, M) probabilities, `corpora` names each row's corpus.
    """
    y = np.asarray(y)
    prob = np.asarray(prob, dtype=float)
    if y.shape != prob.shape or y.shape[1] != len(markers):
        raise ValueError(f"labels {y.shape} and probabilities {prob.shape} must both be (n, {len(markers)})")
    if np.isnan(prob).any() or (prob < 0).any() or (prob > 1).any():
        raise ValueError("probabilities must lie in [0, 1] (got NaN or out-of-range values)")
    corpora = np.asarray(corpora)

    def block(rows: np.ndarray, boot: int) -> dict[str, Any]:
        per = {
            m: marker_metrics(y[rows, j], prob[rows, j], thresholds[m], n_boot=boot, seed=seed)
            for j, m in enumerate(markers)
        }
        per = {m: v for m, v in per.items() if v is not None}
        return {"markers": per, "macro": macro(per)}

    every = np.arange(len(y))
    result = block(every, n_boot)
    result["n"] = int(len(y))
    if not per_corpus:
        return result
    result["per_corpus"] = {
        c: {"n": int((corpora == c).sum()), **block(np.flatnonzero(corpora == c), n_boot if per_corpus_ci else 0)}
        for c in sorted(set(corpora.tolist()))
    }
    return result


def overlap_prf(pred: Sequence[Sequence[tuple[int, int]]], gold: Sequence[Sequence[tuple[int, int]]]) -> dict[str, Any]:
    """SemEval-2020 Task 11 span identification: precision, recall, F1 with partial-overlap credit."""
    p_num = r_num = 0.0
    n_pred = sum(len(p) for p in pred)
    n_gold = sum(len(g) for g in gold)
    for ps, gs in zip(pred, gold):
        for s0, s1 in ps:
            for t0, t1 in gs:
                inter = max(0, min(s1, t1) - max(s0, t0))
                if inter:
                    p_num += inter / (s1 - s0)
                    r_num += inter / (t1 - t0)
    p = p_num / n_pred if n_pred else 0.0
    r = r_num / n_gold if n_gold else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": p, "recall": r, "f1": f, "predicted": n_pred, "gold": n_gold}
