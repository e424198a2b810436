"""Two systems on the same data: paired bootstrap test per marker on F1 and PR-AUC.

Paired: each resample draws the same rows for both systems, so the spread reflects the data, not
two independent draws. F1 is taken at each system's own stored threshold. The p-value is two-sided
against "no difference": the bootstrap differences are centred on the observed one (shifted to
the null) and p = (1 + #{|d_b - d| >= |d|}) / (1 + n_boot). Fixed seed: reruns give identical numbers.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
from redflags.scoring.scorer import load
from redflags.atomic import write_text
from redflags.eval.data import display_path, resolve_spec
from redflags.eval.evaluate import merge_examples, model_config_dict, score_systems
from redflags.eval.interchange import label_matrix
from redflags.training.metrics import (
    DEFAULT_N_BOOT,
    DEFAULT_SEED,
    bootstrap_f1,
    bootstrap_indices,
    pr_auc,
    prf,
)
from redflags.markers import MARKERS, STYLE_NOT_TRUTH
from sklearn.metrics import average_precision_score

log = logging.getLogger(__name__)


def _p_value(diffs: np.ndarray, observed: float) -> float:
    return float((1 + np.sum(np.abs(diffs - observed) >= abs(observed) - 1e-12)) / (1 + len(diffs)))


def paired_bootstrap(y: np.ndarray, p_a: np.ndarray, p_b: np.ndarray, t_a: float, t_b: float, *,
                     n_boot: int = DEFAULT_N_BOOT, seed: int = DEFAULT_SEED) -> dict[str, Any] | None:
    """F1 and PR-AUC of A and B, B - A, its 95% CI and two-sided p-value; rows with y = -1 are masked."""
    keep = np.asarray(y) >= 0
    y, p_a, p_b = np.asarray(y)[keep].astype(int), np.asarray(p_a)[keep], np.asarray(p_b)[keep]
    if len(y) < 2:
        return None
    pred_a, pred_b = (p_a >= t_a).astype(int), (p_b >= t_b).astype(int)
    idx = bootstrap_indices(len(y), n_boot, seed)
    out: dict[str, Any] = {"n": int(len(y)), "positives": int(y.sum()), "n_boot": n_boot}
    f1_a, f1_b = prf(y, pred_a)[2], prf(y, pred_b)[2]
    d = bootstrap_f1(y, pred_b, idx) - bootstrap_f1(y, pred_a, idx)
    out["f1"] = {"a": f1_a, "b": f1_b, "diff": f1_b - f1_a, "ci": np.percentile(d, [2.5, 97.5]).tolist(),
                 "p_value": _p_value(d, f1_b - f1_a)}
    ap_a, ap_b = pr_auc(y, p_a), pr_auc(y, p_b)
    if ap_a is None or ap_b is None:
        out["pr_auc"] = None
        return out
    ds = np.array([average_precision_score(y[i], p_b[i]) - average_precision_score(y[i], p_a[i])
                   for i in idx if 0 < y[i].sum() < len(y)])
    out["pr_auc"] = {"a": ap_a, "b": ap_b, "diff": ap_b - ap_a, "ci": np.percentile(ds, [2.5, 97.5]).tolist(),
                     "p_value": _p_value(ds, ap_b - ap_a)}
    return out


def compare_arrays(y: np.ndarray, prob_a: np.ndarray, prob_b: np.ndarray, thr_a: Mapping[str, float],
                   thr_b: Mapping[str, float], corpora: Sequence[str], markers: Sequence[str] = MARKERS, *,
                   n_boot: int = DEFAULT_N_BOOT, seed: int = DEFAULT_SEED) -> dict[str, Any]:
    """Pooled and per-corpus paired tests for every marker."""
    corpora = np.asarray(corpora)

    def block(rows: np.ndarray) -> dict[str, Any]:
        res = {m: paired_bootstrap(y[rows, j], prob_a[rows, j], prob_b[rows, j], thr_a[m], thr_b[m],
                                   n_boot=n_boot, seed=seed) for j, m in enumerate(markers)}
        return {m: r for m, r in res.items() if r is not None and r["n"] > 0}

    pooled = block(np.arange(len(y)))
    per = {c: block(np.flatnonzero(corpora == c)) for c in sorted(set(corpora.tolist()))}
    return {"markers": pooled, "per_corpus": per}


def _md(result: Mapping[str, Any], a: str, b: str) -> str:
    lines = ["# redflags: paired comparison", "", f"> {STYLE_NOT_TRUTH}", "",
             f"- A: `{a}`", f"- B: `{b}`", f"- command: `{result.get('command', '')}`",
             f"- {result['n_boot']} paired bootstrap resamples, seed {result['seed']}; B - A with 95% CI, "
             "two-sided p-value (bootstrap shifted to the null)", ""]
    head = "| scope | marker | n | F1 A | F1 B | ΔF1 [95% CI] | p | PR-AUC A | PR-AUC B | ΔPR-AUC [95% CI] | p |"
    lines += [head, "|" + "---|" * 11]

    def row(scope: str, m: str, r: Mapping[str, Any]) -> str:
        f, ap = r["f1"], r.get("pr_auc")
        cells = [scope, m, str(r["n"]), f"{f['a']:.3f}", f"{f['b']:.3f}",
                 f"{f['diff']:+.3f} [{f['ci'][0]:+.3f}, {f['ci'][1]:+.3f}]", f"{f['p_value']:.3f}"]
        cells += ([f"{ap['a']:.3f}", f"{ap['b']:.3f}", f"{ap['diff']:+.3f} [{ap['ci'][0]:+.3f}, {ap['ci'][1]:+.3f}]",
                   f"{ap['p_value']:.3f}"] if ap else ["–"] * 4)
        return "| " + " | ".join(cells) + " |"

    for m, r in result["comparison"]["markers"].items():
        lines.append(row("all", m, r))
    for c, per in result["comparison"]["per_corpus"].items():
        for m, r in per.items():
            lines.append(row(c, m, r))
    return "\n".join(lines) + "\n"


def run_compare(model_a: str, model_b: str, specs: Sequence[str], out_dir: Path | str, *,
                data_dir: Path | str | None = None, n_boot: int = DEFAULT_N_BOOT, seed: int = DEFAULT_SEED,
                batch_size: int = 64, command: str = "", scorers: tuple[Any, Any] | None = None) -> dict[str, Any]:
    """Score the same data with two models and write compare.json + compare.md into `out_dir`."""
    if scorers is None:
        scorers = (load(model_a), load(model_b))
    sa, sb = scorers
    # Data splits follow model A's training config; B is scored on exactly the same sentences.
    data = [resolve_spec(s, model_config_dict(sa).get("training_config"), data_dir) for s in specs]
    examples = merge_examples(data)
    probs = score_systems({"a": sa, "b": sb}, examples, batch_size)
    y = label_matrix(examples, MARKERS)
    comparison = compare_arrays(y, probs["a"], probs["b"], sa.thresholds, sb.thresholds,
                                [e.corpus for e in examples], n_boot=n_boot, seed=seed)
    result = {"note": STYLE_NOT_TRUTH, "command": command, "a": display_path(model_a), "b": display_path(model_b),
              "data": [{"spec": d.spec, "identity": d.identity} for d in data], "n_boot": n_boot, "seed": seed,
              "comparison": comparison}
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    write_text(out / "compare.json", json.dumps(result, indent=2) + "\n")
    write_text(out / "compare.md", _md(result, str(model_a), str(model_b)))
    return result
