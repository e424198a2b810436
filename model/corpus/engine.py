"""Score a whole corpus into Parquet tables, resumably, on one machine or on a Ray cluster.

    from redflags.corpus.engine import score_corpus
    result = score_corpus("articles.jsonl", "out/")      # engine="ray" for Ray Data

The input (inputs.py) is cut into shards of consecutive articles. A shard is the unit of work and
of commit: its three Parquet files (sentences, articles, errors) are each written under a temporary
name and renamed, and then a marker `_shards/NNNNN.json` commits the shard with each file's rows,
size and checksum. A run that finds the output folder of an earlier run of the same model on the
same input checks every committed shard's files against its marker, skips the sound ones and redoes
the rest (after a SIGKILL at any point, or a part file deleted or damaged since), so the output ends
with exactly one row per sentence. A different model, input or setting is refused unless
`overwrite` is given; so are an output folder inside the input folder and symbolic links among the
output's own folders (nothing is ever deleted or written through a link).

Both engines call the same `score_shard`, so their rows are the same: the local engine in this
process, the Ray engine in a pool of actors (one model load each; ray_engine.py).

Output folder:
    sentences/part-NNNNN.parquet   one row per sentence: id, position, index, start, end, text,
                                   p_<marker>, flag_<marker>, windows, evidence, model_name, model_version
    articles/part-NNNNN.parquet    one row per scored article: the summary per marker, model_name, model_version,
                                   extra (the input's other fields of the row, as one JSON object)
    errors/part-NNNNN.parquet      one row per article that could not be scored: position, id, where, reason
    manifest.json                  model, thresholds, input, settings, counts, duplicate ids, times, status
                                   (running, complete, incomplete, interrupted or failed)
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from redflags.atomic import LockHeldError, PidLock, write_text
from redflags.extras import package_version
from redflags.corpus.inputs import open_input
from redflags.corpus.rows import DEFAULT_MAX_CHARS, CorpusInput, Duplicates, find_duplicates, needs_pyarrow
from redflags.corpus.shards import (SCHEMA_VERSION, TABLES, ShardJob, committed_shards, forget_shard,
                                    remove_uncommitted, score_shard, verify_shard)
from redflags.markers import STYLE_NOT_TRUTH

log = logging.getLogger(__name__)

DEFAULT_SHARD_SIZE = 250  # articles per shard: about a minute of work on one CPU core, the most a kill loses
MANIFEST = "manifest.json"
LOCK = ".lock"


class OutputConflictError(RuntimeError):
    """The output folder holds another run's results (or is in use): the message says what differs."""


class DuplicateIdError(ValueError):
    """Ids repeat in the input and the run was asked for unique ids."""


class Interrupted(KeyboardInterrupt):
    """Ctrl-C during the run: the manifest says "interrupted"; `committed` of `shards` shards are kept."""

    def __init__(self, out: Path, committed: int, shards: int) -> None:
        super().__init__(f"{out}: interrupted with {committed} of {shards} shards committed")
        self.out, self.committed, self.shards = out, committed, shards


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
    shards_redone: int = 0  # committed earlier, but a part file was missing or damaged: scored again
    duplicate_ids: int = 0  # distinct ids that occur on more than one row (the manifest has examples)


# --- the run --------------------------------------------------------------------------------------

class _Lock:
    """`out/.lock` holds the pid of the run writing there; a second run is refused while that pid lives."""

    def __init__(self, out: Path) -> None:
        self.lock = PidLock(out / LOCK)

    def __enter__(self) -> "_Lock":
        try:
            self.lock.acquire()
        except LockHeldError as e:
            if not e.pid:
                raise OutputConflictError(str(e)) from None
            raise OutputConflictError(f"{self.lock.path.parent}: another score-corpus run (pid {e.pid}) is writing "
                                      "here; wait for it or choose another --out") from None
        return self

    def __exit__(self, *exc: Any) -> None:
        self.lock.release()


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


def _check_places(corpus: CorpusInput, out: Path) -> None:
    """Refuse an output folder inside the input folder (its Parquet files would be read as input next time), an
    input inside the output's own folders, and symbolic links among those folders (never deleted or written through)."""
    source, target = corpus.path.resolve(), out.resolve()
    if corpus.path.is_dir() and (target == source or source in target.parents):
        raise OutputConflictError(f"{out}: the output folder is inside the input folder {corpus.path}; its tables "
                                  "would be read as input next time. Choose an --out outside it")
    for name in (*TABLES, "_shards"):
        if source == target / name or (target / name) in source.parents:
            raise OutputConflictError(f"{corpus.path}: the input is inside the output's {name}/ folder, which "
                                      "score-corpus replaces; choose another --out")
    for name in (*TABLES, "_shards", MANIFEST, LOCK):
        if (out / name).is_symlink():
            raise OutputConflictError(f"{out / name}: a symbolic link (to {(out / name).readlink()}); score-corpus "
                                      "never writes or deletes through a link in its output folder: remove the link "
                                      "or choose another --out")


