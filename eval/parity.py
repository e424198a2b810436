"""The bf16 parity check: does bfloat16 autocast serve the same flags as float32?

Scores a model's whole test split (by default `all:test`: every corpus of its own data config)
in float32 and under bf16 autocast, through the scorer's one inference path, and compares:
the largest probability difference, the share of (sentence, marker) flags that change, and the F1
change per marker at the model's thresholds. It passes at a flag change of at most 0.5% and an
F1 loss of at most 0.005 on every marker. The figures are recorded in the model directory
(config.json, `redflags.parity.bfloat16`), where `redflags.load(dtype="auto")` reads them.

bf16 rounds the same way whether the CPU multiplies it natively or emulates it, so the check can
run on any machine (it is slow where emulated); the record says which it was.
"""

from __future__ import annotations

import logging
import platform
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from redflags.training.metrics import prf
from redflags.core.model_dir import CONFIG_FILE, update_setting
from redflags.core.probability import flags_at

log = logging.getLogger(__name__)

MAX_FLAG_CHANGE = 0.005
MAX_F1_LOSS = 0.005


def compare_precisions(scorer: Any, texts: Sequence[str], labels: np.ndarray, batch_size: int = 64) -> dict[str, Any]:
    """Float32 against bf16 autocast on the same tokenised sentences; labels (n, M) with -1 unknown."""
    from redflags.core import inference
    from redflags.core.precision import cpu_has_native_bf16

    ids, _ = inference.tokenize(scorer.tokenizer, list(texts), scorer.max_length)
    probs, seconds = {}, {}
    for dtype in ("float32", "bfloat16"):
        t0 = time.perf_counter()
        logits = inference.predict_logits(scorer.model, ids, scorer.tokenizer.pad_token_id, batch_size,
                                          scorer.device, dtype=dtype)
        seconds[dtype] = time.perf_counter() - t0
        probs[dtype] = scorer.model.calibrated_proba(logits)
    thr = [scorer.thresholds[m] for m in scorer.markers]
    f32, f16 = flags_at(probs["float32"], thr), flags_at(probs["bfloat16"], thr)
    per_marker = {}
    for j, m in enumerate(scorer.markers):
        known = labels[:, j] >= 0
        entry: dict[str, Any] = {"flags_changed": int((f32[:, j] != f16[:, j]).sum()),
                                 "max_abs_diff": float(np.abs(probs["float32"][:, j] - probs["bfloat16"][:, j]).max())}
        if known.any() and labels[known, j].max() > 0:
            f1_32 = prf(labels[known, j], f32[known, j])[2]
            f1_16 = prf(labels[known, j], f16[known, j])[2]
            entry.update({"f1_float32": f1_32, "f1_bfloat16": f1_16, "f1_change": f1_16 - f1_32})
        per_marker[m] = entry
    changed = int((f32 != f16).sum())
    rate = changed / f32.size if f32.size else 0.0
    worst_f1 = min((e.get("f1_change", 0.0) for e in per_marker.values()), default=0.0)
    return {
        "passed": bool(rate <= MAX_FLAG_CHANGE and worst_f1 >= -MAX_F1_LOSS),
        "criteria": {"max_flag_change": MAX_FLAG_CHANGE, "max_f1_loss": MAX_F1_LOSS},
        "sentences": len(texts),
        "max_abs_diff": float(np.abs(probs["float32"] - probs["bfloat16"]).max()) if len(texts) else 0.0,
        "flags_changed": changed,
        "flag_change_rate": rate,
        "sentences_with_a_changed_flag": int((f32 != f16).any(axis=1).sum()),
        "markers": per_marker,
        "seconds": {k: round(v, 2) for k, v in seconds.items()},
        "native_bf16": cpu_has_native_bf16() if scorer.device == "cpu" else None,
        "machine": platform.machine(),
    }


def record_parity(model_dir: Path | str, result: dict[str, Any]) -> Path:
    """Store a parity result in the model directory's config.json (atomically; nothing else changes)."""
    return update_setting(Path(model_dir), "parity", "bfloat16", result)


def run_parity(model_dir: Path | str | None, specs: Sequence[str] = ("all:test",), data_dir: Path | str | None = None,
               batch_size: int = 64, write: bool = True, command: str = "") -> dict[str, Any]:
    """Run the check on the given data (default: the model's whole test split); record it unless `write` is false."""
    from redflags.scoring.scorer import load
    from redflags.eval.data import display_path, resolve_spec
    from redflags.eval.evaluate import merge_examples, model_config_dict
    from redflags.eval.interchange import label_matrix
    from redflags.scoring.scorer import DEFAULT_MODEL_DIR

    scorer = load(model_dir, dtype="float32")
    training_config = model_config_dict(scorer).get("training_config")
    data = [resolve_spec(s, training_config, data_dir) for s in specs]
    examples = merge_examples(data)
    log.info("parity: %d sentences", len(examples))
    result = compare_precisions(scorer, [e.text for e in examples], label_matrix(examples, scorer.markers), batch_size)
    result["data"] = [{"spec": d.spec, "examples_sha256": d.identity.get("examples_sha256")} for d in data]
    result["command"] = command
    if write:
        record_parity(model_dir if model_dir is not None else DEFAULT_MODEL_DIR, result)
        log.info("parity recorded in %s", display_path(Path(model_dir or DEFAULT_MODEL_DIR) / CONFIG_FILE))
    return result
