"""BABE, Bias Annotations By Experts (Spinde et al., Findings of EMNLP 2021): news sentences, biased/neutral.

Markers: sensational_framing only, as a gold proxy (lexical bias by expert majority vote).
`label_bias` "Biased" -> 1, "Non-biased" -> 0, "No agreement" -> skipped (counted). The annotators' biased
words become Spans (each word's first whole-word occurrence) on positive sentences.
Only `final_labels_SG2.csv` (BABE proper, 3,674 rows) is read: SG1 is a subset of it.
doc_id: `babe/<news_link>`, so sentences of one article share a split; rows without a link get their own id.
"""

from __future__ import annotations

import ast
import csv
import re
from collections.abc import Iterator
from pathlib import Path

from redflags.training.corpora._text import read_table
from redflags.training.corpora.registry import Skips, register
from redflags.training.records import Record, Span, labels

NAME = "babe"
FILE = "final_labels_SG2.csv"
COLUMNS = ("text", "news_link", "label_bias", "biased_words")
LABELS = {"Biased": 1, "Non-biased": 0}


def word_spans(text: str, words: list[str]) -> list[Span]:
    """Spans of the first whole-word, case-insensitive occurrence of each biased word found in `text`."""
    spans = []
    for w in dict.fromkeys(w.strip() for w in words if isinstance(w, str) and w.strip()):
        m = re.search(rf"(?<!\w){re.escape(w)}(?!\w)", text, flags=re.IGNORECASE)
        if m:
            spans.append(Span(m.start(), m.end(), "biased_word", "sensational_framing"))
    return spans


def read_file(path: Path, corpus: str, skips: Skips) -> Iterator[Record]:
    """Records of a BABE final-labels CSV (`;`-separated, UTF-8 with BOM)."""
    for line, row in read_table(path, COLUMNS, delimiter=";", encoding="utf-8-sig", quoting=csv.QUOTE_MINIMAL):
        text = (row["text"] or "").strip()
        label = LABELS.get((row["label_bias"] or "").strip())
        if not text:
            skips.skip(path, line, "empty text")
            continue
        if label is None:
            skips.skip(path, line, f"label_bias {row['label_bias']!r} is not Biased/Non-biased")
            continue
        try:
            words = ast.literal_eval(row["biased_words"] or "[]")
        except (ValueError, SyntaxError):
            skips.skip(path, line, f"biased_words {row['biased_words']!r} is not a list")
            continue
        link = (row["news_link"] or "").strip()
        doc_id = f"{corpus}/{link}" if link else f"{corpus}/row{line}"
        spans = word_spans(text, list(words)) if label == 1 and isinstance(words, list) else []
        yield Record(text, corpus, doc_id, labels(sensational_framing=label), spans)


@register(NAME, informs=("sensational_framing",), span_markers=("sensational_framing",), kind="gold-proxy", licence="AGPL-3.0 (repository)", required=(FILE,))
def load(folder: Path, skips: Skips) -> Iterator[Record]:
    """The 3,673 agreed sentences of BABE (SG2)."""
    yield from read_file(folder / FILE, NAME, skips)
