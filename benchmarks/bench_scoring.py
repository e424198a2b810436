"""Scoring speed, start-up and memory of redflags on real news text (a benchmark, not a test).

    python benchmarks/bench_scoring.py [--model DIR] [--sentences 2000] [--reps 3] [--quick]

Real text: whole news articles of the public corpora (PolNeAR and PTC, read from the data folder),
segmented as redflags segments them. Throughput modes run interleaved (a warm-up, then --reps
rounds of every mode in turn) and the medians are reported, so that a shared, noisy machine slows
every mode alike; compare the ratios, not absolute figures from different runs. Modes:

- naive: `scorer.predict_proba([sentence])`, one call per sentence;
- plain fp32 loop: the same encoder and head in a batched torch loop (input order, batches of 32,
  padded to the longest sentence of each batch);
- redflags defaults: `score_many` over the articles (segmentation, one length sort per pool,
  evidence spans when the model has a token head), and the same per dtype, without evidence, and
  per thread count.

Also: the bf16 parity figures recorded in the model directory, the fraction of this CPU's measured
matrix-multiply peak that scoring reaches, cold start (new processes: `redflags score seeds/`, and
`import torch` beside it; `--only cold_start` runs just this), and peak RSS (new processes) for 10,000 sentences and for one 5 MB article, whose speed
is also compared with the same text split into ordinary articles.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

REPO = Path(__file__).resolve().parents[1]
SEEDS = REPO / "seeds"
SEED = SEEDS / "000_461dd1c7835a637b.txt"


def news_articles(limit: int | None = None) -> list[str]:
    """Whole news articles from the data folder (PolNeAR, then PTC), in a fixed order."""
    from redflags.training.corpora.news_articles import article_text, list_articles

    out = []
    for corpus, doc in list_articles():
        out.append(article_text(corpus, doc))
        if limit is not None and len(out) >= limit:
            break
    return out


def articles_with(n_sentences: int) -> tuple[list[str], list[str]]:
    """Enough whole articles for n sentences, and their first n sentences."""
    from redflags.scoring.segment import segment

    arts, sents = [], []
    for text in news_articles():
        arts.append(text)
        sents += [s.text for s in segment(text)]
        if len(sents) >= n_sentences:
            break
    return arts, sents[:n_sentences]


def plain_loop(scorer: Any, sentences: list[str], batch_size: int = 32) -> None:
    """The encoder and head in a plain batched float32 loop: no sorting, no calibration, no reports."""
    import torch
    from redflags.core import inference

    ids, _ = inference.tokenize(scorer.tokenizer, sentences, scorer.max_length)
    with torch.inference_mode():
        for i in range(0, len(ids), batch_size):
            x, mask = inference.pad_batch(ids[i : i + batch_size], scorer.tokenizer.pad_token_id)
            scorer.model(x, mask)


def median_rates(modes: dict[str, tuple[Callable[[], None], int]], reps: int) -> dict[str, dict[str, float]]:
    """Warm up every mode, then `reps` interleaved rounds; per mode the median sentences/s."""
    for fn, _ in modes.values():
        fn()
    times: dict[str, list[float]] = {k: [] for k in modes}
    for r in range(reps):
        for name, (fn, _) in modes.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
        print(f"  round {r + 1}/{reps}: " + ", ".join(f"{k} {modes[k][1] / times[k][-1]:.1f}/s" for k in modes),
              file=sys.stderr)
    return {k: {"sentences_per_s": modes[k][1] / statistics.median(v), "median_s": statistics.median(v)}
            for k, v in times.items()}


def matmul_peak(dtype_name: str = "float32", n: int = 1024, reps: int = 20) -> float:
    """GFLOP/s of a square matrix product on this CPU (the best of a few runs): the peak to compare with."""
    import torch

    dtype = getattr(torch, dtype_name)
    a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
    best = 0.0
    for _ in range(3):
        t0 = time.perf_counter()
        for _ in range(reps):
            a @ b
        best = max(best, 2 * n**3 * reps / (time.perf_counter() - t0) / 1e9)
    return best


def model_flops(scorer: Any, sentences: list[str]) -> float:
    """Multiply-add FLOPs of the encoder on these sentences (unpadded): linear layers and attention."""
    from redflags.core import inference

    ids, _ = inference.tokenize(scorer.tokenizer, sentences, scorer.max_length)
    cfg = scorer.config.encoder_config or {}
    h, inner, layers = cfg.get("hidden_size", 384), cfg.get("intermediate_size", 1536), cfg.get("num_hidden_layers", 6)
    per_token = layers * 2 * (4 * h * h + 2 * h * inner)
    return float(sum(per_token * len(s) + layers * 4 * len(s) ** 2 * h for s in ids))


def child(code: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run Python code in a new process; it prints one JSON line. Adds its wall time and peak RSS (MB)."""
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={**os.environ, **(env or {})})
    wall = time.perf_counter() - t0
    if out.returncode != 0:
        raise RuntimeError(f"child failed: {out.stderr[-2000:]}")
    res = json.loads(out.stdout.strip().splitlines()[-1])
    res["wall_s"] = wall
    return res


