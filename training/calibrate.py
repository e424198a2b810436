"""Per-marker calibration and thresholds, fitted on the dev split only.

Calibration is Platt scaling on each marker's logit, p = sigmoid(a * z + b) (the form
`ModelConfig.calibration` stores), or a temperature (a = 1/T, b = 0). The threshold of a marker is
the calibrated probability that maximises F1 on dev. Markers with no usable dev labels (none
known, or only one class) keep the identity calibration and a 0.5 threshold, with a warning.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
from redflags.training import metrics
from redflags.core.modeling import apply_calibration
from scipy.optimize import minimize_scalar
from sklearn.linear_model import LogisticRegression

log = logging.getLogger(__name__)

IDENTITY = {"a": 1.0, "b": 0.0}


def fit_platt(z: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """Platt scaling a, b minimising log loss of sigmoid(a*z + b) (almost unregularised)."""
    lr = LogisticRegression(C=1e4, solver="lbfgs", max_iter=1000)
    lr.fit(z.reshape(-1, 1).astype(np.float64), y.astype(int))
    return {"a": float(lr.coef_[0, 0]), "b": float(lr.intercept_[0])}


def fit_temperature(z: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """A temperature T > 0 minimising log loss of sigmoid(z / T); stored as a = 1/T, b = 0."""
    z = z.astype(np.float64)
    y = y.astype(np.float64)

    def nll(log_t: float) -> float:
        s = z / np.exp(log_t)
        # log(1 + exp(-s)) for y=1 and log(1 + exp(s)) for y=0, numerically stable
        return float(np.mean(np.logaddexp(0.0, -s) * y + np.logaddexp(0.0, s) * (1 - y)))

    res = minimize_scalar(nll, bounds=(-5.0, 5.0), method="bounded")
    return {"a": float(np.exp(-res.x)), "b": 0.0}


@dataclass
class Calibration:
    calibration: dict[str, dict[str, float]]
    thresholds: dict[str, float]
    report: dict[str, dict[str, Any]]  # per marker: n, positives, method, dev metrics after calibration


def fit(logits: np.ndarray, labels: np.ndarray, markers: Sequence[str], method: str = "platt") -> Calibration:
    """Fit calibration + thresholds per marker on dev logits (n, M) and labels (n, M: 1, 0, -1 unknown)."""
    if method not in ("platt", "temperature"):
        raise ValueError(f"calibration method must be platt or temperature, got {method!r}")
    cal: dict[str, dict[str, float]] = {}
    thr: dict[str, float] = {}
    report: dict[str, dict[str, Any]] = {}
    for j, m in enumerate(markers):
        known = labels[:, j] >= 0
        z, y = logits[known, j].astype(np.float64), labels[known, j].astype(int)
        if len(y) == 0 or y.min() == y.max():
            log.warning("calibration: %s has %d dev labels with %d positives; keeping identity and threshold 0.5",
                        m, len(y), int(y.sum()))
            cal[m], thr[m] = dict(IDENTITY), 0.5
            report[m] = {"n": int(len(y)), "positives": int(y.sum()), "method": "identity"}
            continue
        used = method
        params = fit_platt(z, y) if method == "platt" else fit_temperature(z, y)
        if params["a"] <= 0:
            # A negative slope would invert the model's ranking; a temperature keeps it.
            log.warning("calibration: Platt slope for %s is %.3g <= 0; using a temperature instead", m, params["a"])
            params, used = fit_temperature(z, y), "temperature"
        p = apply_calibration(z[:, None], {m: params}, [m])[:, 0]
        t, _ = metrics.best_f1_threshold(y, p)
        cal[m], thr[m] = params, t
        # The same metric code the evaluation harness reports (training/metrics.py), on the served probabilities.
        dev = metrics.marker_metrics(y, p, t, n_boot=0)
        report[m] = {
            "n": int(len(y)), "positives": int(y.sum()), "method": used, "threshold": t,
            "precision": dev["precision"], "recall": dev["recall"], "f1": dev["f1"], "pr_auc": dev["pr_auc"],
            "ece_before": metrics.expected_calibration_error(y, apply_calibration(z[:, None], {m: IDENTITY}, [m])[:, 0])[0],
            "ece_after": dev["ece"],
        }
    return Calibration(cal, thr, report)


def apply_to_model(model: Any, result: Calibration) -> None:
    """Store calibration and thresholds in the model's ModelConfig (saved with the model directory)."""
    model.config.calibration.update(result.calibration)
    model.config.thresholds.update(result.thresholds)


def fit_span_thresholds(token_logits: Sequence[np.ndarray | None], token_labels: Sequence[np.ndarray | None],
                        markers: Sequence[str]) -> tuple[dict[str, float], dict[str, dict[str, Any]]]:
    """Per marker, the token probability (sigmoid of the token logit) that maximises token F1 on dev.

    Markers with no known dev tokens of both classes keep 0.5. Returns (thresholds, report).
    """
    thr: dict[str, float] = {}
    report: dict[str, dict[str, Any]] = {}
    pairs = [(z, y) for z, y in zip(token_logits, token_labels) if z is not None and y is not None]
    for j, m in enumerate(markers):
        zs = [z[: len(y), j] for z, y in pairs]
        ys = [y[: len(z), j] for z, y in pairs]
        z = np.concatenate(zs) if zs else np.zeros(0)
        y = np.concatenate(ys) if ys else np.zeros(0, dtype=np.int8)
        known = y >= 0
        z, y = z[known], y[known].astype(int)
        if len(y) == 0 or y.min() == y.max():
            log.warning("span thresholds: %s has %d known dev tokens with %d positives; keeping 0.5", m, len(y), int(y.sum()))
            thr[m] = 0.5
            report[m] = {"tokens": int(len(y)), "positives": int(y.sum())}
            continue
        p = 1.0 / (1.0 + np.exp(-z.astype(np.float64)))
        t, f1 = metrics.best_f1_threshold(y, p)
        thr[m] = float(t)
        report[m] = {"tokens": int(len(y)), "positives": int(y.sum()), "threshold": float(t), "token_f1": f1}
    return thr, report
