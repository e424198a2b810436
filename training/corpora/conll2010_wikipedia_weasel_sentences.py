"""CoNLL-2010 Wikipedia (WikiWeasel) sentences, certain/uncertain -> U weak, H via Szeged cues.

Only `train.csv` is in the curated copy ("text,label", 0 = certain, 1 = uncertain, rows sorted by
label, every text ends with a newline, PTB tokenisation). Each row is matched, by lower-cased
alphanumerics, to a sentence of ../szeged_uncertainty_corpus/wiki.xml, which re-annotates the same
Wikipedia sentences with hedge cues only. Rules (redflags.training.weak_labels):
- unverifiable_sourcing: `wikiweasel_unverifiable_label` (uncertain without a Szeged cue ≈ weasel: 1;
  certain: 0; otherwise None);
- hedging: `wikiweasel_hedging_label` (the Szeged cue annotation where matched, else None).
For a matched row the record takes the Szeged text (plain, not PTB-tokenised) and the Szeged doc_id
("wiki:<DocID>", as the Szeged loader), so both corpora put that document in the same split. An
unmatched row gets a light PTB detokenisation and doc_id "conll-wiki:<row number>" (the CSV has no
document ids). Exact duplicate texts are yielded once; a text listed with both labels is skipped.
If the Szeged folder is absent, every row is unmatched (U known only for certain rows, H unknown).
"""

from __future__ import annotations

import csv
import logging
import re
from pathlib import Path
from typing import Iterable

from redflags.training.corpora.registry import CorpusError, Skips, register
from redflags.training.corpora.szeged_uncertainty_corpus import (
    normalise,
    wiki_cue_index,
)
from redflags.training.records import Record, labels
from redflags.training.weak_labels import (
    wikiweasel_hedging_label,
    wikiweasel_unverifiable_label,
)

log = logging.getLogger(__name__)

NAME = "conll2010_wikipedia_weasel_sentences"
SZEGED_WIKI = Path("..") / "szeged_uncertainty_corpus" / "wiki.xml"

_PTB = [
    (re.compile(r"-LRB-"), "("),
    (re.compile(r"-RRB-"), ")"),
    (re.compile(r"-LSB-"), "["),
    (re.compile(r"-RSB-"), "]"),
    (re.compile(r"-LCB-"), "{"),
    (re.compile(r"-RCB-"), "}"),
    (re.compile(r"``\s*"), '"'),
    (re.compile(r"\s*''"), '"'),
    (re.compile(r"([(\[{])\s+"), r"\1"),
    (re.compile(r"\s+([)\]}])"), r"\1"),
    (re.compile(r"\s+([.,;:!?%])"), r"\1"),
    (re.compile(r"\s+(n't|'s|'re|'ve|'ll|'d|'m)\b", re.IGNORECASE), r"\1"),
    (re.compile(r"\$\s+(?=\d)"), "$"),
]


def detokenise(text: str) -> str:
    """Undo the most visible PTB tokenisation (brackets, quotes, clitics, space before punctuation)."""
    for pattern, repl in _PTB:
        text = pattern.sub(repl, text)
    return " ".join(text.split())


@register(
    NAME,
    informs=("unverifiable_sourcing", "hedging"),
    kind="weak",
    licence="not stated (CoNLL-2010 Wikipedia data, University of Szeged; Szeged re-annotation CC BY-SA)",
    required=("train.csv",),
)
def load(folder: Path, skips: Skips) -> Iterable[Record]:
    """Yield one record per distinct sentence of train.csv."""
    path = folder / "train.csv"
    wiki = folder / SZEGED_WIKI
    index = wiki_cue_index(wiki) if wiki.exists() else {}
    if not index:
        log.warning("%s: %s not found: hedging labels unknown, weasel rule only for certain rows", NAME, wiki)
    rows: dict[str, tuple[int, int, str]] = {}  # text -> (label, line, raw text)
    conflicting: set[str] = set()
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        if reader.fieldnames != ["text", "label"]:
            raise CorpusError(f"{path}:1: expected header 'text,label', got {reader.fieldnames}")
        for row in reader:
            line = reader.line_num
            text, raw_label = (row["text"] or "").strip(), (row["label"] or "").strip()
            if raw_label not in ("0", "1"):
                raise CorpusError(f"{path}:{line}: label {raw_label!r} is not 0 or 1")
            if not text:
                skips.skip(path, line, "empty text")
                continue
            label = int(raw_label)
            if text in rows:
                if rows[text][0] != label:
                    conflicting.add(text)
                skips.skip(path, line, "duplicate text")
                continue
            rows[text] = (label, line, text)
    for text, (label, line, _) in rows.items():
        if text in conflicting:
            skips.skip(path, line, "text listed as both certain and uncertain")
            continue
        match = index.get(normalise(detokenise(text)))
        has_cue = match[1] if match else None
        yield Record(
            text=match[2] if match else detokenise(text),
            corpus=NAME,
            doc_id=match[0] if match else f"conll-wiki:{line}",
            labels=labels(
                unverifiable_sourcing=wikiweasel_unverifiable_label(bool(label), has_cue),
                hedging=wikiweasel_hedging_label(has_cue),
            ),
        )
