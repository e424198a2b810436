"""SemEval-2007 Task 14 Affective Text (Strapparava & Mihalcea 2007): emotion intensities of news headlines.

Markers: sensational_framing only, as a proxy (fear appeals / angry wording). Read from the original files:
`affectivetext_test.xml` (headlines) and the six annotators' `Annotations/*.txt`
(`id anger disgust fear joy sadness surprise valence`, emotions 0-100); scores are averaged per headline.
Binarisation on s = max(mean fear, mean anger):
  s >= 50 -> 1 (the task's own coarse cut for an emotion being present; ~90 headlines),
  s <  10 -> 0 (fear and anger essentially absent; ~500 headlines),
  10 <= s < 50 -> skipped as ambiguous (counted; ~410 headlines).
Caveat: raters scored the emotion of the *event* as much as of the wording ("7 dead in apartment building
fire" rates high), which the codebook calls neutral reporting; treat this corpus as a weak signal.
doc_id: one per headline, `affective_text_semeval2007/<id>`.
"""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Iterator

from redflags.training.corpora._text import read_lines
from redflags.training.corpora.registry import CorpusError, Skips, register
from redflags.training.records import Record, labels

NAME = "affective_text_semeval2007"
XML = "affectivetext_test.xml"
ANNOTATIONS = "Annotations"
EMOTIONS = ("anger", "disgust", "fear", "joy", "sadness", "surprise", "valence")
POSITIVE_AT = 50.0
NEGATIVE_BELOW = 10.0
_INSTANCE = re.compile(r'<instance id="(\d+)">(.*)</instance>')


def read_headlines(path: Path) -> dict[str, tuple[int, str]]:
    """id -> (line, headline) from the XML (one `<instance>` per line; entities unescaped)."""
    out: dict[str, tuple[int, str]] = {}
    for n, line in read_lines(path):
        m = _INSTANCE.search(line)
        if m:
            out[m.group(1)] = (n, html.unescape(m.group(2)).strip())
        elif "<instance" in line:
            raise CorpusError(f"{path}:{n}: malformed <instance> line")
    if not out:
        raise CorpusError(f"{path}: no <instance> elements")
    return out


def read_scores(folder: Path) -> dict[str, list[dict[str, float]]]:
    """id -> one score dict per annotator file."""
    files = sorted(folder.glob("*.txt"))
    if not files:
        raise CorpusError(f"{folder}: no annotator .txt files")
    scores: dict[str, list[dict[str, float]]] = {}
    for path in files:
        for n, line in read_lines(path):
            if not line.strip():
                continue
            parts = line.split()
            try:
                values = [float(p) for p in parts[1:]]
            except ValueError:
                raise CorpusError(f"{path}:{n}: non-numeric score in {line!r}") from None
            if len(values) != len(EMOTIONS):
                raise CorpusError(f"{path}:{n}: expected id + {len(EMOTIONS)} scores, got {len(parts)} fields")
            scores.setdefault(parts[0], []).append(dict(zip(EMOTIONS, values)))
    return scores


def binarise(mean_fear: float, mean_anger: float) -> int | None:
    """1, 0, or None for the ambiguous band."""
    s = max(mean_fear, mean_anger)
    if s >= POSITIVE_AT:
        return 1
    if s < NEGATIVE_BELOW:
        return 0
    return None


@register(
    NAME, informs=("sensational_framing",), kind="proxy", licence="not stated", required=(XML, ANNOTATIONS)
)
def load(folder: Path, skips: Skips) -> Iterator[Record]:
    """Headlines with clearly high or clearly absent fear/anger."""
    xml_path = folder / XML
    headlines = read_headlines(xml_path)
    scores = read_scores(folder / ANNOTATIONS)
    for hid, (line, text) in headlines.items():
        rows = scores.get(hid)
        if not rows:
            skips.skip(xml_path, line, "headline has no annotator scores")
            continue
        if not text:
            skips.skip(xml_path, line, "empty headline")
            continue
        fear = sum(r["fear"] for r in rows) / len(rows)
        anger = sum(r["anger"] for r in rows) / len(rows)
        label = binarise(fear, anger)
        if label is None:
            skips.skip(xml_path, line, f"max(fear, anger) in ambiguous band [{NEGATIVE_BELOW}, {POSITIVE_AT})")
            continue
        yield Record(text, NAME, f"{NAME}/{hid}", labels(sensational_framing=label))
