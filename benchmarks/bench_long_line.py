"""Time and peak memory of one long line without sentence punctuation: segmenting it, then scoring it.

    python benchmarks/bench_long_line.py [--mb 1.0] [--no-score] [--model DIR] [--threads 2]

The line is ordinary words (no `.!?`, a comma now and then, never a line break), as a scraped page or
a transcript without punctuation can give. Segmentation and scoring each run in a new process (so
each peak RSS is its own); the output is JSON: characters, sentences, the longest sentence, seconds
and peak RSS (MB) of each step, and for scoring how many sentences were read in several windows.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

WORDS = ("the committee said that officials in the region would review the budget plan and the new "
         "rules for schools roads and hospitals while members of the public asked questions about "
         "costs delays and the timetable for the work").split()


def long_line(chars: int) -> str:
    """About `chars` characters of words on one line: no full stop, a comma every 40 words."""
    out: list[str] = []
    n = 0
    k = 0
    while n < chars:
        w = WORDS[k % len(WORDS)] + ("," if k % 40 == 39 else "")
        out.append(w)
        n += len(w) + 1
        k += 1
    return " ".join(out)[:chars].rstrip()


_CHILD = r"""
import json, resource, sys, time
path, step, model, threads = sys.argv[1], sys.argv[2], sys.argv[3] or None, int(sys.argv[4])
text = open(path, encoding="utf-8").read()
t0 = time.perf_counter()
if step == "segment":
    from redflags.scoring.segment import segment
    sents = segment(text)
    out = {"sentences": len(sents), "longest": max(len(s.text) for s in sents)}
else:
    import redflags
    scorer = redflags.load(model, threads=threads)
    t0 = time.perf_counter()
    report = scorer.score(text)
    d = report.to_dict()
    out = {"sentences": d["n_sentences"], "windowed": sum(1 for s in d["sentences"] if s.get("windows", 1) > 1),
           "windows": sum(s.get("windows", 1) for s in d["sentences"]),
           "flagged": {m: s["flagged"] for m, s in d["summary"].items()}}
out["seconds"] = round(time.perf_counter() - t0, 2)
out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
print(json.dumps(out))
"""


def _run(path: Path, step: str, model: str, threads: int) -> dict:
    done = subprocess.run([sys.executable, "-c", _CHILD, str(path), step, model, str(threads)],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1:] or ["exit " + str(done.returncode)]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mb", type=float, default=1.0, help="length of the line in MB of characters")
    parser.add_argument("--no-score", action="store_true", help="segment only")
    parser.add_argument("--model", default="", help="model directory (default: the shipped model)")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    text = long_line(int(args.mb * 1_000_000))
    result: dict = {"command": "python benchmarks/bench_long_line.py " + " ".join(sys.argv[1:]), "chars": len(text)}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "line.txt"
        path.write_text(text, encoding="utf-8")
        result["segment"] = _run(path, "segment", args.model, args.threads)
        if not args.no_score:
            result["score"] = _run(path, "score", args.model, args.threads)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
