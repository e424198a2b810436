"""What a corpus input is made of: articles, bad rows, the base class of the input kinds (inputs.py), and the
checks every row goes through (an id, text that is text, within the size limit, valid Unicode; the row's other
fields as one JSON object).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Optional, Union

# The largest article scored, in characters: a longer one goes to the errors table. Five million
# characters is about 2,500 pages; scoring it takes minutes and several hundred MB.
DEFAULT_MAX_CHARS = 5_000_000


@dataclass(frozen=True)
class Article:
    """One article to score; `extra` is the input's other fields of the row as one JSON object (text), or None."""

    position: int
    id: str
    text: str
    extra: Optional[str] = None


@dataclass(frozen=True)
class BadRow:
    """A row that cannot be scored; `where` names the file (and line) it came from. An input with no rows at all
    is one BadRow with no position."""

    position: Optional[int]
    id: Optional[str]
    reason: str
    where: str


Row = Union[Article, BadRow]


class InputFormatError(ValueError):
    """The input as a whole cannot be read (not a row of it): the message names the path and the problem."""


def needs_pyarrow() -> Any:
    try:
        import pyarrow
    except ImportError:
        raise ImportError(
            "score-corpus reads and writes Parquet with pyarrow, which is not installed: "
            "pip install 'redflags[corpus]' (or 'redflags[ray]')"
        ) from None
    return pyarrow


def _plain(value: Any) -> Any:
    """A JSON stand-in for what Parquet and datasets hold and JSON does not (dates, decimals, bytes)."""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", "backslashreplace")
    return str(value)


def extra_json(extras: dict[str, Any]) -> Optional[str]:
    """The extra fields of a row as JSON text: one column whatever their names, types or sizes (an integer
    beyond int64 stays exact). Raises RecursionError for fields nested beyond what JSON writers take."""
    if not extras:
        return None
    text = json.dumps(extras, ensure_ascii=False, default=_plain)
    if not _is_unicode(text):  # a lone surrogate (legal in a JSON escape): keep it escaped
        text = json.dumps(extras, ensure_ascii=True, default=_plain)
    return text


def _is_unicode(text: str) -> bool:
    """False for text that UTF-8 (and so Parquet) cannot hold: a lone surrogate, e.g. from a JSON "\\ud800"."""
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def printable(text: str) -> str:
    """`text` with what UTF-8 cannot hold written as escapes (for ids and places in the errors table)."""
    return text if _is_unicode(text) else text.encode("utf-8", "backslashreplace").decode("utf-8")


@dataclass
class Duplicates:
    """Ids that occur on more than one row (compared as text: 7 and "7" are the same id, as in evaluate)."""

    ids: int = 0  # distinct ids that repeat
    articles: int = 0  # rows that carry one of them
    examples: list[tuple[str, list[int]]] = field(default_factory=list)  # (id, its first positions), the first few


class CorpusInput:
    """Base class: `total` articles, `read(start, stop)`, their ids, and a fingerprint of the input."""

    kind = "?"

    def __init__(self, path: Path, id_field: str = "id", text_field: str = "text",
                 max_chars: int = DEFAULT_MAX_CHARS) -> None:
        self.path = path
        self.id_field = id_field
        self.text_field = text_field
        self.max_chars = max_chars

    total: int = 0

    def read(self, start: int, stop: int) -> Iterator[Row]:
        """Articles (or bad rows) at positions [start, stop), in order."""
        raise NotImplementedError

    def ids(self, stop: int) -> Iterator[Optional[str]]:
        """The id (as text) of every row before `stop`, in order; None where a row has none that is usable."""
        raise NotImplementedError

    def where(self, position: int) -> str:
        """The file (and line or row) of the article at `position`, as the errors table names it."""
        return f"row {position}"

    def empty_row(self) -> BadRow:
        """The errors-table row of an input with no articles at all."""
        return BadRow(None, None, "no articles: the input has no rows", self.path.name)

    def fingerprint(self) -> str:
        """Identifies the input's content cheaply (paths, sizes, modification times), to detect a changed input."""
        h = hashlib.sha256()
        files = sorted(p for p in self.path.rglob("*") if p.is_file()) if self.path.is_dir() else [self.path]
        for p in files:
            st = p.stat()
            h.update(f"{p.relative_to(self.path) if self.path.is_dir() else p.name}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
        return h.hexdigest()[:16]

    def spec(self) -> dict[str, Any]:
        """What a worker needs to open the same input (JSON-able; sent to Ray actors)."""
        return {"path": str(self.path), "kind": self.kind, "id_field": self.id_field, "text_field": self.text_field,
                "max_chars": self.max_chars, "total": self.total}

    def _check(self, position: int, raw_id: Any, text: Any, where: str, extras: dict[str, Any]) -> Row:
        """An Article, or a BadRow saying why not: no id, text that is not text, empty, too long, not valid Unicode."""
        art_id = id_text(raw_id)
        if art_id is None:
            if raw_id is None or isinstance(raw_id, str):
                return BadRow(position, None, f"no {self.id_field!r} field (every article needs an id)", where)
            return BadRow(position, None, f"{self.id_field!r} must be a string or an integer, "
                                          f"got {type(raw_id).__name__}", where)
        if not _is_unicode(art_id):
            return BadRow(position, printable(art_id), f"{self.id_field!r} is not valid Unicode (a lone surrogate)",
                          where)
        if text is None:
            return BadRow(position, art_id, f"no {self.text_field!r} field", where)
        if not isinstance(text, str):
            return BadRow(position, art_id, f"{self.text_field!r} is not text (got {type(text).__name__})", where)
        if not text.strip():
            return BadRow(position, art_id, "empty text", where)
        if len(text) > self.max_chars:
            return BadRow(position, art_id, f"text of {len(text):,} characters is over the limit of "
                                            f"{self.max_chars:,} (--max-chars)", where)
        if not _is_unicode(text):
            return BadRow(position, art_id, f"{self.text_field!r} is not valid Unicode (a lone surrogate, "
                                            "e.g. from a JSON \\ud800 escape)", where)
        try:
            extra = extra_json(extras)
        except RecursionError:
            return BadRow(position, art_id, "an extra field is nested too deeply to write as JSON", where)
        return Article(position, art_id, text, extra)


def id_text(raw_id: Any) -> Optional[str]:
    """An id as text (7 and "7" are the same id, as in evaluate), or None when it is missing or of another type."""
    if isinstance(raw_id, bool) or not isinstance(raw_id, (str, int)):
        return None
    text = str(raw_id)
    return text if text.strip() else None


def find_duplicates(corpus: CorpusInput, stop: int, examples: int = 5) -> Duplicates:
    """The ids that occur more than once among the first `stop` rows."""
    first: dict[str, int] = {}
    repeats: dict[str, list[int]] = {}
    for position, art_id in enumerate(corpus.ids(stop)):
        if art_id is None:
            continue
        if art_id in first:
            repeats.setdefault(art_id, [first[art_id]]).append(position)
        else:
            first[art_id] = position
    found = Duplicates(len(repeats), sum(len(p) for p in repeats.values()))
    found.examples = [(printable(i), positions[:5]) for i, positions in list(repeats.items())[:examples]]
    return found


def is_gzip(path: Path) -> bool:
    return path.name.endswith(".gz")
