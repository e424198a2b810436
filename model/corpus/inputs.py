"""Read a corpus for `score-corpus`: JSONL (also gzip-compressed), Parquet, a folder of .txt (or .txt.gz) files,
or a saved Hugging Face dataset.

Every input is a sequence of articles with a fixed order: an article's *position* (0, 1, 2, ...) is
its place in that order. Shards are position ranges, so any worker (a local loop or a Ray actor on
another node) can read exactly its shard: JSONL by byte offsets found in one pass over the file,
Parquet by row groups, a folder by its sorted file list, a saved dataset by index.

A row that cannot be scored is not an exception: it comes back as a `BadRow` with the reason, and
goes into the errors table (rows.py has the checks).
"""

from __future__ import annotations

import codecs
import gzip
import json
import zlib
from pathlib import Path
from typing import Any, Iterator, Optional

from redflags.corpus.rows import (DEFAULT_MAX_CHARS, BadRow, CorpusInput, InputFormatError, Row, id_text, is_gzip,
                                  needs_pyarrow, printable)


class JsonlInput(CorpusInput):
    """One JSON object per line (optionally gzip-compressed, `.jsonl.gz`): `id`, `text`, and extra fields that
    are carried through as JSON text."""

    kind = "jsonl"

    def __init__(self, path: Path, scanned: Optional[dict[str, Any]] = None, **kwargs: Any) -> None:
        super().__init__(path, **kwargs)
        self._ids: Optional[list[Optional[str]]] = None
        self._stream: Any = None  # an open gzip stream, kept for the next shard (gzip cannot seek backwards cheaply)
        if scanned is None:
            scanned = self._scan()
        # Per article: byte offset and line number of its line (so any shard can seek to its first line).
        # A worker gets these from the driver's scan.
        self._offsets: list[int] = scanned["offsets"]
        self._lines: list[int] = scanned["lines"]
        self._bytes: int = scanned.get("bytes", 0)
        self.total = len(self._offsets)

    def _open(self) -> Any:
        return gzip.open(self.path, "rb") if is_gzip(self.path) else open(self.path, "rb")

    def _scan(self) -> dict[str, Any]:
        # One pass over the file, parsing each line for its id (the duplicate check); ~1,000x cheaper than scoring.
        offsets, lines, ids = [], [], []
        offset = 0
        try:
            with self._open() as f:
                for lineno, line in enumerate(f, start=1):
                    if line.strip():
                        offsets.append(offset)
                        lines.append(lineno)
                        ids.append(self._id_of(line))
                    offset += len(line)
        except (OSError, EOFError, zlib.error) as e:
            raise InputFormatError(f"{self.path}: cannot read ({e})") from None
        self._ids = ids
        return {"offsets": offsets, "lines": lines, "bytes": offset}

    def _id_of(self, line: bytes) -> Optional[str]:
        try:
            obj = json.loads(line)
        except (ValueError, RecursionError):  # (the row itself reports it when it is read)
            return None
        return id_text(obj.get(self.id_field)) if isinstance(obj, dict) else None

    def spec(self) -> dict[str, Any]:
        return {**super().spec(), "scanned": {"offsets": self._offsets, "lines": self._lines, "bytes": self._bytes}}

    def ids(self, stop: int) -> Iterator[Optional[str]]:
        if self._ids is None:
            self._scan()
        return iter((self._ids or [])[:stop])

    def where(self, position: int) -> str:
        return f"{self.path.name}:{self._lines[position]}"

    def empty_row(self) -> BadRow:
        why = "the file is empty" if self._bytes == 0 else "the file holds only blank lines"
        return BadRow(None, None, f"no articles: {why}", self.path.name)

    def _at(self, offset: int) -> Any:
        """A binary stream positioned at `offset` (of the decompressed text)."""
        if not is_gzip(self.path):
            f = open(self.path, "rb")
        else:  # the last shard's stream when this one comes after it, else a new one (seek reads forward)
            if self._stream is None or self._stream.tell() > offset:
                if self._stream is not None:
                    self._stream.close()
                self._stream = self._open()
            f = self._stream
        f.seek(offset)
        return f

    def read(self, start: int, stop: int) -> Iterator[Row]:
        stop = min(stop, self.total)
        if start >= stop:
            return
        f = self._at(self._offsets[start])
        try:
            position = start
            while position < stop:
                raw = f.readline()
                if not raw:  # the file is shorter than when the run began
                    for p in range(position, stop):
                        yield BadRow(p, None, "the line is gone: the input file changed during the run", self.where(p))
                    return
                if raw.strip():
                    yield self._row(position, raw)
                    position += 1
        finally:
            if f is not self._stream:
                f.close()

    def _row(self, position: int, raw: bytes) -> Row:
        where = self.where(position)
        if self._lines[position] == 1 and raw.startswith(codecs.BOM_UTF8):
            raw = raw[len(codecs.BOM_UTF8):]
        try:
            obj = json.loads(raw)
        except RecursionError:
            return BadRow(position, None, "JSON nested too deeply to read (over about 1,000 levels of [ or {)", where)
        except ValueError as e:
            return BadRow(position, None, f"not JSON ({e})", where)
        if not isinstance(obj, dict):
            return BadRow(position, None, f"not a JSON object (a {type(obj).__name__})", where)
        extras = {k: v for k, v in obj.items() if k not in (self.id_field, self.text_field)}
        return self._check(position, obj.get(self.id_field), obj.get(self.text_field), where, extras)


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
        # (file, row group, first position, rows, the file's first position) for every row group, in order.
        self._groups: list[tuple[Path, int, int, int, int]] = []
        position = 0
        schema = None
        for p in files:
            try:
                meta = pq.ParquetFile(p)
            except Exception as e:  # pyarrow raises several types for a file that is not Parquet
                raise InputFormatError(f"{p}: not a Parquet file ({e})") from None
            if schema is None:
                schema = meta.schema_arrow
            file_first = position
            for g in range(meta.num_row_groups):
                rows = meta.metadata.row_group(g).num_rows
                self._groups.append((p, g, position, rows, file_first))
                position += rows
        self.total = position
        names = schema.names if schema is not None else []
        for needed in (self.id_field, self.text_field):
            if needed not in names:
                raise InputFormatError(f"{path}: no {needed!r} column (columns: {', '.join(names)})")

    def where(self, position: int) -> str:
        for p, _, first, rows, file_first in self._groups:
            if first <= position < first + rows:
                return f"{p.name}: row {position - file_first}"
        return f"row {position}"

    def ids(self, stop: int) -> Iterator[Optional[str]]:
        import pyarrow.parquet as pq

        for p, g, first, rows, _ in self._groups:
            if first >= stop:
                return
            try:
                column = pq.ParquetFile(p).read_row_group(g, columns=[self.id_field]).column(0).to_pylist()
            except Exception:  # (the rows report it when they are read)
                column = [None] * rows
            yield from (id_text(v) for v in column[:stop - first])

    def read(self, start: int, stop: int) -> Iterator[Row]:
        import pyarrow.parquet as pq

        for p, g, first, rows, _ in self._groups:
            if first + rows <= start or first >= stop:
                continue
            lo, hi = max(start - first, 0), min(stop - first, rows)
            try:
                table = pq.ParquetFile(p).read_row_group(g)
            except Exception as e:  # a damaged row group: its rows go to the errors table, the others are read
                for position in range(first + lo, first + hi):
                    yield BadRow(position, None, f"cannot read this row group ({type(e).__name__}: {e})",
                                 self.where(position))
                continue
            for k, row in enumerate(table.slice(lo, hi - lo).to_pylist()):
                position = first + lo + k
                extras = {name: value for name, value in row.items() if name not in (self.id_field, self.text_field)}
                yield self._check(position, row.get(self.id_field), row.get(self.text_field), self.where(position),
                                  extras)


