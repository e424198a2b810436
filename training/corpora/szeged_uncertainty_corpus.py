"""Szeged Uncertainty Corpus (Wikipedia + biomedical parts): semantic-uncertainty cues -> hedging (gold).

Unit: a `Sentence` element. A sentence is positive iff it holds at least one `ccue` (the files have no
sentence-level certainty attribute; PROVENANCE.md). The five cue types (epistemic modal, doxastic,
conditional, investigation) are all hedging in LABELS.md terms ("may", "is believed to", "whether",
"we examined whether"). Cue offsets are kept as spans. doc_id = "<file stem>:<DocID>", e.g.
"wiki:Firework_1100", so sentences of one document always fall in the same split (the CoNLL-2010
Wikipedia loader uses the same ids for the sentences it shares with wiki.xml).
Title and section-title parts are not sentences and are skipped (counted). factbank.xml is not in
the curated copy and is not read.
"""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from redflags.training.corpora._text import parse_xml
from redflags.training.corpora.registry import CorpusError, Skips, register
from redflags.training.records import Record, Span, labels

log = logging.getLogger(__name__)

NAME = "szeged_uncertainty_corpus"
MARKER = "hedging"
FILES = ("wiki.xml", "bio_bmc.xml", "bio_fly.xml", "bio_hbc.xml")
HEADING_PARTS = frozenset({"Title", "SectionTitle", "SubSectionTitle"})


@dataclass(frozen=True)
class SzegedSentence:
    doc_id: str
    part: str  # DocumentPart type
    text: str
    cues: tuple[tuple[int, int, str], ...]  # start, end, cue type (trailing " _" removed)


def _cue_type(raw: str | None) -> str:
    # Types are written with a trailing underscore, some with a space before it ("speculation_hypo_doxastic _").
    return (raw or "unknown").strip().rstrip("_").strip()


def _sentence(el: ET.Element) -> tuple[str, tuple[tuple[int, int, str], ...]]:
    """Text of a Sentence element and its ccue offsets, whitespace at the edges trimmed."""
    pieces: list[str] = [el.text or ""]
    cues: list[tuple[int, int, str]] = []
    for child in el:
        start = sum(len(p) for p in pieces)
        inner = "".join(child.itertext())
        pieces.append(inner)
        if child.tag == "ccue":
            cues.append((start, start + len(inner), _cue_type(child.get("type"))))
        pieces.append(child.tail or "")
    raw = "".join(pieces)
    lead = len(raw) - len(raw.lstrip())
    text = raw.strip()
    return text, tuple((s - lead, e - lead, t) for s, e, t in cues if e - lead > 0 and s - lead < len(text))


def iter_sentences(path: Path) -> Iterator[SzegedSentence]:
    """Every Sentence of one Szeged XML file with its document id and part type."""
    prefix = path.stem
    root = parse_xml(path)
    for n, doc in enumerate(root.iter("Document"), start=1):
        did = doc.findtext("DocID")
        if not did or not did.strip():
            raise CorpusError(f"{path}: document #{n} has no DocID")
        doc_id = f"{prefix}:{did.strip()}"
        for part in doc.iter("DocumentPart"):
            for s in part.iter("Sentence"):
                text, cues = _sentence(s)
                yield SzegedSentence(doc_id, part.get("type") or "", text, cues)


def wiki_cue_index(path: Path) -> dict[str, tuple[str, bool, str]]:
    """normalised text -> (doc_id, has a cue, text), for matching other copies of wiki.xml sentences.

    The first occurrence wins where a sentence appears in several documents.
    """
    index: dict[str, tuple[str, bool, str]] = {}
    for s in iter_sentences(path):
        if s.part not in HEADING_PARTS and s.text:
            index.setdefault(normalise(s.text), (s.doc_id, bool(s.cues), s.text))
    return index


def normalise(text: str) -> str:
    """Lower-case alphanumerics only: matches PTB-tokenised and plain copies of the same sentence."""
    return "".join(ch for ch in text.lower() if ch.isalnum())


@register(
    NAME,
    informs=(MARKER,), span_markers=(MARKER,),
    kind="gold",
    licence="CC BY-SA (as stated in meyersbs/uncertainty; cite Szarvas et al. 2012)",
    required=FILES,
)
def load(folder: Path, skips: Skips) -> Iterable[Record]:
    """Yield one record per body sentence of wiki.xml and the three biomedical files."""
    for name in FILES:
        path = folder / name
        for s in iter_sentences(path):
            if s.part in HEADING_PARTS:
                skips.skip(path, None, f"{s.part} part (a heading, not a sentence)")
                continue
            if not s.text:
                skips.skip(path, None, "empty sentence")
                continue
            spans = [Span(a, b, t, MARKER) for a, b, t in s.cues]
            yield Record(s.text, NAME, s.doc_id, labels(**{MARKER: int(bool(spans))}), spans)
