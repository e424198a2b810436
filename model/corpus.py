"""Score a whole corpus into Parquet tables, resumably, on one machine or on a Ray cluster.

    from redflags.corpus import score_corpus
    result = score_corpus("articles.jsonl", "out/")      # engine="ray" for Ray Data

The input (corpus_input.py) is cut into shards of consecutive articles. A shard is the unit of
work and of commit: its three Parquet files (sentences, articles, errors) are each written under a
temporary name and renamed, and then a marker `_shards/NNNNN.json` commits the shard. A run that
finds the output folder of an earlier run of the same model on the same input skips the committed
shards and redoes the rest (after a SIGKILL, at any point), so the output ends with exactly one row
per sentence. A different model, input or setting is refused unless `overwrite` is given.

Both engines call the same `score_shard`, so their rows are the same: the local engine in this
process, the Ray engine in a pool of actors (one model load each; corpus_ray.py).

Output folder:
    sentences/part-NNNNN.parquet   one row per sentence: id, position, index, start, end, text,
                                   p_<marker>, flag_<marker>, truncated, evidence, model_name, model_version
    articles/part-NNNNN.parquet    one row per scored article: the summary per marker, extra input fields
    errors/part-NNNNN.parquet      one row per article that could not be scored: position, id, where, reason
    manifest.json                  model, thresholds, input, settings, counts, times, status
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Optional, Sequence

from redflags.atomic import atomic_path, remove_stale, write_text
from redflags.corpus_input import Article, BadRow, CorpusInput, DEFAULT_MAX_CHARS, _needs_pyarrow, open_input
from redflags.markers import STYLE_NOT_TRUTH

log = logging.getLogger(__name__)

DEFAULT_SHARD_SIZE = 250  # articles per shard: about a minute of work on one CPU core, the most a kill loses
MANIFEST = "manifest.json"
TABLES = ("sentences", "articles", "errors")
SCHEMA_VERSION = 1


class OutputConflictError(RuntimeError):
    """The output folder holds another run's results (or is in use): the message says what differs."""


@dataclass
class CorpusResult:
    """What a `score_corpus` run did; `failed` articles are in the errors table."""

    out: str
    articles: int  # scored, in all committed shards
    sentences: int
    failed: int
    shards: int
    shards_skipped: int  # committed by an earlier run and not redone
    seconds: float


# --- tables ---------------------------------------------------------------------------------------

def sentence_schema(markers: Sequence[str]) -> Any:
    """Arrow schema of the sentence table."""
    pa = _needs_pyarrow()
    evidence = pa.struct([("marker", pa.string()), ("start", pa.int64()), ("end", pa.int64()), ("text", pa.string()),
                          ("score", pa.float32()), ("technique", pa.string())])
    return pa.schema(
        [("id", pa.string()), ("position", pa.int64()), ("index", pa.int32()), ("start", pa.int64()),
         ("end", pa.int64()), ("text", pa.string())]
        + [(f"p_{m}", pa.float32()) for m in markers]
        + [(f"flag_{m}", pa.bool_()) for m in markers]
        + [("truncated", pa.bool_()), ("evidence", pa.list_(evidence)),
           ("model_name", pa.string()), ("model_version", pa.string())]
    )


def _summary_fields(markers: Sequence[str]) -> list[tuple[str, Any]]:
    """The article table's own columns (name, Arrow type), before the input's extra fields."""
    pa = _needs_pyarrow()
    fields = [("id", pa.string()), ("position", pa.int64()), ("sentences", pa.int32()), ("skipped_lines", pa.int32())]
    for m in markers:
        # percentile_<m>: against the model's reference news articles (profile.py); null without a reference
        fields += [(f"flagged_{m}", pa.int32()), (f"share_{m}", pa.float32()), (f"max_{m}", pa.float32()),
                   (f"max_sentence_{m}", pa.int32()), (f"percentile_{m}", pa.float32())]
    return fields + [("model_name", pa.string()), ("model_version", pa.string())]


def _extra_columns(markers: Sequence[str], extras: Any) -> list[tuple[str, str]]:
    """(input field, column) per extra field: an extra named like a summary column becomes "input_<name>"."""
    taken = {name for name, _ in _summary_fields(markers)}
    return [(name, f"input_{name}" if name in taken else name) for name in extras.names]


