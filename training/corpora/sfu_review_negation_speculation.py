"""SFU Review corpus with negation and speculation annotation (Konstantinova et al. 2012).

Markers: hedging only (gold). A sentence is positive when at least one of its tokens lies inside a
`<cue type="speculation">`, negative otherwise (negation cues are not hedging). Each speculation cue is a Span.
Text: the corpus stores one `<W>` per token; tokens are re-joined into ordinary text ("do n't" -> "don't")
so that the model sees review text the way news text looks. The files contain U+0092 (a Windows-1252
apostrophe mis-decoded as a C1 control); it is replaced by an ASCII apostrophe.
doc_id: `sfu_review_negation_speculation/<DOMAIN>/<file stem>` (one review per file).
Caveat: the annotation guidelines count "if", "or", "can", "should" and "must" as speculation cues, which is
broader than the codebook's hedging.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

from redflags.training.corpora._text import join_tokens, parse_xml
from redflags.training.corpora.registry import CorpusError, Skips, register
from redflags.training.records import Record, Span, labels

NAME = "sfu_review_negation_speculation"
DOMAINS = ("BOOKS", "CARS", "COMPUTERS", "COOKWARE", "HOTELS", "MOVIES", "MUSIC", "PHONES")


def sentence_tokens(sent: ET.Element) -> tuple[list[str], list[str | None]]:
    """The tokens of a `<SENTENCE>` and, per token, the id of the speculation cue it belongs to (or None)."""
    tokens: list[str] = []
    cue_of: list[str | None] = []

    def walk(node: ET.Element, cue: str | None) -> None:
        if node.tag == "cue" and node.get("type") == "speculation":
            cue = node.get("ID") or f"anon{len(tokens)}"
        if node.tag == "W":
            tok = (node.text or "").replace("\u0092", "'").strip()
            if tok:
                tokens.append(tok)
                cue_of.append(cue)
            return
        for child in node:
            walk(child, cue)

    walk(sent, None)
    return tokens, cue_of


def read_file(path: Path, corpus: str, doc_id: str, skips: Skips) -> Iterator[Record]:
    """Records of one review file."""
    root = parse_xml(path)
    for i, sent in enumerate(root.iter("SENTENCE")):
        tokens, cue_of = sentence_tokens(sent)
        if not tokens:
            skips.skip(f"{path}#sentence{i}", None, "sentence has no tokens")
            continue
        text, offsets = join_tokens(tokens)
        spans: list[Span] = []
        for cue in dict.fromkeys(c for c in cue_of if c is not None):
            idx = [k for k, c in enumerate(cue_of) if c == cue]
            spans.append(Span(offsets[idx[0]][0], offsets[idx[-1]][1], "speculation_cue", "hedging"))
        yield Record(text, corpus, doc_id, labels(hedging=1 if spans else 0), spans)


@register(NAME, informs=("hedging",), span_markers=("hedging",), kind="gold", licence="GPL-3.0-or-later", required=DOMAINS)
def load(folder: Path, skips: Skips) -> Iterator[Record]:
    """All sentences of the 400 review files, domain by domain."""
    for domain in DOMAINS:
        files = sorted((folder / domain).glob("*.xml"))
        if not files:
            raise CorpusError(f"{folder / domain}: no review .xml files")
        for path in files:
            yield from read_file(path, NAME, f"{NAME}/{domain}/{path.stem}", skips)
