"""PTC (SemEval-2020 Task 11): propaganda-technique spans in news articles -> sensational_framing (gold).

Unit: one line of an article file (the organisers' NLTK sentence split), the title line included
(titles are annotated like any other line, and redflags scores headlines too). doc_id = article id.
A line is positive when a span of one of the SENSATIONAL_TECHNIQUES overlaps it by at least one
character (LABELS.md: loaded words, exaggeration/minimisation, fear appeals, flag-waving,
name-calling, slogans); every other line is negative, including lines that carry only other
techniques (Doubt, Repetition, Whataboutism...: propaganda, but not sensational wording).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from redflags.training.corpora.registry import CorpusError, Skips, register
from redflags.training.records import Record, Span, labels

log = logging.getLogger(__name__)

NAME = "ptc_semeval2020_task11"
MARKER = "sensational_framing"

SENSATIONAL_TECHNIQUES = frozenset(
    {
        "Loaded_Language",
        "Exaggeration,Minimisation",
        "Appeal_to_fear-prejudice",
        "Flag-Waving",
        "Name_Calling,Labeling",
        "Slogans",
    }
)
OTHER_TECHNIQUES = frozenset(
    {
        "Repetition",
        "Doubt",
        "Causal_Oversimplification",
        "Appeal_to_Authority",
        "Black-and-White_Fallacy",
        "Thought-terminating_Cliches",
        "Whataboutism,Straw_Men,Red_Herring",
        "Bandwagon,Reductio_ad_hitlerum",
    }
)

# Byte-order marks and zero-width characters at line edges (a few articles start with U+FEFF; the
# label offsets count it as a character, so it is trimmed, not removed before offsets are read).
_EDGE = " \t\r\ufeff\u200b\u200c\u200d\u202c\u00a0"
_ARTICLE = re.compile(r"^article(\d+)\.txt$")


def read_labels(path: Path, article_id: str, text_len: int, skips: Skips) -> list[tuple[str, int, int]]:
    """Rows `article_id<TAB>technique<TAB>start<TAB>end` of one .task-flc-tc.labels file."""
    rows: list[tuple[str, int, int]] = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split("\t")
        if len(parts) != 4:
            raise CorpusError(f"{path}:{n}: expected 4 tab-separated fields, got {len(parts)}: {line[:80]!r}")
        aid, technique, start, end = parts
        if aid != article_id:
            raise CorpusError(f"{path}:{n}: article id {aid!r} does not match the file name ({article_id})")
        try:
            s, e = int(start), int(end)
        except ValueError:
            raise CorpusError(f"{path}:{n}: offsets {start!r} {end!r} are not integers") from None
        if not 0 <= s < e <= text_len:
            raise CorpusError(f"{path}:{n}: span {s}-{e} lies outside the article ({text_len} characters)")
        if technique not in SENSATIONAL_TECHNIQUES and technique not in OTHER_TECHNIQUES:
            skips.skip(path, n, f"unknown technique {technique!r}")
            continue
        rows.append((technique, s, e))
    return rows


def article_records(text: str, spans: list[tuple[str, int, int]], article_id: str) -> Iterator[Record]:
    """One record per non-empty line; offsets of the sensational spans made relative to the line."""
    pos = 0
    for line in text.split("\n"):
        stripped = line.strip(_EDGE)
        if stripped:
            start = pos + len(line) - len(line.lstrip(_EDGE))
            end = start + len(stripped)
            rec_spans = [
                Span(max(s, start) - start, min(e, end) - start, tech, MARKER)
                for tech, s, e in spans
                if tech in SENSATIONAL_TECHNIQUES and s < end and e > start
            ]
            yield Record(
                text=stripped,
                corpus=NAME,
                doc_id=article_id,
                labels=labels(**{MARKER: int(bool(rec_spans))}),
                spans=sorted(rec_spans, key=lambda x: (x.start, x.end, x.label)),
            )
        pos += len(line) + 1


@register(
    NAME,
    informs=(MARKER,), span_markers=(MARKER,),
    kind="gold",
    licence="not stated (third-party news texts; cite Da San Martino et al. 2019, 2020)",
    required=("train-articles", "train-labels-task-flc-tc"),
)
def load(folder: Path, skips: Skips) -> Iterable[Record]:
    """Yield one record per article line of the training split (the only split with gold labels here)."""
    articles = sorted((folder / "train-articles").glob("article*.txt"))
    if not articles:
        raise CorpusError(f"{folder / 'train-articles'}: no article*.txt files")
    for path in articles:
        m = _ARTICLE.match(path.name)
        if not m:
            skips.skip(path, None, "unexpected file name")
            continue
        article_id = m.group(1)
        # newline="" keeps "\r" so offsets stay those of the file (none of the files has one today).
        with path.open(encoding="utf-8", newline="") as fh:
            text = fh.read()
        label_path = folder / "train-labels-task-flc-tc" / f"article{article_id}.task-flc-tc.labels"
        if not label_path.exists():
            raise CorpusError(f"{label_path}: labels file missing for {path}")
        yield from article_records(text, read_labels(label_path, article_id, len(text), skips), article_id)
