"""The text the model reads: a normalised copy of a sentence, with a map back to the original characters.

Text can look the same to a reader and differ for the model: a Cyrillic "а" in "mаy", full-width or
mathematical-bold letters, a zero-width space inside a word. The model therefore reads a copy in which

- invisible format characters (Unicode category Cf: zero-width space and joiners, the byte-order
  mark, soft hyphens, bidirectional controls, tag characters) are removed;
- the rest is NFKC-normalised (full-width and mathematical letters, ligatures, superscripts and
  non-breaking spaces become their plain forms), except the ellipsis "…": that is ordinary news
  typography, which the model learned as one token (as "...", 25 of ~48,000 news sentences changed
  a flag);
- look-alike letters of other scripts (`CONFUSABLES`: Cyrillic, Greek, Armenian) become their Latin
  twins inside a word that is otherwise Latin. A word written wholly in another script stays as it is.

Every character of the copy remembers the [start, end) range of original characters it came from, so
token offsets, and the evidence spans built from them, point into the original text.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Optional

import numpy as np

# Letters of other scripts that a reader cannot tell from a Latin letter in ordinary fonts, one
# character for one (so folding keeps offsets). Written out by hand from the glyphs, not a full list.
CONFUSABLES: dict[str, str] = {
    # Cyrillic
    "а": "a", "в": "b", "е": "e", "ё": "ë", "о": "o", "р": "p", "с": "c", "у": "y", "х": "x", "і": "i", "ї": "ï",
    "ј": "j", "ѕ": "s", "һ": "h", "ԁ": "d", "ԛ": "q", "ԝ": "w", "ӏ": "l",
    "А": "A", "В": "B", "Е": "E", "Ё": "Ë", "К": "K", "М": "M", "Н": "H", "О": "O", "Р": "P", "С": "C",
    "Т": "T", "У": "Y", "Х": "X", "І": "I", "Ї": "Ï", "Ј": "J", "Ѕ": "S", "Ԁ": "D", "Ԛ": "Q", "Ԝ": "W", "Ӏ": "I",
    # Greek
    "ο": "o", "ν": "v", "ρ": "p", "κ": "k", "ι": "i", "υ": "u", "χ": "x", "α": "a", "ϲ": "c", "ϳ": "j",
    "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I", "Κ": "K", "Μ": "M", "Ν": "N", "Ο": "O",
    "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X", "Ϲ": "C",
    # Armenian
    "օ": "o", "ս": "u", "հ": "h", "ո": "n", "զ": "q", "ց": "g",
    # Latin letters from phonetics that pass for plain ones
    "ı": "i", "ȷ": "j", "ɑ": "a", "ɡ": "g", "ɩ": "i", "ʏ": "y",
}


@dataclass(frozen=True)
class Normalised:
    """A normalised copy of a text: `starts[i]`, `ends[i]` is the original range of copy character i
    (both None when the copy equals the original)."""

    text: str
    starts: Optional[np.ndarray] = None
    ends: Optional[np.ndarray] = None

    def span(self, a: int, b: int) -> tuple[int, int]:
        """The original [start, end) of copy characters [a, b); an empty span (a special token) stays as it is."""
        if self.starts is None or self.ends is None or b <= a:
            return a, b
        return int(self.starts[a]), int(self.ends[b - 1])


# Characters NFKC would rewrite that stay as they are (see the module docstring).
_KEEP = frozenset("\u2026")
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
_CONFUSABLE = re.compile("[" + "".join(CONFUSABLES) + "]")


def _continues(c: str) -> bool:
    """Whether `c` belongs to the character before it under normalisation (a combining mark, a Hangul
    vowel or final, or a character whose compatibility form starts with a combining mark)."""
    if c.isascii():
        return False
    if unicodedata.combining(c) or unicodedata.category(c).startswith("M"):
        return True
    if 0x1160 <= ord(c) <= 0x11FF or 0xD7B0 <= ord(c) <= 0xD7FF:
        return True
    first = unicodedata.normalize("NFKC", c)[:1]
    return bool(first) and unicodedata.combining(first) != 0


def _is_latin(c: str) -> bool:
    return ("a" <= c.lower() <= "z") or unicodedata.name(c, "").startswith("LATIN")


def _fold(copy: str) -> str:
    """`copy` with look-alike letters folded to Latin in the words that are otherwise Latin."""
    chars: Optional[list[str]] = None
    done = -1
    for hit in _CONFUSABLE.finditer(copy):
        if hit.start() < done:
            continue  # in a word already seen
        a = b = hit.start()
        while a > 0 and copy[a - 1].isalpha():
            a -= 1
        while b < len(copy) and copy[b].isalpha():
            b += 1
        done = b
        word = copy[a:b]
        latin = [_is_latin(c) for c in word]
        if any(lat and c not in CONFUSABLES for c, lat in zip(word, latin)) and all(
            lat or c in CONFUSABLES for c, lat in zip(word, latin)
        ):
            chars = list(copy) if chars is None else chars
            chars[a:b] = [CONFUSABLES.get(c, c) for c in word]
    return copy if chars is None else "".join(chars)


@lru_cache(maxsize=8192)
def _changes(c: str) -> bool:
    """Whether the non-ASCII character `c` starts an edit of the copy: a character NFKC rewrites, or
    one that combines with the character before it."""
    return c not in _KEEP and (unicodedata.normalize("NFKC", c) != c or _continues(c))


def _edits(text: str) -> list[tuple[int, int, Optional[str]]]:
    """The NFKC form of `text` as pieces (start, end, replacement); replacement None keeps text[start:end].
    Only the clusters around characters that change are normalised (news text is mostly stable)."""
    pieces: list[tuple[int, int, Optional[str]]] = []
    pos = 0  # start of the run of unchanged characters not yet in `pieces`
    for m in _NON_ASCII.finditer(text):
        i = m.start()
        if i < pos or not _changes(text[i]):
            continue
        a = i - 1 if i > pos and _continues(text[i]) else i  # a combining mark takes its base with it
        j = i + 1
        while j < len(text) and not text[j].isascii() and _continues(text[j]):
            j += 1
        if a > pos:
            pieces.append((pos, a, None))
        pieces.append((a, j, unicodedata.normalize("NFKC", text[a:j])))
        pos = j
    if pos < len(text):
        pieces.append((pos, len(text), None))
    return pieces


def _offsets(pieces: list[tuple[int, int, Optional[str]]]) -> tuple[np.ndarray, np.ndarray]:
    """Per copy character, the [start, end) of the original characters it came from (vectorised)."""
    a = np.array([p[0] for p in pieces], dtype=np.int64)
    b = np.array([p[1] for p in pieces], dtype=np.int64)
    same = np.array([p[2] is None for p in pieces], dtype=bool)
    n = np.array([p[1] - p[0] if p[2] is None else len(p[2]) for p in pieces], dtype=np.int64)
    piece = np.repeat(np.arange(len(pieces)), n)
    within = np.arange(int(n.sum())) - np.repeat(np.cumsum(n) - n, n)
    starts = a[piece] + np.where(same[piece], within, 0)
    ends = np.where(same[piece], starts + 1, b[piece])
    return starts, ends


def _without_format(text: str) -> tuple[str, Optional[np.ndarray]]:
    """`text` without its format characters, and the original index of each character left (None: none removed)."""
    found = {c for c in set(_NON_ASCII.findall(text)) if unicodedata.category(c) == "Cf"}
    if not found:
        return text, None
    codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    kept = np.flatnonzero(~np.isin(codes, np.array([ord(c) for c in found], dtype=np.uint32)))
    return re.sub("[" + re.escape("".join(found)) + "]", "", text), kept


def normalise(text: str) -> Normalised:
    """The copy of `text` the model reads (see the module docstring), with its map to `text`."""
    if text.isascii():
        return Normalised(text)
    # Format characters go first, so that NFKC composes across them ("e", ZWSP, combining acute: "é").
    bare, kept = _without_format(text)
    pieces = _edits(bare)
    copy = _fold("".join(bare[a:b] if out is None else out for a, b, out in pieces))
    if copy == text:
        return Normalised(text)
    starts, ends = _offsets(pieces)
    if kept is not None:
        starts, ends = kept[starts], kept[ends - 1] + 1
    return Normalised(copy, starts, ends)
