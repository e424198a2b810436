"""Peak memory against speed of scoring, with and without the glibc tuning of model/memory.py.

    python benchmarks/bench_memory.py [--articles 60] [--threads 1] [--reps 2] [--big-mb 0]

Each setting (REDFLAGS_MALLOC_TUNING=0, then =1; --reps interleaved rounds) runs in a new process
that loads the shipped model, scores the first --articles news articles of the corpora (PolNeAR,
then PTC) after a warm-up, and reports sentences/s and its peak RSS. With --big-mb N, each setting
also scores one article of N MB (the articles concatenated) and reports its peak RSS.
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--articles", type=int, default=60)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--reps", type=int, default=2)
    parser.add_argument("--big-mb", type=float, default=0.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        arts = Path(tmp) / "arts.json"
        arts.write_text(json.dumps(news_articles(limit=args.articles)))
        load = f"import json, time, redflags; s = redflags.load(threads={args.threads})\n"
        many = (load + f"a = json.load(open({str(arts)!r})); s.score_many(a[:5])\n"
                "t0 = time.perf_counter(); n = sum(len(r.sentences) for r in s.score_many(a))\n"
                "dt = time.perf_counter() - t0\n" + _RSS +
                "\nprint(json.dumps({'sentences': n, 'rate': n / dt, 'rss_mb': rss}))")
        runs: dict[str, list[dict]] = {"0": [], "1": []}
        for _ in range(args.reps):
            for tuning in runs:
                runs[tuning].append(child(many, env={"REDFLAGS_MALLOC_TUNING": tuning}))
        result = {"command": "python benchmarks/bench_memory.py " + " ".join(sys.argv[1:]),
                  "sentences": runs["0"][0]["sentences"], "threads": args.threads, "reps": args.reps}
        for tuning, rs in runs.items():
            result[f"tuning={tuning}"] = {"sentences_per_s": round(statistics.median(r["rate"] for r in rs), 1),
                                          "peak_rss_mb": round(statistics.median(r["rss_mb"] for r in rs))}
        if args.big_mb:
            text, parts, k = "", news_articles(), 0
            while len(text) < args.big_mb * 1e6:  # the corpora's articles in order, as bench_scoring.py builds it
                text += parts[k % len(parts)] + "\n\n"
                k += 1
            big = Path(tmp) / "big.txt"
            big.write_text(text)
            code = load + f"r = s.score(open({str(big)!r}).read())\n" + _RSS + \
                "\nprint(json.dumps({'sentences': len(r.sentences), 'rss_mb': rss}))"
            for tuning in runs:
                result[f"tuning={tuning}"]["big_article"] = child(code, env={"REDFLAGS_MALLOC_TUNING": tuning})
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
