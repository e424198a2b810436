"""`redflags evaluate`: score data with a model and the baselines, compute metrics, write the report."""

from __future__ import annotations

import inspect
import logging
from pathlib import Path
from typing import Any, Mapping, Protocol, Sequence

import numpy as np
from redflags.scoring.scorer import load
from redflags.eval.baselines import (
    LexiconBaseline,
    MajorityBaseline,
    TfidfLogRegBaseline,
)
from redflags.eval.data import (
    DataSpecError,
    EvalData,
    display_path,
    resolve_spec,
    sha256_folder,
    training_examples,
)
from redflags.eval.interchange import Example, label_matrix
from redflags.training.metrics import DEFAULT_N_BOOT, DEFAULT_SEED, N_BINS, evaluate_arrays
from redflags.eval.report import code_version, write_report
from redflags.eval.spans import evaluate_spans
from redflags.markers import MARKERS, STYLE_NOT_TRUTH
from redflags.core.model_dir import encoder_shape

log = logging.getLogger(__name__)


class System(Protocol):
    """Anything scored in a report: the model's Scorer or a baseline."""
    markers: Sequence[str]
    thresholds: Mapping[str, float]

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray: ...


def model_config_dict(scorer: Any) -> dict[str, Any]:
    """The scorer's ModelConfig as a plain dict (empty if it has none)."""
    cfg = getattr(scorer, "config", None)
    if cfg is None:
        return {}
    if isinstance(cfg, dict):
        out = dict(cfg)
    elif hasattr(cfg, "to_dict"):
        out = cfg.to_dict()
    else:
        out = dict(vars(cfg))
    if out.get("encoder_config"):  # (older models record the encoder's local path there: reports name no paths)
        out["encoder_config"] = encoder_shape(out["encoder_config"])
    return out


def build_baselines(training_config: Mapping[str, Any] | None, data_dir: Path | str | None = None,
                    markers: Sequence[str] = MARKERS) -> tuple[dict[str, System], dict[str, str], dict[str, Any]]:
    """Lexicon, TF-IDF + LR and majority baselines; any that cannot be built is listed with the reason."""
    systems: dict[str, System] = {}
    skipped: dict[str, str] = {}
    info: dict[str, Any] = {}
    try:
        systems["lexicon"] = LexiconBaseline.from_corpora(data_dir, markers)
    except Exception as e:  # noqa: BLE001 - a missing list must not stop the model's evaluation; it is reported
        skipped["lexicon"] = f"{type(e).__name__}: {e}"
        log.warning("lexicon baseline skipped: %s", skipped["lexicon"])
    try:
        train, dev, info["training_data"] = training_examples(training_config, data_dir)
    except (DataSpecError, Exception) as e:  # noqa: BLE001 - reported in the report, not silent
        for name in ("tfidf_logreg", "majority"):
            skipped[name] = f"no training records: {type(e).__name__}: {e}"
        log.warning("trained baselines skipped: %s", e)
        return systems, skipped, info
    log.info("training baselines on %d train / %d dev sentences", len(train), len(dev))
    systems["tfidf_logreg"] = TfidfLogRegBaseline(markers).fit(train, dev)
    systems["majority"] = MajorityBaseline(markers).fit(train)
    return systems, skipped, info


def score_systems(systems: Mapping[str, System], examples: Sequence[Example], batch_size: int = 64
                  ) -> dict[str, np.ndarray]:
    texts = [e.text for e in examples]
    out = {}
    for name, sys in systems.items():
        log.info("scoring %d sentences with %s", len(texts), name)
        # The scorer batches; baselines and stubs take no batch size.
        takes_batch = "batch_size" in inspect.signature(sys.predict_proba).parameters
        p = sys.predict_proba(texts, batch_size=batch_size) if takes_batch else sys.predict_proba(texts)
        p = np.asarray(p, dtype=float)
        if p.shape != (len(texts), len(MARKERS)):
            raise ValueError(f"system {name} returned probabilities of shape {p.shape}, expected {(len(texts), len(MARKERS))}")
        out[name] = p
    return out


def merge_examples(data: Sequence[EvalData], specs_out: list[str] | None = None) -> list[Example]:
    """All examples of all specs; an example given twice (same corpus and id) is counted once, and said so.

    `specs_out`, if given, receives the spec each returned example is counted under (its first).
    """
    seen: set[tuple[str, str]] = set()
    out, dups = [], 0
    for d in data:
        for e in d.examples:
            key = (e.corpus, e.id)
            if key in seen:
                dups += 1
                continue
            seen.add(key)
            out.append(e)
            if specs_out is not None:
                specs_out.append(d.spec)
    if dups:
        log.warning("%d examples appeared in more than one --data spec; each is evaluated once", dups)
    return out


