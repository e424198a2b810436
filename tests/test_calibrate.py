"""Calibration and thresholds fitted on dev logits."""

from __future__ import annotations

import numpy as np
import pytest
from redflags.training import calibrate


def synthetic(n: int = 2000, scale: float = 3.0, shift: float = 1.0, seed: int = 0):
    """Labels drawn from sigmoid(z_true); the model reports z = scale * z_true + shift (overconfident)."""
    rng = np.random.default_rng(seed)
    z_true = rng.normal(0, 1.5, n)
    y = (rng.random(n) < 1 / (1 + np.exp(-z_true))).astype(int)
    return scale * z_true + shift, y


def test_platt_recovers_the_distortion() -> None:
    z, y = synthetic()
    p = calibrate.fit_platt(z, y)
    assert p["a"] == pytest.approx(1 / 3, abs=0.06)
    assert p["b"] == pytest.approx(-1 / 3, abs=0.15)


def test_temperature_has_no_bias_and_shrinks_logits() -> None:
    z, y = synthetic(shift=0.0)
    t = calibrate.fit_temperature(z, y)
    assert t["b"] == 0.0 and t["a"] == pytest.approx(1 / 3, abs=0.06)


def test_fit_reduces_calibration_error_and_picks_f1_threshold() -> None:
    z, y = synthetic()
    logits = np.stack([z, z, np.zeros_like(z)], axis=1)
    labels = np.stack([y, y, -np.ones_like(y)], axis=1)
    labels[:100, 1] = -1  # unknown labels are ignored
    res = calibrate.fit(logits, labels, ["a", "b", "c"], "platt")
    r = res.report["a"]
    assert r["ece_after"] < r["ece_before"] and r["ece_after"] < 0.05
    assert r["n"] == 2000 and res.report["b"]["n"] == 1900
    # the threshold maximises F1: no other cut on the calibrated probabilities does better
    probs = 1 / (1 + np.exp(-(res.calibration["a"]["a"] * z + res.calibration["a"]["b"])))
    def f1_at(t):
        pred = probs >= t
        tp = (pred & (y == 1)).sum()
        return 2 * tp / max(pred.sum() + y.sum(), 1)
    assert f1_at(res.thresholds["a"]) >= max(f1_at(t) for t in np.linspace(0.01, 0.99, 99)) - 1e-9
    assert res.calibration["c"] == {"a": 1.0, "b": 0.0} and res.thresholds["c"] == 0.5


def test_one_class_marker_keeps_identity_and_bad_method_fails() -> None:
    z, _ = synthetic(n=50)
    res = calibrate.fit(z[:, None], np.ones((50, 1), int), ["m"], "temperature")
    assert res.calibration["m"] == {"a": 1.0, "b": 0.0} and res.report["m"]["method"] == "identity"
    with pytest.raises(ValueError, match="platt or temperature"):
        calibrate.fit(z[:, None], np.ones((50, 1), int), ["m"], "isotonic")


def test_negative_platt_slope_falls_back_to_temperature() -> None:
    z, y = synthetic()
    res = calibrate.fit(-z[:, None], y[:, None], ["m"], "platt")
    assert res.calibration["m"]["a"] > 0 and res.report["m"]["method"] == "temperature"
