"""Peak memory against speed of scoring, with and without the heap trimming of model/core/memory.py.

    python benchmarks/bench_memory.py [--articles 60] [--threads 1] [--reps 2] [--big-mb 0]

Each setting (REDFLAGS_MALLOC_TRIM=0, then the default; --reps interleaved rounds) runs in a new
process that loads the shipped model, scores the first --articles news articles of the corpora
(PolNeAR, then PTC) after a warm-up, and reports sentences/s and its peak RSS. With --big-mb N, each
setting also scores one article of N MB (the corpora's articles concatenated) and, in another new
process, the same text as its separate articles: time, sentences/s and peak RSS of both.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_scoring import _RSS, child, news_articles  # noqa: E402

SETTINGS = {"trim=off": {"REDFLAGS_MALLOC_TRIM": "0"}, "trim=on (default)": {"REDFLAGS_MALLOC_TRIM": "1"}}


def _timed(load: str, score: str) -> str:
    """Code for a child process: load, score (binding `n`, the sentence count), print time, rate and peak RSS."""
    return (load + "t0 = time.perf_counter()\n" + score + "\ndt = time.perf_counter() - t0\n" + _RSS +
            "\nprint(json.dumps({'sentences': n, 'seconds': round(dt, 1), 'rate': n / dt, 'rss_mb': rss}))")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--articles", type=int, default=60)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--reps", type=int, default=2)
    parser.add_argument("--big-mb", type=float, default=0.0)
    args = parser.parse_args()
    load = f"import json, time, redflags; s = redflags.load(threads={args.threads})\n"
    with tempfile.TemporaryDirectory() as tmp:
        arts = Path(tmp) / "arts.json"
        arts.write_text(json.dumps(news_articles(limit=args.articles)))
        many = _timed(load + f"a = json.load(open({str(arts)!r})); s.score_many(a[:5])\n",
                      "n = sum(len(r.sentences) for r in s.score_many(a))")
        runs: dict[str, list[dict]] = {name: [] for name in SETTINGS}
        for _ in range(args.reps):
            for name, env in SETTINGS.items():
                runs[name].append(child(many, env=env))
        result: dict = {"command": "python benchmarks/bench_memory.py " + " ".join(sys.argv[1:]),
                        "sentences": runs["trim=off"][0]["sentences"], "threads": args.threads, "reps": args.reps}
        for name, rs in runs.items():
            result[name] = {"sentences_per_s": round(statistics.median(r["rate"] for r in rs), 1),
                            "peak_rss_mb": round(statistics.median(r["rss_mb"] for r in rs))}
        if args.big_mb:
            parts, k = news_articles(), 0
            chosen: list[str] = []
            while sum(len(p) + 2 for p in chosen) < args.big_mb * 1e6:  # as bench_scoring.py builds it
                chosen.append(parts[k % len(parts)])
                k += 1
            (Path(tmp) / "big.txt").write_text("".join(p + "\n\n" for p in chosen))
            (Path(tmp) / "split.json").write_text(json.dumps(chosen))
            big = _timed(load, f"r = s.score(open({str(Path(tmp) / 'big.txt')!r}).read()); n = len(r.sentences)")
            split = _timed(load + f"a = json.load(open({str(Path(tmp) / 'split.json')!r}))\n",
                           "n = sum(len(r.sentences) for r in s.iter_score_many(a))")
            for name, env in SETTINGS.items():
                b, p = child(big, env=env), child(split, env=env)
                result[name]["big_article"] = {"chars": sum(len(c) + 2 for c in chosen), **b}
                result[name]["same_text_split"] = {"articles": len(chosen), **p}
                result[name]["big_vs_split_speed"] = round(b["rate"] / p["rate"], 2)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
