"""Cross-corpus matrix: train on one corpus (or a named group), evaluate on every other.

For each marker that more than one corpus informs (per the corpus registry), every training unit
(a corpus, or a group of corpora) is trained on its train split, thresholds are tuned on its dev
split, and each informing corpus's test split is scored. The diagonal (same corpus) is kept for
reference. One model is trained per unit and used for all markers it learned.

The default system is TF-IDF + logistic regression: a transformer fine-tuned per cell is too slow
for a small CPU (dozens of fine-tunings). `--system` picks `tfidf`, `majority`, or any
`module:function` with signature `fn(train: list[Example], dev: list[Example]) -> system`, where a
system has `thresholds` and `predict_proba(texts) -> (n, 3)`; that is how a GPU user plugs in the
real model.
"""

from __future__ import annotations

import importlib
import json
import logging
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np
from redflags.atomic import write_text
from redflags.eval.baselines import MajorityBaseline, TfidfLogRegBaseline
from redflags.eval.data import all_corpora_config, build_splits, corpus_identity
from redflags.eval.interchange import Example, from_dataset, label_matrix
from redflags.training.metrics import DEFAULT_SEED, marker_metrics
from redflags.markers import MARKERS, STYLE_NOT_TRUTH
from redflags.training.config import CorpusSpec
from redflags.training.corpora import CORPORA

log = logging.getLogger(__name__)

TrainFn = Callable[[list[Example], list[Example]], Any]


def _tfidf(train: list[Example], dev: list[Example]) -> Any:
    return TfidfLogRegBaseline().fit(train, dev)


def _majority(train: list[Example], dev: list[Example]) -> Any:
    return MajorityBaseline().fit(train)


SYSTEMS: dict[str, TrainFn] = {"tfidf": _tfidf, "majority": _majority}


def train_fn_for(system: str) -> TrainFn:
    """A named system, or `module:function` importable from the environment."""
    if system in SYSTEMS:
        return SYSTEMS[system]
    if ":" not in system:
        raise ValueError(f"--system {system!r}: expected one of {', '.join(SYSTEMS)} or module:function")
    module, func = system.split(":", 1)
    try:
        return getattr(importlib.import_module(module), func)
    except (ImportError, AttributeError) as e:
        raise ValueError(f"--system {system!r}: cannot import {func} from {module}: {e}") from None


def informing_corpora(marker: str, available: Sequence[str] | None = None) -> list[str]:
    names = [n for n, info in CORPORA.items() if marker in info.informs]
    return sorted(n for n in names if available is None or n in available)


def cross_corpus_matrix(train_units: Mapping[str, Sequence[str]], split_data: Mapping[str, Mapping[str, list[Example]]],
                        markers_informed: Mapping[str, Sequence[str]], train_fn: TrainFn, *,
                        n_boot: int = 0, seed: int = DEFAULT_SEED) -> dict[str, Any]:
    """The matrix from data already split: `split_data[split][corpus] -> examples`.

    `train_units` maps a unit name to its corpora; `markers_informed` maps a marker to the
    corpora evaluated for it. Cells: {marker: {train unit: {eval corpus: metrics}}}.
    """
    result: dict[str, Any] = {m: {} for m in markers_informed}
    for unit, members in train_units.items():
        relevant = [m for m, cs in markers_informed.items() if set(members) & set(cs)]
        if not relevant:
            continue
        train = [e for c in members for e in split_data["train"].get(c, [])]
        dev = [e for c in members for e in split_data["dev"].get(c, [])]
        log.info("cross-corpus: training on %s (%d sentences)", unit, len(train))
        system = train_fn(train, dev)
        for m in relevant:
            j = MARKERS.index(m)
            for target in markers_informed[m]:
                test = split_data["test"].get(target, [])
                if not test:
                    continue
                y = label_matrix(test)[:, j]
                p = np.asarray(system.predict_proba([e.text for e in test]))[:, j]
                cell = marker_metrics(y, p, float(system.thresholds[m]), n_boot=n_boot, seed=seed)
                if cell is not None:
                    cell["in_corpus"] = target in members
                    result[m].setdefault(unit, {})[target] = cell
    return result


