"""BioScope (Vincze et al. 2008): biomedical abstracts and full papers with speculation cues.

Markers: hedging only (gold). A sentence is positive when it contains at least one `<cue type="speculation">`,
negative otherwise; negation cues are ignored (negation is not hedging). Each speculation cue becomes a Span.
doc_id: `bioscope/<file stem>/<DocID>` (the PMID of an abstract, the id of a full paper), so a document's
sentences stay in one split. The clinical part is not in the folder (its text is masked) and is not read.
Note: the Szeged uncertainty corpus's biomedical part re-uses these abstracts; cross-corpus de-duplication
happens when splits are made.
"""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

from redflags.training.corpora._text import parse_xml
from redflags.training.corpora.registry import Skips, register
from redflags.training.records import Record, Span, labels

log = logging.getLogger(__name__)

NAME = "bioscope"
FILES = ("abstracts.xml", "full_papers.xml")


def sentence_text_and_cues(elem: ET.Element) -> tuple[str, list[tuple[int, int]]]:
    """Flatten a `<sentence>` element; return its text and the offsets of its speculation cues."""
    parts: list[str] = []
    cues: list[tuple[int, int]] = []

    def walk(node: ET.Element) -> None:
        start = sum(len(p) for p in parts)
        if node.text:
            parts.append(node.text)
        for child in node:
            walk(child)
            if child.tail:
                parts.append(child.tail)
        if node.tag == "cue" and node.get("type") == "speculation":
            cues.append((start, sum(len(p) for p in parts)))

    walk(elem)
    # the children's tails were appended inside walk, so a cue's end excludes its own tail
    text = "".join(parts)
    lead = len(text) - len(text.lstrip())
    stripped = text.strip()
    spans = [(max(0, s - lead), min(len(stripped), e - lead)) for s, e in cues if e - lead > 0]
    return stripped, spans


def read_file(path: Path, corpus: str, skips: Skips) -> Iterator[Record]:
    """Records of one BioScope XML file."""
    root = parse_xml(path)
    for d, doc in enumerate(root.iter("Document")):
        doc_id_el = doc.find("DocID")
        raw_id = (doc_id_el.text or "").strip() if doc_id_el is not None else ""
        doc_id = f"{corpus}/{path.stem}/{raw_id or f'doc{d}'}"
        for sent in doc.iter("sentence"):
            text, cue_offsets = sentence_text_and_cues(sent)
            where = sent.get("id")
            if not text:
                skips.skip(path, None, f"empty sentence ({where})")
                continue
            spans = [Span(s, e, "speculation_cue", "hedging") for s, e in cue_offsets]
            yield Record(text, corpus, doc_id, labels(hedging=1 if spans else 0), spans)


@register(NAME, informs=("hedging",), span_markers=("hedging",), kind="gold", licence="CC BY 2.0 (per BigBIO)", required=FILES)
def load(folder: Path, skips: Skips) -> Iterator[Record]:
    """All sentences of the abstracts and the full papers."""
    for name in FILES:
        yield from read_file(folder / name, NAME, skips)
