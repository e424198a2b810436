"""Shards of a corpus run: the Parquet schemas, scoring one shard, committing it, and reading commits.

A shard is the unit of work and of commit (see engine.py). Both engines call `score_shard`: the local
engine in its own process, the Ray engine in its actors (ray_engine.py), so their rows are the same.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Optional, Sequence

from redflags.atomic import atomic_path, remove_stale, write_text
from redflags.corpus.rows import Article, BadRow, CorpusInput, needs_pyarrow, printable

log = logging.getLogger(__name__)

TABLES = ("sentences", "articles", "errors")
SCHEMA_VERSION = 2  # 2: the input's extra fields are one JSON column, `extra` (1: a column each)


# --- tables ---------------------------------------------------------------------------------------

def sentence_schema(markers: Sequence[str]) -> Any:
    """Arrow schema of the sentence table."""
    pa = needs_pyarrow()
    evidence = pa.struct([("marker", pa.string()), ("start", pa.int64()), ("end", pa.int64()), ("text", pa.string()),
                          ("score", pa.float32()), ("technique", pa.string())])
    return pa.schema(
        [("id", pa.string()), ("position", pa.int64()), ("index", pa.int32()), ("start", pa.int64()),
         ("end", pa.int64()), ("text", pa.string())]
        + [(f"p_{m}", pa.float32()) for m in markers]
        + [(f"flag_{m}", pa.bool_()) for m in markers]
        + [("windows", pa.int32()), ("evidence", pa.list_(evidence)),
           ("model_name", pa.string()), ("model_version", pa.string())]
    )


def article_schema(markers: Sequence[str]) -> Any:
    """Arrow schema of the article table: the summary per marker, then `extra`, the input's other fields of the
    row as one JSON object (text): names and values of the input never become columns, so they cannot clash
    with the table's own columns or overflow a column's type."""
    pa = needs_pyarrow()
    fields = [("id", pa.string()), ("position", pa.int64()), ("sentences", pa.int32()), ("skipped_lines", pa.int32())]
    for m in markers:
        # percentile_<m>: against the model's reference news articles (profile.py); null without a reference
        fields += [(f"flagged_{m}", pa.int32()), (f"share_{m}", pa.float32()), (f"max_{m}", pa.float32()),
                   (f"max_sentence_{m}", pa.int32()), (f"percentile_{m}", pa.float32())]
    return pa.schema(fields + [("model_name", pa.string()), ("model_version", pa.string()), ("extra", pa.string())])


def error_schema() -> Any:
    """Arrow schema of the errors table."""
    pa = needs_pyarrow()
    return pa.schema([("position", pa.int64()), ("id", pa.string()), ("where", pa.string()), ("reason", pa.string())])


# --- one shard ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ShardJob:
    """Everything a worker needs to score shard `index` (positions [start, stop)) into `out`."""

    index: int
    start: int
    stop: int


@dataclass
class ShardCounts:
    index: int
    articles: int
    sentences: int
    failed: int
    seconds: float


def shard_name(index: int) -> str:
    return f"part-{index:05d}.parquet"


def score_shard(scorer: Any, corpus: CorpusInput, job: ShardJob, out: Path, identity: dict[str, str],
                batch_size: int, pool_size: Optional[int] = None) -> ShardCounts:
    """Read, score and commit one shard: three Parquet files, then its marker. Used by both engines."""
    pa = needs_pyarrow()
    began = time.perf_counter()
    markers = scorer.markers
    # An input without a single row is reported as one error, as a bad row would be (shard 0 is its only shard).
    rows = list(corpus.read(job.start, job.stop)) if corpus.total else [corpus.empty_row()]
    articles = [r for r in rows if isinstance(r, Article)]
    bad = [r for r in rows if isinstance(r, BadRow)]
    reports = _score_articles(scorer, articles, bad, batch_size, pool_size)

    schemas = {"sentences": sentence_schema(markers), "articles": article_schema(markers), "errors": error_schema()}
    sent: dict[str, list[Any]] = {name: [] for name in schemas["sentences"].names}
    art: dict[str, list[Any]] = {name: [] for name in schemas["articles"].names}
    for article, report in reports:
        for s in report.sentences:
            sent["id"].append(article.id)
            sent["position"].append(article.position)
            sent["index"].append(s.index)
            sent["start"].append(s.start)
            sent["end"].append(s.end)
            sent["text"].append(s.text)
            for m in markers:
                sent[f"p_{m}"].append(s.scores[m])
                sent[f"flag_{m}"].append(s.flags[m])
            sent["windows"].append(s.windows)
            sent["evidence"].append(None if s.evidence is None else [
                {"marker": e.marker, "start": e.start, "end": e.end, "text": e.text, "score": e.score,
                 "technique": e.technique} for e in s.evidence])
            sent["model_name"].append(identity["name"])
            sent["model_version"].append(identity["version"])
        art["id"].append(article.id)
        art["position"].append(article.position)
        art["sentences"].append(len(report.sentences))
        art["skipped_lines"].append(len(report.skipped))
        profile = report.profile or {}
        for m, ms in report.summary.items():
            art[f"flagged_{m}"].append(ms.flagged)
            art[f"share_{m}"].append(ms.share)
            art[f"max_{m}"].append(ms.max_score)
            art[f"max_sentence_{m}"].append(ms.max_sentence)
            art[f"percentile_{m}"].append(profile[m].percentile if m in profile else None)
        art["model_name"].append(identity["name"])
        art["model_version"].append(identity["version"])
        art["extra"].append(article.extra)
    errors = {"position": [b.position for b in bad], "id": [None if b.id is None else printable(b.id) for b in bad],
              "where": [printable(b.where) for b in bad], "reason": [printable(b.reason) for b in bad]}

    tables = {name: pa.Table.from_pydict(columns, schema=schemas[name])
              for name, columns in (("sentences", sent), ("articles", art), ("errors", errors))}
    counts = ShardCounts(job.index, len(reports), tables["sentences"].num_rows, len(bad),
                         round(time.perf_counter() - began, 3))
    _commit_shard(out, job, tables, counts)
    return counts


def _score_articles(scorer: Any, articles: list[Article], bad: list[BadRow], batch_size: int,
                    pool_size: Optional[int]) -> list[tuple[Article, Any]]:
    """(article, report) for the shard's articles, batched together; if the batch fails, article by article,
    so that one article that breaks the scorer goes to the errors table and the others are still scored."""
    kwargs = {"batch_size": batch_size} | ({"pool_size": pool_size} if pool_size else {})
    try:
        return list(zip(articles, scorer.score_many([a.text for a in articles], **kwargs)))
    except (ValueError, TypeError, RuntimeError) as e:
        log.warning("a batch of %d articles failed (%s): scoring them one by one", len(articles), e)
    out = []
    for a in articles:
        try:
            out.append((a, scorer.score_many([a.text], **kwargs)[0]))
        except (ValueError, TypeError, RuntimeError) as e:
            bad.append(BadRow(a.position, a.id, f"scoring failed: {type(e).__name__}: {e}", "scorer"))
    bad.sort(key=lambda b: -1 if b.position is None else b.position)
    return out


def _commit_shard(out: Path, job: ShardJob, tables: dict[str, Any], counts: ShardCounts) -> None:
    import pyarrow.parquet as pq

    files = {}
    for name in TABLES:
        with atomic_path(out / name / shard_name(job.index)) as tmp:
            pq.write_table(tables[name], tmp)
            # What a resume checks the file against (verify_shard): its rows, size and checksum.
            files[name] = {"rows": tables[name].num_rows, "bytes": tmp.stat().st_size, "sha256": _sha256(tmp)}
    # The marker comes last: a shard without one is redone, whatever files it has.
    write_text(out / "_shards" / f"{job.index:05d}.json",
               json.dumps({**asdict(job), **asdict(counts), "files": files}) + "\n")


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def committed_shards(out: Path) -> dict[int, dict[str, Any]]:
    """Shard index -> its marker's counts, for every committed shard in `out`."""
    done = {}
    for p in sorted((out / "_shards").glob("*.json")):
        try:
            record = json.loads(p.read_text(encoding="utf-8"))
            done[int(record["index"])] = record
        except (ValueError, KeyError, TypeError, OSError):
            log.warning("%s: unreadable shard marker, the shard is redone", p)
    return done


