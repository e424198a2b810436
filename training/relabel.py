"""Codebook relabels of proxy-corpus sentences: the part of a proxy whose labels contradict the codebook.

`redflags data audit` finds where a corpus's convention departs from the codebook (SFU marks "can"
of ability and every "would" as speculation; BASIL leaves most loaded words in quotes unmarked; the
CoNLL weasel sentences and PolNeAR's weak labels treat "some/many X" alike whether the group is a
source or an actor). Those sentences were re-annotated to the codebook by annotators who saw only
the sentence and the guide (docs/ANNOTATION.md), one marker each. training/annotations/relabel.jsonl
stores the decisions without text: corpus, document, a hash of the sentence, the marker, the label
and the evidence offsets. A corpus applies them when its config entry says `relabel: true`.
"""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path
from typing import Any, Iterable

from redflags.markers import MARKERS
from redflags.training.corpora._text import json_lines
from redflags.training.corpora.news_annotations import sentence_hash
from redflags.training.corpora.registry import CorpusError
from redflags.training.records import Record, Span

RELABELS = Path(__file__).resolve().parent / "annotations" / "relabel.jsonl"
_KEYS = {"corpus", "doc_id", "sha", "marker", "label", "evidence", "was"}

Key = tuple[str, str, str]  # corpus, doc_id, sentence hash


def fingerprint() -> str:
    """A hash of the relabel file (part of the dataset cache key of a config that applies it)."""
    return hashlib.sha256(RELABELS.read_bytes()).hexdigest()[:16] if RELABELS.is_file() else "missing"


def read_relabels(path: Path | None = None) -> dict[Key, list[dict[str, Any]]]:
    """Decisions per sentence, each checked for shape; errors name the file and line."""
    path = path if path is not None else RELABELS
    if not path.is_file():
        raise CorpusError(f"{path}: the relabel file is missing")
    out: dict[Key, list[dict[str, Any]]] = {}
    for where, row in json_lines(path):
        if not isinstance(row, dict) or set(row) != _KEYS:
            raise CorpusError(f"{where}: expected the keys {sorted(_KEYS)}")
        if row["marker"] not in MARKERS or row["label"] not in (0, 1):
            raise CorpusError(f"{where}: marker must be one of {', '.join(MARKERS)} and label 0 or 1")
        spans = row["evidence"]
        if not isinstance(spans, list) or not all(isinstance(s, list) and len(s) == 2 and 0 <= s[0] < s[1] for s in spans):
            raise CorpusError(f"{where}: evidence must be a list of [start, end] offsets")
        if bool(spans) != bool(row["label"]):
            raise CorpusError(f"{where}: a positive label needs evidence and a negative one has none")
        out.setdefault((row["corpus"], row["doc_id"], row["sha"]), []).append(row)
    return out


def apply_relabels(records: Iterable[Record], relabels: dict[Key, list[dict[str, Any]]]) -> tuple[list[Record], int]:
    """Records with the codebook decisions applied (label, and that marker's spans); the number changed."""
    out, changed = [], 0
    for r in records:
        rows = relabels.get((r.corpus, r.doc_id, sentence_hash(r.text)))
        if not rows:
            out.append(r)
            continue
        labels, spans = dict(r.labels), list(r.spans)
        for d in rows:
            m = d["marker"]
            if any(e > len(r.text) for _, e in d["evidence"]):
                raise CorpusError(f"relabel of {r.corpus}/{r.doc_id}: evidence offsets beyond the sentence")
            changed += labels.get(m) != d["label"]
            labels[m] = d["label"]
            spans = [s for s in spans if s.marker != m] + [Span(s, e, m, m) for s, e in d["evidence"]]
        out.append(dataclasses.replace(r, labels=labels, spans=sorted(spans, key=lambda s: (s.start, s.end))))
    return out, changed
