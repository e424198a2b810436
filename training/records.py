"""The one record type every corpus loader yields.

A labelled sentence has one type in Python, `Record` (unknown label = None). Two other shapes remain,
each for a reason: the dataset rows (`training/dataset.py`) are Arrow int8 columns where unknown is
-1, because that is what the masked loss reads from a tensor and Arrow stores ints compactly; the
evaluation `Example` (`eval/interchange.py`) is the JSONL interchange format that researchers
write by hand (an `id`, an `article`, extra fields kept), which has no spans and no split.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from redflags.markers import MARKERS

Label = Optional[int]  # 1 positive, 0 negative, None unknown (masked: the corpus says nothing)


@dataclass(frozen=True)
class Span:
    """A source annotation behind a positive label, as character offsets into `Record.text`."""

    start: int
    end: int
    label: str  # the corpus's own name for the annotation, e.g. "Loaded_Language"
    marker: str  # which marker it supports


@dataclass
class Record:
    """One labelled sentence.

    `labels` maps every marker in MARKERS to 1, 0 or None (unknown). `doc_id` identifies the
    article or document the sentence comes from: splits are made on it, never on sentences.
    """

    text: str
    corpus: str
    doc_id: str
    labels: dict[str, Label]
    spans: list[Span] = field(default_factory=list)
    # A split fixed by the corpus itself (the news annotations are split by article when sampled);
    # None: the dataset builder assigns the document's split by a seeded hash.
    split: Optional[str] = None

    def __post_init__(self) -> None:
        unknown = set(self.labels) - set(MARKERS)
        if unknown:
            raise ValueError(f"record from {self.corpus}/{self.doc_id} has unknown markers {sorted(unknown)}")
        if self.split not in (None, "train", "dev", "test"):
            raise ValueError(f"record from {self.corpus}/{self.doc_id}: split {self.split!r} is not train, dev or test")
        for m in MARKERS:
            v = self.labels.setdefault(m, None)
            if v not in (0, 1, None):
                raise ValueError(f"record from {self.corpus}/{self.doc_id}: label {m}={v!r} is not 0, 1 or None")


def labels(**given: Label) -> dict[str, Label]:
    """A full label dict: the markers given, None for the rest."""
    return {m: given.get(m) for m in MARKERS}