class TextFolderInput(CorpusInput):
    """A folder of .txt files (UTF-8, or gzip-compressed as .txt.gz), subfolders included: the file's path in the
    folder without `.txt` (or `.txt.gz`) is the article's id (`2020/03/story-1.txt` -> `2020/03/story-1`)."""

    kind = "txt"

    def __init__(self, path: Path, **kwargs: Any) -> None:
        super().__init__(path, **kwargs)
        self._files = sorted((p for p in path.rglob("*") if _is_text_file(p)), key=lambda p: p.relative_to(path).parts)
        if not self._files:
            raise InputFormatError(f"{path}: no .txt (or .txt.gz) files in this folder")
        self.total = len(self._files)

    def _id(self, position: int) -> str:
        name = self._files[position].relative_to(self.path).as_posix()
        return name[: -len(".txt.gz")] if name.endswith(".txt.gz") else name[: -len(".txt")]

    def ids(self, stop: int) -> Iterator[Optional[str]]:
        return (self._id(k) for k in range(min(stop, self.total)))

    def where(self, position: int) -> str:
        return printable(self._files[position].relative_to(self.path).as_posix())

    def read(self, start: int, stop: int) -> Iterator[Row]:
        for position in range(start, min(stop, self.total)):
            p, art_id, where = self._files[position], self._id(position), self.where(position)
            limit = 4 * self.max_chars  # (UTF-8: at most 4 bytes a character) a longer file is not read whole
            try:
                size = p.stat().st_size
                if is_gzip(p):
                    with gzip.open(p, "rb") as f:
                        data = f.read(limit + 1)
                    size = len(data)
                else:
                    data = p.read_bytes() if size <= limit else b""
            except (EOFError, zlib.error, gzip.BadGzipFile) as e:
                yield BadRow(position, printable(art_id), f"not a readable gzip file ({e})", where)
                continue
            except OSError as e:
                yield BadRow(position, printable(art_id), f"cannot read ({e.strerror or e})", where)
                continue
            if size > limit:
                # (a gzip file is decompressed only up to the limit)
                what = f"over {limit:,} bytes once decompressed" if is_gzip(p) else f"file of {size:,} bytes"
                yield BadRow(position, printable(art_id), f"{what} is over the limit of {self.max_chars:,} characters "
                                                          "(--max-chars)", where)
                continue
            try:
                text = data.decode("utf-8-sig")
            except UnicodeDecodeError as e:
                yield BadRow(position, printable(art_id),
                             f"not UTF-8 text (byte 0x{data[e.start]:02x} at position {e.start})", where)
                continue
            yield self._check(position, art_id, text, where, {})


