"""Corpus scoring throughput: `redflags score-corpus` on the local engine and on Ray with 1 and 2 actors.

    python benchmarks/bench_corpus.py [--articles 300] [--reps 2] [--model DIR] [--json out.json]

Real text: whole news articles of the public corpora (PolNeAR, then PTC; `$REDFLAGS_DATA` or
../shared/data), repeated in order until there are --articles of them (each with its own id), in
one JSONL file. Every configuration is a new `redflags score-corpus` process into a fresh output
folder; the configurations run interleaved (--reps rounds of each in turn) so that a shared, noisy
machine slows all of them alike, and the medians are reported. Figures per configuration:

- articles/s and sentences/s over the scoring time in manifest.json (from the first shard to the
  last commit; for Ray this includes starting the runtime and the actors) and over the wall time of
  the whole process (import, model load, input scan);
- for Ray, the scaling from 1 to 2 actors (rate with 2 / rate with 1; 2.0 would be perfect).

Compare the ratios within one run, not absolute figures from different runs.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))
from bench_scoring import news_articles  # noqa: E402

CONFIGS: dict[str, list[str]] = {
    "local, 2 threads": ["--engine", "local", "--threads", "2"],
    "local, 1 thread": ["--engine", "local", "--threads", "1"],
    "ray, 1 actor x 1 thread": ["--engine", "ray", "--actors", "1", "--threads", "1"],
    "ray, 2 actors x 1 thread": ["--engine", "ray", "--actors", "2", "--threads", "1"],
}


def write_corpus(path: Path, n: int) -> int:
    """n articles (the corpora's news articles, repeated) as JSONL; returns the number of distinct texts."""
    texts = news_articles(limit=n)
    with open(path, "w", encoding="utf-8") as f:
        for k in range(n):
            f.write(json.dumps({"id": f"a{k:06d}", "text": texts[k % len(texts)], "copy": k // len(texts)}) + "\n")
    return len(texts)


def run(corpus: Path, out: Path, args: list[str], model: str | None, shard_size: int) -> dict[str, float]:
    shutil.rmtree(out, ignore_errors=True)
    cmd = [sys.executable, "-m", "redflags.cli", "score-corpus", str(corpus), "--out", str(out), "--no-progress",
           "--shard-size", str(shard_size), *args] + (["--model", model] if model else [])
    began = time.perf_counter()
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    wall = time.perf_counter() - began
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stderr[-3000:]}")
    manifest = json.loads((out / "manifest.json").read_text())
    counts = manifest["counts"]
    return {"articles": counts["articles"], "sentences": counts["sentences"], "scoring_s": manifest["seconds"],
            "wall_s": wall}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--articles", type=int, default=300)
    parser.add_argument("--reps", type=int, default=2)
    parser.add_argument("--shard-size", type=int, default=25)
    parser.add_argument("--model", default=None)
    parser.add_argument("--only", nargs="*", default=None, help="configuration names to run (default: all)")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    configs = {k: v for k, v in CONFIGS.items() if args.only is None or k in args.only}

    work = Path(tempfile.mkdtemp(prefix="bench-corpus-"))
    try:
        corpus = work / "corpus.jsonl"
        distinct = write_corpus(corpus, args.articles)
        runs: dict[str, list[dict[str, float]]] = {name: [] for name in configs}
        for rep in range(args.reps):
            for name, extra in configs.items():
                r = run(corpus, work / "out", extra, args.model, args.shard_size)
                runs[name].append(r)
                print(f"round {rep + 1}: {name}: {r['sentences'] / r['scoring_s']:.1f} sentences/s "
                      f"({r['scoring_s']:.1f} s scoring, {r['wall_s']:.1f} s wall)", file=sys.stderr, flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    table = {}
    for name, rs in runs.items():
        scoring = statistics.median(r["scoring_s"] for r in rs)
        wall = statistics.median(r["wall_s"] for r in rs)
        n_art, n_sent = rs[0]["articles"], rs[0]["sentences"]
        table[name] = {"articles_per_s": round(n_art / scoring, 2), "sentences_per_s": round(n_sent / scoring, 1),
                       "articles_per_s_wall": round(n_art / wall, 2), "sentences_per_s_wall": round(n_sent / wall, 1),
                       "scoring_s": round(scoring, 1), "wall_s": round(wall, 1)}
    result: dict[str, Any] = {
        "command": "python benchmarks/bench_corpus.py " + " ".join(sys.argv[1:]),
        "data": f"{args.articles} articles ({distinct} distinct PolNeAR/PTC news articles, repeated), "
                f"{runs[next(iter(runs))][0]['sentences']} sentences",
        "machine": {"cpus": os.cpu_count(), "processor": platform.processor() or platform.machine()},
        "reps": args.reps,
        "engines": table,
    }
    one, two = table.get("ray, 1 actor x 1 thread"), table.get("ray, 2 actors x 1 thread")
    if one and two:
        result["ray_scaling_1_to_2_actors"] = round(two["sentences_per_s"] / one["sentences_per_s"], 2)
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
