"""From logits to probabilities to flags: numpy only, so that scoring's light modules can use it.

The sigmoid and the threshold comparison live here once; calibration (modeling.apply_calibration),
evidence-word scores (scoring/evidence.py), the scorer's flags and the parity check all use them.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np


def sigmoid(z: np.ndarray) -> np.ndarray:
    """The logistic function in float64 (sentence probabilities and evidence-word scores)."""
    return 1.0 / (1.0 + np.exp(-np.asarray(z, dtype=np.float64)))


def show_against(p: float, threshold: float) -> tuple[str, str]:
    """A score and its threshold as text, with the fewest digits (from 2) at which they compare as the
    numbers do: a score below its threshold never shows as equal to it ("0.3849 < 0.3850", not "0.38 / 0.38")."""
    for digits in range(2, 10):
        a, b = f"{p:.{digits}f}", f"{threshold:.{digits}f}"
        if (float(a) >= float(b)) == (p >= threshold):
            return a, b
    return repr(float(p)), repr(float(threshold))


def flags_at(probs: np.ndarray, thresholds: Sequence[float]) -> np.ndarray:
    """A marker is flagged when its probability reaches its threshold (>=): the one comparison everywhere."""
    return np.asarray(probs) >= np.asarray(thresholds, dtype=np.float64)
