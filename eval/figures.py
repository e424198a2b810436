"""PNG figures per marker: precision-recall curves and reliability diagrams, one line per system."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Mapping, Sequence

import matplotlib

matplotlib.use("Agg")  # headless: no display on servers or CI
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from redflags.atomic import atomic_path  # noqa: E402
from redflags.training.metrics import N_BINS, expected_calibration_error  # noqa: E402
from sklearn.metrics import average_precision_score, precision_recall_curve  # noqa: E402

log = logging.getLogger(__name__)

# Fixed metadata so reruns write byte-identical PNGs (matplotlib otherwise stamps its version only,
# but keep it explicit).
_PNG_META = {"Software": None}


def _save(fig: plt.Figure, path: Path) -> None:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight", metadata=_PNG_META)
    plt.close(fig)


def pr_curve_figure(marker: str, y: np.ndarray, probs: Mapping[str, np.ndarray], path: Path) -> Path | None:
    """Precision-recall curves of every system for one marker (masked rows dropped); None if no positives."""
    keep = y >= 0
    yk = y[keep]
    if not yk.any():
        return None
    fig, ax = plt.subplots(figsize=(5, 4))
    for name, p in probs.items():
        pk = p[keep]
        prec, rec, _ = precision_recall_curve(yk, pk)
        ax.step(rec, prec, where="post", label=f"{name} (AP {average_precision_score(yk, pk):.3f})")
    ax.axhline(yk.mean(), color="grey", linestyle=":", linewidth=1, label=f"prevalence {yk.mean():.3f}")
    ax.set(xlabel="recall", ylabel="precision", xlim=(0, 1), ylim=(0, 1.02),
           title=f"{marker}: precision-recall (n={len(yk)}, {int(yk.sum())} positive)")
    ax.legend(fontsize=7, loc="best")
    _save(fig, path)
    return path


def reliability_figure(marker: str, y: np.ndarray, probs: Mapping[str, np.ndarray], path: Path) -> Path | None:
    """Reliability diagram (10 equal-width bins) of every system for one marker."""
    keep = y >= 0
    yk = y[keep]
    if len(yk) == 0:
        return None
    fig, ax = plt.subplots(figsize=(5, 4))
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1, label="perfect calibration")
    for name, p in probs.items():
        curve = expected_calibration_error(yk, p[keep])[1]  # the bins the ECE is computed on
        ax.plot(curve["prob_pred"], curve["prob_true"], marker="o", markersize=3, label=name)
    ax.set(xlabel="mean predicted probability", ylabel="fraction positive", xlim=(0, 1), ylim=(0, 1),
           title=f"{marker}: reliability ({N_BINS} equal-width bins)")
    ax.legend(fontsize=7, loc="upper left")
    _save(fig, path)
    return path


def write_figures(out_dir: Path, markers: Sequence[str], y: np.ndarray, probs: Mapping[str, np.ndarray]
                  ) -> dict[str, dict[str, str]]:
    """All figures into `out_dir/figures`; returns {marker: {"pr": relpath, "reliability": relpath}}."""
    fig_dir = Path(out_dir) / "figures"
    fig_dir.mkdir(parents=True, exist_ok=True)
    out: dict[str, dict[str, str]] = {}
    for j, m in enumerate(markers):
        per = {name: p[:, j] for name, p in probs.items()}
        entry = {}
        pr = pr_curve_figure(m, y[:, j], per, fig_dir / f"pr_{m}.png")
        if pr:
            entry["pr"] = f"figures/{pr.name}"
        rel = reliability_figure(m, y[:, j], per, fig_dir / f"reliability_{m}.png")
        if rel:
            entry["reliability"] = f"figures/{rel.name}"
        out[m] = entry
    return out
