"""Writes an evaluation's files: metrics.json, predictions.jsonl, report.md, report.html.

Tables are built once as `Table` objects and rendered to Markdown and HTML, so both reports show
the same numbers. The main table has one row per system and one column group per marker.
"""

from __future__ import annotations

import html
import json
import logging
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
from redflags.atomic import write_text
from redflags.eval.figures import write_figures
from redflags.training.result_tables import Table, fmt, span_tables
from redflags.eval.interchange import Example, write_jsonl
from redflags.markers import MARKERS, STYLE_NOT_TRUTH

log = logging.getLogger(__name__)


def code_version() -> dict[str, Any]:
    """Package version and, when run from a git checkout, the commit and whether the tree was dirty."""
    out: dict[str, Any] = {}
    try:
        out["package_version"] = metadata.version("redflags")
    except metadata.PackageNotFoundError:
        out["package_version"] = None
    root = Path(__file__).resolve().parents[1]
    try:
        out["git_commit"] = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True,
                                           check=True, timeout=10).stdout.strip()
        status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                                capture_output=True, text=True, check=True, timeout=10).stdout
        out["git_dirty"] = bool(status.strip())
    except (OSError, subprocess.SubprocessError):
        out["git_commit"] = None
    return out


def fmt_ci(value: Any, ci: Sequence[float] | None) -> str:
    if value is None:
        return "–"
    return f"{value:.3f} [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else f"{value:.3f}"


def main_table(systems: Mapping[str, Mapping[str, Any]], markers: Sequence[str]) -> Table:
    """One row per system; per marker F1 [95% CI], PR-AUC [95% CI] and ECE; then macro F1 / PR-AUC."""
    cols = ["system"]
    groups = [("", 1)]
    for m in markers:
        cols += ["F1 [95% CI]", "PR-AUC [95% CI]", "ECE"]
        groups.append((m, 3))
    cols += ["F1", "PR-AUC"]
    groups.append(("macro", 2))
    rows = []
    for name, sys in systems.items():
        met = sys["metrics"]
        row = [name]
        for m in markers:
            c = met["markers"].get(m)
            row += ([fmt_ci(c["f1"], c.get("f1_ci")), fmt_ci(c["pr_auc"], c.get("pr_auc_ci")), fmt(c["ece"])]
                    if c else ["–", "–", "–"])
        row += [fmt(met["macro"]["f1"]), fmt(met["macro"]["pr_auc"])]
        rows.append(row)
    return Table("Main table: all evaluation data pooled", cols, rows, groups,
                 "F1 at each system's own stored threshold; PR-AUC = average precision; 95% percentile "
                 "bootstrap intervals; ECE over 10 equal-width bins. Unannotated sentences are left out per marker.")


def detail_table(name: str, met: Mapping[str, Any], markers: Sequence[str]) -> Table:
    cols = ["marker", "positives", "negatives", "threshold", "precision", "recall", "F1 [95% CI]",
            "best F1 (at threshold)", "PR-AUC [95% CI]", "ROC-AUC", "Brier", "ECE"]
    rows = []
    for m in markers:
        c = met["markers"].get(m)
        if not c:
            rows.append([m] + ["–"] * (len(cols) - 1))
            continue
        rows.append([m, str(c["positives"]), str(c["negatives"]), fmt(c["threshold"]), fmt(c["precision"]),
                     fmt(c["recall"]), fmt_ci(c["f1"], c.get("f1_ci")),
                     f"{fmt(c['best_f1'])} (at {fmt(c['best_f1_threshold'])})", fmt_ci(c["pr_auc"], c.get("pr_auc_ci")),
                     fmt(c["roc_auc"]), fmt(c["brier"]), fmt(c["ece"])])
    return Table(f"{name}: every metric, pooled", cols, rows,
                 note="The best-F1 threshold is what this data would pick; it is reported only, never used above.")


