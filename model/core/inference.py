"""The one inference path: tokenise, sort by length, pad, run the model, logits back in input order.

The scorer serves probabilities from these logits, and training selects its best step and fits
calibration and thresholds on them, so what was fitted is what is served (a parity test holds the
two together). Training fits in float32; the scorer may compute in bfloat16 (autocast) only for a
model whose recorded parity check shows the same flags (precision.py).

Both read each text through its normalised copy (normalise.py: no invisible format characters, NFKC,
look-alike letters folded to Latin), and every offset points into the original text. A text longer
than max_length tokens: `tokenize_texts` (training) keeps its first window; `tokenize_windows` (the
scorer) cuts it into overlapping windows, and `merged_tokens` gathers their token outputs again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Optional, Sequence

import numpy as np
import torch
from redflags.core.memory import release
from redflags.core.normalise import normalise
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
    token's (start, end) character offsets into its original text ((0, 0) for special tokens) and word
    index (None for special tokens)."""

    ids: list[list[int]]
    truncated: np.ndarray
    offsets: Optional[list[list[tuple[int, int]]]] = None
    words: Optional[list[list[Optional[int]]]] = None


@dataclass
class Windows:
    """Texts cut into overlapping windows of at most max_length tokens each. Text k's windows are rows
    `first[k]` to `first[k] + count[k] - 1` of `ids` (and of `offsets` and `words`, when asked for)."""

    ids: list[list[int]]
    first: np.ndarray
    count: np.ndarray
    overlap: int
    offsets: Optional[list[list[tuple[int, int]]]] = None
    words: Optional[list[list[Optional[int]]]] = None


def window_overlap(max_length: int) -> int:
    """Tokens that consecutive windows of one long sentence share: a quarter of the window, so that a
    phrase cut at one window's edge is read whole in the next."""
    return max_length // 4


def tokenize(tokenizer: Any, texts: Sequence[str], max_length: int) -> tuple[list[list[int]], np.ndarray]:
    """Token ids per text, cut at `max_length` (special tokens included), and which texts were cut."""
    tok = tokenize_texts(tokenizer, texts, max_length)
    return tok.ids, tok.truncated


def tokenize_texts(tokenizer: Any, texts: Sequence[str], max_length: int, offsets: bool = False) -> Tokens:
    """`tokenize`, plus character offsets and word indices per token when `offsets` is true (evidence spans).

    The model reads each text's normalised copy (normalise.py); offsets point into the original text."""
    enc = _encode(tokenizer, texts, max_length, 0, offsets)
    out = Tokens([w[0][0] for w in enc], np.array([len(w) > 1 for w in enc], dtype=bool))
    if offsets:
        out.offsets, out.words = [w[0][1] for w in enc], [w[0][2] for w in enc]  # type: ignore[misc]
    return out


def tokenize_windows(tokenizer: Any, texts: Sequence[str], max_length: int, offsets: bool = False) -> Windows:
    """Every text in overlapping windows of at most `max_length` tokens (`window_overlap` shared between
    neighbours), so that no token of a long sentence goes unread; offsets as in `tokenize_texts`."""
    overlap = window_overlap(max_length)
    enc = _encode(tokenizer, texts, max_length, overlap, offsets)
    count = np.array([len(w) for w in enc], dtype=np.int64)
    first = np.cumsum(count) - count
    out = Windows([ids for w in enc for ids, _, _ in w], first, count, overlap)
    if offsets:
        out.offsets = [o for w in enc for _, o, _ in w]  # type: ignore[misc]
        out.words = [ws for w in enc for _, _, ws in w]
    return out


_Window = tuple[list[int], Optional[list[tuple[int, int]]], Optional[list[Optional[int]]]]


def _encode(tokenizer: Any, texts: Sequence[str], max_length: int, stride: int, offsets: bool) -> list[list[_Window]]:
    """Per text, its windows as (ids, offsets into the original text, word indices); the first window is
    what a truncating reader sees. Texts are read through their normalised copies."""
    copies = [normalise(readable(t)) for t in texts]
    found: list[list[_Window]] = [[] for _ in texts]
    if not texts:
        return found
    if isinstance(tokenizer, ScoringTokenizer):
        # The scorer's ScoringTokenizer (tokenizer.py): the same tokenizer.json, read without transformers.
        for k, e in enumerate(tokenizer.encode([c.text for c in copies], max_length, stride=stride)):
            # Without a stride only the first window is read: a second one just says the text was cut.
            for w in [e, *e.overflowing] if stride else [e, *e.overflowing[:1]]:
                found[k].append((list(w.ids), list(w.offsets) if offsets else None, list(w.word_ids) if offsets else None))
    else:
        enc = tokenizer([c.text for c in copies], truncation=True, max_length=max_length, stride=stride,
                        return_overflowing_tokens=True, return_offsets_mapping=offsets, verbose=False)
        for i, (seq, k) in enumerate(zip(enc["input_ids"], enc["overflow_to_sample_mapping"])):
            if not stride and len(found[k]) > 1:
                continue
            found[k].append((list(seq), [tuple(o) for o in enc["offset_mapping"][i]] if offsets else None,
                             enc.word_ids(i) if offsets else None))
    if offsets:
        for k, c in enumerate(copies):
            if c.starts is not None:
                found[k] = [(ids, [c.span(a, b) for a, b in offs], ws) for ids, offs, ws in found[k]]  # type: ignore[union-attr]
    return found


def merged_tokens(win: Windows, out: "Outputs", k: int) -> tuple[list[tuple[int, int]], list[Optional[int]],
                                                                 np.ndarray, Optional[np.ndarray]]:
    """Text k's tokens once each, gathered from its windows: offsets, word indices, token logits (T, M)
    (per marker the highest any window gave) and technique logits (from the first window that read the
    token); special tokens left out. Needs `win` with offsets and `out` with token logits."""
    rows = range(int(win.first[k]), int(win.first[k] + win.count[k]))
    content = [np.array([w is not None for w in win.words[r]], dtype=bool) for r in rows]  # type: ignore[index]
    sizes = [int(c.sum()) for c in content]
    # Window j starts where window j-1's last `overlap` content tokens start (the tokenizer's stride).
    starts = np.cumsum([0] + [n - win.overlap for n in sizes[:-1]])
    total = int(starts[-1] + sizes[-1])
    n_markers = out.logits.shape[1]
    tok = np.full((total, n_markers), -np.inf, dtype=np.float32)
    tech = None
    offs: list[tuple[int, int]] = [(0, 0)] * total
    words: list[Optional[int]] = [None] * total
    for j in reversed(range(len(rows))):  # backwards, so the first window's values are the ones kept
        r, at, keep = rows[j], int(starts[j]), np.flatnonzero(content[j])
        tok[at : at + sizes[j]] = np.maximum(tok[at : at + sizes[j]], out.token_logits[r][keep])  # type: ignore[index]
        if out.technique_logits is not None:
            t = out.technique_logits[r][keep]
            tech = np.zeros((total, t.shape[1]), np.float32) if tech is None else tech
            tech[at : at + sizes[j]] = t
        offs[at : at + sizes[j]] = [win.offsets[r][i] for i in keep]  # type: ignore[index]
        words[at : at + sizes[j]] = [win.words[r][i] for i in keep]  # type: ignore[index]
    return offs, words, tok, tech


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
