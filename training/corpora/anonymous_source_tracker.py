"""Anonymous Source Tracker: search-result snippets matched on anonymous-sourcing phrases -> U weak positives.

Every snippet was collected because a search engine matched one of 122 anonymous-sourcing phrases
("on condition of anonymity", "people familiar with the matter", ...), shown in <b>...</b>. There is
no negative class (PROVENANCE.md). Unit: a sentence of the cleaned snippet (pysbd). A sentence that
overlaps a bold match is a weak positive for unverifiable_sourcing (LABELS.md: "a senior official
who asked not to be named", "people familiar with the plan"); the record keeps the match as a span.
The other sentences of a snippet are not labelled by this corpus (all markers unknown), so they are
skipped and counted, not yielded as negatives. doc_id = the snippet's link (unique per row).
"""

from __future__ import annotations

import csv
import html
import logging
import re
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

from redflags.scoring.segment import iter_sentences
from redflags.training.corpora.registry import CorpusError, Skips, register
from redflags.training.records import Record, Span, labels

log = logging.getLogger(__name__)

NAME = "anonymous_source_tracker"
MARKER = "unverifiable_sourcing"
COLUMNS = ("source", "phrase", "title", "link", "content", "date_entered", "date_published")

_BREAK = re.compile(r"\s*<br>\s*", re.IGNORECASE)
_TAG = re.compile(r"</?b>", re.IGNORECASE)
# Search snippets are cut mid-sentence and marked with "..." (often after a no-break space).
_ELLIPSIS_START = re.compile(r"^\s*(\.\.\.|…)\s*")
_ELLIPSIS_END = re.compile(r"\s*(\.\.\.|…)\s*$")


def clean_snippet(content: str) -> tuple[str, list[tuple[int, int]]]:
    """Snippet text without markup, and the offsets of the bold (matched) parts in it.

    `<br>` + newline is a search-engine line wrap, not a paragraph: it becomes a space. Leading and
    trailing "..." truncation marks are removed. HTML entities are unescaped.
    """
    content = _BREAK.sub(" ", content).replace("\xa0", " ").replace("\n", " ")
    out: list[str] = []
    bold: list[tuple[int, int]] = []
    pos, open_at = 0, None
    for m in _TAG.finditer(content):
        out.append(html.unescape(content[pos : m.start()]))
        here = sum(len(x) for x in out)
        if m.group().lower() == "<b>":
            open_at = here
        elif open_at is not None:
            bold.append((open_at, here))
            open_at = None
        pos = m.end()
    out.append(html.unescape(content[pos:]))
    text = "".join(out)
    lead = _ELLIPSIS_START.match(text)
    cut = lead.end() if lead else 0
    tail = _ELLIPSIS_END.search(text)
    end = tail.start() if tail else len(text)
    text = text[cut:end]
    bold = [(max(s - cut, 0), min(e - cut, len(text))) for s, e in bold if e - cut > 0 and s - cut < len(text)]
    merged: list[tuple[int, int]] = []
    for s, e in bold:
        if s >= e:
            continue
        if merged and not text[merged[-1][1] : s].strip():  # "<b>people</b> <br>\n<b>familiar</b>"
            merged[-1] = (merged[-1][0], e)
        else:
            merged.append((s, e))
    return text, merged


def snippet_records(content: str, doc_id: str, phrase: str, path: Path, line: int, skips: Skips) -> Iterator[Record]:
    """Positive records for the sentences of one snippet that hold the matched phrase."""
    text, bold = clean_snippet(content)
    if not bold:
        skips.skip(path, line, "snippet without a <b> match")
        return
    for sent in iter_sentences(text):
        start, end = sent.start, sent.end
        spans = [Span(max(s, start) - start, min(e, end) - start, phrase, MARKER) for s, e in bold if s < end and e > start]
        if not spans:
            skips.skip(path, line, "snippet sentence without the matched phrase (unlabelled)")
            continue
        yield Record(text[start:end], NAME, doc_id, labels(**{MARKER: 1}), spans)


@register(
    NAME,
    informs=(MARKER,), span_markers=(MARKER,),
    kind="weak",
    licence="not stated (excerpts of copyrighted news search results; Mark Schaver, Anonymous Source Tracker)",
    required=("anon_snippets.tsv",),
)
def load(folder: Path, skips: Skips) -> Iterable[Record]:
    """Yield weak-positive sentences of every snippet (positives only: the corpus has no negatives)."""
    path = folder / "anon_snippets.tsv"
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh, delimiter="\t")
        missing = set(COLUMNS) - set(reader.fieldnames or ())
        if missing:
            raise CorpusError(f"{path}:1: header lacks columns {sorted(missing)}")
        seen: set[str] = set()
        for row in reader:
            line = reader.line_num  # the physical line where the row ends (content spans lines)
            link, content = (row.get("link") or "").strip(), row.get("content") or ""
            if not link or not content.strip():
                skips.skip(path, line, "row without link or content")
                continue
            if link in seen:
                skips.skip(path, line, "duplicate link")
                continue
            seen.add(link)
            phrase = (row.get("phrase") or "").strip().strip('"')
            yield from snippet_records(content, link, phrase, path, line, skips)
