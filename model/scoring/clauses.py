"""Cut an over-long sentence into pieces of bounded length, at clause boundaries where it has them.

A "sentence" of many thousand characters (a scraped page or a transcript without full stops, a
run-on list) is no sentence a reader would flag, and the model reads a window of ~100 tokens at a
time: the segmenter therefore never returns a sentence longer than `MAX_SENTENCE` characters. A
longer one is cut, each piece as long as the limit allows, at the last of these in the second half
of the allowed length, in this order of preference:

1. after a semicolon, a colon or a dash between spaces;
2. after a comma;
3. before a conjunction or relative word ("and", "but", "which", ...);
4. at a space;
5. anywhere (a "word" of more than half the limit), but never before a combining mark.

Each cut looks at a bounded stretch of text, so cutting is linear in the length of the sentence.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Iterator

# Longest sentence the segmenter returns, in characters (about 200 tokens: two or three model windows).
MAX_SENTENCE = 1000

_BOUNDARIES = (
    re.compile(r"[;:]\s+|\s[-\u2013\u2014]{1,2}\s+"),
    re.compile(r",\s+"),
    re.compile(r"\s+(?=(?:and|but|or|nor|yet|so|because|while|whereas|although|though|which|who|whom|whose|"
               r"where|when|unless|until|since)\s)", re.IGNORECASE),
    re.compile(r"\s+"),
)


def first_cut(text: str, start: int, end: int, limit: int = MAX_SENTENCE) -> int:
    """Where the first piece of text[start:end] ends (`end` when the span is not longer than `limit`)."""
    if end - start <= limit:
        return end
    lo, hi = start + limit // 2, start + limit
    stretch = text[lo:hi]
    for rx in _BOUNDARIES:
        last = None
        for last in rx.finditer(stretch):
            pass
        if last is not None:
            return lo + last.end()
    cut = hi
    while cut > lo and unicodedata.combining(text[cut]):
        cut -= 1
    return cut


def pieces(text: str, start: int, end: int, limit: int = MAX_SENTENCE) -> Iterator[tuple[int, int]]:
    """(start, end) of the pieces of text[start:end], each at most `limit` characters, in order."""
    while end - start > limit:
        cut = first_cut(text, start, end, limit)
        yield start, cut
        start = cut
    yield start, end
