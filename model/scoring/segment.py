"""Split an article into sentences with exact character offsets into the original string.

Sentence boundaries inside prose come from pysbd (a maintained, rule-based segmenter with an
English abbreviation list). Around it, this module only handles the *layout* of a text, which
pysbd does not see:

- blank lines separate paragraphs: no sentence crosses one;
- a heading line (markdown ``#``, Title Case or ALL CAPS, or a short line without final
  punctuation before a longer line) is its own sentence, even without a full stop; inside a
  hard-wrapped paragraph only markdown and ALL CAPS headings count (a wrapped line can look like
  a Title Case heading), so there a heading needs a blank line after it;
- each list item (``-``, ``*``, ``•``, ``1.``, ``2)`` ...) starts its own sentence;
- a single line break inside a paragraph is read as a space, so "part of the U.S.\\nEuropean
  Command" stays one sentence (pysbd alone would split at the line break);
- a paragraph of short lines (at least 3, median 24 characters or fewer: a list, a table, one word
  per line) is read one line at a time (inside a line, pysbd still splits sentences);
- a line that ends with a sentence-final mark (``.!?…``, then closing quotes or brackets) before a
  line that starts like a sentence (capital, digit, opening quote) ends a sentence, unless its last
  word is an abbreviation ("U.S.", "Dept.", "Jan.": pysbd's list, or a word with an inner full stop,
  or a single letter); in a paragraph that is not hard-wrapped a final colon does as well. Each line
  then reaches pysbd alone, so an unbalanced quote can no longer carry a sentence over the next
  lines (pysbd keeps text between quotes together);
- a boilerplate line (advertisement, newsletter prompt, photo or wire credit, "Read more"; the list
  is ``BOILERPLATE``) is a segment of its own, marked skipped: `iter_segments` yields it with its
  reason, `segment` and `iter_sentences` (what is scored and trained on) leave it out.

Long paragraphs are fed to pysbd in windows of about a thousand characters (pysbd slows down
super-linearly on long inputs); the last sentence of each window is carried into the next, so a
window edge never cuts a sentence. A sentence longer than `clauses.MAX_SENTENCE` characters (a line
without full stops, a run-on list) is cut at clause boundaries, else at spaces (clauses.py), so
segmenting stays linear in the length of the text. Every returned sentence satisfies
``text[s.start:s.end] == s.text`` and has no surrounding whitespace or invisible format characters
(zero-width spaces, byte-order marks, bidirectional controls): those alone never make a sentence.
"""
# Size: over 400 lines because the splitter's rules (pysbd, merges, boilerplate) only make sense together.

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterator

from redflags.scoring.clauses import MAX_SENTENCE, first_cut, pieces

log = logging.getLogger(__name__)

# pysbd is quadratic-ish in input length: windows of this many characters keep it near linear. A
# window holding one sentence only holds one of about MAX_SENTENCE characters, which is cut (clauses.py).
_WINDOW = MAX_SENTENCE
# A window ends at the next space within this many characters (else inside a very long "word").
_WORD_REACH = 100
# Characters that can end a sentence (or a clause that continues on the next line).
_FINAL = frozenset(".!?…:;,\"'”’»)]—–-")
# Bullets and enumerators that start a list item (layout, not sentence syntax).
_LIST_ITEM = re.compile(r"[ \t]*(?:[-*•·‣▪◦–—]|\(?\d{1,3}[.)])[ \t]+\S")
_WHITESPACE = re.compile(r"\s")
_CONTROLS = {c: " " for c in [*range(0x20), 0x7F, 0x85, 0x2028, 0x2029] if c != 0x09}
_MARKDOWN_HEADING = re.compile(r"[ \t]{0,3}#{1,6}[ \t]+\S")
# Lower-case words a heading practically never ends with but a hard-wrapped line often does.
_FUNCTION_WORDS = frozenset(
    "a an the of to in on at by for from with and or but that which who as is are was were be "
    "said says told than into over under about after before between".split()
)