def _is_text_file(p: Path) -> bool:
    return (p.name.endswith(".txt") or p.name.endswith(".txt.gz")) and p.is_file()


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

    def spec(self) -> dict[str, Any]:
        return {**super().spec(), "split": self.split}

    def ids(self, stop: int) -> Iterator[Optional[str]]:
        stop = min(stop, self.total)
        column = self._ds.select_columns([self.id_field]).select(range(stop)).to_dict()[self.id_field] if stop else []
        return (id_text(v) for v in column)

    def read(self, start: int, stop: int) -> Iterator[Row]:
        stop = min(stop, self.total)
        if start >= stop:
            return
        for k, row in enumerate(self._ds.select(range(start, stop)).to_list()):
            position = start + k
            extras = {name: value for name, value in row.items() if name not in (self.id_field, self.text_field)}
            yield self._check(position, row.get(self.id_field), row.get(self.text_field), self.where(position), extras)


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
        name = p.name[: -len(".gz")] if is_gzip(p) else p.name
        if Path(name).suffix in (".jsonl", ".json", ".ndjson"):
            return "jsonl"
        if p.suffix == ".parquet":
            return "parquet"
        raise InputFormatError(f"{p}: cannot tell the format from the name: give --input-format "
                               "(jsonl, parquet, txt or hf; gzip is read for .jsonl.gz and for .txt.gz in a folder)")
    if (p / "dataset_info.json").is_file() or (p / "dataset_dict.json").is_file() or (p / "state.json").is_file():
        return "hf"
    if next(p.rglob("*.parquet"), None) is not None:
        return "parquet"
    if next(p.rglob("*.txt"), None) is not None or next(p.rglob("*.txt.gz"), None) is not None:
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
