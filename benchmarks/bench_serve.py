"""Requests per second and latency of `redflags serve` for single articles (a benchmark, not a test).

    python benchmarks/bench_serve.py [--model DIR] [--requests 40] [--clients 4] [--json PATH]

Starts `redflags serve` (the shipped model unless --model) in a new process on a free port, then
sends the example articles of seeds/ (five news-style articles of ~25 sentences), one per request
to POST /v1/score: first one client at a time, then --clients clients at once, --requests requests
each way after a warm-up round. Prints JSON: requests/s, latency p50/p95/max (ms) per setting, one
/v1/score-many request holding all the articles, the time the same articles take through
`Scorer.score` in this process (the service's overhead is the difference), the server's start-up
time and its peak RSS, the machine and its load. Writes the figures to benchmarks/last_serve_run.json
unless --json says otherwise. The server scores one request at a time, so with several clients
requests/s stays near the sequential figure while latency grows with the queue.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Optional

REPO = Path(__file__).resolve().parents[1]
ARTICLES = sorted((REPO / "seeds").glob("*.txt")) + sorted((REPO / "seeds" / "examples").glob("*.txt"))


def start_server(model: Optional[str], threads: Optional[int]) -> tuple[subprocess.Popen, str, float]:
    """(process, base url, seconds until it printed its address) of a new `redflags serve --port 0`."""
    cmd = [sys.executable, "-m", "redflags", "serve", "--port", "0"]
    cmd += ["--model", model] if model else []
    cmd += ["--threads", str(threads)] if threads else []
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    for line in proc.stderr:  # type: ignore[union-attr]
        found = re.match(r"redflags serve: .* on (http://\S+/) ", line)
        if found:
            # Keep reading its stderr so that a chatty server never blocks on a full pipe.
            threading.Thread(target=lambda: [None for _ in proc.stderr], daemon=True).start()  # type: ignore[union-attr]
            return proc, found.group(1), time.perf_counter() - t0
        print(line, end="", file=sys.stderr)
    raise SystemExit(f"redflags serve exited ({proc.wait()}) before it printed its address")


def post(url: str, payload: dict[str, Any]) -> tuple[float, dict[str, Any]]:
    """(seconds, JSON answer) of one POST."""
    data = json.dumps(payload).encode("utf-8")
    t0 = time.perf_counter()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=600) as r:
        body = json.loads(r.read())
    return time.perf_counter() - t0, body


def summary(latencies: list[float], wall: float) -> dict[str, float]:
    """Requests/s over the wall time, and latency percentiles in ms."""
    ms = sorted(x * 1000 for x in latencies)
    cuts = statistics.quantiles(ms, n=100, method="inclusive")
    return {"requests": len(ms), "requests_per_s": len(ms) / wall, "p50_ms": statistics.median(ms),
            "p95_ms": cuts[94], "max_ms": ms[-1], "wall_s": wall}


def run_clients(url: str, texts: list[str], n: int, clients: int) -> dict[str, float]:
    """n single-article requests (the texts in turn) from `clients` threads at once."""
    jobs = [texts[i % len(texts)] for i in range(n)]
    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        latencies = [dt for dt, _ in pool.map(lambda t: post(url + "v1/score", {"text": t}), jobs)]
    return summary(latencies, time.perf_counter() - t0)


def peak_rss_mb(pid: int) -> Optional[float]:
    """The process's peak resident memory (Linux /proc), in MB."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    found = re.search(r"VmHWM:\s+(\d+) kB", status)
    return int(found.group(1)) / 1024 if found else None


def direct(model: Optional[str], texts: list[str], reps: int) -> dict[str, float]:
    """The same articles through Scorer.score in this process: median ms per article."""
    import redflags

    scorer = redflags.load(model)
    scorer.score(texts[0])
    times = []
    for _ in range(reps):
        for t in texts:
            t0 = time.perf_counter()
            scorer.score(t)
            times.append(time.perf_counter() - t0)
    return {"articles": len(times), "p50_ms": statistics.median(times) * 1000, "articles_per_s": len(times) / sum(times)}


def get_health(url: str) -> tuple[float, dict[str, Any]]:
    """(seconds, answer) of GET /healthz."""
    t0 = time.perf_counter()
    with urllib.request.urlopen(url + "healthz", timeout=60) as r:
        body = json.loads(r.read())
    return time.perf_counter() - t0, body


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=None, help="model directory (default: the shipped model)")
    ap.add_argument("--requests", type=int, default=40, help="single-article requests per setting")
    ap.add_argument("--clients", type=int, default=4, help="clients at once in the concurrent setting")
    ap.add_argument("--threads", type=int, default=None, help="the server's CPU threads (default: torch's)")
    ap.add_argument("--json", type=Path, default=REPO / "benchmarks" / "last_serve_run.json",
                    help="where to write the figures")
    args = ap.parse_args()

    texts = [p.read_text(encoding="utf-8") for p in ARTICLES]
    load_before = os.getloadavg()[0]
    proc, url, start_s = start_server(args.model, args.threads)
    try:
        _, health = get_health(url)
        sentences = [post(url + "v1/score", {"text": t})[1]["n_sentences"] for t in texts]  # (also the warm-up)
        print(f"server at {url}: {health['model']} ({health['dtype']}); {len(texts)} articles, "
              f"{sum(sentences)} sentences", file=sys.stderr)
        sequential = run_clients(url, texts, args.requests, 1)
        print(f"sequential: {sequential['requests_per_s']:.2f} requests/s", file=sys.stderr)
        concurrent = run_clients(url, texts, args.requests, args.clients)
        print(f"{args.clients} clients: {concurrent['requests_per_s']:.2f} requests/s", file=sys.stderr)
        many_s, _ = post(url + "v1/score-many", {"articles": [{"text": t} for t in texts]})
        rss = peak_rss_mb(proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    result: dict[str, Any] = {
        "command": "python " + " ".join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]]),
        "machine": {"processor": platform.processor() or platform.machine(), "cpus": os.cpu_count(),
                    "load_average_1min": {"start": round(load_before, 2),
                                                                      "end": round(os.getloadavg()[0], 2)}},
        "model": health["model"], "model_version": health["model_version"], "dtype": health["dtype"],
        "articles": {"files": [p.relative_to(REPO).as_posix() for p in ARTICLES], "sentences": sentences},
        "server_start_s": start_s,
        "single_article_sequential": sequential,
        f"single_article_{args.clients}_clients": concurrent,
        "score_many_all_articles": {"articles": len(texts), "seconds": many_s, "articles_per_s": len(texts) / many_s},
        "server_peak_rss_mb": rss,
        "direct_scorer_score": direct(args.model, texts, reps=2),
    }
    text = json.dumps(result, indent=2)
    print(text)
    from redflags.atomic import atomic_path

    with atomic_path(args.json) as tmp:
        tmp.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
