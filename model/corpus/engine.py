"""Score a whole corpus into Parquet tables, resumably, on one machine or on a Ray cluster.

    from redflags.corpus.engine import score_corpus
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
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from redflags.atomic import write_text
from redflags.extras import package_version
from redflags.corpus.inputs import CorpusInput, DEFAULT_MAX_CHARS, needs_pyarrow, open_input
from redflags.corpus.shards import ShardJob, committed_shards, remove_uncommitted, score_shard
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


# --- the run --------------------------------------------------------------------------------------

class _Lock:
    """`out/.lock` holds the pid of the run writing there; a second run is refused while that pid lives."""

    def __init__(self, out: Path) -> None:
        self.path = out / ".lock"

    def __enter__(self) -> "_Lock":
        from redflags.atomic import pid_alive

        for _ in range(2):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                try:
                    pid = int(self.path.read_text().strip() or 0)
                except (OSError, ValueError):
                    pid = 0
                if pid and pid != os.getpid() and pid_alive(pid):
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
    # Length: over 60 lines: the run's order (check, lock, resume, score, commit, manifest) reads best in one place.
    from redflags.scoring.scorer import _check_count

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
    needs_pyarrow()
    if engine == "ray":
        from redflags.corpus.ray_engine import needs_ray

        needs_ray()

    corpus = open_input(input, kind=input_format, split=split, id_field=id_field, text_field=text_field,
                        max_chars=max_chars)
    out = Path(out).expanduser()
    out.mkdir(parents=True, exist_ok=True)
    from redflags.scoring.scorer import DEFAULT_MODEL_DIR, load

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
                from redflags.corpus.ray_engine import run_ray

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
    remove_uncommitted(out, done)
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
    return package_version()


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