def spec_table(systems: Mapping[str, Mapping[str, Any]], markers: Sequence[str]) -> Table | None:
    """One row per (data spec, system): F1 and PR-AUC per marker, macro; None with a single spec."""
    first = next(iter(systems.values()))["metrics"]
    if "per_spec" not in first:
        return None
    cols, groups = ["data", "system"], [("", 2)]
    for m in markers:
        cols += ["F1", "PR-AUC"]
        groups.append((m, 2))
    cols += ["F1", "PR-AUC"]
    groups.append(("macro", 2))
    rows = []
    for spec in first["per_spec"]:
        for name, sys in systems.items():
            met = sys["metrics"]["per_spec"].get(spec)
            if not met:
                continue
            row = [spec, name]
            for m in markers:
                c = met["markers"].get(m)
                row += [fmt_ci(c["f1"], c.get("f1_ci")), fmt_ci(c["pr_auc"], c.get("pr_auc_ci"))] if c else ["–", "–"]
            rows.append(row + [fmt(met["macro"]["f1"]), fmt(met["macro"]["pr_auc"])])
    return Table("Per data spec", cols, rows, groups,
                 "Each --data spec on its own (a sentence given twice is counted under its first spec).")


def corpus_table(systems: Mapping[str, Mapping[str, Any]], markers: Sequence[str]) -> Table:
    """One row per (corpus, marker) the corpus annotates; F1 and PR-AUC of each system."""
    names = list(systems)
    cols = ["corpus", "marker", "positives / negatives"]
    groups = [("", 3)]
    for n in names:
        cols += ["F1", "PR-AUC"]
        groups.append((n, 2))
    first = systems[names[0]]["metrics"]["per_corpus"]
    rows = []
    for corpus in first:
        for m in markers:
            c0 = first[corpus]["markers"].get(m)
            if not c0:
                continue
            row = [corpus, m, f"{c0['positives']} / {c0['negatives']}"]
            for n in names:
                c = systems[n]["metrics"]["per_corpus"].get(corpus, {}).get("markers", {}).get(m)
                row += [fmt_ci(c["f1"], c.get("f1_ci")), fmt_ci(c["pr_auc"], c.get("pr_auc_ci"))] if c else ["–", "–"]
            rows.append(row)
    return Table("Per corpus", cols, rows, groups,
                 "Only markers a corpus annotates appear. Several corpora label by source or by proxy; "
                 "read per-corpus numbers with the corpus notes in the data README in mind. The lexicon baseline is "
                 "circular on a corpus collected with its own phrases (anonymous_source_tracker).")


def _model_config_lines(cfg: Mapping[str, Any]) -> list[str]:
    if not cfg:
        return []
    thr = ", ".join(f"{m} {v:.3f}" for m, v in (cfg.get("thresholds") or {}).items())
    tc = cfg.get("training_config") or {}
    corpora = ", ".join(sorted((tc.get("data") or {}).get("corpora") or {})) or "not recorded"
    return [f"- model config: base `{cfg.get('base_encoder')}`, max_length {cfg.get('max_length')}, "
            f"thresholds {thr or 'n/a'}; trained on {corpora} (full config in metrics.json)"]


def provenance_lines(result: Mapping[str, Any]) -> list[str]:
    cv = result.get("code_version", {})
    model = result.get("model", {})
    lines = [f"- command: `{result.get('command', '')}`",
             f"- code: redflags {cv.get('package_version')}, git {cv.get('git_commit') or 'unknown'}"
             + (" (uncommitted changes)" if cv.get("git_dirty") else ""),
             f"- model: `{model.get('path')}` (weights sha256 {model.get('weights_sha256') or 'n/a'})",
             *_model_config_lines(model.get("config") or {}),
             f"- settings: bootstrap {result['settings']['n_boot']} resamples, seed {result['settings']['seed']}, "
             f"ECE {result['settings']['ece_bins']} equal-width bins"]
    for d in result.get("data", []):
        lines.append(f"- data `{d['spec']}`: {d['identity'].get('examples')} sentences, content sha256 "
                     f"{d['identity'].get('examples_sha256', '')[:16]}…")
        if d["identity"].get("kind") == "jsonl":
            lines.append(f"  - file {d['identity']['path']} sha256 {d['identity']['sha256']}")
        for cname, ci in d["identity"].get("corpora", {}).items():
            if "labels_sha256" in ci:  # labels in the repository, texts in other corpora's folders
                texts = ", ".join(f"{t['path']} ({t['sha256'][:16]}…)" for t in ci["texts"].values())
                lines.append(f"  - {cname}: labels sha256 {ci['labels_sha256']}, texts {texts}")
            else:
                lines.append(f"  - {cname}: {ci['path']} ({ci['files']} files, sha256 {ci['sha256'][:16]}…)")
    td = (result.get("baseline_training") or {}).get("training_data")
    if td:
        lines.append(f"- trained baselines fit on the model's train split: {td['train_examples']} sentences "
                     f"(sha256 {td['train_sha256'][:16]}…) of {', '.join(td['corpora'])}; thresholds on "
                     f"{td['dev_examples']} dev sentences")
    for name, reason in result.get("skipped_systems", {}).items():
        lines.append(f"- baseline {name} not run: {reason}")
    return lines