# Whole lines that are page furniture, not article text: (reason, pattern matched against the
# stripped line, case-insensitive). Kept short and specific: a false match hides a real sentence.
BOILERPLATE: tuple[tuple[str, str], ...] = (
    ("advertisement", r"(?:advertisement|advertising|sponsored(?: content)?|ad)[.:]?"
                      r"|(?:advertisement\W+)?story continues below(?: advertisement)?.*"
                      r"|.{0,40}\W+story continues below"),
    ("newsletter prompt", r"sign up\b.*|thank you for signing up!?|subscribe(?: now| here| today| to\b.*| for\b.*)?[.!:]?"
                          r"|.{0,80}\bin your inbox\b.{0,80}|enter your email(?: address)?.*|email \*"),
    ("photo credit", r"\(?[\w ./&-]{0,40}\b(?:photo|photograph|image|picture)s?\b ?(?:credit)?\s*[:/].{0,80}"
                     r"|(?:photo|image|picture)s? (?:by|courtesy of)\b.{0,80}|credit:.{0,80}"
                     r"|[\w ./&-]{0,40}/getty images\)?\.?|getty images\.?"),
    ("wire credit", r"\(?(?:the )?(?:associated press|ap|reuters|afp|agence france-presse|upi)\)?\.?"),
    ("share prompt", r"share (?:this|on)\b.{0,40}|(?:click|tap) here\b.{0,80}|follow us on\b.{0,60}"),
    ("read more", r"(?:read|see) more\b.{0,120}|related(?: articles?| stories| coverage)?:.{0,120}|continue reading.{0,40}"),
)
_BOILERPLATE = [(reason, re.compile(rf"(?:{rx})", re.IGNORECASE)) for reason, rx in BOILERPLATE]


def _invisible(c: str) -> bool:
    """Whitespace or an invisible format character (zero-width space, byte-order mark, bidi control)."""
    return c.isspace() or (not c.isascii() and unicodedata.category(c) == "Cf")


def _strip(s: str) -> str:
    """`s` without whitespace and invisible format characters at its ends."""
    a, b = 0, len(s)
    while a < b and _invisible(s[a]):
        a += 1
    while b > a and _invisible(s[b - 1]):
        b -= 1
    return s[a:b]


def boilerplate_reason(line: str) -> str | None:
    """Why a whole line is boilerplate (a `BOILERPLATE` reason), or None for article text."""
    s = _strip(line)
    if not s or len(s) > 240:
        return None
    for reason, rx in _BOILERPLATE:
        if rx.fullmatch(s):
            return reason
    return None


@dataclass(frozen=True)
class Sentence:
    """One segment: its text and its [start, end) character offsets in the article.

    `skipped` is None for a sentence, or why the segment is not scored (a boilerplate line: see
    `BOILERPLATE`); only `iter_segments` yields skipped segments.
    """

    text: str
    start: int
    end: int
    skipped: str | None = None


def segment(text: str) -> list[Sentence]:
    """All sentences of `text`, in order (an empty list for empty or whitespace-only text)."""
    return list(iter_sentences(text))


def iter_sentences(text: str) -> Iterator[Sentence]:
    """Yield the sentences of `text` one by one (memory stays bounded for very long articles)."""
    for s in iter_segments(text):
        if s.skipped is None:
            yield s


