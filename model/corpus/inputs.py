"""Read a corpus for `score-corpus`: JSONL, Parquet, a folder of .txt files, or a saved Hugging Face dataset.

Every input is a sequence of articles with a fixed order: an article's *position* (0, 1, 2, ...) is
its place in that order. Shards are position ranges, so any worker (a local loop or a Ray actor on
another node) can read exactly its shard: JSONL by byte offsets found in one pass over the file,
Parquet by row groups, a folder by its sorted file list, a saved dataset by index.

A row that cannot be scored is not an exception: it comes back as a `BadRow` with the reason, and
goes into the errors table.
"""
# Size: over 400 lines because every input kind (JSONL, Parquet, .txt folders, saved datasets) shares one row checker.

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
    """One article to score."""

    position: int
    id: str
    text: str
    extras: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class BadRow:
    """A row that cannot be scored; `where` names the file (and line) it came from."""

    position: int
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


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "str"
    return "json"


def _arrow_type(kinds: set[str]) -> Any:
    """One Arrow type for the values an extra field takes across a JSONL file."""
    pa = needs_pyarrow()
    kinds = kinds - {"null"}
    if kinds == {"bool"}:
        return pa.bool_()
    if kinds == {"int"}:
        return pa.int64()
    if kinds and kinds <= {"int", "float"}:
        return pa.float64()
    return pa.string()  # strings, and anything mixed or nested as JSON text


class CorpusInput:
    """Base class: `total` articles, `read(start, stop)`, a fingerprint, and the schema of the extra fields."""

    kind = "?"

    def __init__(self, path: Path, id_field: str = "id", text_field: str = "text",
                 max_chars: int = DEFAULT_MAX_CHARS) -> None:
        self.path = path
        self.id_field = id_field
        self.text_field = text_field
        self.max_chars = max_chars

    total: int = 0

    def extras_schema(self) -> Any:
        """pyarrow schema of the extra fields carried into the article table."""
        return needs_pyarrow().schema([])

    def read(self, start: int, stop: int) -> Iterator[Row]:
        """Articles (or bad rows) at positions [start, stop), in order."""
        raise NotImplementedError

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
        """An Article, or a BadRow saying why not: no id, text that is not text, empty, or too long."""
        if raw_id is None or (isinstance(raw_id, str) and not raw_id.strip()):
            return BadRow(position, None, f"no {self.id_field!r} field (every article needs an id)", where)
        if isinstance(raw_id, bool) or not isinstance(raw_id, (str, int)):
            return BadRow(position, None, f"{self.id_field!r} must be a string or an integer, "
                                          f"got {type(raw_id).__name__}", where)
        art_id = str(raw_id)
        if text is None:
            return BadRow(position, art_id, f"no {self.text_field!r} field", where)
        if not isinstance(text, str):
            return BadRow(position, art_id, f"{self.text_field!r} is not text (got {type(text).__name__})", where)
        if not text.strip():
            return BadRow(position, art_id, "empty text", where)
        if len(text) > self.max_chars:
            return BadRow(position, art_id, f"text of {len(text):,} characters is over the limit of "
                                            f"{self.max_chars:,} (--max-chars)", where)
        return Article(position, art_id, text, extras)


class JsonlInput(CorpusInput):
    """One JSON object per line: `id`, `text`, and extra fields that are carried through."""

    kind = "jsonl"

    def __init__(self, path: Path, scanned: Optional[dict[str, Any]] = None, **kwargs: Any) -> None:
        super().__init__(path, **kwargs)
        if scanned is None:
            scanned = self._scan()
        # Per article: byte offset and line number of its line (so any shard can seek to its first line);
        # per extra field: the JSON types it takes. A worker gets these from the driver's scan.
        self._offsets: list[int] = scanned["offsets"]
        self._lines: list[int] = scanned["lines"]
        self._kinds: dict[str, list[str]] = scanned["kinds"]
        self.total = len(self._offsets)

    def _scan(self) -> dict[str, Any]:
        # One pass over the file; parsing is ~1,000x cheaper than scoring the same text.
        offsets, lines, kinds = [], [], {}
        offset = 0
        with open(self.path, "rb") as f:
            for lineno, line in enumerate(f, start=1):
                if line.strip():
                    offsets.append(offset)
                    lines.append(lineno)
                    try:
                        obj = json.loads(line)
                    except ValueError:
                        obj = None
                    if isinstance(obj, dict):
                        for k, v in obj.items():
                            if k not in (self.id_field, self.text_field):
                                kinds.setdefault(k, set()).add(_json_type(v))
                offset += len(line)
        return {"offsets": offsets, "lines": lines, "kinds": {k: sorted(v) for k, v in kinds.items()}}

    def spec(self) -> dict[str, Any]:
        return {**super().spec(), "scanned": {"offsets": self._offsets, "lines": self._lines, "kinds": self._kinds}}

    def extras_schema(self) -> Any:
        pa = needs_pyarrow()
        return pa.schema([(k, _arrow_type(set(kinds))) for k, kinds in self._kinds.items()])

    def read(self, start: int, stop: int) -> Iterator[Row]:
        stop = min(stop, self.total)
        if start >= stop:
            return
        schema = self.extras_schema()
        with open(self.path, "rb") as f:
            f.seek(self._offsets[start])
            position = start
            for raw in f:
                if not raw.strip():
                    continue
                if position >= stop:
                    break
                where = f"{self.path.name}:{self._lines[position]}"
                try:
                    obj = json.loads(raw)
                except ValueError as e:
                    yield BadRow(position, None, f"not JSON ({e})", where)
                    position += 1
                    continue
                if not isinstance(obj, dict):
                    yield BadRow(position, None, f"not a JSON object (a {type(obj).__name__})", where)
                    position += 1
                    continue
                extras = {name: _coerce(obj.get(name), schema.field(name).type) for name in schema.names}
                yield self._check(position, obj.get(self.id_field), obj.get(self.text_field), where, extras)
                position += 1


