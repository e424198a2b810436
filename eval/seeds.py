"""Several seeds of one config: mean and standard deviation of every headline metric.

Input: model directories (each is evaluated on the same data, model only, no baselines) or
evaluation folders that already hold a metrics.json. Standard deviation is the sample one (ddof=1).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
from redflags.atomic import write_text
from redflags.eval.evaluate import run_evaluate
from redflags.training.metrics import DEFAULT_SEED, HEADLINE
from redflags.markers import MARKERS, STYLE_NOT_TRUTH

log = logging.getLogger(__name__)


def headline(metrics: Mapping[str, Any], system: str = "model") -> dict[str, float | None]:
    """Flat {"marker.metric": value} (plus "macro.metric") of one system's pooled metrics."""
    met = metrics["systems"][system]["metrics"]
    out: dict[str, float | None] = {}
    for m in MARKERS:
        cell = met["markers"].get(m) or {}
        for k in HEADLINE:
            out[f"{m}.{k}"] = cell.get(k)
    for k in HEADLINE:
        out[f"macro.{k}"] = met["macro"].get(k)
    return out


def aggregate(runs: Mapping[str, Mapping[str, float | None]]) -> dict[str, dict[str, Any]]:
    """Per metric: mean, std (ddof=1), min, max and n over the runs where it is defined."""
    keys = list(next(iter(runs.values())))
    out = {}
    for k in keys:
        vals = np.array([r[k] for r in runs.values() if r.get(k) is not None], dtype=float)
        out[k] = {"n": int(len(vals)), "mean": float(vals.mean()) if len(vals) else None,
                  "std": float(vals.std(ddof=1)) if len(vals) > 1 else None,
                  "min": float(vals.min()) if len(vals) else None, "max": float(vals.max()) if len(vals) else None}
    return out


def _markdown(result: Mapping[str, Any]) -> str:
    lines = ["# redflags: variation over seeds", "", f"> {STYLE_NOT_TRUTH}", "",
             f"- command: `{result.get('command', '')}`", f"- runs: {', '.join(result['runs'])}", "",
             "| metric | " + " | ".join(MARKERS) + " | macro |", "|---" * (len(MARKERS) + 2) + "|"]
    agg = result["aggregate"]
    for k in HEADLINE:
        cells = []
        for scope in (*MARKERS, "macro"):
            a = agg.get(f"{scope}.{k}", {})
            cells.append("–" if a.get("mean") is None else
                         f"{a['mean']:.3f} ± {a['std']:.3f}" if a.get("std") is not None else f"{a['mean']:.3f}")
        lines.append(f"| {k} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n\nmean ± sample standard deviation over runs.\n"


def run_seeds(paths: Sequence[str], specs: Sequence[str], out_dir: Path | str, *, data_dir: Path | str | None = None,
              batch_size: int = 64, command: str = "", seed: int = DEFAULT_SEED) -> dict[str, Any]:
    """Evaluate each model dir (or read each metrics.json) and write seeds.json + seeds.md."""
    if len(paths) < 2:
        raise ValueError("seeds needs at least two model directories or evaluation folders")
    out = Path(out_dir)
    runs: dict[str, dict[str, float | None]] = {}
    for i, p in enumerate(paths):
        metrics_file = Path(p) / "metrics.json"
        if metrics_file.is_file():
            metrics = json.loads(metrics_file.read_text(encoding="utf-8"))
        else:
            if not specs:
                raise ValueError(f"{p} holds no metrics.json: give --data to evaluate the model")
            metrics = run_evaluate(p, specs, out / f"run{i}", baselines=False, data_dir=data_dir, n_boot=0,
                                   batch_size=batch_size, command=command, seed=seed, figures=False)
        runs[str(p)] = headline(metrics)
    result = {"note": STYLE_NOT_TRUTH, "command": command, "runs": list(runs), "per_run": runs,
              "aggregate": aggregate(runs)}
    out.mkdir(parents=True, exist_ok=True)
    write_text(out / "seeds.json", json.dumps(result, indent=2) + "\n")
    write_text(out / "seeds.md", _markdown(result))
    return result
