"""CLEF CheckThat! 2025 Task 1, English: subjective vs objective news sentences.

Markers: sensational_framing only, as an *auxiliary* signal: subjectivity is not sensationalism (an opinion
can be calm), but subjective sentences carry much of the evaluative wording the marker looks for.
`SUBJ` -> 1, `OBJ` -> 0. All four files are read (train, dev, dev_test, test_en_labeled; the task's splits
are ignored: the dataset builder makes its own). Files are read with quoting disabled (some sentences begin
with `"`) and by header name (test_en_labeled has a different column order).
doc_id: one per sentence, `checkthat2025_subjectivity_en/<sentence_id>` (no article ids are given).
Licence CC BY-NC-SA 4.0: a model trained on it inherits the non-commercial, share-alike terms.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

from redflags.training.corpora._text import read_table
from redflags.training.corpora.registry import Skips, register
from redflags.training.records import Record, labels

NAME = "checkthat2025_subjectivity_en"
FILES = ("train_en.tsv", "dev_en.tsv", "dev_test_en.tsv", "test_en_labeled.tsv")
COLUMNS = ("sentence_id", "sentence", "label")
LABELS = {"SUBJ": 1, "OBJ": 0}


def read_file(path: Path, corpus: str, skips: Skips) -> Iterator[Record]:
    """Records of one task TSV."""
    for line, row in read_table(path, COLUMNS):
        text = (row["sentence"] or "").strip()
        label = LABELS.get((row["label"] or "").strip())
        if label is None:
            skips.skip(path, line, f"label {row['label']!r} is not SUBJ/OBJ")
            continue
        if not text:
            skips.skip(path, line, "empty sentence")
            continue
        yield Record(text, corpus, f"{corpus}/{row['sentence_id']}", labels(sensational_framing=label))


@register(
    NAME, informs=("sensational_framing",), kind="auxiliary", licence="CC BY-NC-SA 4.0", required=FILES
)
def load(folder: Path, skips: Skips) -> Iterator[Record]:
    """All 2,076 labelled sentences."""
    for name in FILES:
        yield from read_file(folder / name, NAME, skips)