def _coerce(value: Any, arrow_type: Any) -> Any:
    """A JSONL extra value as its column's type (JSON text for a string column that got something else)."""
    pa = needs_pyarrow()
    if value is None:
        return None
    if arrow_type == pa.string() and not isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if arrow_type == pa.float64():
        return float(value)
    return value


class ParquetInput(CorpusInput):
    """A Parquet file or a folder of Parquet files (read in sorted order, row group by row group)."""

    kind = "parquet"

    def __init__(self, path: Path, **kwargs: Any) -> None:
        super().__init__(path, **kwargs)
        needs_pyarrow()
        import pyarrow.parquet as pq

        files = sorted(p for p in path.rglob("*.parquet") if p.is_file()) if path.is_dir() else [path]
        if not files:
            raise InputFormatError(f"{path}: no .parquet files in this folder")
        # (file, row group, first position, rows) for every row group, in order.
        self._groups: list[tuple[Path, int, int, int]] = []
        position = 0
        schema = None
        for p in files:
            try:
                meta = pq.ParquetFile(p)
            except Exception as e:  # pyarrow raises several types for a file that is not Parquet
                raise InputFormatError(f"{p}: not a Parquet file ({e})") from None
            if schema is None:
                schema = meta.schema_arrow
            for g in range(meta.num_row_groups):
                rows = meta.metadata.row_group(g).num_rows
                self._groups.append((p, g, position, rows))
                position += rows
        self.total = position
        names = schema.names if schema is not None else []
        for needed in (self.id_field, self.text_field):
            if needed not in names:
                raise InputFormatError(f"{path}: no {needed!r} column (columns: {', '.join(names)})")
        self._extras = needs_pyarrow().schema([f for f in schema if f.name not in (self.id_field, self.text_field)])

    def extras_schema(self) -> Any:
        return self._extras

    def read(self, start: int, stop: int) -> Iterator[Row]:
        import pyarrow.parquet as pq

        for p, g, first, rows in self._groups:
            if first + rows <= start or first >= stop:
                continue
            table = pq.ParquetFile(p).read_row_group(g)
            lo, hi = max(start - first, 0), min(stop - first, rows)
            for k, row in enumerate(table.slice(lo, hi - lo).to_pylist()):
                position = first + lo + k
                extras = {name: row.get(name) for name in self._extras.names}
                yield self._check(position, row.get(self.id_field), row.get(self.text_field),
                                  f"{p.name}: row {position - first}", extras)


class TextFolderInput(CorpusInput):
    """A folder of .txt files (UTF-8), subfolders included: the file's path in the folder without `.txt`
    is the article's id (`2020/03/story-1.txt` -> `2020/03/story-1`)."""

    kind = "txt"

    def __init__(self, path: Path, **kwargs: Any) -> None:
        super().__init__(path, **kwargs)
        self._files = sorted((p for p in path.rglob("*.txt") if p.is_file()), key=lambda p: p.relative_to(path).parts)
        if not self._files:
            raise InputFormatError(f"{path}: no .txt files in this folder")
        self.total = len(self._files)

    def read(self, start: int, stop: int) -> Iterator[Row]:
        for position in range(start, min(stop, self.total)):
            p = self._files[position]
            art_id = p.relative_to(self.path).with_suffix("").as_posix()
            where = p.relative_to(self.path).as_posix()
            try:
                size = p.stat().st_size
                if size > 4 * self.max_chars:  # (UTF-8: at most 4 bytes a character) not read at all
                    yield BadRow(position, art_id, f"file of {size:,} bytes is over the limit of {self.max_chars:,} "
                                                   "characters (--max-chars)", where)
                    continue
                data = p.read_bytes()
            except OSError as e:
                yield BadRow(position, art_id, f"cannot read ({e.strerror or e})", where)
                continue
            try:
                text = data.decode("utf-8-sig")
            except UnicodeDecodeError as e:
                yield BadRow(position, art_id, f"not UTF-8 text (byte 0x{data[e.start]:02x} at position {e.start})",
                             where)
                continue
            yield self._check(position, art_id, text, where, {})