def article_schema(markers: Sequence[str], extras: Any) -> Any:
    """Arrow schema of the article table: summary columns, then the input's extra fields."""
    extra = [(column, extras.field(name).type) for name, column in _extra_columns(markers, extras)]
    return _needs_pyarrow().schema(_summary_fields(markers) + extra)


def error_schema() -> Any:
    """Arrow schema of the errors table."""
    pa = _needs_pyarrow()
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
    pa = _needs_pyarrow()
    began = time.perf_counter()
    markers = scorer.markers
    rows = list(corpus.read(job.start, job.stop))
    articles = [r for r in rows if isinstance(r, Article)]
    bad = [r for r in rows if isinstance(r, BadRow)]
    reports = _score_articles(scorer, articles, bad, batch_size, pool_size)

    extras = corpus.extras_schema()
    schemas = {"sentences": sentence_schema(markers), "articles": article_schema(markers, extras),
               "errors": error_schema()}
    sent: dict[str, list[Any]] = {name: [] for name in schemas["sentences"].names}
    art: dict[str, list[Any]] = {name: [] for name in schemas["articles"].names}
    extra_cols = _extra_columns(markers, extras)
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
            sent["truncated"].append(s.truncated)
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
        for name, column in extra_cols:
            art[column].append(article.extras.get(name))
    errors = {"position": [b.position for b in bad], "id": [b.id for b in bad], "where": [b.where for b in bad],
              "reason": [b.reason for b in bad]}

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
    bad.sort(key=lambda b: b.position)
    return out


def _commit_shard(out: Path, job: ShardJob, tables: dict[str, Any], counts: ShardCounts) -> None:
    import pyarrow.parquet as pq

    for name in TABLES:
        with atomic_path(out / name / shard_name(job.index)) as tmp:
            pq.write_table(tables[name], tmp)
    # The marker comes last: a shard without one is redone, whatever files it has.
    write_text(out / "_shards" / f"{job.index:05d}.json", json.dumps({**asdict(job), **asdict(counts)}) + "\n")


def committed_shards(out: Path) -> dict[int, dict[str, Any]]:
    """Shard index -> its marker's counts, for every committed shard in `out`."""
    done = {}
    for p in sorted((out / "_shards").glob("*.json")):
        try:
            record = json.loads(p.read_text(encoding="utf-8"))
            done[int(record["index"])] = record
        except (ValueError, KeyError, OSError):
            log.warning("%s: unreadable shard marker, the shard is redone", p)
    return done


def _remove_uncommitted(out: Path, done: dict[int, Any]) -> None:
    """Delete part files of shards that have no marker (a killed run wrote them), and stale temporaries."""
    for name in TABLES:
        folder = out / name
        if not folder.is_dir():
            continue
        for p in folder.iterdir():
            if p.name.startswith("part-") and p.suffix == ".parquet":
                try:
                    index = int(p.stem.split("-")[1])
                except (IndexError, ValueError):
                    continue
                if index not in done:
                    p.unlink(missing_ok=True)
        # Temporaries (".part-NNNNN.parquet.<pid>-XXXX.tmp") of writers that no longer run.
        for part in {p.name[1:].split(".parquet")[0] + ".parquet" for p in folder.glob(".part-*")}:
            remove_stale(folder / part)


# --- the run --------------------------------------------------------------------------------------

class _Lock:
    """`out/.lock` holds the pid of the run writing there; a second run is refused while that pid lives."""

    def __init__(self, out: Path) -> None:
        self.path = out / ".lock"

    def __enter__(self) -> "_Lock":
        from redflags.atomic import _alive

        for _ in range(2):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                try:
                    pid = int(self.path.read_text().strip() or 0)
                except (OSError, ValueError):
                    pid = 0
                if pid and pid != os.getpid() and _alive(pid):
                    raise OutputConflictError(f"{self.path.parent}: another score-corpus run (pid {pid}) is writing "
                                              "here; wait for it or choose another --out") from None
                self.path.unlink(missing_ok=True)  # left by a killed run
                continue
            with os.fdopen(fd, "w") as f:
                f.write(f"{os.getpid()}\n")
            return self
        raise OutputConflictError(f"{self.path}: cannot take the lock")

    def __exit__(self, *exc: Any) -> None:
        self.path.unlink(missing_ok=True)