def verify_shard(out: Path, record: dict[str, Any]) -> Optional[str]:
    """What is wrong with a committed shard's part files (missing, another size, checksum or row count), or None.

    Markers of older runs carry no sizes or checksums: their files are checked by row count alone.
    """
    import pyarrow.parquet as pq

    expected_rows = {"sentences": record.get("sentences"), "articles": record.get("articles"),
                     "errors": record.get("failed")}
    files = record.get("files") or {}
    for name in TABLES:
        path = out / name / shard_name(int(record["index"]))
        if path.is_symlink() or not path.is_file():
            return f"{name}/{path.name} is missing"
        want = files.get(name) or {"rows": expected_rows[name]}
        if "bytes" in want and path.stat().st_size != want["bytes"]:
            return f"{name}/{path.name} has {path.stat().st_size:,} bytes, {want['bytes']:,} when it was committed"
        if "sha256" in want and _sha256(path) != want["sha256"]:
            return f"{name}/{path.name} is not the file that was committed (its checksum differs)"
        try:
            rows = pq.read_metadata(path).num_rows
        except Exception as e:  # pyarrow raises several types for a damaged file
            return f"{name}/{path.name} is not readable Parquet ({e})"
        if rows != want["rows"]:
            return f"{name}/{path.name} has {rows} rows, {want['rows']} when it was committed"
    return None


def forget_shard(out: Path, index: int) -> None:
    """Uncommit a shard (its marker goes; remove_uncommitted then deletes its part files)."""
    (out / "_shards" / f"{index:05d}.json").unlink(missing_ok=True)


def remove_uncommitted(out: Path, done: dict[int, Any]) -> None:
    """Delete part files of shards that have no marker (a killed run wrote them), and stale temporaries."""
    for name in TABLES:
        folder = out / name
        if not folder.is_dir() or folder.is_symlink():
            continue
        for p in folder.iterdir():
            if p.name.startswith("part-") and p.suffix == ".parquet":
                try:
                    index = int(p.stem.split("-")[1])
                except (IndexError, ValueError):
                    continue
                if index not in done:
                    p.unlink(missing_ok=True)  # (a link is removed, never what it points to)
        # Temporaries (".part-NNNNN.parquet.<pid>-XXXX.tmp") of writers that no longer run.
        for part in {p.name[1:].split(".parquet")[0] + ".parquet" for p in folder.glob(".part-*")}:
            remove_stale(folder / part)