class HFDatasetInput(CorpusInput):
    """A Hugging Face dataset saved with `save_to_disk` (a DatasetDict needs `split`)."""

    kind = "hf"

    def __init__(self, path: Path, split: Optional[str] = None, **kwargs: Any) -> None:
        super().__init__(path, **kwargs)
        self.split = split
        try:
            import datasets
        except ImportError:
            raise ImportError("reading a saved Hugging Face dataset needs the datasets library: "
                              "pip install 'redflags[eval]'") from None
        loaded = datasets.load_from_disk(str(path))
        if isinstance(loaded, datasets.DatasetDict):
            if split is None and len(loaded) == 1:
                split = next(iter(loaded))
            if split not in loaded:
                raise InputFormatError(f"{path}: a dataset with splits {', '.join(loaded)}: choose one with --split")
            loaded = loaded[split]
            self.split = split
        self._ds = loaded
        names = loaded.column_names
        for needed in (self.id_field, self.text_field):
            if needed not in names:
                raise InputFormatError(f"{path}: no {needed!r} column (columns: {', '.join(names)})")
        self.total = len(loaded)
        schema = loaded.data.schema
        self._extras = needs_pyarrow().schema([f for f in schema if f.name not in (self.id_field, self.text_field)])

    def extras_schema(self) -> Any:
        return self._extras

    def spec(self) -> dict[str, Any]:
        return {**super().spec(), "split": self.split}

    def read(self, start: int, stop: int) -> Iterator[Row]:
        stop = min(stop, self.total)
        if start >= stop:
            return
        for k, row in enumerate(self._ds.select(range(start, stop)).to_list()):
            position = start + k
            extras = {name: row.get(name) for name in self._extras.names}
            yield self._check(position, row.get(self.id_field), row.get(self.text_field), f"row {position}", extras)


def open_input(path: str | Path, kind: Optional[str] = None, split: Optional[str] = None, id_field: str = "id",
               text_field: str = "text", max_chars: int = DEFAULT_MAX_CHARS) -> CorpusInput:
    """Open a corpus; `kind` (jsonl, parquet, txt, hf) is guessed from the path when None."""
    p = Path(path).expanduser().resolve()
    if not p.exists():
        raise InputFormatError(f"{p}: no such file or folder")
    if isinstance(max_chars, bool) or not isinstance(max_chars, int) or max_chars < 1:
        raise ValueError(f"max_chars must be a positive int, got {max_chars!r}")
    kind = kind or _guess(p)
    kwargs = {"id_field": id_field, "text_field": text_field, "max_chars": max_chars}
    if kind == "jsonl":
        return JsonlInput(p, **kwargs)
    if kind == "parquet":
        return ParquetInput(p, **kwargs)
    if kind == "txt":
        return TextFolderInput(p, **kwargs)
    if kind == "hf":
        return HFDatasetInput(p, split=split, **kwargs)
    raise InputFormatError(f"{p}: unknown input kind {kind!r} (jsonl, parquet, txt or hf)")


def _guess(p: Path) -> str:
    if p.is_file():
        if p.suffix in (".jsonl", ".json", ".ndjson"):
            return "jsonl"
        if p.suffix == ".parquet":
            return "parquet"
        raise InputFormatError(f"{p}: cannot tell the format from the name: give --input-format "
                               "(jsonl, parquet, txt or hf)")
    if (p / "dataset_info.json").is_file() or (p / "dataset_dict.json").is_file() or (p / "state.json").is_file():
        return "hf"
    if next(p.rglob("*.parquet"), None) is not None:
        return "parquet"
    if next(p.rglob("*.txt"), None) is not None:
        return "txt"
    raise InputFormatError(f"{p}: a folder with neither .txt nor .parquet files nor a saved dataset")


def from_spec(spec: dict[str, Any]) -> CorpusInput:
    """Reopen an input from `CorpusInput.spec()` (in a worker process)."""
    kwargs = {"id_field": spec["id_field"], "text_field": spec["text_field"], "max_chars": spec["max_chars"]}
    if spec["kind"] == "jsonl":  # no second pass over the file: the driver's scan travels with the spec
        return JsonlInput(Path(spec["path"]), scanned=spec["scanned"], **kwargs)
    corpus = open_input(spec["path"], kind=spec["kind"], split=spec.get("split"), **kwargs)
    if corpus.total != spec["total"]:  # positions would not mean the same articles
        raise InputFormatError(f"{spec['path']}: the input changed during the run ({spec['total']} articles when it "
                               f"started, {corpus.total} now)")
    return corpus