def _identity(scorer: Any, corpus: CorpusInput, model: dict[str, str], shard_size: int, evidence: bool) -> dict[str, Any]:
    """What the rows depend on: a run that differs in any of these does not resume another's output."""
    return {
        "schema_version": SCHEMA_VERSION,
        "model": model,
        "thresholds": {m: round(t, 9) for m, t in scorer.thresholds.items()},
        "max_length": scorer.max_length,
        "evidence": bool(evidence and scorer.has_evidence),
        "input": {**{k: v for k, v in corpus.spec().items() if k != "scanned"}, "fingerprint": corpus.fingerprint()},
        "shard_size": shard_size,
    }


def _differences(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    out = []
    for key in sorted(set(old) | set(new)):
        if old.get(key) != new.get(key):
            out.append(f"{key}: {json.dumps(old.get(key), sort_keys=True)} then, {json.dumps(new.get(key), sort_keys=True)} now")
    return out


def score_corpus(
    input: str | Path,
    out: str | Path,
    model: str | Path | None = None,
    engine: str = "local",
    *,
    input_format: Optional[str] = None,
    split: Optional[str] = None,
    id_field: str = "id",
    text_field: str = "text",
    max_chars: int = DEFAULT_MAX_CHARS,
    shard_size: int = DEFAULT_SHARD_SIZE,
    batch_size: int = 32,
    threads: Optional[int] = None,
    dtype: str = "float32",
    evidence: bool = True,
    overwrite: bool = False,
    show_progress: bool = False,
    actors: Optional[int] = None,
    address: Optional[str] = None,
    limit: Optional[int] = None,
) -> CorpusResult:
    """Score every article of `input` into Parquet tables in `out` (see the module docstring).

    engine: "local" (this process) or "ray" (an actor pool on a local Ray runtime, or the cluster at
    `address`; `actors` replicas of `threads` threads each). Resumes an interrupted run of the same
    model, input and settings; refuses another's output unless `overwrite`. `limit` scores only the first
    `limit` articles (a trial run). Raises ValueError / OutputConflictError / ImportError with a
    message that names the problem.
    """
    from redflags.scorer import _check_count

    if engine not in ("local", "ray"):
        raise ValueError(f"engine must be 'local' or 'ray', got {engine!r}")
    for value, name in ((shard_size, "shard_size"), (batch_size, "batch_size")):
        _check_count(value, name)
    if threads is not None:
        _check_count(threads, "threads")
    if actors is not None:
        _check_count(actors, "actors")
    if limit is not None:
        _check_count(limit, "limit")
    _needs_pyarrow()
    if engine == "ray":
        from redflags.corpus_ray import needs_ray

        needs_ray()

    corpus = open_input(input, kind=input_format, split=split, id_field=id_field, text_field=text_field,
                        max_chars=max_chars)
    out = Path(out).expanduser()
    out.mkdir(parents=True, exist_ok=True)
    from redflags.scorer import DEFAULT_MODEL_DIR, load

    model_dir = Path(model).expanduser() if model is not None else DEFAULT_MODEL_DIR
    with _Lock(out):
        # The driver loads the model too (threads as asked): the local engine scores with it, and either
        # engine needs its thresholds; a bad model directory fails here, before any worker starts.
        scorer = load(model_dir, dtype=dtype, threads=threads)
        scorer.evidence = evidence
        # Named as every report names it: the folder's name, and a hash of the weights and what decides flags.
        identity_model = {"name": scorer.model_name, "version": scorer.model_version}
        identity = _identity(scorer, corpus, identity_model, shard_size, evidence)
        total = corpus.total if limit is None else min(limit, corpus.total)
        jobs = [ShardJob(k, start, min(start + shard_size, total))
                for k, start in enumerate(range(0, total, shard_size))]
        done = _prepare(out, identity, overwrite)
        pending = [j for j in jobs if j.index not in done]
        manifest = {
            "about": "redflags corpus scores. " + STYLE_NOT_TRUTH,
            **identity,
            "redflags_version": _version(),
            "engine": engine,
            "settings": {"batch_size": batch_size, "threads": threads, "dtype": scorer.dtype, "actors": actors,
                         "limit": limit},
            "tables": {name: f"{name}/part-*.parquet" for name in TABLES},
            "status": "running",
            "started": _now(),
        }
        _write_manifest(out, manifest)
        log.info("%d shards of %d articles: %d committed earlier, %d to score", len(jobs), shard_size,
                 len(jobs) - len(pending), len(pending))
        began = time.perf_counter()
        bar = _Bar(sum(j.stop - j.start for j in pending), show_progress)
        try:
            if engine == "local":
                for job in pending:
                    counts = score_shard(scorer, corpus, job, out, identity_model, batch_size)
                    bar.update(counts.articles + counts.failed, counts.sentences)
            else:
                from redflags.corpus_ray import run_ray

                del scorer  # (the actors load their own)
                for counts in run_ray(corpus, pending, out, model_dir, identity_model, batch_size=batch_size,
                                      threads=threads, dtype=dtype, evidence=evidence, actors=actors,
                                      address=address):
                    bar.update(counts.articles + counts.failed, counts.sentences)
        finally:
            bar.close()
        seconds = time.perf_counter() - began
        done = committed_shards(out)
        wanted = {j.index for j in jobs}
        result = CorpusResult(
            out=str(out),
            articles=sum(r["articles"] for k, r in done.items() if k in wanted),
            sentences=sum(r["sentences"] for k, r in done.items() if k in wanted),
            failed=sum(r["failed"] for k, r in done.items() if k in wanted),
            shards=len(jobs),
            shards_skipped=len(jobs) - len(pending),
            seconds=round(seconds, 3),
        )
        missing = wanted - set(done)
        manifest.update(
            status="complete" if not missing else "incomplete",
            finished=_now(),
            counts={"articles": result.articles, "sentences": result.sentences, "failed": result.failed,
                    "shards": result.shards, "shards_skipped": result.shards_skipped},
            seconds=result.seconds,
        )
        _write_manifest(out, manifest)
        if missing:
            raise RuntimeError(f"{out}: {len(missing)} shards were not committed; run the same command again to finish")
        return result


def _prepare(out: Path, identity: dict[str, Any], overwrite: bool) -> dict[int, dict[str, Any]]:
    """Check `out` against an earlier run: resume it (its committed shards), or start afresh when asked."""
    path = out / MANIFEST
    if path.is_file():
        try:
            old = json.loads(path.read_text(encoding="utf-8"))
        except ValueError as e:
            raise OutputConflictError(f"{path}: unreadable manifest ({e}); use --overwrite to start afresh") from None
        old_identity = {k: old.get(k) for k in identity}
        if old_identity != identity and not overwrite:
            diff = "; ".join(_differences(old_identity, identity))
            raise OutputConflictError(
                f"{out} holds scores of another run ({diff}). Nothing was written. Use --overwrite to delete them and "
                "start afresh, or choose another --out"
            )
        if old_identity != identity or overwrite:
            _clear(out)
    elif any(out.iterdir()) and not overwrite:
        if any((out / name).exists() for name in (*TABLES, "_shards")):
            raise OutputConflictError(f"{out} holds tables but no manifest; use --overwrite to start afresh")
    elif overwrite:
        _clear(out)
    done = committed_shards(out)
    _remove_uncommitted(out, done)
    return done


def _clear(out: Path) -> None:
    """Delete what score-corpus wrote in `out` (only its own files and folders)."""
    for name in (*TABLES, "_shards"):
        shutil.rmtree(out / name, ignore_errors=True)
    (out / MANIFEST).unlink(missing_ok=True)


def _write_manifest(out: Path, manifest: dict[str, Any]) -> None:
    write_text(out / MANIFEST, json.dumps(manifest, indent=2, ensure_ascii=False, allow_nan=False) + "\n")


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _version() -> str:
    from redflags import __version__

    return __version__


class _Bar:
    """tqdm over articles, with sentences/s beside the articles/s and the time left."""

    def __init__(self, total: int, show: bool) -> None:
        self.bar = None
        self.sentences = 0
        self.began = time.perf_counter()
        if show:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=total, unit="article", desc="scoring", smoothing=0.1)

    def update(self, articles: int, sentences: int) -> None:
        if self.bar is None:
            return
        self.sentences += sentences
        rate = self.sentences / max(time.perf_counter() - self.began, 1e-9)
        self.bar.set_postfix_str(f"{rate:.0f} sentences/s", refresh=False)
        self.bar.update(articles)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()

