"""The one inference path: tokenise, sort by length, pad, run the model, logits back in input order.

The scorer serves probabilities from these logits, and training selects its best step and fits
calibration and thresholds on them, so what was fitted is what is served (a parity test holds the
two together). Training fits in float32; the scorer may compute in bfloat16 (autocast) only for a
model whose recorded parity check shows the same flags (precision.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Optional, Sequence

import numpy as np
import torch
from redflags.core.memory import release
from redflags.core.tokenizer import ScoringTokenizer

DEFAULT_BATCH_SIZE = 32
# Lone surrogates (half of a UTF-16 pair, e.g. from text decoded with errors="surrogateescape") are
# not text the tokenizer can encode. Each is read as U+FFFD, one character for one, so offsets stay exact.
_SURROGATE = re.compile("[\ud800-\udfff]")


def readable(text: str) -> str:
    """`text` with each lone surrogate replaced by U+FFFD (same length, so offsets are unchanged)."""
    return text if text.isascii() else _SURROGATE.sub("\ufffd", text)


@dataclass
class Tokens:
    """Tokenised texts: ids per text (first window), which texts were cut, and, when asked for, each
    token's (start, end) character offsets into its text ((0, 0) for special tokens) and word index
    (None for special tokens)."""

    ids: list[list[int]]
    truncated: np.ndarray
    offsets: Optional[list[list[tuple[int, int]]]] = None
    words: Optional[list[list[Optional[int]]]] = None


def tokenize(tokenizer: Any, texts: Sequence[str], max_length: int) -> tuple[list[list[int]], np.ndarray]:
    """Token ids per text, cut at `max_length` (special tokens included), and which texts were cut."""
    tok = tokenize_texts(tokenizer, texts, max_length)
    return tok.ids, tok.truncated


def tokenize_texts(tokenizer: Any, texts: Sequence[str], max_length: int, offsets: bool = False) -> Tokens:
    """`tokenize`, plus character offsets and word indices per token when `offsets` is true (evidence spans)."""
    n = len(texts)
    texts = [readable(t) for t in texts]
    out = Tokens([[] for _ in range(n)], np.zeros(n, dtype=bool),
                 [[] for _ in range(n)] if offsets else None, [[] for _ in range(n)] if offsets else None)
    if n == 0:
        return out
    if isinstance(tokenizer, ScoringTokenizer):
        # The scorer's ScoringTokenizer (tokenizer.py): the same tokenizer.json, read without transformers.
        for k, e in enumerate(tokenizer.encode(texts, max_length)):
            out.ids[k], out.truncated[k] = list(e.ids), bool(e.overflowing)
            if offsets:
                out.offsets[k], out.words[k] = list(e.offsets), list(e.word_ids)  # type: ignore[index]
        return out
    # A text that overflowed into a second window was truncated; the first window is what the model reads.
    enc = tokenizer(list(texts), truncation=True, max_length=max_length, return_overflowing_tokens=True,
                    return_offsets_mapping=offsets, verbose=False)
    seen = np.zeros(n, dtype=bool)
    for i, (seq, k) in enumerate(zip(enc["input_ids"], enc["overflow_to_sample_mapping"])):
        if seen[k]:
            out.truncated[k] = True
            continue
        out.ids[k], seen[k] = list(seq), True
        if offsets:
            out.offsets[k] = [tuple(o) for o in enc["offset_mapping"][i]]  # type: ignore[index]
            out.words[k] = enc.word_ids(i)  # type: ignore[index]
    return out


def pad_batch(seqs: Sequence[Sequence[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(input_ids, attention_mask), both (B, T), padded on the right to the longest sequence."""
    width = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(seqs), width), dtype=torch.long)
    for r, s in enumerate(seqs):
        ids[r, : len(s)] = torch.as_tensor(s, dtype=torch.long)
        mask[r, : len(s)] = 1
    return ids, mask


@dataclass
class Outputs:
    """Raw model outputs in input order: sentence logits (n, M); with tokens, per sentence its token
    logits (len, M) and technique logits (len, K), None where the model has no such head."""

    logits: np.ndarray
    token_logits: Optional[list[np.ndarray]] = None
    technique_logits: Optional[list[np.ndarray]] = None


def predict_logits(model: torch.nn.Module, ids: Sequence[Sequence[int]], pad_id: int,
                   batch_size: int = DEFAULT_BATCH_SIZE, device: str | torch.device = "cpu",
                   dtype: str = "float32") -> np.ndarray:
    """Raw logits (n, M) in input order; batches are cut from one length-sorted order (little padding)."""
    return predict_outputs(model, ids, pad_id, batch_size, device, dtype=dtype).logits


@torch.inference_mode()
def predict_outputs(model: torch.nn.Module, ids: Sequence[Sequence[int]], pad_id: int,
                    batch_size: int = DEFAULT_BATCH_SIZE, device: str | torch.device = "cpu",
                    tokens: bool = False, dtype: str = "float32") -> Outputs:
    """Sentence logits, and with `tokens` the token and technique logits of the same encoder pass;
    `dtype` "bfloat16" runs the model under bf16 autocast (outputs are float32 either way)."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    if dtype not in ("float32", "bfloat16"):
        raise ValueError(f"dtype must be float32 or bfloat16, got {dtype!r}")
    autocast = torch.autocast("cuda" if str(device).startswith("cuda") else "cpu", dtype=torch.bfloat16,
                              enabled=dtype == "bfloat16")
    n_markers = len(model.config.markers)
    out = Outputs(np.zeros((len(ids), n_markers), dtype=np.float32))
    tokens = tokens and getattr(model, "token_head", None) is not None
    if tokens:
        out.token_logits = [np.zeros((0, n_markers), np.float32)] * len(ids)
        if model.technique_head is not None:
            out.technique_logits = [np.zeros((0, 0), np.float32)] * len(ids)
    if not len(ids):
        return out
    was_training = model.training
    model.eval()
    order = np.argsort([len(s) for s in ids], kind="stable")
    on_cpu = torch.device(device).type == "cpu"
    try:
        for start in range(0, len(order), batch_size):
            if on_cpu:
                release()  # the last batch's activations, freed by now, go back to the system (memory.py)
            rows = order[start : start + batch_size]
            input_ids, mask = pad_batch([ids[r] for r in rows], pad_id)
            if not tokens:
                with autocast:
                    logits = model(input_ids.to(device), mask.to(device))
                out.logits[rows] = logits.float().cpu().numpy()  # (B, M)
                continue
            with autocast:
                logits, tok, tech = model(input_ids.to(device), mask.to(device), tokens=True)
            out.logits[rows] = logits.float().cpu().numpy()
            tok = tok.float().cpu().numpy()
            tech = tech.float().cpu().numpy() if tech is not None else None
            for b, r in enumerate(rows):
                n = len(ids[r])
                out.token_logits[r] = tok[b, :n]  # type: ignore[index]
                if tech is not None:
                    out.technique_logits[r] = tech[b, :n]  # type: ignore[index]
    finally:
        model.train(was_training)
    return out
