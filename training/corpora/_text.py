"""Small helpers shared by the loaders: re-joining tokenised text (SFU reviews, SUBJ), reading lines, tables and XML.

Those corpora store text as space-separated tokens ("do n't", "it 's ."). News text is not tokenised, so
the loaders re-join tokens into ordinary text, keeping each token's character offsets for cue spans.
"""

from __future__ import annotations

import csv
import gzip
import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any, Iterator, Sequence

from redflags.training.corpora.registry import CorpusError

# Tokens that attach to the token before them (no space in between).
_ATTACH_LEFT = {",", ".", "!", "?", ";", ":", "%", ")", "]", "}", "...", "n't", "'s", "'re", "'ve", "'ll", "'d", "'m"}
# Tokens that attach to the token after them.
_ATTACH_RIGHT = {"(", "[", "{", "$"}


def join_tokens(tokens: list[str]) -> tuple[str, list[tuple[int, int]]]:
    """Join tokens into readable text; return the text and each token's (start, end) offsets in it."""
    parts: list[str] = []
    offsets: list[tuple[int, int]] = []
    pos = 0
    open_quote = False  # straight double quotes alternate between opening and closing
    prev = ""
    for i, tok in enumerate(tokens):
        is_quote = tok == '"'
        space = i > 0
        if tok.lower() in _ATTACH_LEFT or (is_quote and open_quote):
            space = False
        if prev in _ATTACH_RIGHT or (prev == '"' and open_quote):
            space = False
        if is_quote:
            # the quote state after this token: opening quotes attach right, closing ones attach left
            open_quote = not open_quote
        if space:
            parts.append(" ")
            pos += 1
        parts.append(tok)
        offsets.append((pos, pos + len(tok)))
        pos += len(tok)
        prev = tok
    return "".join(parts), offsets


def read_lines(path: Path, encoding: str = "utf-8") -> Iterator[tuple[int, str]]:
    """Yield (1-based line number, line without its line ending) of a text file, gzip or plain."""
    # Decoded line by line (not as a text stream) so that a decoding error names its exact line.
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as fh:
            for n, raw in enumerate(fh, 1):
                try:
                    yield n, raw.decode(encoding).rstrip("\r\n")
                except UnicodeDecodeError as exc:
                    raise CorpusError(f"{path}:{n}: not valid {encoding} text: {exc.reason}") from exc
    except (OSError, EOFError) as exc:  # includes gzip.BadGzipFile and truncated archives
        raise CorpusError(f"{path}: cannot read: {exc}") from exc


def read_table(
    path: Path, columns: Sequence[str], delimiter: str = "\t", encoding: str = "utf-8", quoting: int = csv.QUOTE_NONE
) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield (line number, row) of a delimited file whose header must name `columns`."""
    with open(path, encoding=encoding, newline="") as fh:
        reader = csv.DictReader(fh, delimiter=delimiter, quoting=quoting)
        missing = [c for c in columns if c not in (reader.fieldnames or [])]
        if missing:
            raise CorpusError(f"{path}:1: missing columns {missing}; found {reader.fieldnames}")
        for row in reader:
            yield reader.line_num, row


def json_lines(path: Path, error: type[Exception] = CorpusError) -> Iterator[tuple[str, Any]]:
    """("file:line", parsed value) for each non-empty line of a JSONL file (gzip-compressed when it ends in .gz);
    bad JSON raises `error` naming the line."""
    if path.suffix == ".gz":
        import gzip

        text = gzip.decompress(path.read_bytes()).decode("utf-8")
    else:
        text = path.read_text(encoding="utf-8")
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        where = f"{path}:{n}"
        try:
            yield where, json.loads(line)
        except json.JSONDecodeError as exc:
            raise error(f"{where}: not valid JSON ({exc.msg})") from None


def parse_xml(path: Path) -> ET.Element:
    """The root element of an XML file; a parse error names the file and line."""
    try:
        return ET.parse(path).getroot()
    except ET.ParseError as exc:
        line = exc.position[0] if exc.position else None
        raise CorpusError(f"{path}:{line}: not well-formed XML: {exc}") from exc
