"""News annotations: whole articles of PolNeAR and PTC labelled sentence by sentence to the codebook (gold, U/H/S).

The labels live in this repository (training/annotations/news.jsonl.gz: offsets, labels, evidence,
borderline flags, annotation pass; never text, see docs/ANNOTATION.md); the texts are read from
the corpora in the data directory (news_articles.article_text). Each line also stores a short hash of
its sentence, so a text that no longer matches its offsets stops the loader with an error naming the
document and the offsets instead of silently labelling other words.

Per article, the adjudicated pass is used where the article was annotated twice, pass `a` otherwise.
doc_id is "<source corpus>/<article id>"; the split is the one stored with the article (the source
corpus's own split of that article, see news_annotations.sample_articles). Evidence spans become
record spans (label = the framing kind where one was given, else the marker).
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from redflags.markers import MARKERS
from redflags.training.corpora._text import json_lines
from redflags.training.corpora.news_articles import SOURCES, article_text
from redflags.training.corpora.registry import CorpusError, Skips, register
from redflags.training.records import Record, Span

NAME = "news_annotations"
# gzip-compressed: 15,000 sentences of offsets and labels are 6.9 MB as text, too big for the repository
ANNOTATIONS = Path(__file__).resolve().parents[1] / "annotations" / "news.jsonl.gz"
ARTICLES = ANNOTATIONS.parent / "articles.jsonl"  # the annotated articles: split, sample, round
_KEYS = {"corpus", "doc_id", "split", "sample", "pass", "sentence", "start", "end", "sha", "labels", "evidence", "borderline"}


def sentence_hash(text: str) -> str:
    """The short hash stored per sentence (not the text): detects a changed article."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:12]


def _fingerprint() -> str:
    path = ANNOTATIONS
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16] if path.is_file() else "missing"


def article_rounds(path: Path | None = None) -> dict[str, int]:
    """The annotation round of every listed article ("<corpus>/<doc_id>" -> round; 1 when unmarked)."""
    path = path if path is not None else ARTICLES
    out: dict[str, int] = {}
    for where, row in json_lines(path):
        n = row.get("round", 1) if isinstance(row, dict) else None
        if not isinstance(row, dict) or not {"corpus", "doc_id"} <= set(row) or not isinstance(n, int):
            raise CorpusError(f"{where}: expected an object with corpus, doc_id and an integer round")
        out[f"{row['corpus']}/{row['doc_id']}"] = n
    return out


def in_rounds(records: list[Record], rounds: list[int], path: Path | None = None) -> list[Record]:
    """The records of articles annotated in `rounds`; an article missing from the list is an error."""
    round_of = article_rounds(path)
    unlisted = sorted({r.doc_id for r in records} - set(round_of))
    if unlisted:
        raise CorpusError(f"{path or ARTICLES}: {len(unlisted)} annotated articles are not listed, e.g. {unlisted[0]}")
    return [r for r in records if round_of[r.doc_id] in rounds]


def read_annotations(path: Path | None = None) -> list[dict[str, Any]]:
    """Every stored line, checked for shape; errors name the file and line."""
    path = path if path is not None else ANNOTATIONS
    if not path.is_file():
        raise CorpusError(f"{path}: the news annotations file is missing")
    rows = []
    for where, row in json_lines(path):
        if not isinstance(row, dict) or set(row) != _KEYS:
            raise CorpusError(f"{where}: expected the keys {sorted(_KEYS)}")
        if row["corpus"] not in SOURCES or row["pass"] not in ("a", "b", "adjudicated"):
            raise CorpusError(f"{where}: unknown corpus {row['corpus']!r} or pass {row['pass']!r}")
        if set(row["labels"]) != set(MARKERS) or any(v not in (0, 1) for v in row["labels"].values()):
            raise CorpusError(f"{where}: labels must give 0 or 1 for each of {', '.join(MARKERS)}")
        if not (isinstance(row["start"], int) and isinstance(row["end"], int) and 0 <= row["start"] < row["end"]):
            raise CorpusError(f"{where}: bad sentence offsets {row['start']!r}-{row['end']!r}")
        for ev in row["evidence"]:
            if ev.get("marker") not in MARKERS or not row["start"] <= ev.get("start", -1) < ev.get("end", -1) <= row["end"]:
                raise CorpusError(f"{where}: evidence {ev} is not a marker span inside the sentence")
        row["_where"] = where
        rows.append(row)
    return rows


def chosen_pass(rows: list[dict[str, Any]]) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """Per article, its sentences from the adjudicated pass if it has one, else from pass a."""
    by_pass: dict[tuple[str, str], dict[str, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    for r in rows:
        by_pass[(r["corpus"], r["doc_id"])][r["pass"]].append(r)
    out = {}
    for key, passes in by_pass.items():
        use = passes.get("adjudicated") or passes.get("a")
        if use:
            out[key] = sorted(use, key=lambda r: r["start"])
    return out


def article_records(corpus: str, doc_id: str, rows: list[dict[str, Any]], text: str) -> Iterator[Record]:
    """Records of one article, every sentence checked against the stored hash."""
    for r in rows:
        s, e = r["start"], r["end"]
        sentence = text[s:e] if e <= len(text) else None
        if sentence is None or sentence_hash(sentence) != r["sha"]:
            raise CorpusError(
                f"{r['_where']}: the text of {corpus}/{doc_id} no longer matches the annotation at offsets {s}-{e} "
                f"(article is {len(text)} characters); the annotations were made on another version of the corpus"
            )
        spans = [Span(ev["start"] - s, ev["end"] - s, ev.get("kind", ev["marker"]), ev["marker"]) for ev in r["evidence"]]
        yield Record(sentence, NAME, f"{corpus}/{doc_id}", dict(r["labels"]), spans, split=r["split"])


@register(
    NAME,
    informs=MARKERS, span_markers=MARKERS,
    kind="gold",
    licence="labels: this project (Apache-2.0); texts: those of polnear_attribution and ptc_semeval2020_task11",
    required=SOURCES,
    folder=".",
    replaces=SOURCES,
    fingerprint=_fingerprint,
)
def load(folder: Path, skips: Skips) -> Iterator[Record]:
    """Every annotated sentence, joined to its article text in the data directory."""
    for (corpus, doc_id), rows in sorted(chosen_pass(read_annotations()).items()):
        yield from article_records(corpus, doc_id, rows, article_text(corpus, doc_id, folder))