def iter_segments(text: str) -> Iterator[Sentence]:
    """Yield the sentences and the skipped boilerplate lines of `text`, in text order."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    for start, end, skipped in _blocks(text):
        if skipped is not None:
            sent = _trimmed(text, start, end)
            if sent is not None:
                yield Sentence(sent.text, sent.start, sent.end, skipped)
        else:
            yield from _segment_block(text, start, end)


# --- layout: paragraphs, headings, list items -------------------------------------------------


def _lines(text: str) -> Iterator[tuple[int, int]]:
    """(start, end) of each line without its line break."""
    pos = 0
    for line in text.splitlines(keepends=True):
        body = line.rstrip("\r\n")
        yield pos, pos + len(body)
        pos += len(line)


def _is_heading(line: str, next_line: str | None, at_boundary: bool, wrapped: bool = False) -> bool:
    """Whether a line is a heading that ends a sentence without punctuation.

    In a hard-wrapped paragraph (`wrapped`), line lengths say nothing, and a wrapped line can look
    like a Title Case heading ("the Romanian Ministry of National"): only markdown and ALL CAPS
    headings count there.
    """
    s = line.strip()
    if _MARKDOWN_HEADING.match(line):
        return True
    if not s or s[-1] in _FINAL or not at_boundary or next_line is None:
        return False
    nxt = next_line.strip()
    if not nxt or not (nxt[0].isupper() or nxt[0].isdigit() or nxt[0] in "\"“‘'(["):
        return False  # the sentence carries on in lower case: a hard-wrapped line
    words = s.split()
    if words[-1].lower() in _FUNCTION_WORDS and not words[-1][0].isupper():
        return False
    long_words = [w for w in words if sum(c.isalpha() for c in w) > 3]
    title_case = len(words) >= 2 and bool(long_words) and all(w[0].isupper() for w in long_words)
    shouting = s.isupper() and any(c.isalpha() for c in s)
    # A hard-wrapped line is about as long as the next; a heading is short before a longer line.
    short_before_longer = len(words) <= 12 and len(s) < 0.7 * len(nxt)
    return shouting or (not wrapped and (title_case or short_before_longer))


# A paragraph is hard-wrapped when at least this share of its line breaks fall before a lower-case
# word (wrapped prose: most of them; one sentence per line: a stray few, from a broken-off line).
_WRAPPED_SHARE = 0.25


def _hard_wrapped(text: str, lines: list[tuple[int, int]]) -> list[bool]:
    """Per line: whether its paragraph is hard-wrapped (enough line breaks fall before a lower-case word)."""
    out = [False] * len(lines)
    for para in _paragraphs(text, lines):
        lower = sum(text[lines[j + 1][0] : lines[j + 1][1]].lstrip()[:1].islower() for j in para[:-1])
        flag = lower > 0 and lower >= _WRAPPED_SHARE * (len(para) - 1)
        for j in para:
            out[j] = flag
    return out


def _paragraphs(text: str, lines: list[tuple[int, int]]) -> Iterator[list[int]]:
    """The indices of the lines of each paragraph (runs of non-blank lines)."""
    para: list[int] = []
    for i in range(len(lines) + 1):
        if i < len(lines) and _strip(text[lines[i][0] : lines[i][1]]):
            para.append(i)
        elif para:
            yield para
            para = []


# A paragraph of at least this many lines, whose lines are this short (median), is one item per line.
_ITEM_LINES = 3
_ITEM_MEDIAN_CHARS = 24


def _itemised(text: str, lines: list[tuple[int, int]]) -> list[bool]:
    """Per line: whether its paragraph is one short item per line (a list, a table, one word per line).

    Prose, even hard-wrapped at 40 columns, has longer lines than that; reading such a paragraph as
    prose would make one giant "sentence" of it.
    """
    out = [False] * len(lines)
    for para in _paragraphs(text, lines):
        if len(para) >= _ITEM_LINES:
            lengths = [len(text[lines[j][0] : lines[j][1]].strip()) for j in para]
            if sorted(lengths)[len(lengths) // 2] <= _ITEM_MEDIAN_CHARS:
                for j in para:
                    out[j] = True
            # A run of short lines inside a paragraph of long ones (a list of names between sentences).
            run: list[int] = []
            for j, n in [*zip(para, lengths), (-1, _ITEM_MEDIAN_CHARS + 1)]:
                if n <= _ITEM_MEDIAN_CHARS:
                    run.append(j)
                    continue
                if len(run) >= _ITEM_LINES:
                    for r in run:
                        out[r] = True
                run = []
    return out


_FINAL_AT_END = re.compile(r"[.!?…][\"'”’»)\]]*$")
_STARTS_LIKE_SENTENCE = re.compile(r"[\"'“‘«(\[]*[A-Z0-9À-Þ]")


@lru_cache(maxsize=1)
def _abbreviations() -> frozenset[str]:
    from pysbd.languages import Language

    abbr = Language.get_language_code("en").Abbreviation
    return frozenset(a.lower() for a in (*abbr.ABBREVIATIONS, *abbr.PREPOSITIVE_ABBREVIATIONS, *abbr.NUMBER_ABBREVIATIONS))


def _ends_at_line_break(line: str, next_line: str | None, wrapped: bool) -> bool:
    """Whether a line break after `line` ends a sentence (see the module docstring)."""
    s = line.rstrip()
    if next_line is None or not _STARTS_LIKE_SENTENCE.match(next_line.lstrip()):
        return False
    if s.endswith(":"):
        return not wrapped
    if not _FINAL_AT_END.search(s):
        return False
    word = s.split()[-1].strip("\"'“”‘’«»()[]")
    if word.endswith("."):
        stem = word.rstrip(".")
        if "." in stem or (len(stem) == 1 and stem.isalpha()) or stem.lower() in _abbreviations():
            return False  # "U.S.", "J.", "Dept.": pysbd decides
    return True


def _blocks(text: str) -> Iterator[tuple[int, int, str | None]]:
    """Spans that no sentence crosses (paragraphs, heading lines, list items, lines of itemised
    paragraphs, lines that end a sentence), with the skip reason of a boilerplate line (else None)."""
    lines = list(_lines(text))
    wrapped = _hard_wrapped(text, lines)
    itemised = _itemised(text, lines)
    block_start: int | None = None
    block_end = 0
    prev_ends_sentence = True
    for i, (ls, le) in enumerate(lines):
        line = text[ls:le]
        if not _strip(line):  # blank line (or invisible characters only): paragraph break
            if block_start is not None:
                yield block_start, block_end, None
            block_start, prev_ends_sentence = None, True
            continue
        reason = boilerplate_reason(line)
        if reason is not None:  # a boilerplate line ends the sentence before it and is skipped
            if block_start is not None:
                yield block_start, block_end, None
            yield ls, le, reason
            block_start, prev_ends_sentence = None, True
            continue
        nxt = None
        if i + 1 < len(lines):
            ns, ne = lines[i + 1]
            nxt = text[ns:ne] if _strip(text[ns:ne]) else None
        if itemised[i]:
            if block_start is not None:
                yield block_start, block_end, None
            yield ls, le, None  # one item per line
            block_start, prev_ends_sentence = None, True
            continue
        if _LIST_ITEM.match(line) and block_start is not None:
            yield block_start, block_end, None  # a list item starts a new sentence
            block_start = None
        if _is_heading(line, nxt, at_boundary=prev_ends_sentence or block_start is None, wrapped=wrapped[i]):
            if block_start is not None:
                yield block_start, block_end, None
            yield ls, le, None
            block_start, prev_ends_sentence = None, True
            continue
        if block_start is None:
            block_start = ls
        block_end = le
        stripped = line.rstrip()
        prev_ends_sentence = bool(stripped) and stripped[-1] in ".!?…\"”’"
        if (_LIST_ITEM.match(line) and nxt is not None and not nxt[:1].isspace()) or _ends_at_line_break(
            line, nxt, wrapped[i]
        ):
            # An unindented line after a list item is not its continuation; a final mark at a line
            # break before a sentence start ends the sentence.
            yield block_start, block_end, None
            block_start, prev_ends_sentence = None, True
    if block_start is not None:
        yield block_start, block_end, None


# --- prose: pysbd inside one block ----------------------------------------------------------------


@lru_cache(maxsize=1)
def _language():  # type: ignore[no-untyped-def]
    from pysbd.languages import Language

    return Language.get_language_code("en")


def _pysbd_starts(chunk: str) -> list[int]:
    """Start offsets (in `chunk`) of the sentences pysbd finds; the first is the first non-space."""
    from pysbd.processor import Processor

    starts: list[int] = []
    cursor = 0
    try:
        found = Processor(chunk, _language(), char_span=False).process()
    except (ValueError, IndexError, re.error) as e:  # pysbd's rules fail on rare inputs: one sentence, then
        log.debug("pysbd failed on a chunk (%s); keeping it as one sentence", e)
        found = []
    for sent in found:
        s = sent.strip()
        if not s:
            continue
        i = chunk.find(s, cursor)
        if i < 0:  # pysbd altered the text (should not happen with clean=False): keep what we have
            log.debug("pysbd returned text not found in its input; merging it with the previous sentence")
            continue
        starts.append(i)
        cursor = i + len(s)
    first = len(chunk) - len(chunk.lstrip())
    if not starts or starts[0] != first:
        starts.insert(0, first)
    return _closing_marks_stay(chunk, starts)


_CLOSING = frozenset("\"'”’»)]")


def _closing_marks_stay(chunk: str, starts: list[int]) -> list[int]:
    """Closing quotes and brackets that touch the end of a sentence belong to it.

    pysbd, given a quote that closes without opening in the same text (a quote over several lines),
    cuts 'there.”' into 'there.' and '”': the mark moves back to its sentence, and a start left
    with nothing but such marks is dropped.
    """
    out = starts[:1]
    for k, i in enumerate(starts[1:], 1):
        stop = starts[k + 1] if k + 1 < len(starts) else len(chunk)
        if not chunk[i - 1].isspace():
            while i < stop and chunk[i] in _CLOSING:
                i += 1
            while i < stop and chunk[i].isspace():
                i += 1
        if i < stop:
            out.append(i)
    return out


def _trimmed(text: str, start: int, end: int) -> Sentence | None:
    """The sentence text[start:end] without surrounding whitespace and format characters, or None if
    nothing else is left."""
    while start < end and _invisible(text[start]):
        start += 1
    while end > start and _invisible(text[end - 1]):
        end -= 1
    if end <= start:
        return None
    return Sentence(text[start:end], start, end)


def _segment_block(text: str, start: int, end: int) -> Iterator[Sentence]:
    """Sentences of one block: pysbd on windows whose last (possibly cut) sentence is carried on; a
    window that holds a single sentence holds one too long to keep whole, and it is cut (clauses.py)."""
    pos = start
    while pos < end:
        while pos < end and text[pos].isspace():
            pos += 1
        stop = min(end, pos + _WINDOW)
        if stop < end:  # do not cut a word: extend to the next whitespace (not too far)
            m = _WHITESPACE.search(text, stop, min(end, stop + _WORD_REACH))
            stop = m.start() if m else (end if end - stop <= _WORD_REACH else stop)
        # Line breaks and other control characters become spaces (same length, so offsets stay
        # exact): a line break inside a paragraph is not a sentence boundary by itself, and pysbd
        # fails on some control characters ("\x1f1. " raises inside its list-item rules).
        chunk = text[pos:stop].translate(_CONTROLS)
        if not chunk.strip():
            pos = stop
            continue
        starts = _pysbd_starts(chunk)
        last = stop == end
        if not last and len(starts) < 2:  # one sentence fills the window: cut off its first piece
            cut = first_cut(text, pos + starts[0], stop)
            sent = _trimmed(text, pos, cut)
            if sent is not None:
                yield sent
            pos = cut
            continue
        bounds = [pos + s for s in starts] + [stop]
        keep = len(starts) if last else len(starts) - 1
        for a, b in zip(bounds[:keep], bounds[1 : keep + 1]):
            for piece_start, piece_end in pieces(text, a, b):
                sent = _trimmed(text, piece_start, piece_end)
                if sent is not None:
                    yield sent
        pos = bounds[keep]