_RSS = "import resource; rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024"


def cold_start(model: str | None, reps: int) -> dict[str, Any]:
    """Median wall time of new processes, interleaved: `redflags score seeds/` (CLI), import + load + score
    (API), and `python -c "import torch"` (the floor any PyTorch command pays; the ratio reads on a loaded machine)."""
    cli = [str(Path(sys.executable).with_name("redflags")), "score", str(SEEDS)] + (["--model", model] if model else [])
    api = (f"import time; t0 = time.perf_counter(); import redflags; s = redflags.load({model!r}); t1 = time.perf_counter(); "
           f"s.score(open({str(SEED)!r}).read()); t2 = time.perf_counter(); import json; "
           "print(json.dumps({'import_load_s': t1 - t0, 'score_s': t2 - t1}))")
    walls, parts, torch_walls = [], [], []
    for _ in range(reps):
        t0 = time.perf_counter()
        subprocess.run(cli, capture_output=True, check=True)
        walls.append(time.perf_counter() - t0)
        parts.append(child(api))
        torch_walls.append(child("import torch; print('{}')")["wall_s"])
    return {"cli_score_seeds_s": statistics.median(walls), "cli_walls_s": [round(w, 2) for w in walls],
            "api_import_load_s": statistics.median(p["import_load_s"] for p in parts),
            "api_score_seed_s": statistics.median(p["score_s"] for p in parts),
            "api_process_walls_s": [round(p["wall_s"], 2) for p in parts],
            "python_import_torch_s": statistics.median(torch_walls),
            "cli / import torch": statistics.median(walls) / statistics.median(torch_walls), "reps": reps}


