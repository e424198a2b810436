"""Peak memory against speed of scoring, with and without the heap trimming of model/core/memory.py.

    python benchmarks/bench_memory.py [--articles 60] [--threads 1] [--reps 2] [--big-mb 0]
    python benchmarks/bench_memory.py --cases api-10k,cli-10k,api-big,cli-big [--partial FILE]

Each setting (REDFLAGS_MALLOC_TRIM=0, then the default; --reps interleaved rounds) runs in a new
process that loads the shipped model, scores the first --articles news articles of the corpora
(PolNeAR, then PTC) after a warm-up, and reports sentences/s and its peak RSS. With --big-mb N, each
setting also scores one article of N MB (the corpora's articles concatenated) and, in another new
process, the same text as its separate articles: time, sentences/s and peak RSS of both.

With --cases, instead: the peak RSS against issue 24's 600 MB target, each case a new process at the
defaults (torch's threads, float32), its peak read by os.wait4 for that process alone:
api-10k `score_many` over whole news articles of >= --sentences sentences; cli-10k the same articles
as .txt files through `redflags score DIR --format jsonl --out FILE`; api-big `score` of one
--big-mb MB article (5 by default); cli-big the same article through `redflags score FILE`.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_scoring import _RSS, articles_with, child, news_articles  # noqa: E402

TARGET_MB = 600
CASES = ("api-10k", "cli-10k", "api-big", "cli-big")

SETTINGS = {"trim=off": {"REDFLAGS_MALLOC_TRIM": "0"}, "trim=on (default)": {"REDFLAGS_MALLOC_TRIM": "1"}}


def _timed(load: str, score: str) -> str:
    """Code for a child process: load, score (binding `n`, the sentence count), print time, rate and peak RSS."""
    return (load + "t0 = time.perf_counter()\n" + score + "\ndt = time.perf_counter() - t0\n" + _RSS +
            "\nprint(json.dumps({'sentences': n, 'seconds': round(dt, 1), 'rate': n / dt, 'rss_mb': rss}))")


def big_article(mb: float) -> tuple[str, int]:
    """One article of `mb` MB: the corpora's articles in order, each followed by a blank line; and their count."""
    parts, chosen, size = news_articles(), [], 0
    while size < mb * 1e6:
        chosen.append(parts[len(chosen) % len(parts)])
        size += len(chosen[-1]) + 2
    return "".join(p + "\n\n" for p in chosen), len(chosen)


def measured(cmd: list[str]) -> dict[str, Any]:
    """Run a command; its wall time, exit status, last stdout line and peak RSS (MiB), that process's own."""
    t0 = time.perf_counter()
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, text=True)
        out = proc.stdout.read() if proc.stdout else ""
        _, status, usage = os.wait4(proc.pid, 0)  # rusage of this child alone (RUSAGE_CHILDREN keeps the max of all)
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        tail = err.read().decode(errors="replace")[-600:]
    res = {"wall_s": round(time.perf_counter() - t0, 1), "exit": proc.returncode, "peak_rss_mb": round(usage.ru_maxrss / 1024)}
    if proc.returncode != 0:
        res["stderr_tail"] = tail
    lines = out.strip().splitlines()
    if lines and lines[-1].startswith("{"):
        res.update(json.loads(lines[-1]))
    return res


_API = ("import json, sys, time, resource, redflags\n"
        "s = redflags.load(); loaded = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024\n"
        "{read}\nt0 = time.perf_counter(); {score}\n"
        "print(json.dumps({{'sentences': n, 'seconds': round(time.perf_counter() - t0, 1), 'rss_after_load_mb': round(loaded)}}))")


def jsonl_sentences(path: Path) -> int:
    """Sentences in a `--format jsonl` report (0 when it is missing)."""
    if not path.exists():
        return 0
    return sum(len(json.loads(line)["sentences"]) for line in path.open(encoding="utf-8") if line.strip())


def run_case(case: str, tmp: Path, n_sentences: int, big_mb: float) -> dict[str, Any]:
    """One case of --cases in a new process: its figures and whether the peak is within the target."""
    redflags = str(Path(sys.executable).with_name("redflags"))
    out = tmp / f"{case}.jsonl"
    if case.endswith("10k"):
        arts, _ = articles_with(n_sentences)
        (tmp / "arts.json").write_text(json.dumps(arts))
        folder = tmp / "arts"
        folder.mkdir(exist_ok=True)
        for i, a in enumerate(arts):
            (folder / f"{i:05d}.txt").write_text(a, encoding="utf-8")
        info: dict[str, Any] = {"articles": len(arts), "chars": sum(len(a) for a in arts)}
        read, score, target = f"a = json.load(open({str(tmp / 'arts.json')!r}))", "n = sum(len(r.sentences) for r in s.score_many(a))", folder
    else:
        text, pieces = big_article(big_mb)
        (tmp / "big.txt").write_text(text, encoding="utf-8")
        info = {"chars": len(text), "articles_concatenated": pieces}
        read, score, target = f"t = open({str(tmp / 'big.txt')!r}, encoding='utf-8').read()", "n = len(s.score(t).sentences)", tmp / "big.txt"
    if case.startswith("api"):
        res = measured([sys.executable, "-c", _API.format(read=read, score=score)])
    else:
        cmd = [redflags, "score", str(target), "--format", "jsonl", "--out", str(out)]
        res = {"command": "redflags score " + ("DIR" if target.is_dir() else "FILE") + " --format jsonl --out FILE",
               **measured(cmd), "sentences": jsonl_sentences(out)}
    return {"case": case, **info, **res, "target_mb": TARGET_MB, "within_target": res["peak_rss_mb"] <= TARGET_MB}


def run_cases(cases: list[str], n_sentences: int, big_mb: float, partial: Path | None) -> list[dict[str, Any]]:
    """Each case in turn; with `partial`, each result is appended there (one JSON line) as it finishes."""
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for case in cases:
            print(f"{case} ... (load average {os.getloadavg()[0]:.1f})", file=sys.stderr, flush=True)
            res = run_case(case, Path(tmp), n_sentences, big_mb)
            res["load_average_after"] = [round(x, 1) for x in os.getloadavg()]
            results.append(res)
            print(json.dumps(res), file=sys.stderr, flush=True)
            if partial:
                with partial.open("a", encoding="utf-8") as fh:
                    fh.write(json.dumps(res) + "\n")
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--articles", type=int, default=60)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--reps", type=int, default=2)
    parser.add_argument("--big-mb", type=float, default=0.0)
    parser.add_argument("--cases", default=None, help=f"comma-separated, of {', '.join(CASES)}: peak RSS against {TARGET_MB} MB")
    parser.add_argument("--sentences", type=int, default=10_000, help="sentences for the 10k cases")
    parser.add_argument("--partial", type=Path, default=None, help="--cases: append each result here as it finishes")
    args = parser.parse_args()
    if args.cases:
        cases = [c.strip() for c in args.cases.split(",") if c.strip()]
        if unknown := [c for c in cases if c not in CASES]:
            parser.error(f"unknown case(s) {', '.join(unknown)}; choose from {', '.join(CASES)}")
        runs = run_cases(cases, args.sentences, args.big_mb or 5.0, args.partial)
        print(json.dumps({"command": "python benchmarks/bench_memory.py " + " ".join(sys.argv[1:]), "cases": runs}, indent=2))
        return
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
