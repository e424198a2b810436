"""Sentence segmentation with character offsets, for corpora that ship running text (PolNeAR, snippets)."""

from __future__ import annotations

import re
from functools import lru_cache

import pysbd

_NON_SPACE = re.compile(r"\S")


@lru_cache(maxsize=1)
def _segmenter() -> pysbd.Segmenter:
    return pysbd.Segmenter(language="en", clean=False, char_span=True)


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence of `text`, whitespace trimmed, covering every non-space character.

    Line breaks are paragraph breaks (news texts here put one paragraph per line), so no sentence
    crosses one. pysbd gives the sentence starts; a sentence runs to the next start, so text that
    pysbd fails to place (it can lose a fragment when it normalises) is never dropped.
    """
    spans: list[tuple[int, int]] = []
    pos = 0
    for line in text.split("\n"):
        if line.strip():
            starts = sorted({0} | {s.start for s in _segmenter().segment(line) if 0 <= s.start < len(line)})
            for a, b in zip(starts, starts[1:] + [len(line)]):
                spans.extend(_trim(line, a, b, pos))
        pos += len(line) + 1
    return spans


def _trim(line: str, a: int, b: int, base: int) -> list[tuple[int, int]]:
    piece = line[a:b]
    first = _NON_SPACE.search(piece)
    if first is None:
        return []
    end = len(piece.rstrip())
    return [(base + a + first.start(), base + a + end)]
