"""Sentence-boundary precision and recall of `redflags.segment` on real articles.

    python -m redflags.eval.segmentation [--data-dir DIR] [--json OUT]

Neither corpus marks every sentence boundary, but the layout of their files marks some for sure.
What counts (documented in docs/SEGMENTATION.md):

- **PTC** (`ptc_semeval2020_task11/train-articles`): title, blank line, then one sentence (NLTK's
  split) or one paragraph per line. *Reference*: every line end is a boundary (the last line's end,
  the end of the article, is not counted). Lines with no letter or digit (NLTK's "." lines cut out of
  an ellipsis) are left out: the boundaries around them are unknown.
- **PolNeAR** (`polnear_attribution/{train,dev,annotator-training}/text`): paragraphs separated by
  blank lines, some hard-wrapped. *Reference*: every paragraph end is a boundary; single line breaks
  are unknown (hard wrap or new sentence).

A predicted boundary is the end of a segment that is not the article's last (segments: sentences and
skipped boilerplate lines, both end where their text ends). **Recall** = reference boundaries
predicted / reference boundaries. **Precision** is measured where the layout tells: a predicted
boundary at a reference boundary is right; one strictly inside a *single-sentence unit* is wrong; any
other is unknown and not counted. A unit (a PTC line, a PolNeAR paragraph) is single-sentence when no
sentence-final mark (``.!?…``, then closing quotes or brackets) is followed by white space inside it:
such a unit has no place where a sentence could end, so a boundary inside it splits a sentence.

Also counted: segments that cross a reference boundary (the "quote that swallows four lines" of
issue 11), and the longest such segment in lines.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

from redflags.scoring.segment import iter_segments

# A place inside a unit where a sentence could end: final mark, closing quotes/brackets, white space.
_CANDIDATE = re.compile(r"[.!?…][\"'”’»)\]]*\s+\S")


@dataclass
class Counts:
    """Boundary counts of one corpus."""

    articles: int = 0
    reference: int = 0  # reference boundaries
    found: int = 0  # reference boundaries predicted
    predicted: int = 0  # all predicted boundaries
    right: int = 0  # predicted at a reference boundary
    wrong: int = 0  # predicted strictly inside a single-sentence unit
    crossing: int = 0  # segments that cross at least one reference boundary
    max_lines: int = 0  # most lines in one segment that crosses a reference boundary
    examples: list[str] = field(default_factory=list)  # ids of articles with a crossing (at most 10)

    @property
    def recall(self) -> float:
        return self.found / self.reference if self.reference else 0.0

    @property
    def precision(self) -> float:
        return self.right / (self.right + self.wrong) if self.right + self.wrong else 0.0

    def to_dict(self) -> dict:
        return {**asdict(self), "recall": round(self.recall, 4), "precision": round(self.precision, 4)}


def _lines(text: str) -> Iterator[tuple[int, int]]:
    """(start, end) of each line, trailing white space trimmed."""
    pos = 0
    for line in text.splitlines(keepends=True):
        body = line.rstrip()
        yield pos, pos + len(body)
        pos += len(line)


def ptc_units(text: str) -> tuple[set[int], list[tuple[int, int]]]:
    """PTC: reference boundaries (line ends) and units (lines). Punctuation-only lines are neither."""
    lines = [(s, e) for s, e in _lines(text) if any(c.isalnum() for c in text[s:e])]
    return {e for _, e in lines[:-1]}, lines


def polnear_units(text: str) -> tuple[set[int], list[tuple[int, int]]]:
    """PolNeAR: reference boundaries (paragraph ends) and units (paragraphs)."""
    paras: list[tuple[int, int]] = []
    start = end = None
    for s, e in _lines(text):
        if text[s:e].strip():
            if start is None:
                start = s + len(text[s:e]) - len(text[s:e].lstrip())
            end = e
        elif start is not None:
            paras.append((start, end))  # type: ignore[arg-type]
            start = None
    if start is not None:
        paras.append((start, end))  # type: ignore[arg-type]
    return {e for _, e in paras[:-1]}, paras


def measure_article(text: str, reference: set[int], units: list[tuple[int, int]], counts: Counts, name: str) -> None:
    """Add one article's boundaries to `counts`."""
    segments = list(iter_segments(text))
    predicted = {s.end for s in segments[:-1]}
    single = [(a, b) for a, b in units if not _CANDIDATE.search(text[a:b].strip())]
    counts.articles += 1
    counts.reference += len(reference)
    counts.found += len(reference & predicted)
    counts.predicted += len(predicted)
    for p in predicted:
        if p in reference:
            counts.right += 1
        elif any(a < p < b for a, b in single):
            counts.wrong += 1
    for s in segments:
        crossed = [r for r in reference if s.start < r < s.end]
        if crossed:
            counts.crossing += 1
            counts.max_lines = max(counts.max_lines, text.count("\n", s.start, s.end) + 1)
            if name not in counts.examples and len(counts.examples) < 10:
                counts.examples.append(name)


def _texts(folders: Iterable[Path]) -> Iterator[tuple[str, str]]:
    for folder in folders:
        for path in sorted(folder.glob("*.txt")):
            yield path.stem, path.read_text(encoding="utf-8")


def measure(data_dir: Path) -> dict[str, Counts]:
    """Counts per corpus (corpora whose folder is missing are left out)."""
    out: dict[str, Counts] = {}
    ptc = data_dir / "ptc_semeval2020_task11" / "train-articles"
    if ptc.is_dir():
        out["ptc"] = Counts()
        for name, text in _texts([ptc]):
            measure_article(text, *ptc_units(text), out["ptc"], name)
    # (the folder layout of news_articles.polnear_files, without its check of PolNeAR's annotation files:
    # segmentation needs the texts only)
    polnear = [data_dir / "polnear_attribution" / p / "text" for p in ("train", "dev", "annotator-training")]
    if any(p.is_dir() for p in polnear):
        out["polnear"] = Counts()
        for name, text in _texts(p for p in polnear if p.is_dir()):
            measure_article(text, *polnear_units(text), out["polnear"], name)
    return out


def main(argv: list[str] | None = None) -> int:
    from redflags.training.corpora.registry import default_data_dir

    parser = argparse.ArgumentParser(prog="python -m redflags.eval.segmentation", description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", type=Path, default=None, help="corpora folder (default $REDFLAGS_DATA or ../shared/data)")
    parser.add_argument("--json", type=Path, default=None, help="also write the counts to this JSON file")
    args = parser.parse_args(argv)
    data_dir = args.data_dir or default_data_dir()
    results = measure(data_dir)
    if not results:
        print(f"no PTC or PolNeAR articles under {data_dir} (set --data-dir or $REDFLAGS_DATA)", file=sys.stderr)
        return 1
    print(f"{'corpus':8} {'articles':>8} {'ref':>6} {'recall':>7} {'judged':>7} {'precision':>9} {'crossing':>8} {'max lines':>9}")
    for name, c in results.items():
        print(f"{name:8} {c.articles:8d} {c.reference:6d} {c.recall:7.3f} {c.right + c.wrong:7d} {c.precision:9.3f} "
              f"{c.crossing:8d} {c.max_lines:9d}")
    if args.json:
        args.json.write_text(json.dumps({k: v.to_dict() for k, v in results.items()}, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