def _markdown(result: Mapping[str, Any]) -> str:
    lines = ["# redflags: cross-corpus matrix", "", f"> {STYLE_NOT_TRUTH}", "",
             f"- command: `{result.get('command', '')}`", f"- system: {result['system']}",
             "- rows: training corpus or group (train split, thresholds on its dev split); columns: test split of "
             "each corpus that informs the marker; cells: F1 at the tuned threshold / PR-AUC; * = trained on it", ""]
    for m, rows in result["matrix"].items():
        targets = result["markers"][m]
        lines += [f"## {m}", "", "| train \\ test | " + " | ".join(targets) + " |", "|---" * (len(targets) + 1) + "|"]
        for unit, cells in rows.items():
            vals = []
            for t in targets:
                c = cells.get(t)
                if not c:
                    vals.append("–")
                    continue
                ap = "–" if c["pr_auc"] is None else f"{c['pr_auc']:.2f}"
                vals.append(f"{c['f1']:.2f} / {ap}{' *' if c['in_corpus'] else ''}")
            lines.append(f"| {unit} | " + " | ".join(vals) + " |")
        lines.append("")
    return "\n".join(lines)


def run_cross_corpus(out_dir: Path | str, *, system: str = "tfidf", corpora: Sequence[str] | None = None,
                     groups: Mapping[str, Sequence[str]] | None = None, data_dir: Path | str | None = None,
                     data_seed: int = 13, n_boot: int = 0, command: str = "") -> dict[str, Any]:
    """Build the splits of every informing corpus, fill the matrix, write crosscorpus.json and .md."""
    train_fn = train_fn_for(system)
    informed = {m: informing_corpora(m, corpora) for m in MARKERS}
    informed = {m: cs for m, cs in informed.items() if len(cs) > 1}
    if not informed:
        raise ValueError("no marker is informed by more than one of the selected corpora")
    needed = sorted({c for cs in informed.values() for c in cs} | {c for g in (groups or {}).values() for c in g})
    cfg = all_corpora_config(data_dir)

    cfg.corpora = {n: CorpusSpec() for n in needed}
    cfg.seed = data_seed
    dd = build_splits(cfg)
    split_data: dict[str, dict[str, list[Example]]] = {}
    for split in ("train", "dev", "test"):
        per: dict[str, list[Example]] = {}
        for e in from_dataset(dd[split]):
            per.setdefault(e.corpus, []).append(e)
        split_data[split] = per
    # A registered corpus may yield no labelled rows for a marker (e.g. a word list): drop it from
    # that marker's columns, and drop training units with nothing to train on.
    def labelled(split: str, c: str, m: str) -> bool:
        j = MARKERS.index(m)
        return any(e.labels[MARKERS[j]] is not None for e in split_data[split].get(c, []))

    informed = {m: [c for c in cs if labelled("test", c, m)] for m, cs in informed.items()}
    informed = {m: cs for m, cs in informed.items() if len(cs) > 1}
    if not informed:
        raise ValueError("no marker has labelled test data in more than one of the selected corpora")
    units = {c: [c] for c in needed if any(labelled("train", c, m) for m in informed)}
    units.update({g: list(cs) for g, cs in (groups or {}).items()})
    matrix = cross_corpus_matrix(units, split_data, informed, train_fn, n_boot=n_boot)
    result = {"note": STYLE_NOT_TRUTH, "command": command, "system": system, "data_seed": data_seed,
              "markers": informed, "groups": dict(groups or {}), "data": corpus_identity(needed, cfg.data_dir),
              "matrix": matrix}
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    write_text(out / "crosscorpus.json", json.dumps(result, indent=2) + "\n")
    write_text(out / "crosscorpus.md", _markdown(result))
    return result
