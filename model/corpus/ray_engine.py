"""The Ray engine of `score-corpus`: shards go through Ray Data's `map_batches` to a pool of scorer actors.

The dataset is the list of pending shards; each actor loads the model once and, per shard, reads
the shard's articles from the input, scores them and commits the shard's Parquet files (the same
`score_shard` as the local engine, so the rows are the same). Reading and writing happen in the
actor because a shard is the unit of commit: a shard's files and its marker are written by the one
worker that scored it, so a kill anywhere leaves whole shards or none. The output folder must
therefore be one that every node can write: local disk for a local runtime, a shared file system
on a cluster.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Iterator, Optional

from redflags.corpus.shards import ShardCounts, ShardJob, score_shard
from redflags.corpus.inputs import CorpusInput, from_spec

log = logging.getLogger(__name__)

# A Ray actor reserves this share of a CPU per thread: a little under one, so that on a small machine an
# actor per core still leaves room for Ray's own tasks (with whole CPUs, 2 actors on 2 cores starve the
# dataset's other tasks and the job hangs).
CPU_PER_THREAD = 0.9


def needs_ray() -> Any:
    """The ray module, or an ImportError that says how to install it."""
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError:
        raise ImportError("--engine ray needs Ray Data, which is not installed: pip install 'redflags[ray]'") from None
    return ray


class ShardScorer:
    """A Ray actor: one model load, then one shard per call."""

    def __init__(self, model_dir: str, spec: dict[str, Any], out: str, identity: dict[str, str], batch_size: int,
                 threads: int, dtype: str, evidence: bool) -> None:
        from redflags.scoring.scorer import load

        self.scorer = load(model_dir, dtype=dtype, threads=threads)
        self.scorer.evidence = evidence
        self.corpus = from_spec(spec)
        self.out = Path(out)
        self.identity = identity
        self.batch_size = batch_size

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        rows: dict[str, list[int | float]] = {"index": [], "articles": [], "sentences": [], "failed": [], "seconds": []}
        for index, start, stop in zip(batch["index"], batch["start"], batch["stop"]):
            job = ShardJob(int(index), int(start), int(stop))
            counts = score_shard(self.scorer, self.corpus, job, self.out, self.identity, self.batch_size)
            for key in rows:
                rows[key].append(getattr(counts, key))
        return rows


def default_actors(cpus: float, threads: int) -> int:
    """Actors that fit the runtime's CPUs at `threads` threads each (at least one)."""
    return max(1, int(cpus // (threads * CPU_PER_THREAD + 1e-9)) if cpus >= threads else 1)


def run_ray(corpus: CorpusInput, jobs: list[ShardJob], out: Path, model_dir: Path, identity: dict[str, str], *,
            batch_size: int, threads: Optional[int], dtype: str, evidence: bool, actors: Optional[int],
            address: Optional[str]) -> Iterator[ShardCounts]:
    """Score `jobs` on Ray (a local runtime, or the cluster at `address`); yields each shard's counts as it commits."""
    ray = needs_ray()
    if not jobs:
        return
    started_here = not ray.is_initialized()
    if started_here:
        ray.init(address=address, include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING,
                 configure_logging=False)
    try:
        ctx = ray.data.DataContext.get_current()
        # Our own bar (corpus.py) counts articles and sentences; Ray's bars and INFO lines would break it.
        ctx.enable_progress_bars = False
        logging.getLogger("ray.data").setLevel(logging.WARNING)
        logging.getLogger("ray.data._internal.progress").setLevel(logging.ERROR)  # ("progress bars disabled")
        ctx.print_on_execution_start = False
        cpus = float(ray.cluster_resources().get("CPU", 1))
        threads = threads or 1
        actors = actors or default_actors(cpus, threads)
        actors = min(actors, len(jobs))
        log.info("Ray: %d actors of %d threads on %.0f CPUs, %d shards", actors, threads, cpus, len(jobs))
        shards = ray.data.from_items([{"index": j.index, "start": j.start, "stop": j.stop} for j in jobs],
                                     override_num_blocks=len(jobs))
        scored = shards.map_batches(
            ShardScorer,
            fn_constructor_kwargs={
                "model_dir": str(Path(model_dir).resolve()), "spec": corpus.spec(), "out": str(Path(out).resolve()),
                "identity": identity, "batch_size": batch_size, "threads": threads, "dtype": dtype,
                "evidence": evidence,
            },
            batch_size=1,
            # One shard in flight per actor: a queued shard would wait behind a long one.
            compute=ray.data.ActorPoolStrategy(size=actors, max_tasks_in_flight_per_actor=1),
            num_cpus=threads * CPU_PER_THREAD,
        )
        for row in scored.iter_rows():
            yield ShardCounts(int(row["index"]), int(row["articles"]), int(row["sentences"]), int(row["failed"]),
                              float(row["seconds"]))
    finally:
        if started_here:
            ray.shutdown()