def _duplicates(corpus: CorpusInput, total: int, unique_ids: bool) -> Duplicates:
    """Report ids that occur more than once: a warning, or with `unique_ids` a DuplicateIdError before anything runs."""
    found = find_duplicates(corpus, total)
    if not found.ids:
        return found
    examples = ", ".join(f"{i!r} ({', '.join(corpus.where(p) for p in positions)})"
                         for i, positions in found.examples[:3])
    ids = f"{found.ids:,} ids occur" if found.ids != 1 else "1 id occurs"
    message = (f"{corpus.path.name}: {ids} more than once ({found.articles:,} articles), e.g. "
               f"{examples}; ids are compared as text (7 and \"7\" are the same id)")
    if unique_ids:
        raise DuplicateIdError(f"{message}. Nothing was scored (--unique-ids); give every article its own id, "
                               "or leave out --unique-ids to score them and find them by position")
    log.warning("%s. They are all scored: tell their rows apart by `position`, or use --unique-ids to refuse", message)
    return found


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
    unique_ids: bool = False,
) -> CorpusResult:
    """Score every article of `input` into Parquet tables in `out` (see the module docstring).

    engine: "local" (this process) or "ray" (an actor pool on a local Ray runtime, or the cluster at
    `address`; `actors` replicas of `threads` threads each). Resumes an interrupted run of the same
    model, input and settings; refuses another's output unless `overwrite`. `limit` scores only the first
    `limit` articles (a trial run). Ids that repeat are a warning (and in the manifest), or with `unique_ids`
    a DuplicateIdError before anything is scored. Raises ValueError / OutputConflictError / ImportError with a
    message that names the problem; Ctrl-C raises Interrupted after marking the manifest "interrupted".
    """
    # Length: over 60 lines: the run's order (check, lock, resume, score, commit, manifest) reads best in one place.
    from redflags.scoring.scorer import DEFAULT_MODEL_DIR, _check_count, load

    if engine not in ("local", "ray"):
        raise ValueError(f"engine must be 'local' or 'ray', got {engine!r}")
    for value, name in ((shard_size, "shard_size"), (batch_size, "batch_size")):
        _check_count(value, name)
    for value, name in ((threads, "threads"), (actors, "actors"), (limit, "limit")):
        if value is not None:
            _check_count(value, name)
    needs_pyarrow()
    if engine == "ray":
        from redflags.corpus.ray_engine import needs_ray

        needs_ray()

    corpus = open_input(input, kind=input_format, split=split, id_field=id_field, text_field=text_field,
                        max_chars=max_chars)
    out = Path(out).expanduser()
    _check_places(corpus, out)
    total = corpus.total if limit is None else min(limit, corpus.total)
    duplicates = _duplicates(corpus, total, unique_ids)
    model_dir = Path(model).expanduser() if model is not None else DEFAULT_MODEL_DIR
    # The driver loads the model too (threads as asked): the local engine scores with it, and either
    # engine needs its thresholds; a bad model directory fails here, before any worker starts and
    # before the output folder is made (inputs and model are checked first).
    scorer = load(model_dir, dtype=dtype, threads=threads)
    scorer.evidence = evidence
    out.mkdir(parents=True, exist_ok=True)
    with _Lock(out):
        # Named as every report names it: the folder's name, and a hash of the weights and what decides flags.
        identity_model = {"name": scorer.model_name, "version": scorer.model_version}
        identity = _identity(scorer, corpus, identity_model, shard_size, evidence)
        # An input with no rows still has one shard: its errors table says the input was empty.
        jobs = [ShardJob(k, start, min(start + shard_size, total))
                for k, start in enumerate(range(0, total, shard_size))] or [ShardJob(0, 0, 0)]
        done, redone = _prepare(out, identity, overwrite)
        pending = [j for j in jobs if j.index not in done]
        manifest = {
            "about": "redflags corpus scores. " + STYLE_NOT_TRUTH,
            **identity,
            "redflags_version": package_version(),
            "engine": engine,
            "settings": {"batch_size": batch_size, "threads": threads, "dtype": scorer.dtype, "actors": actors,
                         "limit": limit},
            "tables": {name: f"{name}/part-*.parquet" for name in TABLES},
            "duplicate_ids": {"ids": duplicates.ids, "articles": duplicates.articles,
                              "examples": [{"id": i, "positions": p} for i, p in duplicates.examples]},
            "status": "running",
            "started": _now(),
        }
        _write_manifest(out, manifest)
        log.info("%d shards of %d articles: %d committed earlier, %d to score", len(jobs), shard_size,
                 len(jobs) - len(pending), len(pending))
        began = time.perf_counter()
        if engine == "ray":
            scorer = None  # the actors load their own: the driver's copy is freed
        try:
            _run(engine, scorer, corpus, pending, out, model_dir, identity_model, show_progress, batch_size=batch_size,
                 threads=threads, dtype=dtype, evidence=evidence, actors=actors, address=address)
        except KeyboardInterrupt:
            result = _finish(out, manifest, jobs, pending, redone, duplicates, time.perf_counter() - began,
                             status="interrupted")
            raise Interrupted(out, _committed(out, jobs), result.shards) from None
        except Exception as e:
            _finish(out, manifest, jobs, pending, redone, duplicates, time.perf_counter() - began, status="failed",
                    error=f"{type(e).__name__}: {e}")
            raise
        result = _finish(out, manifest, jobs, pending, redone, duplicates, time.perf_counter() - began)
        missing = result.shards - _committed(out, jobs)
        if missing:
            raise RuntimeError(f"{out}: {missing} shards were not committed; run the same command again to finish")
        return result


