"""PolNeAR: attribution relations (source / cue / content) in US political news -> unverifiable_sourcing (weak).

Unit: a sentence of an article, cut by redflags.segment (the segmenter the scorer uses). doc_id = article file name (without .txt).
Compartments used: train, dev, annotator-training (the test compartment is not in the curated copy).

Labelling (rules in redflags.training.weak_labels.attribution_label):
- each attribution event is labelled 1 (source anonymous, vague or agentless) or 0 (named source);
- a sentence is 1 when the source or cue span of a positive attribution overlaps it (the sentence
  itself shows the unverifiable source); the record's spans are those source (or cue) spans;
- a sentence that only holds the content of a positive attribution (a quote continuing after
  "sources said:") is None: LABELS.md judges the sentence as written, and whether the reader can
  still tell the claim is unsourced is undecidable here;
- a sentence overlapping a `Discuss` span (the annotator was unsure about an attribution) and no
  positive attribution is None;
- every other sentence is 0: named attributions and plain description are negative (LABELS.md).
- sentences overlapping a `Discard` span (editor's notes, copyright lines the annotators excluded)
  are skipped (counted).

Articles with several annotators: the first annotator id in sorted order whose .ann file is not
empty is used (deterministic; other annotations of the same article are not mixed in).
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from redflags.scoring.segment import iter_sentences
from redflags.training.corpora.registry import Skips, register
from redflags.training.records import Record, Span, labels
from redflags.training.weak_labels import attribution_label

log = logging.getLogger(__name__)

NAME = "polnear_attribution"
MARKER = "unverifiable_sourcing"
COMPARTMENTS = ("train", "dev", "annotator-training")

# A brat entry starts with an id and a tab; any other line continues the previous entry's text
# (span texts may contain line breaks).
_ENTRY = re.compile(r"^([TEARMN#]\d*)\t")
_FRAGMENT = re.compile(r"^(\d+) (\d+)$")
_ROLE = re.compile(r"^([A-Za-z-]+?)\d*:(T\d+)$")

Frag = tuple[int, int]


@dataclass
class TextBound:
    type: str
    frags: list[Frag]
    text: str


@dataclass
class Annotation:
    """The parts of one brat .ann file the loader uses."""

    spans: dict[str, TextBound] = field(default_factory=dict)
    events: list[dict[str, list[str]]] = field(default_factory=list)  # role -> T ids


def parse_ann(path: Path, text_len: int, skips: Skips) -> Annotation:
    """Parse a brat standoff file; malformed entries are counted as skips with file:line."""
    entries: list[tuple[int, str]] = []
    for n, line in enumerate(path.read_text(encoding="utf-8").split("\n"), start=1):
        if _ENTRY.match(line):
            entries.append((n, line))
        elif entries and entries[-1][1][0] in "T#":
            entries[-1] = (entries[-1][0], entries[-1][1] + "\n" + line)  # a span text with a line break
        elif line.strip():
            skips.skip(path, n, "line is not a brat entry")
    ann = Annotation()
    event_lines: list[tuple[int, dict[str, list[str]]]] = []
    for n, entry in entries:
        kind = entry[0]
        if kind == "T":
            tb = _parse_textbound(entry, text_len)
            if isinstance(tb, str):
                skips.skip(path, n, tb)
                continue
            ann.spans[entry.split("\t", 1)[0]] = tb
        elif kind == "E":
            parts = entry.split("\t")
            roles: dict[str, list[str]] = defaultdict(list)
            bad = len(parts) < 2
            for arg in parts[1].split() if not bad else []:
                m = _ROLE.match(arg)
                if not m:
                    bad = True
                    break
                roles[m.group(1)].append(m.group(2))
            if bad:
                skips.skip(path, n, "malformed event line")
                continue
            event_lines.append((n, dict(roles)))
        # '#' annotator notes, and relations/attributes (none in PolNeAR) carry no label.
    for n, ev in event_lines:  # events may precede their spans in brat files: check at the end
        if any(t not in ann.spans for ids in ev.values() for t in ids):
            skips.skip(path, n, "event refers to a missing or malformed span")
            continue
        ann.events.append(ev)
    return ann


def _parse_textbound(entry: str, text_len: int) -> TextBound | str:
    parts = entry.split("\t", 2)
    if len(parts) < 2:
        return "malformed text-bound line (no type and offsets)"
    type_, _, offsets = parts[1].partition(" ")
    frags: list[Frag] = []
    for piece in offsets.split(";"):
        m = _FRAGMENT.match(piece.strip())
        if not m:
            return f"malformed offsets {offsets!r}"
        s, e = int(m.group(1)), int(m.group(2))
        if not 0 <= s <= e <= text_len:
            return f"offsets {s}-{e} outside the text ({text_len} characters)"
        frags.append((s, e))
    return TextBound(type_, frags, parts[2] if len(parts) > 2 else "")


def _span_text(text: str, tb: TextBound) -> str:
    return " ".join(text[s:e] for s, e in tb.frags)


def _overlaps(frags: list[Frag], start: int, end: int) -> bool:
    return any(s < end and e > start for s, e in frags)


def article_records(text: str, ann: Annotation, doc_id: str, path: Path, skips: Skips) -> Iterator[Record]:
    """Sentence records of one article under one annotator's attributions."""
    anchors: list[tuple[list[Frag], int, str]] = []  # source-or-cue fragments, label, span label
    positive_content: list[Frag] = []
    for ev in ann.events:
        src = [ann.spans[t] for t in ev.get("Source", [])]
        cue = [ann.spans[t] for t in ev.get("Cue", [])]
        if not cue:  # the event anchor duplicates the cue; fall back to it
            cue = [ann.spans[t] for t in ev.get("Attribution", []) + ev.get("Attribution-no-source", [])]
        source_text = " ".join(_span_text(text, tb) for tb in src) or None
        cue_text = " ".join(_span_text(text, tb) for tb in cue)
        label = attribution_label(source_text, cue_text)
        frags = [f for tb in (src or cue) for f in tb.frags]
        anchors.append((frags, label, "source" if src else "agentless_cue"))
        if label:
            positive_content += [f for t in ev.get("Content", [])  for f in ann.spans[t].frags]
    discard = [f for tb in ann.spans.values() if tb.type == "Discard" for f in tb.frags]
    discuss = [f for tb in ann.spans.values() if tb.type == "Discuss" for f in tb.frags]

    for sent in iter_sentences(text):
        start, end = sent.start, sent.end
        if _overlaps(discard, start, end):
            skips.skip(path, None, "sentence inside a Discard span (excluded by the annotators)")
            continue
        spans = [
            Span(max(s, start) - start, min(e, end) - start, kind, MARKER)
            for frags, label, kind in anchors
            if label
            for s, e in frags
            if s < end and e > start
        ]
        value: int | None
        if spans:
            value = 1
        elif _overlaps(positive_content, start, end) or _overlaps(discuss, start, end):
            value = None
        else:
            value = 0
        yield Record(
            text=text[start:end],
            corpus=NAME,
            doc_id=doc_id,
            labels=labels(**{MARKER: value}),
            spans=sorted(set(spans), key=lambda x: (x.start, x.end, x.label)),
        )


