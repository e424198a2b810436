"""Training batches: tokenised splits, corpus-weighted draws, length-grouped batches.

Draws are with replacement, a corpus's share of them proportional to its configured weight; they
are grouped by length within runs of batches (less padding), then the batches are shuffled. Every
function is a pure function of its arguments (seed, epoch), so a resumed run rebuilds exactly the
batches an uninterrupted one would have seen.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Sequence

import numpy as np
import torch
from redflags.core import inference
from redflags.markers import MARKERS, TECHNIQUES
from redflags.training import spans as spans_mod


@dataclass
class Encoded:
    """A tokenised split: token ids per sentence (unpadded), labels (n, M) and corpus names.

    With spans: per sentence its token targets (len, M) int8 and technique targets (len,) int16
    (training/spans.py), None for sentences whose corpus marks no spans.
    """

    input_ids: list[list[int]]
    labels: np.ndarray
    corpus: list[str]
    token_labels: Optional[list[Optional[np.ndarray]]] = None
    token_techniques: Optional[list[Optional[np.ndarray]]] = None

    def __len__(self) -> int:
        return len(self.input_ids)

    def subset(self, idx: np.ndarray) -> "Encoded":
        pick = (lambda xs: None if xs is None else [xs[i] for i in idx])  # noqa: E731
        return Encoded([self.input_ids[i] for i in idx], self.labels[idx], [self.corpus[i] for i in idx],
                       pick(self.token_labels), pick(self.token_techniques))


def encode(ds: Any, tokenizer: Any, max_length: int, markers: tuple[str, ...] = MARKERS, spans: bool = False,
           techniques: Sequence[str] = TECHNIQUES) -> Encoded:
    """Token ids (the scorer's tokenisation: inference.tokenize), labels and corpus names of a split;
    with `spans`, the token and technique targets of the rows that have span annotations."""
    spans = spans and "spans" in getattr(ds, "column_names", ())
    tok = inference.tokenize_texts(tokenizer, list(ds["text"]) if len(ds) else [], max_length, offsets=spans)
    labels = (np.stack([np.asarray(ds[m], dtype=np.int64) for m in markers], axis=1) if len(ds)
              else np.zeros((0, len(markers)), np.int64))
    enc = Encoded(tok.ids, labels, list(ds["corpus"]))
    if spans:
        enc.token_labels, enc.token_techniques = [], []
        for offsets, row_spans, known in zip(tok.offsets, ds["spans"], ds["span_markers"]):  # type: ignore[arg-type]
            if not known:
                enc.token_labels.append(None)
                enc.token_techniques.append(None)
                continue
            lab, tech = spans_mod.token_targets(offsets, row_spans, known, markers, techniques)
            enc.token_labels.append(lab)
            enc.token_techniques.append(tech)
    return enc


def collate_tokens(enc: Encoded, idx: list[int] | np.ndarray, width: int) -> tuple[torch.Tensor, torch.Tensor] | None:
    """Token targets of a batch padded to `width`: (labels (B, T, M), techniques (B, T)), -1 where masked;
    None when no sentence of the batch has any."""
    if enc.token_labels is None:
        return None
    rows = [enc.token_labels[i] for i in idx]
    if all(r is None for r in rows):
        return None
    labels = torch.full((len(rows), width, enc.labels.shape[1]), spans_mod.MASKED, dtype=torch.long)
    techs = torch.full((len(rows), width), spans_mod.MASKED, dtype=torch.long)
    for b, i in enumerate(idx):
        lab, tech = enc.token_labels[i], enc.token_techniques[i]  # type: ignore[index]
        if lab is not None:
            labels[b, : len(lab)] = torch.from_numpy(lab.astype(np.int64))
            techs[b, : len(tech)] = torch.from_numpy(tech.astype(np.int64))
    return labels, techs


def collate(enc: Encoded, idx: list[int] | np.ndarray, pad_id: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Pad a batch to its longest sentence (inference.pad_batch): (input_ids, attention_mask, labels)."""
    ids, mask = inference.pad_batch([enc.input_ids[i] for i in idx], pad_id)
    return ids, mask, torch.from_numpy(enc.labels[np.asarray(idx)])


def sample_weights(corpus: list[str], weights: dict[str, float]) -> torch.Tensor:
    """Per-example weight so that corpus c gets weights[c] / sum(weights) of the draws."""
    counts: dict[str, int] = {}
    for c in corpus:
        counts[c] = counts.get(c, 0) + 1
    present = {c: weights.get(c, 0.0) for c in counts}
    total = sum(present.values())
    if total <= 0:
        raise ValueError("no training corpus has a sampling weight > 0")
    return torch.tensor([present[c] / total / counts[c] for c in corpus], dtype=torch.double)


def epoch_order(weights: torch.Tensor, seed: int, epoch: int) -> torch.Tensor:
    """The indices drawn in one epoch (with replacement), a pure function of (seed, epoch)."""
    g = torch.Generator().manual_seed(seed * 100_003 + epoch)
    return torch.multinomial(weights, len(weights), replacement=True, generator=g)


def epoch_batches(weights: torch.Tensor, lengths: np.ndarray, seed: int, epoch: int, batch_size: int,
                  group: int) -> list[np.ndarray]:
    """The batches of one epoch: weighted draws, grouped by length within runs of `group` batches, shuffled."""
    order = epoch_order(weights, seed, epoch).numpy()
    chunk = batch_size * max(group, 1)
    batches: list[np.ndarray] = []
    for start in range(0, len(order), chunk):
        part = order[start : start + chunk]
        if group > 1:
            part = part[np.argsort(lengths[part], kind="stable")]
        batches.extend(part[i : i + batch_size] for i in range(0, len(part), batch_size))
    if group > 1:  # otherwise the draws are already in random order
        perm = np.random.default_rng([seed, epoch, 1]).permutation(len(batches))
        batches = [batches[i] for i in perm]
    return batches


def subset_indices(n: int, k: int | None, seed: int) -> np.ndarray:
    """A seeded subset of k indices out of n (all, in order, when k is None or >= n)."""
    if k is None or k >= n:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).permutation(n)[:k])