def _run(engine: str, scorer: Any, corpus: CorpusInput, pending: list[ShardJob], out: Path, model_dir: Path,
         identity_model: dict[str, str], show_progress: bool, **options: Any) -> None:
    """Score the pending shards on the chosen engine, with the progress bar."""
    bar = _Bar(sum(j.stop - j.start for j in pending), show_progress)
    try:
        if engine == "local":
            for job in pending:
                counts = score_shard(scorer, corpus, job, out, identity_model, options["batch_size"])
                bar.update(counts.articles + counts.failed, counts.sentences)
        else:
            from redflags.corpus.ray_engine import run_ray

            for counts in run_ray(corpus, pending, out, model_dir, identity_model, **options):
                bar.update(counts.articles + counts.failed, counts.sentences)
    finally:
        bar.close()


def _committed(out: Path, jobs: list[ShardJob]) -> int:
    """How many of the run's shards are committed by now."""
    return len(committed_shards(out).keys() & {j.index for j in jobs})


def _finish(out: Path, manifest: dict[str, Any], jobs: list[ShardJob], pending: list[ShardJob], redone: int,
            duplicates: Duplicates, seconds: float, status: Optional[str] = None,
            error: Optional[str] = None) -> CorpusResult:
    """Count the committed shards and write the manifest's final state: complete, incomplete, interrupted, failed."""
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
        shards_redone=redone,
        duplicate_ids=duplicates.ids,
    )
    manifest.update(
        status=status or ("complete" if wanted <= set(done) else "incomplete"),
        finished=_now(),
        counts={"articles": result.articles, "sentences": result.sentences, "failed": result.failed,
                "shards": result.shards, "shards_skipped": result.shards_skipped, "shards_redone": redone},
        seconds=result.seconds,
    )
    if error:
        manifest["error"] = error
    _write_manifest(out, manifest)
    return result


def _prepare(out: Path, identity: dict[str, Any], overwrite: bool) -> tuple[dict[int, dict[str, Any]], int]:
    """Check `out` against an earlier run: resume it (its committed shards whose files are sound; the others are
    uncommitted and redone), or start afresh when asked. Returns the sound shards and how many were not."""
    path = out / MANIFEST
    if path.is_file():
        try:
            old = json.loads(path.read_text(encoding="utf-8"))
        except ValueError as e:
            raise OutputConflictError(f"{path}: unreadable manifest ({e}); use --overwrite to start afresh") from None
        old_identity = {k: old.get(k) for k in identity} if isinstance(old, dict) else {}
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
    redone = 0
    for index, record in sorted(done.items()):
        problem = verify_shard(out, record)
        if problem:
            log.warning("%s: shard %d was committed but %s: it is scored again", out, index, problem)
            forget_shard(out, index)
            del done[index]
            redone += 1
    remove_uncommitted(out, done)
    return done, redone


def _clear(out: Path) -> None:
    """Delete what score-corpus wrote in `out` (only its own files and folders; never through a link)."""
    for name in (*TABLES, "_shards"):
        if not (out / name).is_symlink():  # (refused before; checked again rather than trusted)
            shutil.rmtree(out / name, ignore_errors=True)
    (out / MANIFEST).unlink(missing_ok=True)


def _write_manifest(out: Path, manifest: dict[str, Any]) -> None:
    write_text(out / MANIFEST, json.dumps(manifest, indent=2, ensure_ascii=False, allow_nan=False) + "\n")


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


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

