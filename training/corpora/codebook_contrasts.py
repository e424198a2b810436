"""Codebook contrasts: minimal pairs written from the codebook, one pair per distinction (training only).

training/annotations/contrast.jsonl holds short invented news-style sentences in pairs that differ
in a few words and sit on the two sides of a codebook line (a vague group as source vs as actor, a
named spokesperson vs unnamed officials, conjectural vs reported "would", an idiom vs loaded words,
...). They were written from the codebook only, never from or against the behaviour suite
(eval/checklist.yaml). Every record is forced into the train split: they are not news, so no
model selection or evaluation may rest on them. Each line gives all three labels and the evidence
words of every positive marker (checked against the sentence when loaded).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from pathlib import Path

from redflags.markers import MARKERS
from redflags.training.corpora._text import json_lines
from redflags.training.corpora.registry import CorpusError, Skips, register
from redflags.training.records import Record, Span

NAME = "codebook_contrasts"
CONTRASTS = Path(__file__).resolve().parents[1] / "annotations" / "contrast.jsonl"
_KEYS = {"pair", "distinction", "text", "labels", "evidence"}


def _fingerprint() -> str:
    return hashlib.sha256(CONTRASTS.read_bytes()).hexdigest()[:16] if CONTRASTS.is_file() else "missing"


def read_contrasts(path: Path | None = None) -> Iterator[Record]:
    """Every contrast sentence as a train-split record; errors name the file and line."""
    path = path if path is not None else CONTRASTS
    if not path.is_file():
        raise CorpusError(f"{path}: the codebook contrast file is missing")
    for where, row in json_lines(path):
        if not isinstance(row, dict) or set(row) != _KEYS:
            raise CorpusError(f"{where}: expected the keys {sorted(_KEYS)}")
        text, labels = row["text"], row["labels"]
        if not isinstance(text, str) or not text.strip():
            raise CorpusError(f"{where}: text must be a non-empty string")
        if not isinstance(labels, dict) or set(labels) != set(MARKERS) or any(v not in (0, 1) for v in labels.values()):
            raise CorpusError(f"{where}: labels must give 0 or 1 for each of {', '.join(MARKERS)}")
        spans = []
        for ev in row["evidence"]:
            marker, words = ev.get("marker"), str(ev.get("text", "")).split()
            if marker not in MARKERS or not labels[marker] or not words:
                raise CorpusError(f"{where}: evidence {ev} must name a positive marker and some words")
            hit = re.search(r"\s+".join(re.escape(w) for w in words), text)
            if hit is None:
                raise CorpusError(f"{where}: evidence {ev['text']!r} is not in the sentence")
            spans.append(Span(hit.start(), hit.end(), marker, marker))
        missing = [m for m in MARKERS if labels[m] and not any(s.marker == m for s in spans)]
        if missing:
            raise CorpusError(f"{where}: positive {', '.join(missing)} without evidence words")
        yield Record(text, NAME, f"{NAME}/{row['pair']}", dict(labels), spans, split="train")


@register(
    NAME,
    informs=MARKERS, span_markers=MARKERS,
    kind="gold",
    licence="this project (Apache-2.0): invented sentences",
    folder=".",
    fingerprint=_fingerprint,
)
def load(folder: Path, skips: Skips) -> Iterator[Record]:
    """The contrast pairs (the data directory is not read)."""
    yield from read_contrasts()