def choose_annotation(ann_files: list[Path]) -> Path | None:
    """First non-empty .ann file in sorted order (one annotator per article, deterministic)."""
    for p in sorted(ann_files):
        if p.stat().st_size > 0 and p.read_text(encoding="utf-8").strip():
            return p
    return None


@register(
    NAME,
    informs=(MARKER,), span_markers=(MARKER,),
    kind="weak",
    licence="not stated (news texts of the named publishers; cite Newell, Margolin & Ruths, LREC 2018)",
    required=("train/text", "train/attributions"),
)
def load(folder: Path, skips: Skips) -> Iterable[Record]:
    """Yield sentence records of every annotated article in train, dev and annotator-training."""
    for comp in COMPARTMENTS:
        text_dir, ann_dir = folder / comp / "text", folder / comp / "attributions"
        if not text_dir.is_dir():
            log.info("%s: compartment %s absent", NAME, comp)
            continue
        by_article: dict[str, list[Path]] = defaultdict(list)
        for p in ann_dir.glob("*.ann"):
            by_article[p.stem.rsplit("_", 1)[0]].append(p)
        for text_path in sorted(text_dir.glob("*.txt")):
            doc_id = text_path.stem
            files = by_article.pop(doc_id, [])
            chosen = choose_annotation(files)
            if chosen is None:
                skips.skip(text_path, None, "article without a non-empty annotation file")
                continue
            text = text_path.read_text(encoding="utf-8")
            ann = parse_ann(chosen, len(text), skips)
            yield from article_records(text, ann, doc_id, chosen, skips)
        for doc_id, files in sorted(by_article.items()):
            for p in files:
                skips.skip(p, None, "annotation file without an article text")
