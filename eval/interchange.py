"""The JSONL interchange format for evaluation data, and converters into it.

One sentence per line::

    {"id": "a1-3", "text": "...", "labels": {"unverifiable_sourcing": 1, "hedging": 0,
     "sensational_framing": null}, "corpus": "mine", "article": "a1"}

A marker that is missing from `labels` or null is *not annotated*: it is left out of that marker's
metrics (masked), never counted as negative. `corpus` and `article` are optional (default
"jsonl:<file name>" and the id); extra keys anywhere are allowed and ignored, except the evidence
spans that `redflags evaluate` measures when present (eval/spans.py): ``"spans": [{"start": 0,
"end": 9, "marker": "hedging", "technique": ""}]`` with offsets into `text`, and ``"span_markers"``,
the markers whose words were marked (every other word of the sentence counts as not evidence for
them). A malformed line raises `InterchangeError` naming the file and line number.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Optional, Sequence

import numpy as np
from redflags.atomic import write_text
from redflags.markers import MARKERS

log = logging.getLogger(__name__)

Label = Optional[int]


class InterchangeError(ValueError):
    """A JSONL line is malformed; the message starts with `file:line:`."""


@dataclass
class Example:
    """One evaluation sentence; `labels[m]` is 1, 0 or None (not annotated)."""

    id: str
    text: str
    labels: dict[str, Label]
    corpus: str
    article: str
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "text": self.text, "labels": dict(self.labels), "corpus": self.corpus, "article": self.article}


def _parse_label(value: Any, marker: str, where: str) -> Label:
    # bool is an int subclass: accept true/false as 1/0 rather than rejecting a common spelling.
    if value is None:
        return None
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int) and value in (0, 1):
        return value
    if isinstance(value, float) and value in (0.0, 1.0):
        return int(value)
    raise InterchangeError(f"{where}: label {marker!r} is {value!r}; expected 1, 0 or null")


def parse_line(line: str, where: str, markers: Sequence[str] = MARKERS, default_corpus: str = "jsonl") -> Example:
    """Parse one JSONL line into an Example; `where` is `file:line` for error messages."""
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as e:
        raise InterchangeError(f"{where}: not valid JSON ({e.msg} at column {e.colno})") from None
    if not isinstance(obj, dict):
        raise InterchangeError(f"{where}: expected a JSON object, got {type(obj).__name__}")
    for key in ("id", "text"):
        if key not in obj:
            raise InterchangeError(f"{where}: missing required key {key!r}")
    if not isinstance(obj["text"], str):
        raise InterchangeError(f"{where}: 'text' must be a string, got {type(obj['text']).__name__}")
    if not isinstance(obj["id"], (str, int)) or isinstance(obj["id"], bool):
        raise InterchangeError(f"{where}: 'id' must be a string or integer")
    raw_labels = obj.get("labels", {})
    if raw_labels is None:
        raw_labels = {}
    if not isinstance(raw_labels, dict):
        raise InterchangeError(f"{where}: 'labels' must be an object mapping marker to 1, 0 or null")
    unknown = sorted(set(raw_labels) - set(markers))
    if unknown:
        # Unknown marker names are almost always typos; ignoring them would silently mask a marker.
        raise InterchangeError(f"{where}: unknown marker(s) {unknown} in 'labels'; known: {list(markers)}")
    labels = {m: _parse_label(raw_labels.get(m), m, where) for m in markers}
    corpus = obj.get("corpus") or default_corpus
    article = obj.get("article")
    ex_id = str(obj["id"])
    for key, val in (("corpus", corpus), ("article", article)):
        if val is not None and not isinstance(val, (str, int)):
            raise InterchangeError(f"{where}: {key!r} must be a string")
    known = {"id", "text", "labels", "corpus", "article"}
    return Example(ex_id, obj["text"], labels, str(corpus), str(article if article is not None else ex_id),
                   {k: v for k, v in obj.items() if k not in known})


def read_jsonl(path: Path | str, markers: Sequence[str] = MARKERS) -> list[Example]:
    """Read an interchange file; blank lines are allowed, duplicate ids are an error."""
    path = Path(path)
    if not path.is_file():
        raise InterchangeError(f"{path}: no such file")
    default_corpus = f"jsonl:{path.stem}"
    out: list[Example] = []
    seen: dict[str, int] = {}
    with path.open("rb") as fh:  # (bytes: a decoding error is then reported with its line)
        for lineno, raw in enumerate(fh, start=1):
            where = f"{path}:{lineno}"
            try:
                line = raw.decode("utf-8-sig" if lineno == 1 else "utf-8")
            except UnicodeDecodeError as e:
                raise InterchangeError(f"{where}: not UTF-8 (byte 0x{raw[e.start]:02x} at column {e.start + 1})") from None
            if not line.strip():
                continue
            ex = parse_line(line, where, markers, default_corpus)
            if ex.id in seen:
                raise InterchangeError(f"{where}: duplicate id {ex.id!r} (first on line {seen[ex.id]})")
            seen[ex.id] = lineno
            out.append(ex)
    if not out:
        raise InterchangeError(f"{path}: no examples (file is empty)")
    return out


def write_jsonl(examples: Iterable[Example | dict[str, Any]], path: Path | str) -> None:
    """Write examples (or ready-made dicts) as JSONL, atomically."""
    lines = [json.dumps(e.to_json() if isinstance(e, Example) else e, ensure_ascii=False) for e in examples]
    write_text(path, "\n".join(lines) + ("\n" if lines else ""))


def from_dataset(ds: Any, markers: Sequence[str] = MARKERS) -> list[Example]:
    """Convert a `datasets.Dataset` split (text, corpus, doc_id, one int column per marker, -1 unknown)."""
    missing = [c for c in ("text", "corpus", "doc_id", *markers) if c not in ds.column_names]
    if missing:
        raise InterchangeError(f"dataset lacks columns {missing}; has {ds.column_names}")
    # to_dict gives plain lists; indexing datasets' lazy Column objects row by row is very slow.
    span_cols = [c for c in ("spans", "span_markers") if c in ds.column_names]
    cols = ds.select_columns(["text", "corpus", "doc_id", *markers, *span_cols]).to_dict()
    out = []
    for i in range(len(ds)):
        labels = {m: (None if int(cols[m][i]) < 0 else int(cols[m][i])) for m in markers}
        corpus, doc = str(cols["corpus"][i]), str(cols["doc_id"][i])
        # Evidence spans go in `extra`, as in a JSONL file (see eval/spans.py), where a row has any.
        extra = {c: cols[c][i] for c in span_cols} if span_cols and cols["span_markers"][i] else {}
        # Dataset rows have no id of their own: corpus, document and row index make one that is stable
        # for a given split (splits are deterministic).
        out.append(Example(f"{corpus}/{doc}/{i}", cols["text"][i], labels, corpus, doc, extra))
    return out


def from_records(records: Iterable[Any], markers: Sequence[str] = MARKERS) -> list[Example]:
    """Convert `redflags.training.records.Record`s (labels already 1/0/None)."""
    return [
        Example(f"{r.corpus}/{r.doc_id}/{i}", r.text, {m: r.labels.get(m) for m in markers}, r.corpus, str(r.doc_id))
        for i, r in enumerate(records)
    ]


def label_matrix(examples: Sequence[Example], markers: Sequence[str] = MARKERS) -> np.ndarray:
    """(n, M) int array of labels with -1 for not annotated."""
    y = np.full((len(examples), len(markers)), -1, dtype=np.int8)
    for i, ex in enumerate(examples):
        for j, m in enumerate(markers):
            v = ex.labels.get(m)
            if v is not None:
                y[i, j] = v
    return y