def evaluate_systems(systems: Mapping[str, System], data: Sequence[EvalData], out_dir: Path | str, *,
                     model_info: Mapping[str, Any] | None = None, skipped: Mapping[str, str] | None = None,
                     extra: Mapping[str, Any] | None = None, command: str = "", n_boot: int = DEFAULT_N_BOOT,
                     seed: int = DEFAULT_SEED, batch_size: int = 64, figures: bool = True,
                     per_corpus_ci: Sequence[str] | None = None,
                     span_train: Sequence[Example] | None = None) -> dict[str, Any]:
    """Score, measure and write the report; returns the metrics dict written to metrics.json.

    `per_corpus_ci`: systems that get bootstrap CIs per corpus too (default: the first, the model);
    the others get CIs on pooled data only, to keep a run to minutes on a small CPU.
    """

    spec_of: list[str] = []
    examples = merge_examples(data, spec_of)
    if not examples:
        raise DataSpecError("no examples to evaluate")
    y = label_matrix(examples, MARKERS)
    corpora = [e.corpus for e in examples]
    probs = score_systems(systems, examples, batch_size)
    ci_for = set(per_corpus_ci if per_corpus_ci is not None else list(systems)[:1])
    result: dict[str, Any] = {
        "note": STYLE_NOT_TRUTH,
        "command": command,
        "code_version": code_version(),
        "model": dict(model_info or {}),
        "data": [{"spec": d.spec, "identity": d.identity} for d in data],
        "settings": {"n_boot": n_boot, "seed": seed, "ece_bins": N_BINS, "ci": "95% percentile bootstrap",
                     "per_corpus_ci": sorted(ci_for)},
        "markers": list(MARKERS),
        "n": len(examples),
        "systems": {},
        "skipped_systems": dict(skipped or {}),
        **dict(extra or {}),
    }
    for name, sys in systems.items():
        thresholds = {m: float(sys.thresholds[m]) for m in MARKERS}
        log.info("metrics for %s", name)
        metrics = evaluate_arrays(y, probs[name], corpora, thresholds, MARKERS, n_boot=n_boot, seed=seed,
                                  per_corpus_ci=name in ci_for)
        if len(data) > 1:
            # Each spec on its own too (e.g. dev and test side by side); CIs for the first system only.
            spec_arr = np.asarray(spec_of)
            metrics["per_spec"] = {
                d.spec: evaluate_arrays(y[spec_arr == d.spec], probs[name][spec_arr == d.spec],
                                        [c for c, s in zip(corpora, spec_of) if s == d.spec], thresholds, MARKERS,
                                        n_boot=n_boot if name in ci_for else 0, seed=seed, per_corpus=False)
                for d in data if (spec_arr == d.spec).any()
            }
        desc = sys.describe() if hasattr(sys, "describe") else {"kind": name}
        result["systems"][name] = {"description": desc, "thresholds": thresholds, "metrics": metrics}
    model = systems.get("model")
    if model is not None:  # evidence spans, where the model has a token head and the data marks spans
        spans = evaluate_spans(model, examples, lexicon=systems.get("lexicon"), train=span_train, batch_size=batch_size)
        if spans is not None:
            result["spans"] = spans
    write_report(out_dir, result, examples, probs, y, MARKERS, figures=figures)
    return result


def run_evaluate(model_dir: Path | str | None, specs: Sequence[str], out_dir: Path | str, *, baselines: bool = True,
                 data_dir: Path | str | None = None, n_boot: int = DEFAULT_N_BOOT, seed: int = DEFAULT_SEED,
                 batch_size: int = 64, command: str = "", scorer: Any = None, figures: bool = True,
                 dtype: str = "float32") -> dict[str, Any]:
    """Load the model (unless a scorer is given) in `dtype`, resolve the data specs, evaluate model + baselines."""
    if scorer is None:
        scorer = load(model_dir, dtype=dtype)
    cfg = model_config_dict(scorer)
    training_config = cfg.get("training_config")
    data = [resolve_spec(s, training_config, data_dir) for s in specs]
    path = getattr(scorer, "model_dir", model_dir)
    model_info = {"path": display_path(path) if path else None, "config": cfg, "dtype": getattr(scorer, "dtype", None)}
    if path and Path(path).is_dir():
        model_info["weights_sha256"] = sha256_folder(path)["sha256"]
    systems: dict[str, System] = {"model": scorer}
    skipped: dict[str, str] = {}
    extra: dict[str, Any] = {}
    span_train = None
    if baselines:
        base, skipped, info = build_baselines(training_config, data_dir)
        systems.update(base)
        extra["baseline_training"] = info
        if getattr(scorer, "has_evidence", False):  # the technique baselines learn from the train split's spans
            try:
                span_train = training_examples(training_config, data_dir)[0]
            except Exception as e:  # noqa: BLE001 - reported, not silent
                skipped["technique baselines"] = f"no training records: {type(e).__name__}: {e}"
    return evaluate_systems(systems, data, out_dir, model_info=model_info, skipped=skipped, extra=extra,
                            command=command, n_boot=n_boot, seed=seed, batch_size=batch_size, figures=figures,
                            span_train=span_train)