def memory(model: str | None, n_sentences: int, big_mb: float) -> dict[str, Any]:
    """Peak RSS of new processes: after load; 10,000 sentences (as articles); one big article; the same text split."""
    with tempfile.TemporaryDirectory() as tmp:
        arts, _ = articles_with(n_sentences)
        (Path(tmp) / "arts.json").write_text(json.dumps(arts))
        text, pieces = "", []
        for a in news_articles():
            if len(text) >= big_mb * 1e6:
                break
            text += a + "\n\n"
            pieces.append(a)
        (Path(tmp) / "big.txt").write_text(text)
        (Path(tmp) / "pieces.json").write_text(json.dumps(pieces))
        load = f"import json, time, redflags; s = redflags.load({model!r})\n"
        base = child(load + _RSS + "\nprint(json.dumps({'rss_mb': rss}))")
        many = child(load + f"arts = json.load(open({str(Path(tmp) / 'arts.json')!r}))\n"
                     f"n = sum(len(r.sentences) for r in s.iter_score_many(arts))\n"
                     + _RSS + "\nprint(json.dumps({'rss_mb': rss, 'sentences': n}))")
        big = child(load + f"t = open({str(Path(tmp) / 'big.txt')!r}).read(); t0 = time.perf_counter()\n"
                    "r = s.score(t); dt = time.perf_counter() - t0\n"
                    + _RSS + "\nprint(json.dumps({'rss_mb': rss, 'sentences': len(r.sentences), 'seconds': dt, "
                    "'chars': len(t)}))")
        split = child(load + f"p = json.load(open({str(Path(tmp) / 'pieces.json')!r})); t0 = time.perf_counter()\n"
                      "n = sum(len(r.sentences) for r in s.iter_score_many(p)); dt = time.perf_counter() - t0\n"
                      "print(json.dumps({'sentences': n, 'seconds': dt}))")
    return {"after_load_mb": base["rss_mb"], "sentences_10k": many,
            "big_article": big, "same_text_split": split,
            "big_vs_split_speed": (big["sentences"] / big["seconds"]) / (split["sentences"] / split["seconds"])}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=None, help="model directory (default: the shipped model)")
    ap.add_argument("--sentences", type=int, default=2000, help="sentences for the batched modes")
    ap.add_argument("--naive-sentences", type=int, default=300, help="sentences for the one-per-call mode")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="smaller figures: no 5 MB article (0.5 MB), 2,000 sentences for RSS")
    ap.add_argument("--json", type=Path, default=None, help="also write the figures here")
    ap.add_argument("--only", choices=["cold_start"], default=None,
                    help="run only this part (cold_start: --reps new processes of each kind, e.g. --reps 5)")
    args = ap.parse_args()
    if args.only == "cold_start":
        load_before = os.getloadavg()
        figures = {"cold_start": cold_start(args.model, args.reps), "load_average_before": load_before,
                   "load_average_after": os.getloadavg()}
        print(json.dumps(figures, indent=2))
        if args.json:
            args.json.write_text(json.dumps(figures, indent=2) + "\n")
        return

    import redflags
    import torch
    from redflags.core.precision import cpu_has_native_bf16

    threads_default = torch.get_num_threads()
    scorer = redflags.load(args.model, dtype="float32")
    arts, sents = articles_with(args.sentences)
    n_art_sents = sum(len(r.sentences) for r in scorer.score_many(arts))
    naive = sents[: args.naive_sentences]
    s_bf16 = redflags.load(args.model, dtype="bfloat16")
    s_auto = redflags.load(args.model)
    print(f"{len(sents)} sentences ({len(arts)} articles, {n_art_sents} sentences in them); dtype auto -> "
          f"{s_auto.dtype}; native bf16: {cpu_has_native_bf16()}; torch threads {threads_default}", file=sys.stderr)

    def no_evidence(s: Any) -> Callable[[], None]:
        def run() -> None:
            s.evidence = False
            try:
                s.score_many(arts)
            finally:
                s.evidence = True
        return run

    modes: dict[str, tuple[Callable[[], None], int]] = {
        "naive (1 sentence per call)": (lambda: [scorer.predict_proba([t]) for t in naive], len(naive)),
        "plain fp32 torch loop": (lambda: plain_loop(scorer, sents), len(sents)),
        "redflags defaults (score_many)": (lambda: s_auto.score_many(arts), n_art_sents),
        "redflags float32": (lambda: scorer.score_many(arts), n_art_sents),
        "redflags bfloat16": (lambda: s_bf16.score_many(arts), n_art_sents),
    }
    if scorer.has_evidence:
        modes["redflags float32, no evidence"] = (no_evidence(scorer), n_art_sents)
    print("throughput:", file=sys.stderr)
    rates = median_rates(modes, args.reps)

    threads = {}
    for n in sorted({1, 2, threads_default}):
        torch.set_num_threads(n)
        threads[n] = median_rates({f"{n} threads": (lambda: scorer.score_many(arts), n_art_sents)}, args.reps)[f"{n} threads"]
    torch.set_num_threads(threads_default)

    peak = matmul_peak("float32")
    peak_bf16 = matmul_peak("bfloat16")
    flops = model_flops(scorer, [s.text for r in scorer.score_many(arts) for s in r.sentences])
    d_f32 = rates["redflags float32"]["median_s"]
    d_bf16 = rates["redflags bfloat16"]["median_s"]
    result: dict[str, Any] = {
        "machine": {"processor": platform.processor() or platform.machine(), "cpus": os.cpu_count(),
                    "torch_threads": threads_default, "native_bf16": cpu_has_native_bf16(), "torch": torch.__version__},
        "model": str(scorer.model_dir), "dtype_auto": s_auto.dtype,
        "throughput": rates,
        "ratios": {
            "defaults / naive": rates["redflags defaults (score_many)"]["sentences_per_s"] / rates["naive (1 sentence per call)"]["sentences_per_s"],
            "defaults / plain fp32 loop": rates["redflags defaults (score_many)"]["sentences_per_s"] / rates["plain fp32 torch loop"]["sentences_per_s"],
            "bfloat16 / float32": rates["redflags bfloat16"]["sentences_per_s"] / rates["redflags float32"]["sentences_per_s"],
        },
        "threads": {str(k): v for k, v in threads.items()},
        "matmul_peak_gflops": {"float32": peak, "bfloat16": peak_bf16},
        "fraction_of_peak": {"float32": flops / d_f32 / 1e9 / peak, "bfloat16": flops / d_bf16 / 1e9 / peak_bf16},
        "parity": scorer.config.parity.get("bfloat16"),
    }
    if scorer.has_evidence:
        result["ratios"]["evidence cost (time with / without - 1)"] = (
            rates["redflags float32, no evidence"]["sentences_per_s"] / rates["redflags float32"]["sentences_per_s"] - 1)
    print("cold start ...", file=sys.stderr)
    result["cold_start"] = cold_start(args.model, args.reps)
    print("memory ...", file=sys.stderr)
    result["memory"] = memory(args.model, 2000 if args.quick else 10_000, 0.5 if args.quick else 5.0)
    text = json.dumps(result, indent=2, default=float)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")


if __name__ == "__main__":
    main()
