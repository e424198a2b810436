"""The one inference path: tokenise, sort by length, pad, run the model, logits back in input order.

The scorer serves probabilities from these logits, and training selects its best step and fits
calibration and thresholds on them, so what was fitted is what is served (a parity test holds the
two together). Always float32: calibration is fitted at the precision the scorer serves.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import torch

DEFAULT_BATCH_SIZE = 32


def tokenize(tokenizer: Any, texts: Sequence[str], max_length: int) -> tuple[list[list[int]], np.ndarray]:
    """Token ids per text, cut at `max_length` (special tokens included), and which texts were cut."""
    n = len(texts)
    ids: list[list[int]] = [[] for _ in range(n)]
    truncated = np.zeros(n, dtype=bool)
    if n == 0:
        return ids, truncated
    # A text that overflowed into a second window was truncated; the first window is what the model reads.
    enc = tokenizer(list(texts), truncation=True, max_length=max_length, return_overflowing_tokens=True, verbose=False)
    seen = np.zeros(n, dtype=bool)
    for seq, k in zip(enc["input_ids"], enc["overflow_to_sample_mapping"]):
        if seen[k]:
            truncated[k] = True
        else:
            ids[k], seen[k] = list(seq), True
    return ids, truncated


def pad_batch(seqs: Sequence[Sequence[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(input_ids, attention_mask), both (B, T), padded on the right to the longest sequence."""
    width = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(seqs), width), dtype=torch.long)
    for r, s in enumerate(seqs):
        ids[r, : len(s)] = torch.as_tensor(s, dtype=torch.long)
        mask[r, : len(s)] = 1
    return ids, mask


@torch.inference_mode()
def predict_logits(model: torch.nn.Module, ids: Sequence[Sequence[int]], pad_id: int,
                   batch_size: int = DEFAULT_BATCH_SIZE, device: str | torch.device = "cpu") -> np.ndarray:
    """Raw logits (n, M) in input order; batches are cut from one length-sorted order (little padding)."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    n_markers = len(model.config.markers)
    out = np.zeros((len(ids), n_markers), dtype=np.float32)
    if not len(ids):
        return out
    was_training = model.training
    model.eval()
    order = np.argsort([len(s) for s in ids], kind="stable")
    try:
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            input_ids, mask = pad_batch([ids[r] for r in rows], pad_id)
            logits = model(input_ids.to(device), mask.to(device))  # (B, M)
            out[rows] = logits.float().cpu().numpy()
    finally:
        model.train(was_training)
    return out
