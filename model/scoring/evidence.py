"""Evidence spans: the words that carry a marker, decoded from the token head's probabilities.

A word (a whole word as a reader sees it: "anonymity", "it's", "so-called"; punctuation is never
evidence on its own) is evidence for a marker when the highest probability among its tokens reaches
the marker's span threshold. Neighbouring evidence words with only spaces, hyphens or apostrophes
between them form one span; function words ("and", "an", "the", "of"; function_words.py) are
trimmed from its edges, and a span of function words only is dropped. A span's score is the
highest word probability in it; a sensational-framing span also gets the technique whose
probability, averaged over its tokens, is highest. Offsets are exact character offsets into the
text the sentence came from: `text[span.start:span.end] == span.text`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Optional, Sequence

import numpy as np
from redflags.core.probability import sigmoid
from redflags.scoring.function_words import is_function_word

# Between two evidence words, only these characters let them join into one span.
_JOINER = re.compile(r"[\s\-\u2010-\u2014'\u2019]*")


@dataclass(frozen=True, slots=True)
class Evidence:
    """One evidence span: `text == article[start:end]`, its marker, score and (framing) technique."""

    marker: str
    start: int
    end: int
    text: str
    score: float
    technique: Optional[str] = None
    technique_score: Optional[float] = None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict."""
        out: dict[str, Any] = {"marker": self.marker, "start": self.start, "end": self.end, "text": self.text,
                               "score": round(float(self.score), 6)}
        if self.technique is not None:
            out["technique"] = self.technique
            out["technique_score"] = round(float(self.technique_score or 0.0), 6)
        return out


def softmax(z: np.ndarray) -> np.ndarray:
    """Row-wise softmax (technique probabilities from technique logits)."""
    z = np.asarray(z, dtype=np.float64)
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _words(text: str, offsets: Sequence[tuple[int, int]], words: Sequence[Optional[int]]
           ) -> list[tuple[int, int, list[int]]]:
    """(start, end, token positions) of each word of the text, in order.

    A word is what a reader calls one: the tokenizer's words that touch with no space between them
    ("it", "'", "s" -> "it's"; "so", "-", "called" -> "so-called"), with the punctuation at its
    edges trimmed (a trailing full stop stays where the word has one inside: "U.S."). Its tokens are
    those with a letter or digit inside the trimmed word, so a span never ends in a fragment or
    a bracket. Words of punctuation only are left out: they are never evidence."""
    pieces: list[tuple[int, int, list[int]]] = []
    last: Optional[int] = None
    for t, (w, (s, e)) in enumerate(zip(words, offsets)):
        if w is None or e <= s:
            continue
        if pieces and (w == last or s == pieces[-1][1]):  # same tokenizer word, or no space between
            start, _, toks = pieces[-1]
            pieces[-1] = (start, e, toks + [t])
        else:
            pieces.append((s, e, [t]))
        last = w
    out: list[tuple[int, int, list[int]]] = []
    for s, e, toks in pieces:
        while s < e and not text[s].isalnum():
            s += 1
        while e > s and not text[e - 1].isalnum() and not (text[e - 1] == "." and "." in text[s:e - 1]):
            e -= 1
        inside = [t for t in toks if offsets[t][0] < e and offsets[t][1] > s
                  and any(c.isalnum() for c in text[offsets[t][0]:offsets[t][1]])]
        if inside:
            out.append((s, e, inside))
    return out


def _content(text: str, run: list[int], word_spans: list[tuple[int, int, list[int]]]) -> list[int]:
    """The run without the function words at its edges (empty when it holds nothing else)."""
    def plain(k: int) -> bool:
        return is_function_word(text[word_spans[k][0]:word_spans[k][1]])

    lo, hi = 0, len(run)
    while lo < hi and plain(run[lo]):
        lo += 1
    while hi > lo and plain(run[hi - 1]):
        hi -= 1
    return run[lo:hi]


def decode(text: str, offsets: Sequence[tuple[int, int]], words: Sequence[Optional[int]],
           token_logits: np.ndarray, technique_logits: Optional[np.ndarray], markers: Sequence[str],
           thresholds: dict[str, float], techniques: Sequence[str], base: int = 0,
           only: Optional[Sequence[str]] = None) -> list[Evidence]:
    """Evidence spans of one sentence `text` (token offsets relative to it), shifted by `base` so that
    they index the article; for the markers in `only` (all when None), in text order."""
    if token_logits is None or not len(token_logits):
        return []
    word_spans = _words(text, offsets, words)
    if not word_spans:
        return []
    probs = sigmoid(token_logits)  # (T, M)
    tech = softmax(technique_logits) if technique_logits is not None and len(techniques) else None
    # Each word's score per marker: the highest probability among its tokens (one vectorised pass).
    tok_idx = np.fromiter((t for w in word_spans for t in w[2]), dtype=np.int64)
    starts = np.cumsum([0] + [len(w[2]) for w in word_spans[:-1]])
    word_scores = np.maximum.reduceat(probs[tok_idx], starts, axis=0)  # (W, M)
    spans: list[Evidence] = []
    for j, m in enumerate(markers):
        if only is not None and m not in only:
            continue
        runs: list[list[int]] = []
        for w in np.flatnonzero(word_scores[:, j] >= thresholds.get(m, 0.5)).tolist():
            # Neighbouring words join when only spaces, hyphens or apostrophes lie between them.
            if runs and w == runs[-1][-1] + 1 and _JOINER.fullmatch(text[word_spans[w - 1][1]:word_spans[w][0]]):
                runs[-1].append(w)
            else:
                runs.append([w])
        for run in runs:
            run = _content(text, run, word_spans)
            if run:
                spans.append(_span(text, [word_spans[k] for k in run], word_scores[run, j], m, tech, techniques, base))
    return sorted(spans, key=lambda x: (x.start, x.end, x.marker))


def _span(text: str, run: list[tuple[int, int, list[int]]], scores: np.ndarray, marker: str,
          tech: Optional[np.ndarray], techniques: Sequence[str], base: int) -> Evidence:
    start, end = run[0][0], run[-1][1]
    technique = technique_score = None
    if marker == "sensational_framing" and tech is not None:
        mean = tech[[t for r in run for t in r[2]]].mean(axis=0)
        k = int(mean.argmax())
        technique, technique_score = techniques[k], float(mean[k])
    return Evidence(marker, base + start, base + end, text[start:end], float(scores.max()), technique, technique_score)