def write_predictions(path: Path, examples: Sequence[Example], probs: Mapping[str, np.ndarray],
                      thresholds: Mapping[str, Mapping[str, float]], markers: Sequence[str]) -> None:
    rows = []
    for i, ex in enumerate(examples):
        row = ex.to_json()
        row["proba"] = {s: {m: round(float(p[i, j]), 6) for j, m in enumerate(markers)} for s, p in probs.items()}
        row["flags"] = {s: {m: int(p[i, j] >= thresholds[s][m]) for j, m in enumerate(markers)} for s, p in probs.items()}
        rows.append(row)
    write_jsonl(rows, path)


def write_report(out_dir: Path | str, result: dict[str, Any], examples: Sequence[Example],
                 probs: Mapping[str, np.ndarray], y: np.ndarray, markers: Sequence[str] = MARKERS,
                 figures: bool = True) -> dict[str, Path]:
    """Write every file of an evaluation into `out_dir`; returns their paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    systems = result["systems"]
    figs = write_figures(out, markers, y, probs) if figures else {}
    result["figures"] = figs
    write_text(out / "metrics.json", json.dumps(result, indent=2, sort_keys=False, ensure_ascii=False) + "\n")
    write_predictions(out / "predictions.jsonl", examples, probs,
                      {s: systems[s]["thresholds"] for s in probs}, markers)

    tables = [main_table(systems, markers)]
    by_spec = spec_table(systems, markers)
    if by_spec is not None:
        tables.append(by_spec)
    tables += [detail_table(n, systems[n]["metrics"], markers) for n in systems]
    tables.append(corpus_table(systems, markers))
    if result.get("spans"):

        tables += span_tables(result["spans"], markers)
    prov = provenance_lines(result)

    md = ["# redflags evaluation report", "", f"> {STYLE_NOT_TRUTH}", "", "## Provenance", "", *prov, ""]
    md += ["## Results", ""] + [t.markdown() for t in tables]
    if figs:
        md += ["## Figures", ""]
        for m, f in figs.items():
            if not f:
                continue
            md += [f"### {m}", ""] + [f"![{kind} {m}]({p})" for kind, p in f.items()] + [""]
    md += ["## Files", "", "- `metrics.json`: every number above and more (per corpus, per marker, with CIs)",
           "- `predictions.jsonl`: every sentence with each system's probability and flag per marker", ""]
    write_text(out / "report.md", "\n".join(md))

    e = html.escape
    body = ["<h1>redflags evaluation report</h1>", f"<p><strong>{e(STYLE_NOT_TRUTH)}</strong></p>",
            "<h2>Provenance</h2>", "<ul>" + "".join(f"<li>{e(p.lstrip('- ').strip())}</li>" for p in prov) + "</ul>",
            "<h2>Results</h2>"] + [t.html() for t in tables]
    if figs:
        body.append("<h2>Figures</h2>")
        for m, f in figs.items():
            if f:
                body.append(f"<h3>{e(m)}</h3>" + "".join(f'<img src="{e(p)}" alt="{e(k)} {e(m)}">' for k, p in f.items()))
    style = ("body{font-family:sans-serif;max-width:1400px;margin:2em auto}table{border-collapse:collapse;margin-bottom:1em;"
             "font-size:13px}td,th{border:1px solid #ccc;padding:3px 6px;text-align:right}img{max-width:48%}")
    doc = (f'<!doctype html>\n<html><head><meta charset="utf-8"><title>redflags evaluation</title>'
           f"<style>{style}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n")
    write_text(out / "report.html", doc)
    return {"metrics": out / "metrics.json", "predictions": out / "predictions.jsonl",
            "markdown": out / "report.md", "html": out / "report.html"}
